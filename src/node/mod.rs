//! The engine: one thread owns all state (peers, links, outbox, store) and reacts to
//! [`Command`]s from a front end, [`NetInput`]s from the I/O threads, and a timer.
//!
//! There are no locks around state: I/O threads only parse and forward. Front ends get
//! [`Event`]s on a channel and are woken by an injected [`Waker`] after each one, so a
//! window repaints only when something happened.
//!
//! - `core`: the state and the loop's timer work (announce, expiry, retries);
//!   `dispatch`: commands and inputs to their handlers; `bucket`: rate limits.
//! - `presence`: beacons in and out.
//! - `links`: TCP link lifecycle, keepalives; `handshake`: the first frame, `hello`,
//!   tie-break; `dials`: opening links lazily, with back-off.
//! - `chat`: direct messages, acks, the outbox pump, shouts.
//! - `peers`: the peer table; `resolve`: what a user typed → a peer.
//! - `history`: the store at start (known peers, the outbox), `history` and `search`.
//! - `transfers`: file offers and the sending side; `downloads`: the receiving side;
//!   `partial`: resume notes for unfinished downloads; `retry`: the sender's retries and
//!   transfers taken up after a restart; `resume`: a receiver's broken downloads;
//!   `reports`: what the transfer threads say; `download_dir`: changing the download
//!   folder at run time.

mod bucket;
mod chat;
pub mod command;
mod core;
mod dials;
mod dispatch;
mod download_dir;
mod downloads;
pub mod event;
mod fanout;
mod handshake;
mod history;
mod links;
pub mod outbox;
mod partial;
pub mod peers;
mod presence;
mod reports;
mod resolve;
mod resume;
mod retry;
pub mod seen;
pub mod status;
mod transfer_log;
mod transfers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, bounded, select, unbounded};
use thiserror::Error;

pub use command::Command;
pub use event::{Event, LeftReason};
pub use fanout::{
    Commands, Envelope, Origin, SubscriberId, Subscription, UNBOUNDED, Waker, no_waker,
};
pub use peers::PeerInfo;
pub use status::NetStatus;

use crate::config::{Config, ConfigError};
use crate::net::{NetError, NetInput, spawn_named};
use fanout::{Inbound, Subscriber};

/// Inputs waiting for the core. Datagrams beyond this are dropped (and counted); link
/// readers wait, which pushes back on the peers that send too fast.
const INPUT_QUEUE: usize = 8192;

/// Why a node could not start.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The data directory or identity.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A socket or thread.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Starting an I/O thread or reading a socket's address.
    #[error("cannot start the node: {0}")]
    Io(#[from] std::io::Error),
}

/// A running node. Front ends [`subscribe`](Node::subscribe) to it; dropping it stops
/// the node (saying bye) and joins its thread.
pub struct Node {
    inbound: crossbeam_channel::Sender<Inbound>,
    next_subscriber: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Node {
    /// A new subscriber: every event from now on goes to its queue (`E` is [`Event`], or
    /// [`Envelope`] to see which request an answer is for), and `waker` is called after
    /// each. Past `capacity` unread events it is cut off ([`UNBOUNDED`]: never).
    ///
    /// The node says `ready` once its first subscriber is in, so that one sees
    /// everything; later ones start from the moment they subscribe.
    pub fn subscribe<E>(&self, capacity: usize, waker: Waker) -> Subscription<E>
    where
        E: From<Envelope> + Send + 'static,
    {
        let id = SubscriberId(self.next_subscriber.fetch_add(1, Ordering::Relaxed));
        let (subscriber, events) = Subscriber::new::<E>(id, capacity, waker);
        let _ = self.inbound.send(Inbound::Subscribe(subscriber));
        Subscription {
            commands: fanout::Commands::new(self.inbound.clone(), id),
            events,
        }
    }

    /// Asks the node to quit and waits until it has stopped. Events not yet read stay
    /// readable on the subscribers' queues.
    pub fn shutdown(&mut self) {
        let _ = self.inbound.send(Inbound::Command {
            origin: Origin::node(),
            command: Command::Quit,
        });
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A node with its first subscription in hand: the simple way to run one (tests, tools).
/// Dropping it stops the node.
pub struct NodeHandle {
    /// Commands to the core.
    pub commands: Commands,
    /// Events from the core.
    pub events: Receiver<Event>,
    node: Node,
}

impl NodeHandle {
    /// Another subscriber to the same node (see [`Node::subscribe`]).
    pub fn subscribe<E>(&self, capacity: usize, waker: Waker) -> Subscription<E>
    where
        E: From<Envelope> + Send + 'static,
    {
        self.node.subscribe(capacity, waker)
    }

    /// Asks the node to quit and waits until it has stopped. Events not yet read stay
    /// readable on `events`.
    pub fn shutdown(&mut self) {
        self.node.shutdown();
    }
}

/// Starts a node: binds its sockets (errors are returned here, before any thread runs),
/// then runs the core on a thread named `lanchat-core`. It says `ready` (its first
/// event) once it has a subscriber.
pub fn start(config: Config) -> Result<Node, NodeError> {
    let (inbound, inbound_rx) = unbounded();
    let (input_tx, input_rx) = bounded(INPUT_QUEUE);
    let mut core = core::Core::start(config, input_tx)?;
    let thread = spawn_named("lanchat-core", move || {
        // The first subscriber hears `ready` and everything after it.
        match inbound_rx.recv() {
            Ok(Inbound::Subscribe(s)) => core.subscribe(s),
            Ok(Inbound::Command { command, origin }) if command != Command::Quit => {
                core.announce_start();
                core.handle_command(origin, command);
            }
            _ => return core.stop(),
        }
        if !core.started() {
            core.announce_start();
        }
        run(&mut core, &inbound_rx, &input_rx);
        core.stop();
    })
    .map_err(NetError::Thread)?;
    Ok(Node {
        inbound,
        next_subscriber: AtomicU64::new(1),
        thread: Some(thread),
    })
}

/// Starts a node with one subscription (unbounded, woken by `waker`) and hands both
/// over together. The first event is `ready`.
pub fn spawn(config: Config, waker: Waker) -> Result<NodeHandle, NodeError> {
    let node = start(config)?;
    let Subscription { commands, events } = node.subscribe::<Event>(UNBOUNDED, waker);
    Ok(NodeHandle {
        commands,
        events,
        node,
    })
}

/// Stores `first` and the `send` commands from the same subscriber already waiting
/// behind it as one burst (one transaction: group commit). The command that ended the
/// burst is handled after it; `quit` is returned to the loop instead.
fn send_burst(
    core: &mut core::Core,
    inbound: &Receiver<Inbound>,
    origin: Origin,
    first: (String, String),
) -> Option<Command> {
    let mut sends = vec![first];
    let mut after = None;
    while sends.len() < dispatch::MAX_BURST {
        match inbound.try_recv() {
            Ok(Inbound::Command {
                origin: o,
                command: Command::Send { to, text },
            }) if o == origin => sends.push((to, text)),
            Ok(other) => {
                after = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    core.send_chats(origin, sends);
    match after {
        Some(Inbound::Command {
            command: Command::Quit,
            ..
        }) => Some(Command::Quit),
        Some(Inbound::Command { origin, command }) => {
            core.handle_command(origin, command);
            None
        }
        Some(Inbound::Subscribe(s)) => {
            core.subscribe(s);
            None
        }
        None => None,
    }
}

fn run(core: &mut core::Core, inbound: &Receiver<Inbound>, inputs: &Receiver<NetInput>) {
    loop {
        let timeout = core.next_wake().saturating_duration_since(Instant::now());
        select! {
            recv(inbound) -> msg => match msg {
                Ok(Inbound::Command { command: Command::Quit, .. }) | Err(_) => return,
                Ok(Inbound::Command { origin, command: Command::Send { to, text } }) => {
                    if let Some(Command::Quit) = send_burst(core, inbound, origin, (to, text)) {
                        return;
                    }
                }
                Ok(Inbound::Command { origin, command }) => core.handle_command(origin, command),
                Ok(Inbound::Subscribe(s)) => core.subscribe(s),
            },
            recv(inputs) -> input => {
                // The core holds a sender itself, so this channel never disconnects.
                if let Ok(input) = input {
                    core.handle_inputs(input, inputs);
                }
            },
            default(timeout) => {},
        }
        // What already arrived is heard before timers judge anyone: after a stall (a
        // loaded machine, a long store write), a peer whose beacons or link frames are
        // waiting here must not be timed out and then found again. Bounded, so a flood
        // cannot keep the timers from running.
        for _ in 0..CATCH_UP {
            match inputs.try_recv() {
                Ok(input) => core.handle_inputs(input, inputs),
                Err(_) => break,
            }
        }
        core.tick(Instant::now());
    }
}

/// Inputs (bursts of frames, datagrams) handled at most before each timer check.
const CATCH_UP: usize = 256;

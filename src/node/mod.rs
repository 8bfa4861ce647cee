//! The engine: one thread owns all state and reacts to [`Command`]s from front ends,
//! [`NetInput`]s from the I/O threads, and a timer. Front ends subscribe to its
//! [`Event`]s, each with its own queue and [`Waker`].
//!
//! The state is split into parts that own it and keep their own invariants; each is
//! driven by plain calls with the time, and returns what should happen (actions, in
//! `out`) for the core to carry out. No part touches a socket, a thread or the store.
//!
//! - `presence`: the peer table, our beacons, what a sighting means.
//! - `links`: links by id, the route per peer, dials, `hello`, keepalives.
//! - `chat`: the outbox and acks, shouts.
//! - `transfers`: file offers and streams both ways, retries, resume, how each ended.
//! - `ipmsg`: iptux, FeiQ and IP Messenger users: their addresses and encodings, packet
//!   numbers, retries, files offered each way (one more discovery protocol and route).
//! - `web`: browser visitors as peers, their files, a returning visitor's history.
//! - `core`: the glue that owns the parts, the store and the I/O port, and routes.
//! - `out`: the actions and routes parts speak in; `clock`: the time they are given.
//! - `link_port`: the link port of last time, tried first at start.
//! - `fanout`: subscribers, commands stamped with who asked; `command`, `event`,
//!   `peer`, `transfer_end`, `status`: the front ends' contract; `error`: why a node
//!   could not start.

mod chat;
mod clock;
pub mod command;
mod core;
mod error;
pub mod event;
mod fanout;
mod ipmsg;
mod link_port;
mod links;
mod out;
mod peer;
mod presence;
pub mod rooms;
pub mod status;
mod transfer_end;
mod transfers;
pub mod web;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, bounded, select, unbounded};

pub use chat::outbox::{MAX_OUTBOX, WINDOW};
pub use command::Command;
pub use error::NodeError;
pub use event::{Event, LeftReason};
pub use fanout::{
    Commands, Envelope, Origin, SubscriberId, Subscription, UNBOUNDED, Waker, no_waker,
};
pub use out::Route;
pub use peer::{PeerInfo, PeerTrust, Protocol};
pub use presence::address::{AddrError, Host, PeerAddr, check_ip};
pub use presence::unicast::{Origin as UnicastOrigin, UnicastInfo};
pub use presence::{MAX_PEERS, PER_SOURCE_BURST, PER_SOURCE_RATE, ResolveError, Sighting};
pub use status::{IpmsgCounters, IpmsgNetStatus, NetStatus};
pub use transfer_end::{Party, TransferEnd};
pub use web::Session;

use crate::config::{self, Config};
use crate::net::bound::{Binding, Io};
use crate::net::{NetError, NetInput, spawn_named};
use crate::trust::identity;
use clock::Now;
use fanout::{Inbound, Subscriber};

/// Inputs waiting for the core. Datagrams beyond this are dropped (and counted); link
/// readers wait, which pushes back on the peers that send too fast.
const INPUT_QUEUE: usize = 8192;

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

/// Binds `at`; with no link port asked for, the one of last time first (peers and rooms
/// that remember it reach us there after a restart), any free one if it is taken; the
/// port bound is remembered for next time.
fn bind(
    at: Binding,
    data_dir: &std::path::Path,
    keys: &Arc<crate::trust::KeyPair>,
    tx: crossbeam_channel::Sender<NetInput>,
) -> Result<Io, NetError> {
    if at.port != 0 {
        return Io::bind(at, keys.clone(), tx);
    }
    let io = match link_port::last(data_dir) {
        Some(port) => match Io::bind(Binding { port, ..at }, keys.clone(), tx.clone()) {
            Err(NetError::Bind { addr, .. }) if addr.port() == port => {
                tracing::info!(port, "the link port of last time is taken: another one");
                Io::bind(at, keys.clone(), tx)?
            }
            other => other?,
        },
        None => Io::bind(at, keys.clone(), tx)?,
    };
    if let Some(link) = crate::net::Port::sockets(&io).link {
        link_port::remember(data_dir, link.port());
    }
    Ok(io)
}

/// Starts a node: locks its data directory, loads (or makes) its identity key, binds its
/// sockets and builds its core (errors are returned here, before any thread runs), then
/// runs the core on a thread named `lanchat-core`. It says `ready` (its first event) once
/// it has a subscriber.
pub fn start(config: Config) -> Result<Node, NodeError> {
    let (inbound, inbound_rx) = unbounded();
    let (input_tx, input_rx) = bounded(INPUT_QUEUE);
    let lock = config::lock_data_dir(&config.data_dir)?;
    let (keys, created) = identity::load_or_create(&config.data_dir)?;
    if created {
        tracing::info!(id = %keys.peer_id(), "a new identity key was made");
    }
    let keys = Arc::new(keys);
    let binding = Binding {
        ip: config.bind,
        port: config.port,
        discovery_port: config.discovery_port,
        ipmsg_port: config.ipmsg_port,
    };
    let io = bind(binding, &config.data_dir, &keys, input_tx)?;
    let mut core = core::Core::new(config, lock, io, keys, Now::read())?;
    let thread = spawn_named("lanchat-core", move || {
        // The first subscriber hears `ready` and everything after it.
        let first = inbound_rx.recv();
        let pending = match first {
            Ok(Inbound::Subscribe(s)) => {
                core.subscribe(s);
                None
            }
            Ok(Inbound::Command { command, origin }) if command != Command::Quit => {
                Some((origin, command))
            }
            _ => return core.stop(Now::read()),
        };
        core.announce_start(Now::read());
        if let Some((origin, command)) = pending {
            core.handle_command(origin, command, Now::read());
        }
        run(&mut core, &inbound_rx, &input_rx);
        core.stop(Now::read());
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

/// The core over the real port.
type LiveCore = core::Core<Io>;

/// Stores `first` and the `send` commands already waiting behind it (from any front
/// end) as one burst: one transaction, group commit. The inbound message that ended the
/// burst is returned: the loop handles it next.
fn send_burst(
    core: &mut LiveCore,
    inbound: &Receiver<Inbound>,
    first: (Origin, String, String),
    now: Now,
) -> Option<Inbound> {
    let mut sends = vec![first];
    let mut after = None;
    while sends.len() < core::MAX_BURST {
        match inbound.try_recv() {
            Ok(Inbound::Command {
                origin,
                command: Command::Send { to, text },
            }) => sends.push((origin, to, text)),
            Ok(other) => {
                after = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    core.send_burst(sends, now);
    after
}

/// Handles one message from a front end (and, for a `send`, those waiting behind it);
/// `false` on `quit`.
fn on_inbound(core: &mut LiveCore, inbound: &Receiver<Inbound>, msg: Inbound, now: Now) -> bool {
    let mut next = Some(msg);
    while let Some(msg) = next.take() {
        match msg {
            Inbound::Command {
                command: Command::Quit,
                ..
            } => return false,
            Inbound::Command {
                origin,
                command: Command::Send { to, text },
            } => next = send_burst(core, inbound, (origin, to, text), now),
            Inbound::Command { origin, command } => core.handle_command(origin, command, now),
            Inbound::Subscribe(s) => core.subscribe(s),
        }
    }
    true
}

/// The loop: wakes on a command, an input or the next timer, reads the clock once, and
/// hands that time to everything it does in the turn.
fn run(core: &mut LiveCore, inbound: &Receiver<Inbound>, inputs: &Receiver<NetInput>) {
    loop {
        let timeout = core.next_wake().saturating_duration_since(Instant::now());
        let now;
        select! {
            recv(inbound) -> msg => {
                now = Now::read();
                // The node holds a sender itself, so this disconnects only as it stops.
                let Ok(msg) = msg else { return };
                if !on_inbound(core, inbound, msg, now) {
                    return;
                }
            },
            recv(inputs) -> input => {
                now = Now::read();
                // The port holds a sender itself, so inputs never disconnect.
                if let Ok(input) = input {
                    core.handle_input(input, inputs, now);
                }
            },
            default(timeout) => now = Now::read(),
        }
        // What already arrived is heard before timers judge anyone: after a stall (a
        // loaded machine, a long store write), a peer whose beacons or link frames are
        // waiting here must not be timed out and then found again. Bounded, so a flood
        // cannot keep the timers from running.
        for _ in 0..CATCH_UP {
            match inputs.try_recv() {
                Ok(input) => core.handle_input(input, inputs, now),
                Err(_) => break,
            }
        }
        core.tick(now);
    }
}

/// Inputs (bursts of frames, datagrams) handled at most before each timer check.
const CATCH_UP: usize = 256;

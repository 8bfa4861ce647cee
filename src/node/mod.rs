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

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded, select, unbounded};
use thiserror::Error;

pub use command::Command;
pub use event::{Event, LeftReason};
pub use peers::PeerInfo;
pub use status::NetStatus;

use crate::config::{Config, ConfigError};
use crate::net::{NetError, NetInput, spawn_named};

/// Called after every event, from the core thread: the window sets it to
/// `ctx.request_repaint()`, the headless front end to a no-op.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A waker that does nothing.
pub fn no_waker() -> Waker {
    Arc::new(|| {})
}

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

/// A running node: send it commands, read its events. Dropping it stops the node
/// (saying bye) and joins its thread.
pub struct NodeHandle {
    /// Commands to the core.
    pub commands: Sender<Command>,
    /// Events from the core.
    pub events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl NodeHandle {
    /// Asks the node to quit and waits until it has stopped. Events not yet read stay
    /// readable on `events`.
    pub fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Quit);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a node: binds its sockets (errors are returned here, before any thread runs),
/// then runs the core on a thread named `lanchat-core`. The first event is `ready`.
pub fn spawn(config: Config, waker: Waker) -> Result<NodeHandle, NodeError> {
    let (commands, command_rx) = unbounded();
    let (event_tx, events) = unbounded();
    let (input_tx, input_rx) = bounded(INPUT_QUEUE);
    let mut core = core::Core::start(config, event_tx, waker, input_tx)?;
    let thread = spawn_named("lanchat-core", move || {
        core.announce_start();
        run(&mut core, &command_rx, &input_rx);
        core.stop();
    })
    .map_err(NetError::Thread)?;
    Ok(NodeHandle {
        commands,
        events,
        thread: Some(thread),
    })
}

/// Stores `first` and the `send` commands already waiting behind it as one burst (one
/// transaction: group commit). The command that ended the burst is handled after it;
/// `quit` is returned to the loop instead.
fn send_burst(
    core: &mut core::Core,
    commands: &Receiver<Command>,
    first: (String, String),
) -> Option<Command> {
    let mut sends = vec![first];
    let mut after = None;
    while sends.len() < dispatch::MAX_BURST {
        match commands.try_recv() {
            Ok(Command::Send { to, text }) => sends.push((to, text)),
            Ok(other) => {
                after = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    core.send_chats(sends);
    match after {
        Some(Command::Quit) => Some(Command::Quit),
        Some(cmd) => {
            core.handle_command(cmd);
            None
        }
        None => None,
    }
}

fn run(core: &mut core::Core, commands: &Receiver<Command>, inputs: &Receiver<NetInput>) {
    loop {
        let timeout = core.next_wake().saturating_duration_since(Instant::now());
        select! {
            recv(commands) -> cmd => match cmd {
                Ok(Command::Quit) | Err(_) => return,
                Ok(Command::Send { to, text }) => {
                    if let Some(Command::Quit) = send_burst(core, commands, (to, text)) {
                        return;
                    }
                }
                Ok(cmd) => core.handle_command(cmd),
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

//! Everything that touches a socket. The threads here only read, parse and forward
//! ([`NetInput`]); the decisions are the core's (`crate::node`), which asks for I/O only
//! through the [`Port`] trait: [`Io`] binds every socket and runs the threads, a test's
//! stand-in records what was asked.
//!
//! - [`port`]: the [`Port`] trait, what the core may ask of the I/O side.
//! - [`bound`]: [`Io`], the real port: the sockets, links, dials and transfer threads.
//! - [`interfaces`]: which interfaces, and their broadcast addresses.
//! - [`discovery`]: the UDP sockets and their reader threads.
//! - [`conn`]: one framed TCP connection (frames, deadlines, the raw escape) with its
//!   transport slot; every frame read or written on TCP goes through it.
//! - [`link`]: the TCP listener, dialing, and per-link reader/writer threads.
//! - [`accept`]: the accept loop and its greeters (first frame of each connection);
//!   [`greeting`]: how many may wait, from where, and why the others were closed.
//! - [`transfer`]: file data connections, a sending and a receiving thread per transfer.

pub mod accept;
pub mod bound;
pub mod conn;
pub mod discovery;
pub mod greeting;
pub mod interfaces;
pub mod link;
pub mod port;
pub mod transfer;

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::thread::JoinHandle;

use thiserror::Error;

use crate::protocol::{Beacon, BeaconError, LinkMsg, PeerId};

pub use bound::Io;
pub use conn::Conn;
pub use port::{LinkEnds, Port, Sockets};
pub use transfer::StreamId;

/// Identifies one TCP connection for the life of a node.
pub type LinkId = u64;

/// What the I/O threads tell the core. `C` is the connection a port hands over: a
/// [`Conn`] from [`Io`], a stand-in in the core's tests.
#[derive(Debug)]
pub enum NetInput<C = Conn> {
    /// A datagram arrived on a discovery socket, already parsed.
    Datagram {
        /// Which socket.
        via: discovery::Via,
        /// Source address and port.
        from: SocketAddrV4,
        /// Size in bytes.
        len: usize,
        /// The beacon, or why it was refused.
        beacon: Result<Beacon, BeaconError>,
    },
    /// A peer connected to our link listener and sent its first frame.
    Accepted {
        /// The new connection (holding whatever arrived after the first frame).
        conn: C,
        /// Its remote address.
        remote: SocketAddr,
        /// The first frame: a link `hello`, or what opens another kind of stream.
        first: LinkMsg,
    },
    /// A dial we started finished.
    Dialed {
        /// The peer we dialed.
        peer: PeerId,
        /// Where.
        addr: SocketAddr,
        /// The connection, or why there is none.
        result: Result<C, String>,
    },
    /// A whole, decoded frame arrived on a link.
    Frame {
        /// The link.
        link: LinkId,
        /// Body size in bytes.
        len: usize,
        /// The message.
        msg: LinkMsg,
    },
    /// A link ended: EOF, an I/O error or a protocol violation.
    LinkDown {
        /// The link.
        link: LinkId,
        /// Why, for the log.
        reason: String,
    },
    /// A file transfer thread made progress, finished or failed.
    Transfer(transfer::TransferReport),
}

/// Socket set-up errors, naming what was bound where.
#[derive(Debug, Error)]
pub enum NetError {
    /// A bind failed.
    #[error("cannot bind {what} to {addr}: {source}")]
    Bind {
        /// Which socket.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start thread: {0}")]
    Thread(#[from] io::Error),
}

/// Starts a named thread (names show in debuggers, `top -H` and panics).
pub fn spawn_named<F>(name: &str, f: F) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new().name(name.to_owned()).spawn(f)
}

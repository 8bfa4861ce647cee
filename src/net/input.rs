//! What the I/O threads tell the core, and how a link is named.

use std::net::{SocketAddr, SocketAddrV4};

use super::conn::Conn;
use super::report::TransferReport;
use crate::protocol::{Beacon, BeaconError, LinkMsg, PeerId};

/// Which of the two discovery sockets a datagram arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The shared discovery port (broadcasts).
    Listener,
    /// Our ephemeral sender port (unicast answers to our `hello`).
    Sender,
}

/// Identifies one TCP connection for the life of a node.
pub type LinkId = u64;

/// What the I/O threads tell the core. `C` is the connection a port hands over: a
/// [`Conn`] from [`super::Io`], a stand-in in the core's tests.
#[derive(Debug)]
pub enum NetInput<C = Conn> {
    /// A datagram arrived on a discovery socket, already parsed.
    Datagram {
        /// Which socket.
        via: Via,
        /// Source address and port.
        from: SocketAddrV4,
        /// Size in bytes.
        len: usize,
        /// The beacon, or why it was refused.
        beacon: Result<Beacon, BeaconError>,
    },
    /// A peer connected to our link listener and sent its first frame.
    Accepted {
        /// The new connection (holding whatever arrived after the first frame). Boxed:
        /// the input queue holds thousands of inputs, and a connection is rare and large.
        conn: Box<C>,
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
        /// The connection (boxed, as for `Accepted`), or why there is none.
        result: Result<Box<C>, String>,
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
    Transfer(TransferReport),
    /// The page for browsers: what a visitor did, or an upload that landed. Boxed, as for
    /// `Accepted`.
    Web(Box<super::web::WebNews>),
}

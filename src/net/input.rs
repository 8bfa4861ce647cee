//! What the I/O threads tell the core, and how a link is named.

use std::net::{SocketAddr, SocketAddrV4};

use super::conn::Conn;
use super::ipmsg::IpmsgInput;
use super::report::TransferReport;
use super::secure::DialError;
use crate::protocol::signed::{SignedError, Unverified};
use crate::protocol::{LinkMsg, PeerId};
use crate::trust::PeerKey;

/// Which of the two discovery sockets a datagram arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The shared discovery port (broadcasts).
    Listener,
    /// Our ephemeral sender port (unicast answers to our `hello`).
    Sender,
}

impl Via {
    /// Whether it came to our discovery port (broadcast, or a unicast beacon sent to
    /// us by address), not to our sender's.
    pub fn listening(self) -> bool {
        self == Via::Listener
    }
}

/// Identifies one TCP connection for the life of a node.
pub type LinkId = u64;

/// What the I/O threads tell the core. `C` is the connection a port hands over: a
/// [`Conn`] from [`super::Io`], a stand-in in the core's tests.
#[derive(Debug)]
pub enum NetInput<C = Conn> {
    /// A datagram arrived on a discovery socket, already parsed: every check but the
    /// freshness guard and the signature, which are the core's (they need its state).
    Datagram {
        /// Which socket.
        via: Via,
        /// Source address and port.
        from: SocketAddrV4,
        /// Size in bytes.
        len: usize,
        /// The signed datagram, not yet verified (boxed: a datagram's bytes travel with
        /// it), or why it was refused.
        beacon: Result<Box<Unverified>, SignedError>,
    },
    /// A peer connected to our link listener, proved its key in the handshake and sent
    /// its first (sealed) frame.
    Accepted {
        /// The new, secure connection (holding whatever arrived after the first frame).
        /// Boxed: the input queue holds thousands of inputs, and a connection is rare
        /// and large.
        conn: Box<C>,
        /// Its remote address.
        remote: SocketAddr,
        /// The identity the remote proved in the handshake.
        key: PeerKey,
        /// The first frame: a link `hello`, or what opens another kind of stream.
        first: LinkMsg,
    },
    /// A dial we started finished.
    Dialed {
        /// The peer we dialed.
        peer: PeerId,
        /// Where.
        addr: SocketAddr,
        /// The secure connection with the key that proved to be `peer`'s (boxed, as for
        /// `Accepted`), or why there is none.
        result: Result<(Box<C>, PeerKey), DialError>,
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
    /// What a probe of a peer's link port found ([`super::Port::probe`]).
    Probed {
        /// The peer probed.
        peer: PeerId,
        /// Where.
        addr: SocketAddr,
        /// Whether the connection was refused: nothing listens there any more.
        refused: bool,
    },
    /// A file transfer thread made progress, finished or failed.
    Transfer(TransferReport),
    /// What the IPMsg sockets heard (a datagram, a `GETFILEDATA` request) or a file
    /// thread reported. Boxed: a parsed packet is large and the queue holds thousands.
    Ipmsg(Box<IpmsgInput>),
    /// The page for browsers: what a visitor did, or an upload that landed. Boxed, as for
    /// `Accepted`.
    Web(Box<super::web::WebNews>),
    /// A host name on the unicast list resolved, or did not ([`super::Port::resolve`]).
    Resolved {
        /// The address as the list has it (`name:port`).
        key: String,
        /// Its first IPv4 address, or what the resolver said.
        result: Result<std::net::Ipv4Addr, String>,
    },
}

impl<C> From<IpmsgInput> for NetInput<C> {
    fn from(input: IpmsgInput) -> Self {
        NetInput::Ipmsg(Box::new(input))
    }
}

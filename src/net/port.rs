//! What the core may ask of the I/O side, as a trait: send a datagram, dial, start a
//! link and write to it, close it, start and stop a transfer's stream, serve the page for
//! browsers. [`super::Io`] is
//! the real one (sockets and threads); the core's tests use a stand-in that records what
//! was asked and binds nothing.
//!
//! Everything here is a request carried out at once, or a thread started whose result
//! comes back later as a [`super::NetInput`]. Nothing here decides: the core does.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, SocketAddrV4, TcpStream};

use super::input::LinkId;
use super::interfaces::{InterfaceFilter, NetInterface};
use super::ipmsg::{FetchJob, ServeJob};
use super::link::QueueError;
use super::transfer::{RecvJob, SendJob, StreamId};
use crate::protocol::{LinkMsg, PeerId};

/// Both ends of a link, as the socket reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkEnds {
    /// Ours (`getsockname`).
    pub local: SocketAddr,
    /// Theirs (`getpeername`).
    pub remote: SocketAddr,
}

/// Where the port is bound, and what its acceptor counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sockets {
    /// The TCP link listener.
    pub link: Option<SocketAddr>,
    /// The shared discovery port (UDP).
    pub discovery: Option<SocketAddr>,
    /// The ephemeral port beacons leave from (UDP).
    pub sender: Option<SocketAddr>,
    /// Where unicast beacons to us arrive when the listener is on loopback's broadcast
    /// address (confined to loopback); elsewhere the listener takes them.
    pub unicast: Option<SocketAddr>,
    /// Connections accepted on the link port.
    pub accepted: u64,
    /// Those closed before their first frame, by reason.
    pub refused: BTreeMap<String, u64>,
    /// Failed handshakes, both ways, by label.
    pub handshakes_failed: BTreeMap<String, u64>,
    /// The IPMsg sockets.
    pub ipmsg: IpmsgStatus,
}

/// The IPMsg sockets as the port has them, and what their threads counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpmsgStatus {
    /// Where its UDP and TCP sockets are bound; `None` when IPMsg is off.
    pub local: Option<SocketAddrV4>,
    /// Why it is off although it was asked for (the port is taken), said once at start.
    pub problem: Option<String>,
    /// Datagrams read.
    pub datagrams: u64,
    /// Datagrams and requests dropped because the core was behind.
    pub overflow: u64,
    /// TCP connections accepted (file requests).
    pub accepted: u64,
    /// Those closed before a usable `GETFILEDATA` request, by reason.
    pub refused: BTreeMap<String, u64>,
}

/// The I/O the core asks for. `Conn` is a connection handed over in a
/// [`super::NetInput`] (accepted or dialed) and handed back to start a link or a
/// receiving stream.
pub trait Port {
    /// A connection, as this port hands it over.
    type Conn: Send + 'static;

    /// Sends one datagram from the discovery sender socket.
    fn send_datagram(&mut self, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()>;

    /// The interfaces beacons may go out on now (they come and go: Wi-Fi, VPN, DHCP).
    fn interfaces(&self, filter: &InterfaceFilter) -> Vec<NetInterface>;

    /// Dials `addr` for `peer`; the result comes back as `NetInput::Dialed`.
    fn dial(&mut self, peer: PeerId, addr: SocketAddr);

    /// Opens a TCP connection to `addr` and closes it at once, on a thread of its own, to
    /// learn whether anything still listens there (no handshake, nothing sent); the
    /// answer comes back as `NetInput::Probed`.
    fn probe(&mut self, peer: PeerId, addr: SocketAddr);

    /// Resolves host `name` (port `port`) to an IPv4 address on a thread of its own; the
    /// answer comes back as `NetInput::Resolved` tagged `key`.
    fn resolve(&mut self, key: String, name: String, port: u16);

    /// Starts link `id` on `conn` (its frames come back as `NetInput::Frame`).
    fn open_link(&mut self, id: LinkId, conn: Self::Conn) -> io::Result<LinkEnds>;

    /// Writes one message on link `id` without blocking; returns its size on the wire.
    fn write(&mut self, id: LinkId, msg: &LinkMsg) -> Result<usize, QueueError>;

    /// Closes link `id` (nothing if it is not open): its threads are told to stop, never
    /// waited for here.
    fn close_link(&mut self, id: LinkId);

    /// The file descriptor of link `id`, for the network panel (-1 where there is none).
    fn link_fd(&self, id: LinkId) -> i64;

    /// Starts sending a file (`NetInput::Transfer` reports, tagged `stream`).
    fn start_send(&mut self, stream: StreamId, job: SendJob) -> io::Result<()>;

    /// Starts receiving a file on an accepted data connection.
    fn start_recv(&mut self, stream: StreamId, job: RecvJob, conn: Self::Conn) -> io::Result<()>;

    /// Stops a stream (if it still runs, an IPMsg file thread too), never waiting for a
    /// lanchat stream's thread here.
    fn stop_stream(&mut self, stream: StreamId);

    /// Sends one datagram from the IPMsg UDP port (an error when IPMsg is off, or when
    /// it is confined to loopback and `to` is not).
    fn ipmsg_send(&mut self, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()>;

    /// Serves a file's bytes on an IPMsg `GETFILEDATA` connection, as `stream`
    /// (`NetInput::Ipmsg` reports, job `stream.0`).
    fn ipmsg_serve(&mut self, stream: StreamId, job: ServeJob, conn: TcpStream) -> io::Result<()>;

    /// Fetches a file offered over IPMsg into its `.part`, as `stream` (reports as for
    /// `ipmsg_serve`).
    fn ipmsg_fetch(&mut self, stream: StreamId, job: FetchJob) -> io::Result<()>;

    /// Where it is bound, and the acceptor's counts.
    fn sockets(&self) -> Sockets;

    /// Datagrams dropped because the core was behind, since the last call.
    fn take_overflow(&mut self) -> u64;

    /// Errors on the discovery sockets since the last call, by reason (`icmp_reset`:
    /// Windows reporting an ICMP echo; `socket_error`: anything else).
    fn take_socket_errors(&mut self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Joins threads that have finished (dials, and those of closed links and streams).
    fn reap(&mut self);

    /// The page for browsers (off until the core starts it).
    fn web(&mut self) -> &mut dyn super::web::WebPort;

    /// Stops everything: streams, links, the acceptor, the discovery readers, dials, the
    /// page for browsers.
    fn stop(&mut self);
}

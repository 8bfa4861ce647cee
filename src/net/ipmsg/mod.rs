//! The IPMsg sockets (UDP and TCP on port 2425) and their threads. They read, parse and
//! forward [`IpmsgInput`]s, send what they are given, and move file bytes; deciding what
//! a packet means, who is a peer and whether a file was offered to whom is the core's.
//!
//! - this file: binding ([`IpmsgSockets`]) and the running set ([`Ipmsg`]): sending
//!   datagrams, broadcast targets, the loopback-only rule.
//! - [`udp`]: the reader threads of the UDP socket(s).
//! - [`accept`]: the TCP accept loop and its greeters, which read a `GETFILEDATA` request
//!   with a deadline.
//! - [`files`]: a thread serving a file's bytes, a thread fetching one into a `.part`.
//!
//! IPMsg clients answer to port 2425 of the sender's address whatever the source port
//! was, so everything is sent from the bound UDP socket. Loopback-only mode (a loopback
//! bind address) keeps everything on loopback: sockets on the bind address, broadcasts
//! only to 127.255.255.255 (heard by a second UDP socket bound there), and sends or
//! connections to any other address refused. (Where the system has no loopback
//! broadcast, "127.255.255.255" is the loopback multicast group instead:
//! [`crate::platform::sock::LoopbackReach`].)

pub mod accept;
pub mod files;
pub mod udp;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Sender;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use thiserror::Error;

use super::datagram::SocketErrors;
use super::greeting::AcceptStats;
use super::interfaces::NetInterface;
use crate::platform::sock::{self, LoopbackReach};
use crate::protocol::ipmsg::{FileRequest, IpmsgError, Packet};

pub use files::{FetchJob, FileEvent, FileReport, FileThread, ServeJob};

/// What the IPMsg threads tell the core.
#[derive(Debug)]
pub enum IpmsgInput {
    /// A datagram arrived on the IPMsg UDP port.
    Datagram {
        /// Source address and port.
        from: SocketAddrV4,
        /// Size in bytes.
        len: usize,
        /// The packet, or why it was refused.
        packet: Result<Packet, IpmsgError>,
    },
    /// A peer connected to the IPMsg TCP port and asked for a file's bytes. The core
    /// checks it was offered to that address, then serves it ([`Ipmsg::serve`]) or drops
    /// the stream (which closes it).
    FileRequest {
        /// The connection, nothing read past the request.
        stream: TcpStream,
        /// Its remote address.
        peer: SocketAddrV4,
        /// The whole `GETFILEDATA` packet (header: who asks).
        packet: Packet,
        /// Which file, from which byte.
        request: FileRequest,
    },
    /// A file thread made progress, finished or failed.
    File(FileReport),
}

/// Why IPMsg could not start. The node says it once and goes on without IPMsg.
#[derive(Debug, Error)]
pub enum IpmsgNetError {
    /// The port is in use, most likely by another IPMsg client on this host.
    #[error(
        "IPMsg port {addr} ({what}) is taken, probably by another IPMsg client on this \
         host (iptux, FeiQ, another lanchat)"
    )]
    PortTaken {
        /// Which socket.
        what: &'static str,
        /// The address.
        addr: SocketAddrV4,
    },
    /// Another bind failure.
    #[error("cannot bind the IPMsg {what} socket to {addr}: {source}")]
    Bind {
        /// Which socket.
        what: &'static str,
        /// The address.
        addr: SocketAddrV4,
        /// The OS error.
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start an IPMsg thread: {0}")]
    Thread(#[from] io::Error),
}

/// The bound IPMsg sockets, not yet read.
#[derive(Debug)]
pub struct IpmsgSockets {
    udp: UdpSocket,
    broadcast: Option<UdpSocket>,
    tcp: TcpListener,
    local: SocketAddrV4,
}

impl IpmsgSockets {
    /// Binds TCP then UDP on `(bind or 0.0.0.0, port)`; port 0 picks a free port (tests).
    ///
    /// TCP goes first: a listening socket cannot be shared even with SO_REUSEADDR, so
    /// another IPMsg client on this host shows as [`IpmsgNetError::PortTaken`] there. UDP
    /// has SO_REUSEADDR and SO_BROADCAST. With a specific bind address a second UDP
    /// socket hears broadcasts: on 127.255.255.255 for a loopback address (nothing from
    /// a real network), else on 0.0.0.0.
    pub fn bind(bind: Option<Ipv4Addr>, port: u16) -> Result<IpmsgSockets, IpmsgNetError> {
        let ip = bind.unwrap_or(Ipv4Addr::UNSPECIFIED);
        // With port 0 the UDP port chosen for us may be taken for TCP: try a few.
        let tries = if port == 0 { 8 } else { 1 };
        let mut last = None;
        for _ in 0..tries {
            match Self::bind_once(ip, port) {
                Ok(s) => return Ok(s),
                Err(e @ IpmsgNetError::PortTaken { .. }) if port == 0 => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("tried at least once"))
    }

    fn bind_once(ip: Ipv4Addr, port: u16) -> Result<IpmsgSockets, IpmsgNetError> {
        let addr = SocketAddrV4::new(ip, port);
        let tcp = TcpListener::bind(addr).map_err(|e| bind_error("TCP", addr, e))?;
        let port = tcp.local_addr().map_err(IpmsgNetError::Thread)?.port();
        let local = SocketAddrV4::new(ip, port);
        let udp = udp_socket(local).map_err(|e| bind_error("UDP", local, e))?;
        let reach = ip.is_loopback().then(sock::loopback_reach);
        if let Some(reach) = reach {
            reach
                .prepare_sender(&udp)
                .map_err(|e| bind_error("UDP", local, e))?;
        }
        let broadcast = if ip.is_unspecified() {
            None
        } else {
            let listen = reach.map_or(Ipv4Addr::UNSPECIFIED, LoopbackReach::listen_ip);
            let at = SocketAddrV4::new(listen, port);
            let socket = udp_socket(at).map_err(|e| bind_error("UDP broadcast", at, e))?;
            if let Some(reach) = reach {
                reach
                    .join(&SockRef::from(&socket))
                    .map_err(|e| bind_error("UDP broadcast", at, e))?;
            }
            Some(socket)
        };
        Ok(IpmsgSockets {
            udp,
            broadcast,
            tcp,
            local,
        })
    }

    /// The bound address (the bind address, or 0.0.0.0) and port.
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }
}

fn bind_error(what: &'static str, addr: SocketAddrV4, source: io::Error) -> IpmsgNetError {
    if source.kind() == io::ErrorKind::AddrInUse {
        IpmsgNetError::PortTaken { what, addr }
    } else {
        IpmsgNetError::Bind { what, addr, source }
    }
}

fn udp_socket(addr: SocketAddrV4) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sock::share_port(&socket)?;
    socket.set_broadcast(true)?;
    socket.bind(&SocketAddr::V4(addr).into())?;
    Ok(socket.into())
}

/// Counters for `net_status`.
#[derive(Debug, Default)]
pub struct IpmsgStats {
    /// Datagrams read (parsed or not).
    pub datagrams: AtomicU64,
    /// Datagrams dropped because the core's channel was full.
    pub overflow: AtomicU64,
    /// Errors on the UDP socket(s), by reason.
    pub errors: SocketErrors,
    /// TCP connections accepted, and those closed before a usable request, by reason.
    pub connections: AcceptStats,
}

/// The running IPMsg sockets: reader threads, the accept loop, and the sending side.
/// Dropping it stops and joins every thread (file threads are the caller's).
#[derive(Debug)]
pub struct Ipmsg {
    udp: UdpSocket,
    local: SocketAddrV4,
    stats: Arc<IpmsgStats>,
    // Dropped in this order: readers, then the accept loop.
    _readers: Vec<udp::Reader>,
    _acceptor: accept::Acceptor,
}

impl Ipmsg {
    /// Starts reading `sockets`: datagrams and file requests go to `tx` (datagrams that
    /// find it full are dropped and counted).
    pub fn start<T>(sockets: IpmsgSockets, tx: Sender<T>) -> Result<Ipmsg, IpmsgNetError>
    where
        T: From<IpmsgInput> + Send + 'static,
    {
        let stats = Arc::new(IpmsgStats::default());
        let mut readers = vec![udp::Reader::spawn(
            &sockets.udp,
            "ipmsg-udp",
            tx.clone(),
            stats.clone(),
        )?];
        if let Some(b) = &sockets.broadcast {
            readers.push(udp::Reader::spawn(
                b,
                "ipmsg-bcast",
                tx.clone(),
                stats.clone(),
            )?);
        }
        let acceptor = accept::Acceptor::spawn(sockets.tcp, tx, stats.clone())?;
        Ok(Ipmsg {
            udp: sockets.udp,
            local: sockets.local,
            stats,
            _readers: readers,
            _acceptor: acceptor,
        })
    }

    /// The bound address and port.
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    /// Whether everything stays on loopback.
    pub fn loopback_only(&self) -> bool {
        self.local.ip().is_loopback()
    }

    /// Counters for `net_status`.
    pub fn stats(&self) -> &IpmsgStats {
        &self.stats
    }

    /// Where a broadcast goes: 127.255.255.255 in loopback-only mode, else each
    /// interface's directed broadcast address (the interfaces lanchat's own beacons use).
    pub fn broadcast_targets(&self, interfaces: &[NetInterface]) -> Vec<SocketAddrV4> {
        broadcast_targets(self.loopback_only(), self.local.port(), interfaces)
    }

    /// Sends one datagram from the IPMsg port. In loopback-only mode anything but a
    /// loopback address is refused (`PermissionDenied`), whatever the caller thinks.
    pub fn send_to(&self, datagram: &[u8], to: SocketAddrV4) -> io::Result<()> {
        self.allowed(*to.ip())?;
        self.udp.send_to(datagram, to).map(|_| ())
    }

    /// Serves `job` on `stream` (from [`IpmsgInput::FileRequest`]); reports to `tx`.
    pub fn serve<T>(
        &self,
        job: ServeJob,
        stream: TcpStream,
        tx: Sender<T>,
    ) -> io::Result<FileThread>
    where
        T: From<IpmsgInput> + Send + 'static,
    {
        files::spawn_serve(job, stream, tx)
    }

    /// Fetches `job` from its peer (connecting from the bind address); reports to `tx`.
    /// In loopback-only mode a peer off loopback is refused (`PermissionDenied`).
    pub fn fetch<T>(&self, job: FetchJob, tx: Sender<T>) -> io::Result<FileThread>
    where
        T: From<IpmsgInput> + Send + 'static,
    {
        self.allowed(*job.addr.ip())?;
        let from = (!self.local.ip().is_unspecified()).then_some(*self.local.ip());
        files::spawn_fetch(job, from, tx)
    }

    /// The loopback multicast group counts as loopback where it stands in for the
    /// loopback broadcast: [`LoopbackReach::prepare_sender`] keeps it on 127.0.0.1.
    fn allowed(&self, to: Ipv4Addr) -> io::Result<()> {
        let loopback_group = *sock::loopback_reach().target(0).ip() == to;
        if self.loopback_only() && !to.is_loopback() && !loopback_group {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("loopback-only IPMsg: {to} is not on loopback"),
            ));
        }
        Ok(())
    }
}

/// The broadcast targets for a node on `port` (see [`Ipmsg::broadcast_targets`]).
pub fn broadcast_targets(
    loopback_only: bool,
    port: u16,
    interfaces: &[NetInterface],
) -> Vec<SocketAddrV4> {
    if loopback_only {
        return vec![sock::loopback_reach().target(port)];
    }
    let mut out: Vec<SocketAddrV4> = interfaces
        .iter()
        .map(|i| SocketAddrV4::new(i.broadcast, port))
        .collect();
    out.dedup();
    out
}

/// Hands a datagram or request to the core without blocking: `false` when the channel
/// is full (the input is dropped and counted) or closed.
pub(crate) fn offer<T: From<IpmsgInput>>(
    tx: &Sender<T>,
    input: IpmsgInput,
    stats: &IpmsgStats,
) -> Result<(), crossbeam_channel::TrySendError<T>> {
    let r = tx.try_send(T::from(input));
    if let Err(crossbeam_channel::TrySendError::Full(_)) = &r {
        stats.overflow.fetch_add(1, Ordering::Relaxed);
    }
    r
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_files;

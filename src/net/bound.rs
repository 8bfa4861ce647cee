//! The real [`Port`]: binds the link listener, the two discovery sockets and IPMsg's,
//! runs their threads, and owns every link, dial and transfer thread the core starts,
//! by id.
//!
//! Binding is all of [`Io::bind`]: errors (a port in use) come back before the core is
//! built, except IPMsg's: its port taken (by iptux or FeiQ on this host) leaves IPMsg
//! off, and the core says why ([`IpmsgStatus::problem`]). Closing a link or stopping a
//! stream tells its threads to stop and leaves them to a [`Reaper`], so the core thread
//! never waits on a peer; they are joined when they end. Dropping an `Io` (or
//! [`Port::stop`]) tells every thread to stop first, then waits for them all together,
//! at most [`STOP_WAIT`] for those a peer could hold up.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;

use super::conn::Conn;
use super::datagram::SocketErrors;
use super::discovery;
use super::error::NetError;
use super::input::Via;
use super::input::{LinkId, NetInput};
use super::interfaces::{self, InterfaceFilter, NetInterface};
use super::ipmsg::{FetchJob, FileThread, Ipmsg, IpmsgSockets, ServeJob};
use super::link::{self, Acceptor, Link, QueueError};
use super::port::{IpmsgStatus, LinkEnds, Port, Sockets};
use super::secure::HandshakeStats;
use super::thread::Reaper;
use super::transfer::{self, RecvJob, SendJob, StreamId, StreamThread};
use super::web::{WebPort, WebSide};
use crate::protocol::{LinkMsg, PeerId};
use crate::trust::KeyPair;

/// The longest a stop waits for threads a peer could hold up (a writer blocked on a peer
/// that reads nothing, where `shutdown()` wakes no blocked write; a dial in `connect`):
/// they end by themselves within their own time limits.
pub const STOP_WAIT: Duration = Duration::from_millis(500);

/// Where to bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// `None`: every interface; a loopback address confines the node to this host.
    pub ip: Option<Ipv4Addr>,
    /// The TCP link port (0: any free one).
    pub port: u16,
    /// The shared UDP discovery port.
    pub discovery_port: u16,
    /// IPMsg's UDP and TCP port (`None`: off; 0: any free one).
    pub ipmsg_port: Option<u16>,
}

/// The sockets and threads of one node.
pub struct Io {
    tx: Sender<NetInput>,
    /// Our identity: every connection's handshake proves it.
    keys: Arc<KeyPair>,
    handshakes: Arc<HandshakeStats>,
    /// Beacons leave from here (an ephemeral port); answers to our `hello` arrive here.
    udp: UdpSocket,
    discovery: SocketAddr,
    /// Where unicast beacons arrive when the listener cannot take them (loopback).
    unicast: Option<SocketAddr>,
    link_addr: SocketAddr,
    overflow: Arc<AtomicU64>,
    errors: Arc<SocketErrors>,
    receivers: Vec<discovery::Receiver>,
    acceptor: Option<Acceptor>,
    links: HashMap<LinkId, Link>,
    streams: HashMap<StreamId, StreamThread>,
    /// IPMsg's sockets and threads, when on; why not, when it could not start.
    ipmsg: Option<Ipmsg>,
    ipmsg_problem: Option<String>,
    /// IPMsg file threads, by the stream id the core gave them.
    ipmsg_files: HashMap<StreamId, FileThread>,
    web: WebSide,
    /// Threads of closed links, stopped streams and dials, joined when they end.
    reaper: Reaper,
}

impl Io {
    /// Binds every socket and starts the discovery readers and the acceptor; what they
    /// hear goes to `tx`. Every connection made or accepted proves `keys`.
    pub fn bind(at: Binding, keys: Arc<KeyPair>, tx: Sender<NetInput>) -> Result<Io, NetError> {
        let ip = at.ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let listener = link::listen(SocketAddr::new(IpAddr::V4(ip), at.port))?;
        let link_addr = listener.local_addr().map_err(NetError::Thread)?;
        let sockets = discovery::bind(at.ip, at.discovery_port)?;
        let discovery = sockets.listener.local_addr().map_err(NetError::Thread)?;
        let overflow = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(SocketErrors::default());
        let reader = |socket: &UdpSocket, via| {
            discovery::Receiver::spawn(socket, via, tx.clone(), overflow.clone(), errors.clone())
        };
        let mut receivers = vec![
            reader(&sockets.listener, Via::Listener)?,
            reader(&sockets.sender, Via::Sender)?,
        ];
        let unicast = match &sockets.unicast {
            Some(socket) => {
                receivers.push(reader(socket, Via::Listener)?);
                socket.local_addr().ok()
            }
            None => None,
        };
        let handshakes = Arc::new(HandshakeStats::default());
        let acceptor = Acceptor::spawn(listener, keys.clone(), handshakes.clone(), tx.clone())?;
        let (ipmsg, ipmsg_problem) = match at.ipmsg_port {
            None => (None, None),
            Some(port) => {
                match IpmsgSockets::bind(at.ip, port).and_then(|s| Ipmsg::start(s, tx.clone())) {
                    Ok(ipmsg) => (Some(ipmsg), None),
                    Err(e) => {
                        tracing::warn!("IPMsg is off: {e}");
                        (None, Some(e.to_string()))
                    }
                }
            }
        };
        let web = WebSide::new(tx.clone());
        Ok(Io {
            tx,
            keys,
            handshakes,
            udp: sockets.sender,
            discovery,
            unicast,
            link_addr,
            overflow,
            errors,
            receivers,
            acceptor: Some(acceptor),
            links: HashMap::new(),
            streams: HashMap::new(),
            ipmsg,
            ipmsg_problem,
            ipmsg_files: HashMap::new(),
            web,
            reaper: Reaper::default(),
        })
    }
}

impl Port for Io {
    type Conn = Conn;

    fn send_datagram(&mut self, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()> {
        self.udp.send_to(bytes, to).map(drop)
    }

    fn interfaces(&self, filter: &InterfaceFilter) -> Vec<NetInterface> {
        interfaces::list(filter)
    }

    fn probe(&mut self, peer: PeerId, addr: SocketAddr) {
        match link::probe(peer, addr, self.tx.clone()) {
            Ok(t) => self.reaper.add([t]),
            Err(e) => tracing::warn!("cannot start probing {addr}: {e}"),
        }
    }

    fn resolve(&mut self, key: String, name: String, port: u16) {
        match super::resolve::spawn(key, name, port, self.tx.clone()) {
            Ok(t) => self.reaper.add([t]),
            Err(e) => tracing::warn!("cannot start resolving: {e}"),
        }
    }

    fn dial(&mut self, peer: PeerId, addr: SocketAddr) {
        let (keys, stats) = (self.keys.clone(), self.handshakes.clone());
        match link::dial(peer, addr, keys, stats, self.tx.clone()) {
            Ok(t) => self.reaper.add([t]),
            Err(e) => tracing::warn!("cannot start dialing {addr}: {e}"),
        }
    }

    fn open_link(&mut self, id: LinkId, conn: Conn) -> io::Result<LinkEnds> {
        let link = Link::spawn(id, conn, self.tx.clone())?;
        let ends = LinkEnds {
            local: link.local(),
            remote: link.remote(),
        };
        self.links.insert(id, link);
        Ok(ends)
    }

    fn write(&mut self, id: LinkId, msg: &LinkMsg) -> Result<usize, QueueError> {
        match self.links.get_mut(&id) {
            Some(link) => link.send(msg),
            None => Err(QueueError::Closed),
        }
    }

    fn close_link(&mut self, id: LinkId) {
        if let Some(link) = self.links.remove(&id) {
            self.reaper.add(link.stop());
        }
    }

    fn link_fd(&self, id: LinkId) -> i64 {
        self.links.get(&id).map_or(-1, Link::fd)
    }

    fn start_send(&mut self, stream: StreamId, job: SendJob) -> io::Result<()> {
        let (keys, stats) = (self.keys.clone(), self.handshakes.clone());
        let thread = transfer::spawn_send(stream, job, keys, stats, self.tx.clone())?;
        self.streams.insert(stream, thread);
        Ok(())
    }

    fn start_recv(&mut self, stream: StreamId, job: RecvJob, conn: Conn) -> io::Result<()> {
        let thread = transfer::spawn_recv(stream, job, conn, self.tx.clone())?;
        self.streams.insert(stream, thread);
        Ok(())
    }

    fn stop_stream(&mut self, stream: StreamId) {
        if let Some(thread) = self.streams.remove(&stream) {
            self.reaper.add(thread.stop());
        }
        drop(self.ipmsg_files.remove(&stream));
    }

    fn ipmsg_send(&mut self, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()> {
        self.ipmsg()?.send_to(bytes, to)
    }

    fn ipmsg_serve(&mut self, stream: StreamId, job: ServeJob, conn: TcpStream) -> io::Result<()> {
        let thread = self.ipmsg()?.serve(job, conn, self.tx.clone())?;
        self.ipmsg_files.insert(stream, thread);
        Ok(())
    }

    fn ipmsg_fetch(&mut self, stream: StreamId, job: FetchJob) -> io::Result<()> {
        let thread = self.ipmsg()?.fetch(job, self.tx.clone())?;
        self.ipmsg_files.insert(stream, thread);
        Ok(())
    }

    fn sockets(&self) -> Sockets {
        let accept = self.acceptor.as_ref().map(Acceptor::stats);
        Sockets {
            link: Some(self.link_addr),
            discovery: Some(self.discovery),
            sender: self.udp.local_addr().ok(),
            unicast: self.unicast,
            accepted: accept.map_or(0, |a| a.accepted_total()),
            refused: accept.map(|a| a.refused_by_reason()).unwrap_or_default(),
            handshakes_failed: self.handshakes.by_label(),
            ipmsg: self.ipmsg_status(),
        }
    }

    fn take_overflow(&mut self) -> u64 {
        self.overflow.swap(0, Ordering::Relaxed)
    }

    fn take_socket_errors(&mut self) -> Vec<(&'static str, u64)> {
        self.errors.take()
    }

    fn reap(&mut self) {
        self.reaper.reap();
        self.web.reap();
    }

    fn web(&mut self) -> &mut dyn WebPort {
        &mut self.web
    }

    fn stop(&mut self) {
        self.web.stop();
        // Everything is told first, so the waits below overlap.
        for (_, thread) in self.streams.drain() {
            self.reaper.add(thread.stop());
        }
        self.ipmsg_files.clear();
        self.ipmsg.take();
        for (_, link) in self.links.drain() {
            self.reaper.add(link.stop());
        }
        if let Some(acceptor) = &self.acceptor {
            acceptor.signal();
        }
        for receiver in &self.receivers {
            receiver.signal();
        }
        self.acceptor.take(); // joins the accept loop, which joins its greeters
        self.receivers.clear();
        self.reaper.finish(STOP_WAIT);
    }
}

impl Io {
    fn ipmsg(&self) -> io::Result<&Ipmsg> {
        self.ipmsg
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "IPMsg is off"))
    }

    fn ipmsg_status(&self) -> IpmsgStatus {
        let Some(ipmsg) = &self.ipmsg else {
            return IpmsgStatus {
                problem: self.ipmsg_problem.clone(),
                ..IpmsgStatus::default()
            };
        };
        let stats = ipmsg.stats();
        IpmsgStatus {
            local: Some(ipmsg.local_addr()),
            problem: None,
            datagrams: stats.datagrams.load(Ordering::Relaxed),
            overflow: stats.overflow.load(Ordering::Relaxed),
            accepted: stats.connections.accepted_total(),
            refused: stats.connections.refused_by_reason(),
        }
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests;

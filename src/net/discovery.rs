//! The discovery sockets and the threads that read them.
//!
//! Two UDP sockets per node (DESIGN.md, "The socket"):
//! - the *listener*, `SO_REUSEADDR` (and `SO_REUSEPORT` where the system needs it) +
//!   `SO_BROADCAST` on the shared discovery port, so every instance on a host gets its own
//!   copy of each broadcast;
//! - the *sender*, on an ephemeral port, from which beacons go out. A `hello` is answered
//!   with a unicast `here` to its source address *and port*, i.e. to the asker's sender
//!   socket, which reaches exactly that instance even when several share the host.
//!
//! Reader threads parse each datagram (a signed v2 datagram: size, layout, JSON, key and
//! id, `protocol::signed::parse`) and forward the result; the core checks freshness and
//! the signature, within its verification budget, and decides what it means. When the
//! core is busy the channel is full and datagrams are dropped and counted, so a flood
//! costs bounded memory. How a reader is stopped, and what its socket errors mean on
//! each system, is [`super::datagram`]'s.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};
use socket2::{Domain, Protocol, Socket, Type};

use super::datagram::{self, SocketErrors};
use super::error::NetError;
use super::input::{NetInput, Via};
use super::thread::spawn_named;
use crate::platform::sock::{self, LoopbackReach};
use crate::platform::wake::{self, Wake};
use crate::protocol::MAX_DATAGRAM;
use crate::protocol::signed;

/// The two bound discovery sockets.
#[derive(Debug)]
pub struct DiscoverySockets {
    /// Shared port, receives broadcasts.
    pub listener: UdpSocket,
    /// Ephemeral port, sends beacons and receives answers.
    pub sender: UdpSocket,
    /// When confined to loopback (the listener on loopback's broadcast address or
    /// group): the bound address and the discovery port, where unicast beacons sent to
    /// us by address arrive (reach by address). Read as the listener is.
    pub unicast: Option<UdpSocket>,
}

/// Binds the discovery sockets.
///
/// With a loopback `bind` the node hears only this host: the listener sits on
/// 127.255.255.255 on Linux, or on the loopback multicast group elsewhere (and with
/// the feature `portable`), and the sender sends there ([`LoopbackReach`]).
pub fn bind(bind: Option<Ipv4Addr>, port: u16) -> Result<DiscoverySockets, NetError> {
    let loopback = bind
        .filter(Ipv4Addr::is_loopback)
        .map(|_| sock::loopback_reach());
    let listen_ip = loopback.map_or(Ipv4Addr::UNSPECIFIED, LoopbackReach::listen_ip);
    let listen_addr = SocketAddrV4::new(listen_ip, port);
    let listener = udp_socket(listen_addr, true, loopback).map_err(|source| NetError::Bind {
        what: "discovery listener",
        addr: listen_addr.into(),
        source,
    })?;
    let send_addr = SocketAddrV4::new(bind.unwrap_or(Ipv4Addr::UNSPECIFIED), 0);
    let sender = udp_socket(send_addr, false, None).map_err(|source| NetError::Bind {
        what: "discovery sender",
        addr: send_addr.into(),
        source,
    })?;
    if let Some(reach) = loopback {
        reach
            .prepare_sender(&sender)
            .map_err(|source| NetError::Bind {
                what: "discovery sender (loopback multicast)",
                addr: send_addr.into(),
                source,
            })?;
    }
    let unicast = match (bind, loopback) {
        (Some(ip), Some(_)) => {
            let port = listener.local_addr().map_or(port, |a| a.port());
            let addr = SocketAddrV4::new(ip, port);
            let socket = udp_socket(addr, true, None).map_err(|source| NetError::Bind {
                what: "discovery unicast (loopback)",
                addr: addr.into(),
                source,
            })?;
            Some(socket)
        }
        _ => None,
    };
    Ok(DiscoverySockets {
        listener,
        sender,
        unicast,
    })
}

/// Where beacons for every instance on this host go when confined to loopback.
pub fn loopback_target(port: u16) -> SocketAddrV4 {
    sock::loopback_reach().target(port)
}

fn udp_socket(
    addr: SocketAddrV4,
    shared: bool,
    loopback: Option<LoopbackReach>,
) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    if shared {
        sock::share_port(&socket)?;
    }
    socket.set_broadcast(true)?;
    socket.bind(&SocketAddr::V4(addr).into())?;
    if let Some(reach) = loopback {
        reach.join(&socket)?;
    }
    Ok(socket.into())
}

/// A thread reading one discovery socket; stopped and joined on drop.
#[derive(Debug)]
pub struct Receiver {
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    wake: Wake,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts reading `socket`, forwarding parsed datagrams to `tx`. Datagrams that find
    /// the channel full are counted in `overflow` and dropped; socket errors are counted
    /// in `errors`.
    pub fn spawn(
        socket: &UdpSocket,
        via: Via,
        tx: Sender<NetInput>,
        overflow: Arc<AtomicU64>,
        errors: Arc<SocketErrors>,
    ) -> io::Result<Receiver> {
        let stop = Arc::new(AtomicBool::new(false));
        let wake = wake::datagram_wake();
        let mut source = datagram::Socket::with_wake(socket.try_clone()?, stop.clone(), wake);
        let stop2 = stop.clone();
        let name = match via {
            Via::Listener => "disc-listen",
            Via::Sender => "disc-answers",
        };
        let thread = spawn_named(name, move || {
            read_loop(&mut source, via, &tx, &overflow, &errors, &stop2);
        })?;
        Ok(Receiver {
            socket: socket.try_clone()?,
            stop,
            wake,
            thread: Some(thread),
        })
    }

    /// Tells the thread to stop, without waiting (dropping the receiver waits).
    pub fn signal(&self) {
        datagram::stop(&self.socket, &self.stop, self.wake);
    }
}

fn read_loop(
    source: &mut datagram::Socket,
    via: Via,
    tx: &Sender<NetInput>,
    overflow: &AtomicU64,
    errors: &SocketErrors,
    stop: &AtomicBool,
) {
    // One byte more than the limit, so an oversized datagram is seen as oversized.
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    while let Some((from, n)) = datagram::next(source, &mut buf, stop, errors) {
        // Every check but the freshness guard and the signature: junk costs the core
        // nothing but a count.
        let input = NetInput::Datagram {
            via,
            from,
            len: n,
            beacon: signed::parse(&buf[..n]).map(Box::new),
        };
        match tx.try_send(input) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                overflow.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => break,
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.signal();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;
    use std::time::Duration;

    /// Regression: stopping a reader used to panic its thread in std's `recv_from`.
    #[test]
    fn stopping_a_reader_does_not_panic_its_thread() {
        let sockets = bind(Some(Ipv4Addr::LOCALHOST), 0).expect("bind");
        let (tx, rx) = bounded(4);
        let mut reader = Receiver::spawn(
            &sockets.sender,
            Via::Sender,
            tx,
            Arc::new(AtomicU64::new(0)),
            Arc::default(),
        )
        .expect("spawn");
        // One datagram through, so the thread is in its loop.
        let to = sockets.sender.local_addr().expect("addr");
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|s| s.send_to(b"{}", to))
            .expect("send");
        let input = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the datagram");
        assert!(matches!(input, NetInput::Datagram { len: 2, .. }));
        reader.signal();
        let thread = reader.thread.take().expect("thread");
        assert!(thread.join().is_ok(), "the reader thread panicked");
    }

    /// Two instances on one port each hear a datagram sent to every instance on this
    /// host (127.255.255.255 on Linux, the loopback group with the feature `portable`).
    #[test]
    fn two_listeners_share_the_port_and_both_hear_the_host() {
        let a = bind(Some(Ipv4Addr::LOCALHOST), 0).expect("bind a");
        let port = a.listener.local_addr().expect("addr").port();
        let b = bind(Some(Ipv4Addr::LOCALHOST), port).expect("a second instance binds too");
        a.sender
            .send_to(b"hi", loopback_target(port))
            .expect("send to every instance");
        for (who, s) in [("a", &a.listener), ("b", &b.listener)] {
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let mut buf = [0u8; 8];
            let (n, from) = s.recv_from(&mut buf).expect(who);
            assert_eq!(
                (&buf[..n], from),
                (&b"hi"[..], a.sender.local_addr().unwrap())
            );
        }
    }
}

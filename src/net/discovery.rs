//! The discovery sockets and the threads that read them.
//!
//! Two UDP sockets per node (DESIGN.md, "The socket"):
//! - the *listener*, `SO_REUSEADDR` + `SO_BROADCAST` on the shared discovery port, so every
//!   instance on a host gets its own copy of each broadcast;
//! - the *sender*, on an ephemeral port, from which beacons go out. A `hello` is answered
//!   with a unicast `here` to its source address *and port*, i.e. to the asker's sender
//!   socket, which reaches exactly that instance even when several share the host.
//!
//! Reader threads parse each datagram (a signed v2 datagram: size, layout, JSON, key and
//! id, `protocol::signed::parse`) and forward the result; the core checks freshness and
//! the signature, within its verification budget, and decides what it means. When the core is busy the channel is full and datagrams are dropped and counted,
//! so a flood costs bounded memory.

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::error::NetError;
use super::input::{NetInput, Via};
use super::interfaces::LOOPBACK_BROADCAST;
use super::thread::spawn_named;
use crate::protocol::MAX_DATAGRAM;
use crate::protocol::signed;

/// The two bound discovery sockets.
#[derive(Debug)]
pub struct DiscoverySockets {
    /// Shared port, receives broadcasts.
    pub listener: UdpSocket,
    /// Ephemeral port, sends beacons and receives answers.
    pub sender: UdpSocket,
}

/// Binds the discovery sockets.
///
/// With a loopback `bind` the listener sits on 127.255.255.255, so it hears only this
/// host's loopback broadcasts and nothing from a real network.
pub fn bind(bind: Option<Ipv4Addr>, port: u16) -> Result<DiscoverySockets, NetError> {
    let listen_ip = match bind {
        Some(ip) if ip.is_loopback() => LOOPBACK_BROADCAST,
        _ => Ipv4Addr::UNSPECIFIED,
    };
    let listen_addr = SocketAddrV4::new(listen_ip, port);
    let listener = udp_socket(listen_addr, true).map_err(|source| NetError::Bind {
        what: "discovery listener",
        addr: listen_addr.into(),
        source,
    })?;
    let send_addr = SocketAddrV4::new(bind.unwrap_or(Ipv4Addr::UNSPECIFIED), 0);
    let sender = udp_socket(send_addr, false).map_err(|source| NetError::Bind {
        what: "discovery sender",
        addr: send_addr.into(),
        source,
    })?;
    Ok(DiscoverySockets { listener, sender })
}

fn udp_socket(addr: SocketAddrV4, shared: bool) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    if shared {
        socket.set_reuse_address(true)?;
    }
    socket.set_broadcast(true)?;
    socket.bind(&SocketAddr::V4(addr).into())?;
    // A fallback for platforms where shutdown() does not wake a blocked recv.
    socket.set_read_timeout(Some(Duration::from_secs(1)))?;
    Ok(socket.into())
}

/// A thread reading one discovery socket; stopped and joined on drop.
#[derive(Debug)]
pub struct Receiver {
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts reading `socket`, forwarding parsed datagrams to `tx`. Datagrams that find
    /// the channel full are counted in `overflow` and dropped.
    pub fn spawn(
        socket: &UdpSocket,
        via: Via,
        tx: Sender<NetInput>,
        overflow: Arc<AtomicU64>,
    ) -> io::Result<Receiver> {
        let stop = Arc::new(AtomicBool::new(false));
        let reader = socket.try_clone()?;
        let stop2 = stop.clone();
        let name = match via {
            Via::Listener => "disc-listen",
            Via::Sender => "disc-answers",
        };
        let thread = spawn_named(name, move || {
            read_loop(&reader, via, &tx, &overflow, &stop2)
        })?;
        Ok(Receiver {
            socket: socket.try_clone()?,
            stop,
            thread: Some(thread),
        })
    }
}

fn read_loop(
    socket: &UdpSocket,
    via: Via,
    tx: &Sender<NetInput>,
    overflow: &AtomicU64,
    stop: &AtomicBool,
) {
    // One byte more than the limit, so an oversized datagram is seen as oversized.
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    while !stop.load(Ordering::Relaxed) {
        let (n, from) = match recv_datagram(socket, &mut buf) {
            Ok(Some(r)) => r,
            Ok(None) => continue, // shut down (or not IPv4): the loop checks `stop`
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                if !stop.load(Ordering::Relaxed) {
                    tracing::warn!("discovery socket {via:?}: {e}");
                    // Persistent errors (e.g. ICMP unreachable echoes) must not spin.
                    std::thread::park_timeout(Duration::from_millis(50));
                }
                continue;
            }
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let SocketAddr::V4(from) = from else { continue };
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

/// Receives one datagram and its sender; `None` (the datagram consumed) when there is no
/// IPv4 sender, which is what a socket shut down by [`Receiver`]'s `Drop` returns.
///
/// Not `UdpSocket::recv_from`: on a shut-down socket Linux returns an empty datagram with
/// an empty address, and std's `recv_from` panics on it (it asserts the address length),
/// so every node's discovery threads panicked as the node stopped. socket2 peeks the
/// sender without that assertion; the datagram is then read with `recv`, which takes no
/// address.
fn recv_datagram(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
    let from = SockRef::from(socket).peek_sender()?.as_socket();
    let n = socket.recv(buf)?;
    Ok(from.map(|from| (n, from)))
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // On Linux this wakes a thread blocked in recv_from at once.
        let _ = SockRef::from(&self.socket).shutdown(Shutdown::Read);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;

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
        reader.stop.store(true, Ordering::Relaxed);
        // As in Drop: Linux says ENOTCONN for an unconnected UDP socket, yet shuts it.
        let _ = SockRef::from(&reader.socket).shutdown(Shutdown::Read);
        let thread = reader.thread.take().expect("thread");
        assert!(thread.join().is_ok(), "the reader thread panicked");
    }
}

//! The threads reading the IPMsg UDP socket(s): each datagram is parsed and forwarded as
//! [`IpmsgInput::Datagram`], or dropped and counted when the core's channel is full, so
//! a flood costs bounded memory. Nothing is answered here.

use std::io;
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use socket2::SockRef;

use super::{IpmsgInput, IpmsgStats, offer};
use crate::net::spawn_named;
use crate::protocol::ipmsg::{MAX_PACKET, Packet};

/// A thread reading one UDP socket; stopped and joined on drop.
#[derive(Debug)]
pub struct Reader {
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Starts a thread called `name` reading `socket` into `tx`.
    pub fn spawn<T>(
        socket: &UdpSocket,
        name: &str,
        tx: Sender<T>,
        stats: Arc<IpmsgStats>,
    ) -> io::Result<Reader>
    where
        T: From<IpmsgInput> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let reader = socket.try_clone()?;
        let stop2 = stop.clone();
        let thread = spawn_named(name, move || read_loop(&reader, &tx, &stats, &stop2))?;
        Ok(Reader {
            socket: socket.try_clone()?,
            stop,
            thread: Some(thread),
        })
    }
}

fn read_loop<T: From<IpmsgInput>>(
    socket: &UdpSocket,
    tx: &Sender<T>,
    stats: &IpmsgStats,
    stop: &AtomicBool,
) {
    // One byte more than the limit, so an oversized datagram is seen as oversized.
    let mut buf = vec![0u8; MAX_PACKET + 1];
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
                    tracing::warn!("IPMsg UDP socket: {e}");
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
        stats.datagrams.fetch_add(1, Ordering::Relaxed);
        let input = IpmsgInput::Datagram {
            from,
            len: n,
            packet: Packet::parse(&buf[..n]),
        };
        if let Err(TrySendError::Disconnected(_)) = offer(tx, input, stats) {
            break;
        }
    }
}

/// Receives one datagram and its sender; `None` when there is no IPv4 sender, which is
/// what a socket shut down by [`Reader`]'s `Drop` returns. (std's `recv_from` panics on
/// that empty address; see `net::discovery` for the story.)
fn recv_datagram(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
    let from = SockRef::from(socket).peek_sender()?.as_socket();
    let n = socket.recv(buf)?;
    Ok(from.map(|from| (n, from)))
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // On Linux this wakes a thread blocked in recv at once.
        let _ = SockRef::from(&self.socket).shutdown(Shutdown::Read);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

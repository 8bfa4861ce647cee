//! Reading a UDP socket on a thread of its own, the same way on every system: a stop
//! flag that ends the wait (at once where `shutdown()` wakes it, else within a tick), and
//! every error told apart and counted by reason ([`SocketErrors`]) instead of paused on.
//!
//! Windows reports an oversized datagram as an error (`WSAEMSGSIZE`) after filling the
//! buffer, where Linux cuts it silently: both come out as a datagram as long as the
//! buffer, which the caller's parser refuses as oversized. Windows also reports an ICMP
//! "port unreachable" echo of something we sent as an error on the next receive
//! (`WSAECONNRESET`): counted as `icmp_reset` and passed over, so neither can stall
//! discovery, however many arrive. Only an error of any other kind (a broken socket)
//! makes the reader pause, so it cannot spin.
//!
//! The socket side is a trait, [`Datagrams`], so a test can play Windows' errors on
//! Linux.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use socket2::SockRef;

use crate::platform::sock::{DatagramError, datagram_error};
use crate::platform::wake::{self, Timeout, Wake, wait_datagram};

/// How long a reader pauses after an error that is not a datagram's own (a broken
/// socket), so it cannot spin.
const PAUSE: Duration = Duration::from_millis(50);

/// Errors on the datagram sockets, by reason, since the last [`SocketErrors::take`].
#[derive(Debug, Default)]
pub struct SocketErrors {
    reset: AtomicU64,
    failed: AtomicU64,
}

impl SocketErrors {
    /// The counts by reason (`icmp_reset`, `socket_error`), set back to zero; reasons
    /// with none are left out.
    pub fn take(&self) -> Vec<(&'static str, u64)> {
        [
            ("icmp_reset", self.reset.swap(0, Ordering::Relaxed)),
            ("socket_error", self.failed.swap(0, Ordering::Relaxed)),
        ]
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .collect()
    }
}

/// Where datagrams come from: the sender of the next one, then the datagram itself.
pub trait Datagrams {
    /// Waits for the next datagram and returns its sender (`None`: none with an address,
    /// or stopped); the datagram stays for [`Datagrams::recv`].
    fn sender(&mut self) -> io::Result<Option<SocketAddr>>;
    /// Reads the datagram whose sender was returned.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// A UDP socket read with a stop flag, the way this system needs ([`wake::datagram_wake`]).
#[derive(Debug)]
pub struct Socket {
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    wake: Wake,
    timeout: Timeout,
}

impl Socket {
    /// Reads `socket`, stopped by `stop`.
    pub fn new(socket: UdpSocket, stop: Arc<AtomicBool>) -> Socket {
        Socket::with_wake(socket, stop, wake::datagram_wake())
    }

    /// [`Socket::new`] with a given way of stopping (tests take Windows' on Linux).
    pub fn with_wake(socket: UdpSocket, stop: Arc<AtomicBool>, wake: Wake) -> Socket {
        Socket {
            socket,
            stop,
            wake,
            timeout: Timeout::default(),
        }
    }
}

impl Datagrams for Socket {
    fn sender(&mut self) -> io::Result<Option<SocketAddr>> {
        wait_datagram(&self.socket, &self.stop, self.wake, &mut self.timeout)
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.recv(buf)
    }
}

/// Tells a reader blocked on `socket` to stop: raises `stop`, and where that wakes a
/// blocked receive (Linux), shuts the socket down too.
pub fn stop(socket: &UdpSocket, stop: &AtomicBool, wake: Wake) {
    stop.store(true, Ordering::Relaxed);
    if wake.shuts_down() {
        // Linux says ENOTCONN for an unconnected UDP socket, yet wakes the reader.
        let _ = SockRef::from(socket).shutdown(std::net::Shutdown::Read);
    }
}

/// The next IPv4 datagram read into `buf`: its sender and length (`buf.len()` for one
/// that did not fit), or `None` once `stop` is raised. Errors are counted in `errors`.
pub fn next(
    source: &mut impl Datagrams,
    buf: &mut [u8],
    stop: &AtomicBool,
    errors: &SocketErrors,
) -> Option<(SocketAddrV4, usize)> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let error = match source.sender() {
            Ok(Some(SocketAddr::V4(from))) => match source.recv(buf) {
                Ok(0) if stop.load(Ordering::Relaxed) => return None,
                Ok(n) => return Some((from, n)),
                // Windows, for a datagram larger than `buf`: consumed, `buf` filled.
                Err(e) if datagram_error(&e) == DatagramError::Oversized => {
                    return Some((from, buf.len()));
                }
                Err(e) => e,
            },
            // Shut down (`stop` is raised), or a sender that is not IPv4: consume it.
            Ok(_) if stop.load(Ordering::Relaxed) => return None,
            Ok(_) => {
                let _ = source.recv(buf);
                continue;
            }
            Err(e) => e,
        };
        match datagram_error(&error) {
            DatagramError::Again | DatagramError::Oversized => {}
            // Reported once per echo (Windows clears it as it reports it): never a pause,
            // or forged echoes could hold discovery up.
            DatagramError::Reset => {
                errors.reset.fetch_add(1, Ordering::Relaxed);
            }
            DatagramError::Other => {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                errors.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("datagram socket: {error}");
                pause(stop);
            }
        }
    }
}

fn pause(stop: &AtomicBool) {
    if !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(PAUSE);
    }
}

#[cfg(test)]
mod tests;

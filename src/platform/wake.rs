//! How a thread blocked reading a socket is made to stop.
//!
//! On Linux `shutdown()` from another thread wakes a blocked `read`/`recv` at once, so a
//! reader may block without a limit and be stopped by shutting its socket down. On
//! Windows it wakes nothing (rust-lang/rust#121594): a reader blocked on a silent peer
//! stays blocked until that peer sends or closes — for ever, for a hostile one. macOS is
//! believed to wake TCP reads but not UDP ones (`shutdown` on an unconnected datagram
//! socket is `ENOTCONN` there); it is not tested here, so it takes the portable way.
//!
//! The portable way ([`Wake::Tick`]) never blocks longer than a tick: it waits for
//! something to read (a one-byte `peek`, which consumes nothing, so a wait that times
//! out loses nothing even where a timed-out receive leaves the socket "indeterminate"),
//! looks at the stop flag between ticks, and only then reads. A stop is seen within a
//! tick whatever the peer does, and nothing relies on `shutdown()`: in that mode the
//! stopper does not call it at all, so a Linux build with the feature `portable` shows
//! exactly what Windows does. The cost is one wake-up per tick per idle reader, and a
//! `peek` before each read.

use std::io;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socket2::SockRef;

use super::linux_native;

/// How often a reader on the portable path looks at its stop flag: the bound on how long
/// a stop waits for it.
pub const TICK: Duration = Duration::from_millis(250);

/// How a blocked reader is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// `shutdown()` wakes a blocked read: block without a limit, stop by shutting down.
    Shutdown,
    /// Nothing wakes a blocked read: wait at most this long at a time, then look at the
    /// stop flag. `shutdown()` is never relied on (nor called by a stopper).
    Tick(Duration),
}

impl Wake {
    /// Whether a stopper should shut the socket down (only where that wakes the reader:
    /// elsewhere the reader closes it when it sees the flag).
    pub fn shuts_down(self) -> bool {
        self == Wake::Shutdown
    }
}

/// For TCP readers set up now.
pub fn stream_wake() -> Wake {
    if linux_native() {
        Wake::Shutdown
    } else {
        Wake::Tick(TICK)
    }
}

/// For UDP readers set up now.
pub fn datagram_wake() -> Wake {
    stream_wake()
}

/// What waiting for something to read came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// A read will not block now (data, the peer's close, or an error to report).
    Ready,
    /// Nothing came before the limit.
    TimedOut,
    /// The stop flag was raised.
    Stopped,
}

/// The read timeout a reader sets on its socket, remembered to skip needless system calls
/// (one per read otherwise).
#[derive(Debug, Default)]
pub struct Timeout(Option<Option<Duration>>);

impl Timeout {
    /// Sets the socket's read timeout to `limit` unless it is already that.
    pub fn apply(&mut self, socket: SockRef<'_>, limit: Option<Duration>) -> io::Result<()> {
        if self.0 != Some(limit) {
            socket.set_read_timeout(limit)?;
            self.0 = Some(limit);
        }
        Ok(())
    }
}

/// Waits until `stream` has something to read, `until` passes, or `stop` is raised.
///
/// With [`Wake::Shutdown`] this returns `Ready` at once unless stopped already: the read
/// itself blocks, with the socket's timeout set to the time left, and `shutdown()`
/// wakes it. With [`Wake::Tick`] it peeks in ticks, looking at `stop` between them.
/// The socket's read timeout is left at whatever the last wait needed; the caller's
/// read sets its own.
pub fn wait_readable(
    stream: &TcpStream,
    until: Option<Instant>,
    stop: &AtomicBool,
    wake: Wake,
    timeout: &mut Timeout,
) -> io::Result<Waited> {
    let Wake::Tick(tick) = wake else {
        return Ok(if stop.load(Ordering::Relaxed) {
            Waited::Stopped
        } else {
            Waited::Ready
        });
    };
    let mut probe = [0u8; 1];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Waited::Stopped);
        }
        let slice = match until {
            Some(at) => match at.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(tick),
                _ => return Ok(Waited::TimedOut),
            },
            None => tick,
        };
        timeout.apply(SockRef::from(stream), Some(slice))?;
        match stream.peek(&mut probe) {
            Ok(_) => return Ok(Waited::Ready),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            // The read that follows meets the same error and reports it.
            Err(_) => return Ok(Waited::Ready),
        }
    }
}

/// What a stoppable read came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// This many bytes (0: the peer closed).
    Bytes(usize),
    /// Nothing came before the limit.
    TimedOut,
    /// The stop flag was raised.
    Stopped,
}

/// One read from `stream` into `buf` that `stop` can always end: it waits until `until`
/// at most (`None`: for as long as it takes), the way `wake` says.
pub fn read(
    mut stream: &TcpStream,
    buf: &mut [u8],
    until: Option<Instant>,
    stop: &AtomicBool,
    wake: Wake,
    timeout: &mut Timeout,
) -> io::Result<Read> {
    use std::io::Read as _;
    loop {
        match wait_readable(stream, until, stop, wake, timeout)? {
            Waited::Ready => {}
            Waited::TimedOut => return Ok(Read::TimedOut),
            Waited::Stopped => return Ok(Read::Stopped),
        }
        if wake == Wake::Shutdown {
            // The read itself waits, for the time left; shutdown() wakes it.
            let limit = match until {
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(Read::TimedOut),
                },
                None => None,
            };
            timeout.apply(SockRef::from(stream), limit)?;
        }
        let stopped = || stop.load(Ordering::Relaxed);
        match stream.read(buf) {
            Ok(0) if stopped() && !buf.is_empty() => return Ok(Read::Stopped),
            Ok(n) => return Ok(Read::Bytes(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if stopped() => return Ok(Read::Stopped),
            // With ticks, only a read racing the peer's data can time out: wait again.
            Err(e) if is_timeout(&e) && wake != Wake::Shutdown => {}
            Err(e) if is_timeout(&e) => return Ok(Read::TimedOut),
            Err(e) => return Err(e),
        }
    }
}

/// Waits for the next datagram on `socket` and returns its sender (`None`: no address,
/// which is what Linux gives a socket that was shut down), or `Ok(None)` with `stop`
/// raised; a timeout is `Err(TimedOut)` only with [`Wake::Shutdown`] (a socket whose
/// read timeout the caller set). The datagram itself is left for the caller's `recv`.
///
/// Not `UdpSocket::recv_from`: on a shut-down socket Linux returns an empty datagram with
/// an empty address, and std's `recv_from` panics on it (it asserts the address
/// length). socket2 peeks the sender without that assertion.
pub fn wait_datagram(
    socket: &UdpSocket,
    stop: &AtomicBool,
    wake: Wake,
    timeout: &mut Timeout,
) -> io::Result<Option<SocketAddr>> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let limit = match wake {
            Wake::Shutdown => None,
            Wake::Tick(tick) => Some(tick),
        };
        timeout.apply(SockRef::from(socket), limit)?;
        match SockRef::from(socket).peek_sender() {
            Ok(from) => return Ok(from.as_socket()),
            Err(e) if wake != Wake::Shutdown && is_timeout(&e) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether a socket error is a read timeout (the kind differs by system).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests;

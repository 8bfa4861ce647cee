//! One framed TCP connection: the stream, its frame decoder and its write path, and the
//! transport slot that seals frame bodies on the way out and opens them on the way in.
//!
//! Every frame the crate reads from or writes to TCP goes through [`Conn`] (or the two
//! halves a link splits it into): the link reader, the greeter's first frame with its
//! deadline, the dialer, and file data connections (a header frame, a run of raw bytes,
//! a trailer frame). So an encrypted transport is one [`Seal`] and one [`Open`] handed to
//! [`Conn::secure`] after a handshake, not an edit in four places; and making blocking
//! reads interruptible is a change here only.
//!
//! The transport is plain until [`Conn::secure`] is called: frames carry JSON bodies as
//! they are, with no copy. Handshake frames are sent and received unsealed
//! ([`Conn::send_body`], [`Conn::recv_body`]). The raw byte run of a file is only
//! possible on the plain transport ([`Conn::read_raw`], [`Conn::raw_stream`]): a sealed
//! connection refuses it, so nothing ever leaves unsealed by mistake.
//!
//! Reads block; a deadline bounds the whole frame, not each read (a peer dripping a byte
//! at a time is cut off too). Nothing here decides anything: errors say what happened.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::protocol::frame::{self, FrameDecoder, FrameError};
use crate::protocol::{LinkMsg, MessageError};

/// Seals frame bodies on the way out (one direction of a secure channel).
pub trait Seal: Send {
    /// The sealed form of one frame body.
    fn seal(&mut self, body: &[u8]) -> Result<Vec<u8>, TransportError>;
}

/// Opens sealed frame bodies on the way in.
pub trait Open: Send {
    /// The body a sealed frame carried; an error if it was forged or damaged.
    fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>, TransportError>;
}

/// A transport could not seal or open a frame.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("transport: {0}")]
pub struct TransportError(pub String);

/// Bytes read from the socket at a time while looking for frames: small for a greeting
/// or a data connection's frames, larger on a link, which reads every frame it carries.
const READ_BUF: usize = 4 * 1024;
const LINK_READ_BUF: usize = 64 * 1024;

/// Why a frame (or raw bytes) could not be read or written.
#[derive(Debug, Error)]
pub enum ConnErrorKind {
    /// The peer closed the connection between two frames.
    #[error("closed by the peer")]
    Closed,
    /// The peer closed the connection inside a frame.
    #[error("closed by the peer mid-frame: {0}")]
    ClosedMidFrame(FrameError),
    /// The bytes are not a frame (a length over the limit: garbage, an HTTP request).
    #[error("{0}")]
    Frame(FrameError),
    /// The frame is not a message.
    #[error("{0}")]
    Message(MessageError),
    /// No whole frame before the deadline.
    #[error("no whole frame before the deadline")]
    Deadline,
    /// No byte for as long as the stall limit allows.
    #[error("nothing arrived for {0:?}")]
    Stalled(Duration),
    /// The transport refused a frame.
    #[error("{0}")]
    Transport(TransportError),
    /// Raw bytes asked of a sealed connection.
    #[error("the connection is sealed: raw bytes cannot pass")]
    Sealed,
    /// The socket failed.
    #[error("{0}")]
    Io(io::Error),
}

/// A connection failed; names the other end.
#[derive(Debug, Error)]
#[error("connection with {remote}: {kind}")]
pub struct ConnError {
    /// The other end.
    pub remote: SocketAddr,
    /// What went wrong.
    pub kind: ConnErrorKind,
}

/// One framed TCP connection (see the module documentation).
pub struct Conn {
    read: ReadHalf,
    write: WriteHalf,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("local", &self.write.local)
            .field("remote", &self.write.remote)
            .field("sealed", &self.is_secure())
            .finish()
    }
}

impl Conn {
    /// Wraps a connected stream, with the plain transport.
    pub fn new(stream: TcpStream) -> io::Result<Conn> {
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        let reader = stream.try_clone()?;
        Ok(Conn {
            read: ReadHalf {
                stream: reader,
                decoder: FrameDecoder::new(),
                open: None,
                remote,
                timeout: None,
                idle: None,
                buf: Vec::new(),
                buf_len: READ_BUF,
            },
            write: WriteHalf {
                stream,
                seal: None,
                local,
                remote,
            },
        })
    }

    /// Connects to `addr` within `timeout`.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        Conn::new(TcpStream::connect_timeout(&addr, timeout)?)
    }

    /// Our end (`getsockname`).
    pub fn local(&self) -> SocketAddr {
        self.write.local
    }

    /// Their end (`getpeername`).
    pub fn remote(&self) -> SocketAddr {
        self.write.remote
    }

    /// Whether frames are sealed now.
    pub fn is_secure(&self) -> bool {
        self.write.seal.is_some()
    }

    /// Switches to a sealed transport (after a handshake): every later frame body is
    /// sealed on the way out and opened on the way in.
    pub fn secure(&mut self, seal: Box<dyn Seal>, open: Box<dyn Open>) {
        self.write.seal = Some(seal);
        self.read.open = Some(open);
    }

    /// A stall limit: a read or write that makes no progress for `limit` fails (`None`:
    /// wait for ever). Deadlines given to [`Conn::recv`] apply on top.
    pub fn set_idle_timeout(&mut self, limit: Option<Duration>) -> io::Result<()> {
        self.write.stream.set_write_timeout(limit)?;
        self.read.idle = limit;
        self.read.apply_timeout(limit)
    }

    /// Turns off Nagle's algorithm (small frames leave at once).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.write.stream.set_nodelay(on)
    }

    /// Writes one message as a whole frame (sealed if the transport is secure).
    pub fn send(&mut self, msg: &LinkMsg) -> Result<(), ConnError> {
        let frame = self.write.frame(msg)?;
        self.write.write_all(&frame)
    }

    /// Reads the next message, waiting at most until `deadline` for all of it.
    pub fn recv(&mut self, deadline: Option<Instant>) -> Result<LinkMsg, ConnError> {
        self.read.recv(deadline).map(|(_, msg)| msg)
    }

    /// Writes one unsealed frame (a handshake message), whatever the transport.
    pub fn send_body(&mut self, body: &[u8]) -> Result<(), ConnError> {
        let frame = frame::encode(body).map_err(|e| self.write.error(ConnErrorKind::Frame(e)))?;
        self.write.write_all(&frame)
    }

    /// Reads one unsealed frame body (a handshake message), waiting at most until
    /// `deadline`.
    pub fn recv_body(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, ConnError> {
        self.read.next_body(deadline)
    }

    /// Reads raw bytes (the file run after a `file_data` frame): first what the decoder
    /// already holds, then the socket. `Ok(0)` only for an empty `buf`; the peer closing
    /// is an error. Refused on a sealed connection.
    pub fn read_raw(&mut self, buf: &mut [u8]) -> Result<usize, ConnError> {
        if self.is_secure() {
            return Err(self.read.error(ConnErrorKind::Sealed));
        }
        self.read.read_raw(buf)
    }

    /// The socket, for a raw run written with `sendfile`. Refused on a sealed connection.
    pub fn raw_stream(&self) -> Result<&TcpStream, ConnError> {
        if self.is_secure() {
            return Err(self.write.error(ConnErrorKind::Sealed));
        }
        Ok(&self.write.stream)
    }

    /// A handle that shuts this connection down from another thread (so a blocked read
    /// or write returns).
    pub fn stopper(&self) -> io::Result<Stopper> {
        self.write.stream.try_clone().map(Stopper)
    }

    /// Splits into the reading half (for a link's reader thread, which reads in larger
    /// gulps) and the writing half.
    pub fn split(mut self) -> (ReadHalf, WriteHalf) {
        self.read.buf_len = LINK_READ_BUF;
        (self.read, self.write)
    }
}

/// Shuts a connection down from another thread; see [`Conn::stopper`].
#[derive(Debug)]
pub struct Stopper(TcpStream);

impl Stopper {
    /// Shuts both directions: blocked reads and writes on the connection return.
    pub fn stop(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

/// The reading half of a [`Conn`]: frames in, opened if the transport is sealed.
pub struct ReadHalf {
    stream: TcpStream,
    decoder: FrameDecoder,
    open: Option<Box<dyn Open>>,
    remote: SocketAddr,
    /// The socket's read timeout as last set (to skip needless system calls).
    timeout: Option<Duration>,
    /// The stall limit when no deadline applies.
    idle: Option<Duration>,
    /// Read buffer, allocated on the first read, `buf_len` bytes.
    buf: Vec<u8>,
    buf_len: usize,
}

impl ReadHalf {
    /// Reads the next message and its body size, waiting at most until `deadline`.
    pub fn recv(&mut self, deadline: Option<Instant>) -> Result<(usize, LinkMsg), ConnError> {
        let body = self.next_body(deadline)?;
        let body = match self.open.as_mut() {
            Some(open) => open.open(&body).map_err(|e| ConnError {
                remote: self.remote,
                kind: ConnErrorKind::Transport(e),
            })?,
            None => body,
        };
        let msg = LinkMsg::decode(&body).map_err(|e| self.error(ConnErrorKind::Message(e)))?;
        Ok((body.len(), msg))
    }

    /// The next whole frame body as it came (not opened).
    fn next_body(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, ConnError> {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(body)) => return Ok(body),
                Ok(None) => {}
                Err(e) => return Err(self.error(ConnErrorKind::Frame(e))),
            }
            let n = self.fill(deadline)?;
            if n == 0 {
                let kind = match self.decoder.finish() {
                    Ok(()) => ConnErrorKind::Closed,
                    Err(e) => ConnErrorKind::ClosedMidFrame(e),
                };
                return Err(self.error(kind));
            }
        }
    }

    /// One read from the socket into the decoder; 0 at end of stream.
    fn fill(&mut self, deadline: Option<Instant>) -> Result<usize, ConnError> {
        if self.buf.len() < self.buf_len {
            self.buf = vec![0; self.buf_len];
        }
        loop {
            let limit = match deadline {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(self.timed_out(deadline));
                    }
                    Some(left)
                }
                None => self.idle,
            };
            self.apply_timeout(limit)
                .map_err(|e| self.error(ConnErrorKind::Io(e)))?;
            match self.stream.read(&mut self.buf) {
                Ok(n) => {
                    self.decoder.push(&self.buf[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(self.timed_out(deadline)),
                Err(e) => return Err(self.error(ConnErrorKind::Io(e))),
            }
        }
    }

    fn read_raw(&mut self, buf: &mut [u8]) -> Result<usize, ConnError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pending = self.decoder.take_pending();
        if !pending.is_empty() {
            let n = pending.len().min(buf.len());
            buf[..n].copy_from_slice(&pending[..n]);
            self.decoder.push(&pending[n..]); // what follows (the trailer) stays
            return Ok(n);
        }
        self.apply_timeout(self.idle)
            .map_err(|e| self.error(ConnErrorKind::Io(e)))?;
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Err(self.error(ConnErrorKind::Closed)),
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(self.timed_out(None)),
                Err(e) => return Err(self.error(ConnErrorKind::Io(e))),
            }
        }
    }

    fn apply_timeout(&mut self, limit: Option<Duration>) -> io::Result<()> {
        if self.timeout != limit {
            self.stream.set_read_timeout(limit)?;
            self.timeout = limit;
        }
        Ok(())
    }

    fn timed_out(&self, deadline: Option<Instant>) -> ConnError {
        self.error(match deadline {
            Some(_) => ConnErrorKind::Deadline,
            None => ConnErrorKind::Stalled(self.idle.unwrap_or_default()),
        })
    }

    fn error(&self, kind: ConnErrorKind) -> ConnError {
        ConnError {
            remote: self.remote,
            kind,
        }
    }
}

/// The writing half of a [`Conn`]: frames out, sealed if the transport is secure.
///
/// On a link the core makes each frame here, in order, and writes it straight into the
/// socket or hands it to the writer thread: sealing happens before either, so both
/// paths share one order.
pub struct WriteHalf {
    stream: TcpStream,
    seal: Option<Box<dyn Seal>>,
    local: SocketAddr,
    remote: SocketAddr,
}

impl WriteHalf {
    /// The whole frame for `msg`: its body, sealed if the transport is secure, behind
    /// the length.
    pub fn frame(&mut self, msg: &LinkMsg) -> Result<Vec<u8>, ConnError> {
        let framed = match self.seal.as_mut() {
            None => msg.to_frame(),
            Some(seal) => {
                let sealed = seal.seal(&msg.to_body()).map_err(|e| ConnError {
                    remote: self.remote,
                    kind: ConnErrorKind::Transport(e),
                })?;
                frame::encode(&sealed)
            }
        };
        framed.map_err(|e| self.error(ConnErrorKind::Frame(e)))
    }

    /// Writes bytes already framed, blocking until all are taken.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        (&self.stream)
            .write_all(bytes)
            .map_err(|e| self.error(ConnErrorKind::Io(e)))
    }

    /// Writes as much of `bytes` as the socket's buffer takes now, without blocking;
    /// returns how many. Any error counts as "nothing taken" (the blocking path meets the
    /// same error and reports it).
    pub fn write_now(&self, bytes: &[u8]) -> usize {
        write_now(&self.stream, bytes)
    }

    /// Another handle on the socket, for a thread that writes frames made here.
    pub fn try_clone_stream(&self) -> io::Result<TcpStream> {
        self.stream.try_clone()
    }

    /// A blocked write that makes no progress for `limit` fails.
    pub fn set_write_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(limit)
    }

    /// Turns off Nagle's algorithm (small frames leave at once).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.stream.set_nodelay(on)
    }

    /// Shuts both directions down (the reader's blocked read returns).
    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Our end (`getsockname`).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Their end (`getpeername`).
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// The socket's file descriptor, for the network panel.
    #[cfg(unix)]
    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.stream.as_raw_fd()
    }

    fn error(&self, kind: ConnErrorKind) -> ConnError {
        ConnError {
            remote: self.remote,
            kind,
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// `MSG_DONTWAIT`: as much as the socket's buffer takes now.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn write_now(stream: &TcpStream, bytes: &[u8]) -> usize {
    let sock = socket2::SockRef::from(stream);
    loop {
        match sock.send_with_flags(bytes, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
            Ok(n) => return n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return 0,
        }
    }
}

/// Elsewhere every frame goes through the blocking path.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn write_now(_stream: &TcpStream, _bytes: &[u8]) -> usize {
    0
}

#[cfg(test)]
mod tests;

//! One framed TCP connection: the stream, its frame decoder and its write path, and the
//! transport slot that seals frame bodies on the way out and opens them on the way in.
//!
//! Every frame the crate reads from or writes to TCP goes through [`Conn`] (or the two
//! halves a link splits it into): the link reader, the greeter's handshake and first
//! frame with their deadline, the dialer, and file data connections (a header frame,
//! then sealed chunks and a trailer through [`Conn::into_file_stream`]). The encrypted
//! transport (protocol v2) is one [`Seal`] and one [`Open`] (`crate::trust::transport`)
//! handed to [`Conn::secure`] after the Noise handshake (`net::secure`), not an edit in
//! four places; and making blocking reads interruptible is a change here only.
//!
//! The transport is plain until [`Conn::secure`] is called. Handshake frames are sent
//! and received unsealed ([`Conn::send_body`], [`Conn::recv_body`], or the
//! [`FrameIo`] the handshake runs over). A file's bytes can only travel sealed: a plain
//! connection refuses [`Conn::into_file_stream`], and there is no raw run any more.
//!
//! Reads block; a deadline bounds the whole frame, not each read (a peer dripping a byte
//! at a time is cut off too). A [`Stopper`] ends a blocked read from another thread on
//! every system: where `shutdown()` wakes a blocked read (Linux) it shuts the socket
//! down; where it wakes nothing (Windows, and the feature `portable`) reads wait in
//! ticks and see its flag within one ([`crate::platform::wake`]). Nothing here decides
//! anything: errors say what happened.

mod read;
mod write;

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::platform::wake::{self, Wake};
use crate::protocol::frame::FrameError;
use crate::protocol::{LinkMsg, MessageError};
use crate::trust::file_stream::{SealedReader, SealedWriter};
use crate::trust::noise::FrameIo;

pub use crate::trust::transport::{Open, Seal, TransportError};
pub use read::{ByteStream, ReadHalf};
pub use write::WriteHalf;

/// The sending side of a sealed file stream over a connection's socket.
pub type FileWriter = SealedWriter<TcpStream, Box<dyn Seal>>;

/// The receiving side: what the connection had already read, then its socket.
pub type FileReader = SealedReader<ByteStream, Box<dyn Open>>;

/// Why a frame could not be read or written.
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
    /// A sealed file stream asked of a connection that is not secure.
    #[error("the connection is not secure: no sealed stream")]
    NotSecure,
    /// Stopped on this side ([`Stopper::stop`]).
    #[error("stopped on this side")]
    Stopped,
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
    /// Raised by a [`Stopper`]; reads look at it.
    stop: Arc<AtomicBool>,
    wake: Wake,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("local", &self.write.local())
            .field("remote", &self.write.remote())
            .field("sealed", &self.is_secure())
            .finish()
    }
}

impl Conn {
    /// Wraps a connected stream, with the plain transport, stopped the way this system
    /// needs ([`wake::stream_wake`]).
    pub fn new(stream: TcpStream) -> io::Result<Conn> {
        Conn::with_wake(stream, wake::stream_wake())
    }

    /// [`Conn::new`] with a given way of stopping reads (tests take Windows' on Linux).
    pub fn with_wake(stream: TcpStream, wake: Wake) -> io::Result<Conn> {
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        let reader = stream.try_clone()?;
        let stop = Arc::new(AtomicBool::new(false));
        Ok(Conn {
            read: ReadHalf::new(reader, remote, stop.clone(), wake),
            write: WriteHalf::new(stream, local, remote),
            stop,
            wake,
        })
    }

    /// Connects to `addr` within `timeout`.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        Conn::new(TcpStream::connect_timeout(&addr, timeout)?)
    }

    /// Our end (`getsockname`).
    pub fn local(&self) -> SocketAddr {
        self.write.local()
    }

    /// Their end (`getpeername`).
    pub fn remote(&self) -> SocketAddr {
        self.write.remote()
    }

    /// Whether frames are sealed now.
    pub fn is_secure(&self) -> bool {
        self.write.is_sealed()
    }

    /// Switches to a sealed transport (after a handshake): every later frame body is
    /// sealed on the way out and opened on the way in.
    pub fn secure(&mut self, seal: Box<dyn Seal>, open: Box<dyn Open>) {
        self.write.set_seal(seal);
        self.read.set_open(open);
    }

    /// A stall limit: a read or write that makes no progress for `limit` fails (`None`:
    /// wait for ever). Deadlines given to [`Conn::recv`] apply on top.
    pub fn set_idle_timeout(&mut self, limit: Option<Duration>) -> io::Result<()> {
        self.write.set_write_timeout(limit)?;
        self.read.set_idle(limit)
    }

    /// Turns off Nagle's algorithm (small frames leave at once).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.write.set_nodelay(on)
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
        self.write.send_body(body)
    }

    /// Reads one unsealed frame body (a handshake message), waiting at most until
    /// `deadline`.
    pub fn recv_body(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, ConnError> {
        self.read.next_body(deadline)
    }

    /// Turns a secure connection into a file's sealed data stream: sealed frames and
    /// file chunks bound to their transfer and offset (`trust::file_stream`), each
    /// direction going on with the same keys and counters as the frames before. What the
    /// connection had already read past its last frame is read first. Refused on a plain
    /// connection, so file bytes never leave unsealed.
    pub fn into_file_stream(self) -> Result<(FileWriter, FileReader), ConnError> {
        if !self.is_secure() {
            return Err(self.write.error(ConnErrorKind::NotSecure));
        }
        let (bytes, open) = self.read.into_byte_stream();
        let (out, seal) = self.write.into_parts();
        let (Some(open), Some(seal)) = (open, seal) else {
            unreachable!("a secure connection has both halves of its transport");
        };
        Ok((SealedWriter::new(out, seal), SealedReader::new(bytes, open)))
    }

    /// A handle that stops this connection from another thread: a blocked read returns
    /// [`ConnErrorKind::Stopped`] (at once, or within a tick where `shutdown()` wakes
    /// nothing), and so does every later one.
    pub fn stopper(&self) -> io::Result<Stopper> {
        Ok(Stopper {
            stream: self.write.try_clone_stream()?,
            stop: self.stop.clone(),
            wake: self.wake,
        })
    }

    /// Splits into the reading half (for a link's reader thread, which reads in larger
    /// gulps) and the writing half.
    pub fn split(mut self) -> (ReadHalf, WriteHalf) {
        self.read.for_link();
        (self.read, self.write)
    }
}

/// The handshake's messages travel as unsealed frames, each read within the deadline.
impl FrameIo for Conn {
    fn send_body(&mut self, body: &[u8]) -> io::Result<()> {
        self.write.send_body(body).map_err(ConnError::into_io)
    }

    fn recv_body(&mut self, deadline: Instant) -> io::Result<Vec<u8>> {
        self.read
            .next_body(Some(deadline))
            .map_err(ConnError::into_io)
    }
}

impl ConnError {
    /// The same failure as an `io::Error` of the matching kind (for the handshake, which
    /// labels failures by kind: `TimedOut`, `UnexpectedEof`, `InvalidData`).
    pub fn into_io(self) -> io::Error {
        let kind = match &self.kind {
            ConnErrorKind::Closed | ConnErrorKind::ClosedMidFrame(_) => {
                io::ErrorKind::UnexpectedEof
            }
            ConnErrorKind::Deadline | ConnErrorKind::Stalled(_) => io::ErrorKind::TimedOut,
            ConnErrorKind::Frame(_) | ConnErrorKind::Message(_) | ConnErrorKind::Transport(_) => {
                io::ErrorKind::InvalidData
            }
            ConnErrorKind::NotSecure => io::ErrorKind::Other,
            ConnErrorKind::Stopped => io::ErrorKind::Interrupted,
            ConnErrorKind::Io(e) => e.kind(),
        };
        io::Error::new(kind, self)
    }
}

/// Stops a connection from another thread; see [`Conn::stopper`].
#[derive(Debug)]
pub struct Stopper {
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    wake: Wake,
}

impl Stopper {
    /// Raises the stop flag, and where that wakes blocked reads and writes, shuts both
    /// directions down. Elsewhere nothing is shut down (that would wake nothing, and
    /// with the feature `portable` it would hide what Windows does): the reader sees the
    /// flag within a tick, and the socket closes with its last handle.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.wake.shuts_down() {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests;

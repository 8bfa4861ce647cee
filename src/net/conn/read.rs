//! The reading half of a connection: whole frames from the socket (a deadline for the
//! whole frame, or a stall limit), opened if the transport is sealed. Every read can be
//! stopped from another thread ([`super::Stopper`]), on every system.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::{ConnError, ConnErrorKind, Open};
use crate::platform::wake::{self, Read, Timeout, Wake};
use crate::protocol::LinkMsg;
use crate::protocol::frame::FrameDecoder;
use crate::trust::transport::FRAME_AD;

/// Bytes read from the socket at a time while looking for frames: small for a greeting
/// or a data connection's frames, larger on a link, which reads every frame it carries.
const READ_BUF: usize = 4 * 1024;
const LINK_READ_BUF: usize = 64 * 1024;

/// The reading half of a [`Conn`](super::Conn): frames in, opened if the transport is sealed.
pub struct ReadHalf {
    stream: TcpStream,
    decoder: FrameDecoder,
    open: Option<Box<dyn Open>>,
    remote: SocketAddr,
    /// Raised by a stopper.
    stop: Arc<AtomicBool>,
    /// How a blocked read is stopped here.
    wake: Wake,
    /// The socket's read timeout as last set (to skip needless system calls).
    timeout: Timeout,
    /// The stall limit when no deadline applies.
    idle: Option<Duration>,
    /// Read buffer, allocated on the first read, `buf_len` bytes.
    buf: Vec<u8>,
    buf_len: usize,
}

impl ReadHalf {
    pub(super) fn new(
        stream: TcpStream,
        remote: SocketAddr,
        stop: Arc<AtomicBool>,
        wake: Wake,
    ) -> ReadHalf {
        ReadHalf {
            stream,
            decoder: FrameDecoder::new(),
            open: None,
            remote,
            stop,
            wake,
            timeout: Timeout::default(),
            idle: None,
            buf: Vec::new(),
            buf_len: READ_BUF,
        }
    }

    /// Reads in larger gulps (a link reads every frame it carries).
    pub(super) fn for_link(&mut self) {
        self.buf_len = LINK_READ_BUF;
    }

    pub(super) fn set_open(&mut self, open: Box<dyn Open>) {
        self.open = Some(open);
    }

    /// The stall limit when no deadline applies.
    pub(super) fn set_idle(&mut self, limit: Option<Duration>) -> io::Result<()> {
        self.idle = limit;
        Ok(())
    }
    /// Reads the next message and its body size, waiting at most until `deadline`.
    pub fn recv(&mut self, deadline: Option<Instant>) -> Result<(usize, LinkMsg), ConnError> {
        let mut body = self.next_body(deadline)?;
        if let Some(open) = self.open.as_mut() {
            let len = open
                .open_in_place(FRAME_AD, &mut body)
                .map_err(|e| ConnError {
                    remote: self.remote,
                    kind: ConnErrorKind::Transport(e),
                })?
                .len();
            body.truncate(len);
        }
        let msg = LinkMsg::decode(&body).map_err(|e| self.error(ConnErrorKind::Message(e)))?;
        Ok((body.len(), msg))
    }

    /// The rest of the stream as plain bytes, and the opener: a file's sealed stream goes
    /// on from here (`Conn::into_file_stream`). Its reads stay stoppable and keep the
    /// stall limit, on every system.
    pub(super) fn into_byte_stream(mut self) -> (ByteStream, Option<Box<dyn Open>>) {
        let pending = io::Cursor::new(self.decoder.take_pending());
        let open = self.open.take();
        (
            ByteStream {
                pending,
                half: self,
            },
            open,
        )
    }

    /// The next whole frame body as it came (not opened).
    pub(super) fn next_body(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, ConnError> {
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
        let mut buf = std::mem::take(&mut self.buf);
        let read = self.read_some(&mut buf, deadline);
        if let Ok(n) = read {
            self.decoder.push(&buf[..n]);
        }
        self.buf = buf;
        read
    }

    /// One read from the socket into `buf` (0 at end of stream), within `deadline`, or
    /// the stall limit when there is none; a stop ends it on every system.
    fn read_some(&mut self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize, ConnError> {
        let until = deadline.or_else(|| self.idle.map(|idle| Instant::now() + idle));
        let read = wake::read(
            &self.stream,
            buf,
            until,
            &self.stop,
            self.wake,
            &mut self.timeout,
        );
        match read.map_err(|e| self.error(ConnErrorKind::Io(e)))? {
            Read::Bytes(n) => Ok(n),
            Read::TimedOut => Err(self.timed_out(deadline)),
            Read::Stopped => Err(self.error(ConnErrorKind::Stopped)),
        }
    }

    fn timed_out(&self, deadline: Option<Instant>) -> ConnError {
        self.error(match deadline {
            Some(_) => ConnErrorKind::Deadline,
            None => ConnErrorKind::Stalled(self.idle.unwrap_or_default()),
        })
    }

    pub(super) fn error(&self, kind: ConnErrorKind) -> ConnError {
        ConnError {
            remote: self.remote,
            kind,
        }
    }
}

/// The bytes of a connection after its last frame, as [`io::Read`]: what was read past
/// that frame first, then the socket, each read within the stall limit and ended by a
/// stop (as `ConnectionAborted`: not `Interrupted`, which `read_exact` would retry for
/// ever).
pub struct ByteStream {
    pending: io::Cursor<Vec<u8>>,
    half: ReadHalf,
}

impl io::Read for ByteStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.pending.position() as usize) < self.pending.get_ref().len() {
            return self.pending.read(buf);
        }
        match self.half.read_some(buf, None) {
            Ok(n) => Ok(n),
            Err(ConnError {
                kind: ConnErrorKind::Stopped,
                ..
            }) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "stopped on this side",
            )),
            Err(e) => Err(e.into_io()),
        }
    }
}

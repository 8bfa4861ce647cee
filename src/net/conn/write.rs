//! The writing half of a connection: whole frames to the socket, sealed if the
//! transport is secure, written blocking or (on a link) without blocking.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::{ConnError, ConnErrorKind, Seal};
use crate::platform;
use crate::protocol::LinkMsg;
use crate::protocol::frame::{self, HEADER_LEN};
use crate::trust::transport::FRAME_AD;

/// The writing half of a [`Conn`](super::Conn): frames out, sealed if the transport is secure.
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
    pub(super) fn new(stream: TcpStream, local: SocketAddr, remote: SocketAddr) -> WriteHalf {
        WriteHalf {
            stream,
            seal: None,
            local,
            remote,
        }
    }

    pub(super) fn set_seal(&mut self, seal: Box<dyn Seal>) {
        self.seal = Some(seal);
    }

    pub(super) fn is_sealed(&self) -> bool {
        self.seal.is_some()
    }

    /// The socket and the sealer: a file's sealed stream goes on from here.
    pub(super) fn into_parts(self) -> (TcpStream, Option<Box<dyn Seal>>) {
        (self.stream, self.seal)
    }

    /// Writes one unsealed frame (a handshake message).
    pub(super) fn send_body(&mut self, body: &[u8]) -> Result<(), ConnError> {
        let frame = frame::encode(body).map_err(|e| self.error(ConnErrorKind::Frame(e)))?;
        self.write_all(&frame)
    }
    /// The whole frame for `msg`: its body, sealed if the transport is secure, behind
    /// the length.
    pub fn frame(&mut self, msg: &LinkMsg) -> Result<Vec<u8>, ConnError> {
        let plain = msg
            .to_frame()
            .map_err(|e| self.error(ConnErrorKind::Frame(e)))?;
        let Some(seal) = self.seal.as_mut() else {
            return Ok(plain);
        };
        // Sealed where it lies, behind the header: one allocation for the whole frame.
        let mut sealed = plain;
        seal.seal_in_place(FRAME_AD, &mut sealed, HEADER_LEN)
            .map_err(|e| ConnError {
                remote: self.remote,
                kind: ConnErrorKind::Transport(e),
            })?;
        frame::finish(sealed).map_err(|e| self.error(ConnErrorKind::Frame(e)))
    }

    /// Writes bytes already framed, blocking until all are taken.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        (&self.stream)
            .write_all(bytes)
            .map_err(|e| self.error(ConnErrorKind::Io(e)))
    }

    /// Writes as much of `bytes` as the socket's buffer takes now, without blocking;
    /// returns how many (0 where the system has no such write: the frame then goes
    /// through the writer thread). Any error counts as "nothing taken" (the blocking path
    /// meets the same error and reports it).
    pub fn write_now(&self, bytes: &[u8]) -> usize {
        platform::sock::send_now(&self.stream, bytes).unwrap_or(0)
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

    /// Our end (`getsockname`).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Their end (`getpeername`).
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// The socket's number (a file descriptor, a Windows `SOCKET`), for the network
    /// panel; -1 where there is none.
    pub fn fd(&self) -> i64 {
        platform::sock::socket_number(&self.stream)
    }

    pub(super) fn error(&self, kind: ConnErrorKind) -> ConnError {
        ConnError {
            remote: self.remote,
            kind,
        }
    }
}

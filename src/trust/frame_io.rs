//! [`FrameIo`] over a `TcpStream` with the v1 frame codec: what the handshake runs on in
//! tests and benchmarks until the framed connection (issue 10) implements the trait
//! itself. Owns one stream's read buffer; nothing else.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use super::noise::FrameIo;
use crate::protocol::frame::{self, FrameDecoder};

/// A TCP stream read and written as frames.
#[derive(Debug)]
pub struct TcpFrames {
    stream: TcpStream,
    decoder: FrameDecoder,
}

impl TcpFrames {
    /// Frames over `stream`.
    pub fn new(stream: TcpStream) -> TcpFrames {
        TcpFrames {
            stream,
            decoder: FrameDecoder::new(),
        }
    }

    /// The stream back, with any bytes read past the last frame (they belong to what
    /// follows the handshake).
    pub fn into_parts(mut self) -> (TcpStream, Vec<u8>) {
        let rest = self.decoder.take_pending();
        (self.stream, rest)
    }
}

impl FrameIo for TcpFrames {
    fn send_body(&mut self, body: &[u8]) -> io::Result<()> {
        let wire =
            frame::encode(body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.stream.write_all(&wire)
    }

    fn recv_body(&mut self, deadline: Instant) -> io::Result<Vec<u8>> {
        let mut buf = [0u8; 4096];
        loop {
            match self.decoder.next_frame() {
                Ok(Some(body)) => return Ok(body),
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

//! File bytes on a v2 data connection: sealed chunks in frames. Owns the chunk layout and
//! the associated data that binds each chunk to its transfer and offset; the caller owns
//! the socket, the file and the hash.
//!
//! ```text
//!  sender (initiator)                                  receiver (responder)
//!  handshake ───────────────────────────────────────────────────────────────
//!  frame: seal(file_data {transfer_id, offset})  ─►  the accepted offset?
//!  frame: seal(chunk at offset)             ─►  ad = tag ‖ transfer_id ‖ offset
//!  frame: seal(chunk at offset + n) ...     ─►  … exactly size - offset bytes
//!  frame: seal(file_end {hash})             ─►  compare
//!                                           ◄─  frame: seal(file_done | file_cancel)
//! ```
//! A chunk carries at most [`CHUNK`] bytes (256 KiB: what stays in this machine's L2
//! cache between reading, sealing and writing, as measured for the plain receiver in
//! docs/TRANSFERS.md). Its associated data is a tag, the transfer id and the file offset
//! of its first byte, and its nonce is the connection's frame counter, so:
//! - **reordered, replayed or dropped** chunks fail (the counter moves on);
//! - a chunk **from another transfer, offset or connection** fails (other AD, other keys:
//!   every connection, so every resume, runs its own handshake and never reuses a key);
//! - **truncation** is caught: the receiver expects exactly `size - offset` bytes and
//!   then `file_end`, whose (now authenticated) hash covers the whole file;
//! - a length over `CHUNK + TAG_LEN` is refused before anything is allocated.

use std::io::{self, Read, Write};

use thiserror::Error;

use super::transport::{
    FRAME_AD, MAX_PLAIN_BODY, NoiseOpen, NoiseSeal, Open, Seal, TAG_LEN, TransportError,
};
use crate::protocol::frame::{HEADER_LEN, MAX_FRAME_BODY};

/// Most file bytes in one sealed chunk.
pub const CHUNK: usize = 256 << 10;

const CHUNK_TAG: &[u8] = b"lanchat file chunk v2\0";

/// The associated data of the chunk of `transfer_id` that starts at file offset `offset`.
pub fn chunk_ad(transfer_id: &str, offset: u64) -> Vec<u8> {
    let id = transfer_id.as_bytes();
    let mut ad = Vec::with_capacity(CHUNK_TAG.len() + 1 + id.len() + 8);
    ad.extend_from_slice(CHUNK_TAG);
    ad.push(u8::try_from(id.len()).unwrap_or(u8::MAX)); // ids are at most 64 bytes
    ad.extend_from_slice(id);
    ad.extend_from_slice(&offset.to_be_bytes());
    ad
}

/// Why a sealed stream failed.
#[derive(Debug, Error)]
pub enum StreamError {
    /// The socket failed or ended (`UnexpectedEof`: cut short).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A frame failed to open, or could not be sealed.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// A frame announced more bytes than its kind may carry.
    #[error("sealed frame of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// The announced length.
        len: usize,
        /// The limit for this kind of frame.
        max: usize,
    },
}

impl StreamError {
    /// Short stable label for counters.
    pub fn label(&self) -> &'static str {
        match self {
            StreamError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => "truncated",
            StreamError::Io(_) => "io",
            StreamError::Transport(e) => e.label(),
            StreamError::TooLong { .. } => "too_long",
        }
    }
}

/// Writes sealed frames and chunks to `W`. One buffer, reused: header, plaintext, tag.
pub struct SealedWriter<W, S = NoiseSeal> {
    inner: W,
    seal: S,
    buf: Vec<u8>,
}

impl<W: Write, S: Seal> SealedWriter<W, S> {
    /// Seals everything written to `inner` with `seal`.
    pub fn new(inner: W, seal: S) -> SealedWriter<W, S> {
        SealedWriter {
            inner,
            seal,
            buf: vec![0; HEADER_LEN + CHUNK + TAG_LEN],
        }
    }

    /// Sends `body` (a link message) as one sealed frame.
    pub fn write_frame(&mut self, body: &[u8]) -> Result<(), StreamError> {
        let need = HEADER_LEN + body.len() + TAG_LEN;
        if body.len() > MAX_PLAIN_BODY {
            return Err(TransportError::TooLong {
                len: body.len(),
                max: MAX_PLAIN_BODY,
            }
            .into());
        }
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        self.buf[HEADER_LEN..HEADER_LEN + body.len()].copy_from_slice(body);
        self.send(FRAME_AD, body.len())
    }

    /// Sends the chunk of `transfer_id` at `offset`: `fill` writes up to `want` (at most
    /// [`CHUNK`]) file bytes straight into the frame buffer and returns how many (a
    /// `read_at`, say). Returns that count; 0 sends nothing.
    pub fn write_chunk(
        &mut self,
        transfer_id: &str,
        offset: u64,
        want: usize,
        fill: impl FnOnce(&mut [u8]) -> io::Result<usize>,
    ) -> Result<usize, StreamError> {
        let want = want.min(CHUNK);
        let n = fill(&mut self.buf[HEADER_LEN..HEADER_LEN + want])?.min(want);
        if n == 0 {
            return Ok(0);
        }
        self.send(&chunk_ad(transfer_id, offset), n)?;
        Ok(n)
    }

    /// Seals the `n` plaintext bytes after the header in place, adds the tag and the
    /// length, and writes the frame in one call.
    fn send(&mut self, ad: &[u8], n: usize) -> Result<(), StreamError> {
        let body = HEADER_LEN..HEADER_LEN + n;
        let tag = self.seal.seal_detached(ad, &mut self.buf[body])?;
        self.buf[HEADER_LEN + n..HEADER_LEN + n + TAG_LEN].copy_from_slice(&tag);
        let len = u32::try_from(n + TAG_LEN).expect("at most one frame");
        self.buf[..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
        self.inner
            .write_all(&self.buf[..HEADER_LEN + n + TAG_LEN])?;
        Ok(())
    }

    /// The stream underneath (to flush, set options or shut down).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

/// Reads sealed frames and chunks from `R` into one reused buffer, opened in place.
pub struct SealedReader<R, O = NoiseOpen> {
    inner: R,
    open: O,
    buf: Vec<u8>,
}

impl<R: Read, O: Open> SealedReader<R, O> {
    /// Opens everything read from `inner` with `open`.
    pub fn new(inner: R, open: O) -> SealedReader<R, O> {
        SealedReader {
            inner,
            open,
            buf: Vec::new(),
        }
    }

    /// The next sealed frame's plaintext (a link message).
    pub fn read_frame(&mut self) -> Result<&[u8], StreamError> {
        let len = self.read_sealed(MAX_FRAME_BODY)?;
        Ok(self.open.open_in_place(FRAME_AD, &mut self.buf[..len])?)
    }

    /// The next chunk, which must be `transfer_id`'s at `offset` and carry 1..=`max`
    /// bytes (`max`: what is left of the file, at most [`CHUNK`]).
    pub fn read_chunk(
        &mut self,
        transfer_id: &str,
        offset: u64,
        max: usize,
    ) -> Result<&[u8], StreamError> {
        let len = self.read_sealed(max.min(CHUNK) + TAG_LEN)?;
        let plain = self
            .open
            .open_in_place(&chunk_ad(transfer_id, offset), &mut self.buf[..len])?;
        if plain.is_empty() {
            return Err(TransportError::Forged.into()); // never sent: someone made it
        }
        Ok(plain)
    }

    /// Reads one frame's sealed body into the front of the buffer; returns its length.
    /// The buffer grows to the largest frame seen (checked against `max` first) and is
    /// never cleared, so a chunk costs no zeroing.
    fn read_sealed(&mut self, max: usize) -> Result<usize, StreamError> {
        let mut head = [0u8; HEADER_LEN];
        self.inner.read_exact(&mut head)?;
        let len = u32::from_be_bytes(head) as usize;
        if len > max {
            return Err(StreamError::TooLong { len, max });
        }
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        self.inner.read_exact(&mut self.buf[..len])?;
        Ok(len)
    }

    /// The stream underneath.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

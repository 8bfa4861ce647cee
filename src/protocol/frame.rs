//! Length-prefixed frames: the message boundaries TCP does not have (the seed's 粘包).
//!
//! A frame is a 4-byte big-endian body length followed by the body. The codec is pure: it
//! works on byte slices and an owned buffer and never touches a socket, so the same code
//! will later sit under a Noise transport. "Need more bytes" is `Ok(None)`; the length is
//! checked against [`MAX_FRAME_BODY`] before anything is allocated.

use thiserror::Error;

/// Largest body a frame may carry (1 MiB).
pub const MAX_FRAME_BODY: usize = 1 << 20;

/// Size of the length prefix.
pub const HEADER_LEN: usize = 4;

/// Why a byte stream is not a valid sequence of frames. Any of these closes the link.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix announces more than [`MAX_FRAME_BODY`] bytes.
    #[error("frame body of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// Announced length.
        len: u64,
        /// The limit in force.
        max: usize,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame ({have} of {want} bytes received)")]
    Truncated {
        /// Bytes of the frame (header included) that arrived.
        have: usize,
        /// Bytes the frame needed (header included).
        want: usize,
    },
}

/// Encodes `body` as one frame. Fails only when the body is over the limit.
pub fn encode(body: &[u8]) -> Result<Vec<u8>, FrameError> {
    if body.len() > MAX_FRAME_BODY {
        return Err(FrameError::TooLong {
            len: body.len() as u64,
            max: MAX_FRAME_BODY,
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// A frame built in place: [`HEADER_LEN`] bytes of room for the length, then the body
/// written after them (one allocation for the whole frame). Call [`finish`] to fill in
/// the length.
pub fn start(capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + capacity);
    out.extend_from_slice(&[0; HEADER_LEN]);
    out
}

/// Writes the length of the body that follows the header room made by [`start`]. Fails
/// only when the body is over the limit.
pub fn finish(mut frame: Vec<u8>) -> Result<Vec<u8>, FrameError> {
    let len = frame.len().saturating_sub(HEADER_LEN);
    if len > MAX_FRAME_BODY {
        return Err(FrameError::TooLong {
            len: len as u64,
            max: MAX_FRAME_BODY,
        });
    }
    frame[..HEADER_LEN].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(frame)
}

/// Incremental decoder: feed it whatever `read` returned, take out whole frames.
///
/// One `push` may complete zero, one or several frames; a frame may span any number of
/// pushes. The buffer never holds more than one frame plus one read's worth of bytes.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Takes the next whole frame body out, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let avail = &self.buf[self.start..];
        if avail.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if len > MAX_FRAME_BODY {
            return Err(FrameError::TooLong {
                len: len as u64,
                max: MAX_FRAME_BODY,
            });
        }
        if avail.len() < HEADER_LEN + len {
            // Reserve once for the whole frame, now that the length is known to be sane.
            self.buf.reserve(HEADER_LEN + len - avail.len());
            return Ok(None);
        }
        let body = avail[HEADER_LEN..HEADER_LEN + len].to_vec();
        self.start += HEADER_LEN + len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(body))
    }

    /// Bytes received but not yet returned as frames.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Takes out the bytes received but not yet returned as frames: what follows a header
    /// frame when the stream goes on with raw bytes (a file's data connection).
    pub fn take_pending(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.buf.clear();
        self.start = 0;
        rest
    }

    /// Call at end of stream: `Ok` if the stream ended on a frame boundary.
    pub fn finish(&self) -> Result<(), FrameError> {
        let avail = &self.buf[self.start..];
        if avail.is_empty() {
            return Ok(());
        }
        let want = if avail.len() >= HEADER_LEN {
            HEADER_LEN + u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize
        } else {
            HEADER_LEN
        };
        Err(FrameError::Truncated {
            have: avail.len(),
            want,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bodies: &[&[u8]]) -> Vec<u8> {
        bodies.iter().flat_map(|b| encode(b).unwrap()).collect()
    }

    fn drain(dec: &mut FrameDecoder) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(f) = dec.next_frame().expect("valid stream") {
            out.push(f);
        }
        out
    }

    #[test]
    fn whole_frame_in_one_push() {
        let mut dec = FrameDecoder::new();
        dec.push(&frames(&[b"{\"type\":\"ack\"}"]));
        assert_eq!(drain(&mut dec), vec![b"{\"type\":\"ack\"}".to_vec()]);
        assert_eq!(dec.pending(), 0);
        dec.finish().unwrap();
    }

    #[test]
    fn split_at_every_position() {
        let wire = frames(&[b"hello", b"world!"]);
        for cut in 0..=wire.len() {
            let mut dec = FrameDecoder::new();
            dec.push(&wire[..cut]);
            let mut got = drain(&mut dec);
            dec.push(&wire[cut..]);
            got.extend(drain(&mut dec));
            assert_eq!(
                got,
                vec![b"hello".to_vec(), b"world!".to_vec()],
                "cut at {cut}"
            );
            dec.finish().unwrap();
        }
    }

    #[test]
    fn byte_by_byte() {
        let wire = frames(&[b"a", b"", "你好".as_bytes()]);
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        for b in &wire {
            dec.push(std::slice::from_ref(b));
            got.extend(drain(&mut dec));
        }
        assert_eq!(got, vec![b"a".to_vec(), vec![], "你好".as_bytes().to_vec()]);
    }

    #[test]
    fn two_frames_in_one_read() {
        let mut dec = FrameDecoder::new();
        dec.push(&frames(&[b"one", b"two"]));
        assert_eq!(dec.next_frame().unwrap(), Some(b"one".to_vec()));
        assert_eq!(dec.next_frame().unwrap(), Some(b"two".to_vec()));
        assert_eq!(dec.next_frame().unwrap(), None);
    }

    #[test]
    fn raw_bytes_after_a_frame_are_handed_back() {
        let mut wire = frames(&[b"head"]);
        wire.extend_from_slice(b"raw bytes");
        let mut dec = FrameDecoder::new();
        dec.push(&wire);
        assert_eq!(dec.next_frame().unwrap(), Some(b"head".to_vec()));
        assert_eq!(dec.take_pending(), b"raw bytes");
        assert_eq!(dec.pending(), 0);
        assert!(dec.take_pending().is_empty());
    }

    #[test]
    fn a_frame_built_in_place_is_an_encoded_frame() {
        let mut f = start(5);
        f.extend_from_slice(b"hello");
        assert_eq!(finish(f).unwrap(), encode(b"hello").unwrap());
        assert_eq!(finish(start(0)).unwrap(), [0, 0, 0, 0]);
        let mut big = start(0);
        big.resize(HEADER_LEN + MAX_FRAME_BODY + 1, b'x');
        assert!(matches!(finish(big), Err(FrameError::TooLong { .. })));
    }

    #[test]
    fn empty_body_is_a_frame() {
        let mut dec = FrameDecoder::new();
        dec.push(&[0, 0, 0, 0]);
        assert_eq!(dec.next_frame().unwrap(), Some(vec![]));
    }

    #[test]
    fn empty_input_needs_more() {
        let mut dec = FrameDecoder::new();
        dec.push(&[]);
        assert_eq!(dec.next_frame().unwrap(), None);
        dec.finish().unwrap();
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let mut dec = FrameDecoder::new();
        dec.push(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(
            dec.next_frame(),
            Err(FrameError::TooLong {
                len: 0xFFFF_FFFF,
                max: MAX_FRAME_BODY
            })
        );
        assert!(
            dec.buf.capacity() < 1024,
            "no allocation for the announced length"
        );
    }

    #[test]
    fn limit_is_inclusive() {
        let body = vec![b'x'; MAX_FRAME_BODY];
        let mut dec = FrameDecoder::new();
        dec.push(&encode(&body).unwrap());
        assert_eq!(dec.next_frame().unwrap().unwrap().len(), MAX_FRAME_BODY);
        assert!(matches!(
            encode(&vec![0; MAX_FRAME_BODY + 1]),
            Err(FrameError::TooLong { .. })
        ));
        let mut dec = FrameDecoder::new();
        dec.push(&((MAX_FRAME_BODY + 1) as u32).to_be_bytes());
        assert!(matches!(dec.next_frame(), Err(FrameError::TooLong { .. })));
    }

    #[test]
    fn garbage_is_a_length_then_truncation() {
        // Text where a length should be: "GET " is 0x47455420, far over the limit.
        let mut dec = FrameDecoder::new();
        dec.push(b"GET / HTTP/1.1\r\n\r\n");
        assert!(matches!(dec.next_frame(), Err(FrameError::TooLong { .. })));
        // A small bogus length followed by too few bytes: the stream ends mid-frame.
        let mut dec = FrameDecoder::new();
        dec.push(&[0, 0, 0, 9, 1, 2]);
        assert_eq!(dec.next_frame().unwrap(), None);
        assert_eq!(
            dec.finish(),
            Err(FrameError::Truncated { have: 6, want: 13 })
        );
        let mut dec = FrameDecoder::new();
        dec.push(&[0, 0]);
        assert_eq!(
            dec.finish(),
            Err(FrameError::Truncated { have: 2, want: 4 })
        );
    }

    #[test]
    fn buffer_does_not_grow_across_many_frames() {
        let mut dec = FrameDecoder::new();
        let wire = frames(&[&[7u8; 1000]]);
        for _ in 0..10_000 {
            dec.push(&wire[..500]);
            assert!(dec.next_frame().unwrap().is_none());
            dec.push(&wire[500..]);
            assert!(dec.next_frame().unwrap().is_some());
        }
        assert!(dec.buf.capacity() < 8 * 1024);
    }
}

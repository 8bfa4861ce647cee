//! Sealed frame bodies after a handshake: one AES-256-GCM key per direction, a counter
//! nonce, one AEAD call per frame. Owns the keys and the counters; must not touch a
//! socket (the framed connection calls [`Seal::seal`] in write order and [`Open::open`]
//! in its reader thread).
//!
//! # Why not snow's own transport
//! snow's `TransportState` seals at most 65 535 bytes per message and takes no associated
//! data. Link frames go up to 1 MiB and file chunks must bind their transfer and offset,
//! so the keys from Noise's `Split()` (`dangerously_get_raw_split`) are handed to `ring`'s
//! AES-256-GCM (BoringSSL's assembly: 7.2 GB/s on this machine against 1.3 GB/s for the
//! pure-Rust `aes-gcm`). The nonce is what Noise's AESGCM would use: 32 zero bits and a
//! 64-bit big-endian counter that starts at 0 on each fresh key and never repeats; the
//! keys are new for every connection (ephemeral Diffie-Hellman), so no nonce is ever used
//! twice under one key. Nothing else uses these keys (snow's transport is never built).
//!
//! Sealed body = ciphertext ‖ 16-byte tag. Any failure is final: an opener that saw one
//! forged body refuses everything after it, so the connection must be closed.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use thiserror::Error;

use crate::protocol::frame::MAX_FRAME_BODY;

/// Bytes a sealed body is longer than its plaintext.
pub const TAG_LEN: usize = 16;

/// Largest plaintext a sealed link frame may carry: a sealed body still fits a frame.
pub const MAX_PLAIN_BODY: usize = MAX_FRAME_BODY - TAG_LEN;

/// Associated data of link frames (file chunks use `file_stream::chunk_ad`).
pub const FRAME_AD: &[u8] = b"lanchat frame v2";

/// Seals frame bodies on the way out (one direction of a secure channel). The framed
/// connection (`net::conn`) holds one in its transport slot; [`NoiseSeal`] is the real
/// one. Every body is sealed under associated data: [`FRAME_AD`] for link messages, a
/// file chunk's own (`file_stream::chunk_ad`) for file bytes.
pub trait Seal: Send {
    /// Seals `plain` in place under `ad` and returns the tag that must follow it.
    fn seal_detached(
        &mut self,
        ad: &[u8],
        plain: &mut [u8],
    ) -> Result<[u8; TAG_LEN], TransportError>;

    /// Seals `buf[start..]` in place under `ad` and appends the tag: lets a caller keep a
    /// frame header in front of the body.
    fn seal_in_place(
        &mut self,
        ad: &[u8],
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), TransportError> {
        let tag = self.seal_detached(ad, &mut buf[start..])?;
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// The sealed form of a link message's body (under [`FRAME_AD`]).
    fn seal(&mut self, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut out = Vec::with_capacity(body.len() + TAG_LEN);
        out.extend_from_slice(body);
        self.seal_in_place(FRAME_AD, &mut out, 0)?;
        Ok(out)
    }
}

/// Opens sealed frame bodies on the way in (the other direction). Any failure is final:
/// an opener refuses everything after a body that did not open.
pub trait Open: Send {
    /// Opens `buf` (ciphertext ‖ tag) in place under `ad`; returns the plaintext part.
    fn open_in_place<'a>(
        &mut self,
        ad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], TransportError>;

    /// The plaintext of a sealed link message body (under [`FRAME_AD`]).
    fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut buf = sealed.to_vec();
        let len = self.open_in_place(FRAME_AD, &mut buf)?.len();
        buf.truncate(len);
        Ok(buf)
    }
}

impl<T: Seal + ?Sized> Seal for Box<T> {
    fn seal_detached(
        &mut self,
        ad: &[u8],
        plain: &mut [u8],
    ) -> Result<[u8; TAG_LEN], TransportError> {
        (**self).seal_detached(ad, plain)
    }
}

impl<T: Open + ?Sized> Open for Box<T> {
    fn open_in_place<'a>(
        &mut self,
        ad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], TransportError> {
        (**self).open_in_place(ad, buf)
    }
}

/// Why a body could not be sealed or opened. Every one of these closes the connection.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Shorter than a tag: cannot be a sealed body.
    #[error("sealed body of {0} bytes is shorter than its {TAG_LEN}-byte tag")]
    Short(usize),
    /// The tag does not match: tampered, reordered, replayed, cut, or sealed under
    /// another key.
    #[error(
        "sealed body is not authentic (tampered, reordered, replayed or from another connection)"
    )]
    Forged,
    /// A plaintext too large to seal into one frame.
    #[error("body of {len} bytes exceeds the {max}-byte limit of a sealed frame")]
    TooLong {
        /// The body's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// 2^64 bodies under one key (never in practice): the connection must be renewed.
    #[error("nonce counter exhausted")]
    Exhausted,
    /// An earlier body failed to open; nothing more is accepted on this connection.
    #[error("an earlier sealed body failed; the connection must be closed")]
    Poisoned,
}

impl TransportError {
    /// Short stable label for counters.
    pub fn label(&self) -> &'static str {
        match self {
            TransportError::Short(_) => "short",
            TransportError::Forged => "forged",
            TransportError::TooLong { .. } => "too_long",
            TransportError::Exhausted => "exhausted",
            TransportError::Poisoned => "poisoned",
        }
    }
}

/// One direction's key and counter.
struct Direction {
    key: LessSafeKey,
    counter: u64,
}

impl Direction {
    fn new(key: &[u8; 32]) -> Direction {
        let key = UnboundKey::new(&AES_256_GCM, key).expect("AES-256 takes a 32-byte key");
        Direction {
            key: LessSafeKey::new(key),
            counter: 0,
        }
    }

    fn next_nonce(&mut self) -> Result<Nonce, TransportError> {
        let n = self.counter;
        self.counter = n.checked_add(1).ok_or(TransportError::Exhausted)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce[4..].copy_from_slice(&n.to_be_bytes());
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

/// The sending half of a session. Moves to whichever thread writes the connection.
pub struct NoiseSeal(Direction);

/// The receiving half of a session. Moves to the connection's reader thread.
pub struct NoiseOpen {
    dir: Direction,
    poisoned: bool,
}

impl std::fmt::Debug for NoiseSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoiseSeal {{ sealed: {} }}", self.0.counter)
    }
}

impl std::fmt::Debug for NoiseOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoiseOpen {{ opened: {} }}", self.dir.counter)
    }
}

/// The two halves for one end of a connection, from the handshake's split keys (the
/// handshake calls this; fuzz targets and tests use fixed keys).
pub fn pair(send_key: &[u8; 32], recv_key: &[u8; 32]) -> (NoiseSeal, NoiseOpen) {
    (
        NoiseSeal(Direction::new(send_key)),
        NoiseOpen {
            dir: Direction::new(recv_key),
            poisoned: false,
        },
    )
}

impl NoiseSeal {
    /// Bodies sealed so far.
    pub fn sealed(&self) -> u64 {
        self.0.counter
    }
}

impl Seal for NoiseSeal {
    fn seal_detached(
        &mut self,
        ad: &[u8],
        plain: &mut [u8],
    ) -> Result<[u8; TAG_LEN], TransportError> {
        if plain.len() > MAX_PLAIN_BODY {
            return Err(TransportError::TooLong {
                len: plain.len(),
                max: MAX_PLAIN_BODY,
            });
        }
        let nonce = self.0.next_nonce()?;
        let tag = self
            .0
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(ad), plain)
            .map_err(|_| TransportError::TooLong {
                len: plain.len(),
                max: MAX_PLAIN_BODY,
            })?;
        Ok(tag.as_ref().try_into().expect("a 16-byte tag"))
    }
}

impl NoiseOpen {
    /// Bodies opened so far (failed ones included).
    pub fn opened(&self) -> u64 {
        self.dir.counter
    }
}

impl Open for NoiseOpen {
    fn open_in_place<'a>(
        &mut self,
        ad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], TransportError> {
        if self.poisoned {
            return Err(TransportError::Poisoned);
        }
        if buf.len() < TAG_LEN {
            self.poisoned = true;
            return Err(TransportError::Short(buf.len()));
        }
        let nonce = self.dir.next_nonce()?;
        match self.dir.key.open_in_place(nonce, Aad::from(ad), buf) {
            Ok(plain) => Ok(plain),
            Err(_) => {
                self.poisoned = true;
                Err(TransportError::Forged)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends() -> ((NoiseSeal, NoiseOpen), (NoiseSeal, NoiseOpen)) {
        (pair(&[1; 32], &[2; 32]), pair(&[2; 32], &[1; 32]))
    }

    #[test]
    fn both_directions_round_trip() {
        let ((mut a_seal, mut a_open), (mut b_seal, mut b_open)) = ends();
        for body in [&b""[..], b"{\"type\":\"ack\"}", &[0xAB; 70_000]] {
            let sealed = a_seal.seal(body).unwrap();
            assert_eq!(sealed.len(), body.len() + TAG_LEN);
            if !body.is_empty() {
                assert_ne!(&sealed[..body.len()], body, "encrypted");
            }
            assert_eq!(b_open.open(&sealed).unwrap(), body);
            let back = b_seal.seal(body).unwrap();
            assert_eq!(a_open.open(&back).unwrap(), body);
        }
    }

    #[test]
    fn the_same_body_seals_differently_each_time() {
        let ((mut seal, _), _) = ends();
        assert_ne!(seal.seal(b"hi").unwrap(), seal.seal(b"hi").unwrap());
    }

    #[test]
    fn tampered_reordered_replayed_and_short_bodies_are_refused_for_good() {
        let ((mut seal, _), _) = ends();
        let one = seal.seal(b"one").unwrap();
        let two = seal.seal(b"two").unwrap();
        let fresh_open = || ends().1.1;

        let mut open = fresh_open();
        let mut bad = one.clone();
        bad[0] ^= 1;
        assert_eq!(open.open(&bad), Err(TransportError::Forged));
        assert_eq!(open.open(&one), Err(TransportError::Poisoned), "no retry");

        let mut open = fresh_open();
        assert_eq!(open.open(&two), Err(TransportError::Forged), "reordered");

        let mut open = fresh_open();
        assert_eq!(open.open(&one).unwrap(), b"one");
        assert_eq!(open.open(&one), Err(TransportError::Forged), "replayed");

        let mut open = fresh_open();
        assert_eq!(open.open(&one[..5]), Err(TransportError::Short(5)));

        // Sealed by the other direction's key (a reflection): refused.
        let (_, (mut b_seal, _)) = ends();
        let reflected = b_seal.seal(b"one").unwrap();
        let mut open = ends().0.1;
        assert_eq!(open.open(&reflected).unwrap(), b"one", "a's opener reads b");
        let mut b_open = fresh_open();
        assert_eq!(b_open.open(&reflected), Err(TransportError::Forged));
    }

    #[test]
    fn associated_data_is_bound() {
        let ((mut seal, _), (_, mut open)) = ends();
        let mut buf = b"chunk".to_vec();
        seal.seal_in_place(b"transfer 1 at 0", &mut buf, 0).unwrap();
        let mut copy = buf.clone();
        assert_eq!(
            open.open_in_place(b"transfer 1 at 5", &mut copy),
            Err(TransportError::Forged)
        );
        let (_, (_, mut open)) = ends();
        assert_eq!(
            open.open_in_place(b"transfer 1 at 0", &mut buf).unwrap(),
            b"chunk"
        );
    }

    #[test]
    fn a_body_too_large_for_a_frame_is_refused() {
        let ((mut seal, _), _) = ends();
        assert_eq!(
            seal.seal(&vec![0; MAX_PLAIN_BODY + 1]),
            Err(TransportError::TooLong {
                len: MAX_PLAIN_BODY + 1,
                max: MAX_PLAIN_BODY
            })
        );
        assert_eq!(
            seal.seal(&vec![0; MAX_PLAIN_BODY]).unwrap().len(),
            MAX_FRAME_BODY
        );
    }

    #[test]
    fn the_counter_never_wraps() {
        let ((mut seal, _), _) = ends();
        seal.0.counter = u64::MAX;
        assert_eq!(seal.seal(b"x"), Err(TransportError::Exhausted));
    }
}

//! Trust (protocol v2, issue 11): keys as identities, the Noise handshake that proves
//! them, sealed frames and file bytes, and the safety code people compare.
//!
//! Owns key material and every cryptographic step of a connection; must not touch the
//! node's state or pick sockets (callers pass a [`noise::FrameIo`] or a stream in). The
//! signed datagram codec lives beside the other wire formats in
//! [`crate::protocol::signed`]. docs/SECURITY.md says what this protects, and what not.
//!
//! - [`keys`]: key pair, peer key, peer id, fingerprint, static key proof (pure).
//! - [`identity`]: the key pair on disk, owner-only.
//! - [`noise`]: the `Noise_XX_25519_AESGCM_SHA256` handshake over a frame I/O trait.
//! - [`transport`]: the [`transport::Seal`] / [`transport::Open`] halves it yields.
//! - [`file_stream`]: file bytes as sealed chunks bound to transfer and offset.
//! - [`safety`]: the sixty-digit safety code and its QR code.
//! - [`frame_io`]: the frame I/O trait over a `TcpStream` (tests, benchmarks).

pub mod file_stream;
pub mod frame_io;
pub mod identity;
pub mod keys;
pub mod noise;
pub mod safety;
pub mod transport;

#[cfg(test)]
mod tests;

pub use keys::{Fingerprint, KeyPair, PeerKey};
pub use noise::{FrameIo, HandshakeError, Session};
pub use safety::{SafetyCode, safety_code};
pub use transport::{NoiseOpen, NoiseSeal, Open, Seal, TransportError};

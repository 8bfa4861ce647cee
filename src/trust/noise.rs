//! The Noise handshake that opens every v2 link and data connection, and proves who is at
//! the other end. Owns the handshake state (snow) and the checks on each message; the
//! bytes travel through a [`FrameIo`] the caller provides, so this never names a socket.
//!
//! # Pattern
//! `Noise_XX_25519_AESGCM_SHA256`, prologue `lanchat v2`. The dialler is the initiator.
//! Static keys are the identities' X25519 keys; each side's static key travels
//! encrypted, with a [`StaticProof`] (the ed25519 identity's signature over that static
//! key) as its payload, so a passive listener learns neither identity and the remote's
//! peer id is proven, not claimed. AES-GCM rather than ChaCha20-Poly1305: the keys from
//! the split also seal the transport (`transport.rs`), where `ring` measured 7.2 GB/s for
//! AES-256-GCM and 2.4 GB/s for ChaCha20-Poly1305 on this machine.
//!
//! ```text
//!  initiator                                   responder
//!  "lanchat2" ‖ e                    (40 B) ─►  msg1: nothing secret
//!          ◄─ e, ee, s, es, proof_r  (193 B)    msg2: responder proven to the initiator
//!  s, se, proof_i                    (161 B) ─► msg3: initiator proven to the responder
//! ```
//! An initiator that expects a peer id checks it on msg2 and stops before msg3, so a
//! wrong responder never learns who was calling.
//!
//! # What an unauthenticated connection can make us compute
//! Every message has one exact length, checked before any cryptography. A responder
//! spends, per connection that sends a well-formed msg1: one X25519 key generation and
//! two X25519 operations (~0.1 ms here); for a msg3 that passes its AEAD tag, one more
//! X25519 and one ed25519 verification. Greeting limits (how many connections may wait,
//! and for how long) are the caller's and apply unchanged: the deadline passed in bounds
//! the whole handshake.

use std::io;
use std::time::Instant;

use snow::{Builder, HandshakeState};
use thiserror::Error;

use super::keys::{KEY_LEN, KeyError, KeyPair, PeerKey, StaticProof};
use super::transport::{self, NoiseOpen, NoiseSeal};

/// The Noise protocol name.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_AESGCM_SHA256";

/// Prologue mixed into the handshake: both sides must agree they speak lanchat v2.
pub const PROLOGUE: &[u8] = b"lanchat v2";

/// The first bytes of a v2 connection (msg1). A v1 peer's first frame is a JSON `hello`,
/// which starts with `{`: told apart without guessing.
pub const MAGIC: &[u8; 8] = b"lanchat2";

const AEAD_TAG: usize = 16;
/// msg1: magic, ephemeral key, empty payload.
pub const MSG1_LEN: usize = MAGIC.len() + KEY_LEN;
/// msg2: ephemeral key, encrypted static key, encrypted proof.
pub const MSG2_LEN: usize = KEY_LEN + (KEY_LEN + AEAD_TAG) + (StaticProof::LEN + AEAD_TAG);
/// msg3: encrypted static key, encrypted proof.
pub const MSG3_LEN: usize = (KEY_LEN + AEAD_TAG) + (StaticProof::LEN + AEAD_TAG);

/// Sends and receives whole frame bodies: what the framed connection provides.
pub trait FrameIo {
    /// Sends one frame carrying `body`.
    fn send_body(&mut self, body: &[u8]) -> io::Result<()>;
    /// Receives the next frame's body, waiting no later than `deadline`
    /// (`ErrorKind::TimedOut` then; `UnexpectedEof` if the stream ends).
    fn recv_body(&mut self, deadline: Instant) -> io::Result<Vec<u8>>;
}

/// Why a handshake failed. Each closes the connection; [`HandshakeError::label`] names it
/// for counters.
#[derive(Debug, Error)]
pub enum HandshakeError {
    /// The stream failed, ended or timed out.
    #[error("handshake i/o: {0}")]
    Io(#[from] io::Error),
    /// The first frame is a v1 JSON `hello`.
    #[error("the peer speaks protocol version 1 (a JSON hello); this build speaks 2")]
    Version1,
    /// A message of the wrong length or without the magic.
    #[error("malformed handshake message: {0}")]
    Malformed(String),
    /// A message failed its AEAD check (tampered, or keys that do not match).
    #[error("handshake message failed to decrypt")]
    Decrypt,
    /// The static key proof is malformed or its signature does not verify.
    #[error("the peer's key proof is invalid: {0}")]
    Proof(KeyError),
    /// The responder is not the peer the initiator dialled.
    #[error("dialled peer {expected} but {got} answered")]
    WrongPeer {
        /// The peer id the initiator asked for.
        expected: String,
        /// The peer id the responder proved.
        got: String,
    },
    /// The remote proved our own key: a connection to ourselves or a reflection.
    #[error("the peer is this installation itself")]
    OwnKey,
    /// snow refused an operation (a bug, not the peer's doing).
    #[error("noise: {0}")]
    Noise(#[from] snow::Error),
}

impl HandshakeError {
    /// Short stable label for counters.
    pub fn label(&self) -> &'static str {
        match self {
            HandshakeError::Io(e) => match e.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timeout",
                io::ErrorKind::UnexpectedEof => "closed",
                io::ErrorKind::InvalidData => "malformed",
                _ => "io",
            },
            HandshakeError::Version1 => "version",
            HandshakeError::Malformed(_) => "malformed",
            HandshakeError::Decrypt => "decrypt",
            HandshakeError::Proof(_) => "proof",
            HandshakeError::WrongPeer { .. } => "wrong_peer",
            HandshakeError::OwnKey => "own_key",
            HandshakeError::Noise(_) => "noise",
        }
    }
}

/// A finished handshake: who the remote is, proven, and the sealed transport.
#[derive(Debug)]
pub struct Session {
    /// The remote's identity key.
    pub remote: PeerKey,
    /// The remote's peer id (derived from `remote`).
    pub remote_id: String,
    /// Seals what we send.
    pub seal: NoiseSeal,
    /// Opens what we receive.
    pub open: NoiseOpen,
    /// The Noise handshake hash: the same on both ends, unique to this connection.
    pub handshake_hash: Vec<u8>,
}

fn initiator_state(keys: &KeyPair) -> Result<HandshakeState, snow::Error> {
    let params = NOISE_PARAMS.parse().expect("a valid Noise protocol name");
    Builder::new(params)
        .local_private_key(keys.x25519_secret())?
        .prologue(PROLOGUE)?
        .build_initiator()
}

fn responder_state(keys: &KeyPair) -> Result<HandshakeState, snow::Error> {
    let params = NOISE_PARAMS.parse().expect("a valid Noise protocol name");
    Builder::new(params)
        .local_private_key(keys.x25519_secret())?
        .prologue(PROLOGUE)?
        .build_responder()
}

/// The dialling side, between msg1 and msg2.
pub struct Initiator {
    state: HandshakeState,
    own: PeerKey,
    proof: [u8; StaticProof::LEN],
    expect: Option<String>,
}

impl Initiator {
    /// Starts a handshake: returns the state and msg1. With `expect`, only that peer id
    /// is accepted as the responder.
    pub fn start(
        keys: &KeyPair,
        expect: Option<&str>,
    ) -> Result<(Initiator, Vec<u8>), HandshakeError> {
        let mut state = initiator_state(keys)?;
        // snow wants room for a tag even after an unencrypted empty payload.
        let mut msg = vec![0u8; MSG1_LEN + AEAD_TAG];
        msg[..MAGIC.len()].copy_from_slice(MAGIC);
        let n = state.write_message(&[], &mut msg[MAGIC.len()..])?;
        msg.truncate(MAGIC.len() + n);
        debug_assert_eq!(msg.len(), MSG1_LEN);
        let initiator = Initiator {
            state,
            own: keys.public(),
            proof: keys.static_proof().encode(),
            expect: expect.map(str::to_owned),
        };
        Ok((initiator, msg))
    }

    /// Reads msg2 and checks the responder; returns msg3 and the session.
    pub fn finish(mut self, msg2: &[u8]) -> Result<(Vec<u8>, Session), HandshakeError> {
        if msg2.len() != MSG2_LEN {
            return Err(wrong_length("msg2", msg2.len(), MSG2_LEN));
        }
        let mut payload = [0u8; MSG2_LEN];
        let n = self
            .state
            .read_message(msg2, &mut payload)
            .map_err(|_| HandshakeError::Decrypt)?;
        let remote = proven_remote(&self.state, &payload[..n], self.own)?;
        let remote_id = remote.peer_id();
        if let Some(expected) = self.expect.take().filter(|e| *e != remote_id) {
            return Err(HandshakeError::WrongPeer {
                expected,
                got: remote_id,
            });
        }
        let mut msg3 = vec![0u8; MSG3_LEN];
        let n = self.state.write_message(&self.proof, &mut msg3)?;
        debug_assert_eq!(n, MSG3_LEN);
        Ok((msg3, session(self.state, remote, true)))
    }
}

/// The accepting side, between msg2 and msg3.
pub struct Responder {
    state: HandshakeState,
    own: PeerKey,
}

impl Responder {
    /// Reads msg1 (the connection's first frame) and returns the state and msg2.
    pub fn start(keys: &KeyPair, msg1: &[u8]) -> Result<(Responder, Vec<u8>), HandshakeError> {
        if msg1.first() == Some(&b'{') {
            return Err(HandshakeError::Version1);
        }
        if msg1.len() != MSG1_LEN || !msg1.starts_with(MAGIC) {
            return Err(HandshakeError::Malformed(format!(
                "first frame of {} bytes is not a lanchat v2 handshake",
                msg1.len()
            )));
        }
        let mut state = responder_state(keys)?;
        state
            .read_message(&msg1[MAGIC.len()..], &mut [0u8; AEAD_TAG])
            .map_err(|_| HandshakeError::Malformed("bad ephemeral key".into()))?;
        let mut msg2 = vec![0u8; MSG2_LEN];
        let n = state.write_message(&keys.static_proof().encode(), &mut msg2)?;
        debug_assert_eq!(n, MSG2_LEN);
        let responder = Responder {
            state,
            own: keys.public(),
        };
        Ok((responder, msg2))
    }

    /// Reads msg3 and checks the initiator; returns the session.
    pub fn finish(mut self, msg3: &[u8]) -> Result<Session, HandshakeError> {
        if msg3.len() != MSG3_LEN {
            return Err(wrong_length("msg3", msg3.len(), MSG3_LEN));
        }
        let mut payload = [0u8; MSG3_LEN];
        let n = self
            .state
            .read_message(msg3, &mut payload)
            .map_err(|_| HandshakeError::Decrypt)?;
        let remote = proven_remote(&self.state, &payload[..n], self.own)?;
        Ok(session(self.state, remote, false))
    }
}

fn wrong_length(which: &str, got: usize, want: usize) -> HandshakeError {
    HandshakeError::Malformed(format!("{which} of {got} bytes (expected {want})"))
}

/// The identity the remote proved for the static key the handshake authenticated.
fn proven_remote(
    state: &HandshakeState,
    proof: &[u8],
    own: PeerKey,
) -> Result<PeerKey, HandshakeError> {
    let remote_static = state
        .get_remote_static()
        .ok_or_else(|| HandshakeError::Malformed("no remote static key".into()))?;
    let remote = StaticProof::verify(proof, remote_static).map_err(HandshakeError::Proof)?;
    if remote == own {
        return Err(HandshakeError::OwnKey);
    }
    Ok(remote)
}

fn session(mut state: HandshakeState, remote: PeerKey, initiator: bool) -> Session {
    let handshake_hash = state.get_handshake_hash().to_vec();
    let (i_to_r, r_to_i) = state.dangerously_get_raw_split();
    let (seal, open) = if initiator {
        transport::pair(&i_to_r, &r_to_i)
    } else {
        transport::pair(&r_to_i, &i_to_r)
    };
    Session {
        remote_id: remote.peer_id(),
        remote,
        seal,
        open,
        handshake_hash,
    }
}

/// Runs the initiator's side over `io`, all of it before `deadline`.
pub fn initiate(
    io: &mut impl FrameIo,
    keys: &KeyPair,
    expect: Option<&str>,
    deadline: Instant,
) -> Result<Session, HandshakeError> {
    let (initiator, msg1) = Initiator::start(keys, expect)?;
    io.send_body(&msg1)?;
    let msg2 = io.recv_body(deadline)?;
    let (msg3, session) = initiator.finish(&msg2)?;
    io.send_body(&msg3)?;
    Ok(session)
}

/// Runs the responder's side over `io`, whose first frame has not been read yet.
pub fn respond(
    io: &mut impl FrameIo,
    keys: &KeyPair,
    deadline: Instant,
) -> Result<Session, HandshakeError> {
    let first = io.recv_body(deadline)?;
    respond_to(&first, io, keys, deadline)
}

/// Runs the responder's side when the first frame was already read (by a greeter that
/// looked at it to route the connection).
pub fn respond_to(
    first: &[u8],
    io: &mut impl FrameIo,
    keys: &KeyPair,
    deadline: Instant,
) -> Result<Session, HandshakeError> {
    let (responder, msg2) = Responder::start(keys, first)?;
    io.send_body(&msg2)?;
    let msg3 = io.recv_body(deadline)?;
    responder.finish(&msg3)
}

//! Key material as values: this installation's key pair, a peer's public key, the peer id
//! and the fingerprint derived from it, and the proof that binds a Noise static key to an
//! identity. Pure: no files (`identity.rs` stores the pair), no sockets.
//!
//! # Two keys, one identity
//! An identity is an **ed25519** key pair (`ed25519-dalek`): it signs datagrams, and its
//! public key is what a peer id and a fingerprint are derived from. The Noise handshake
//! needs an **X25519** static key; it is a second random secret kept beside the first,
//! not derived from it, so no secret is ever used by two algorithms (converting ed25519
//! keys to X25519 is known to be sound, but keeping them apart needs no argument at all).
//! The two are tied by a [`StaticProof`]: the ed25519 key's signature over the X25519
//! public key, sent inside the encrypted handshake. It costs one signature check per
//! handshake (~40 µs here).

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256, Sha512};
use thiserror::Error;
use zeroize::Zeroizing;

/// Length of a public key (ed25519 or X25519) and of a secret.
pub const KEY_LEN: usize = 32;

/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Length of a peer id: 160 bits of SHA-256 in base32, the length v1's random ids had.
pub const PEER_ID_LEN: usize = 32;

/// Digits in a fingerprint (six groups of five).
pub const FINGERPRINT_DIGITS: usize = 30;

/// Domain tags: each hash or signature says what it is for, so none can stand for another.
const PEER_ID_TAG: &[u8] = b"lanchat peer id v2\0";
const FINGERPRINT_TAG: &[u8] = b"lanchat fingerprint v2\0";
const STATIC_PROOF_TAG: &[u8] = b"lanchat noise static key v2\0";

/// Version byte that opens a [`StaticProof`] on the wire.
const STATIC_PROOF_VERSION: u8 = 1;

/// Why bytes are not a usable public key or signature.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Not base64url, or not 32 bytes.
    #[error("public key is not 32 bytes of base64url")]
    Encoding,
    /// 32 bytes that are not a point on the curve, or a weak (small-order) point.
    #[error("public key is not a valid ed25519 point")]
    Invalid,
    /// A proof of the wrong length or version.
    #[error("static key proof is malformed")]
    ProofMalformed,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// A peer's long-term public key (ed25519), checked to be a valid, non-weak point, and
/// kept decompressed so each signature check does not decompress it again. Compared,
/// hashed and ordered by its 32 bytes.
#[derive(Clone, Copy)]
pub struct PeerKey {
    bytes: [u8; KEY_LEN],
    key: VerifyingKey,
}

impl PartialEq for PeerKey {
    fn eq(&self, other: &PeerKey) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PeerKey {}

impl std::hash::Hash for PeerKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl PartialOrd for PeerKey {
    fn partial_cmp(&self, other: &PeerKey) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PeerKey {
    fn cmp(&self, other: &PeerKey) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerKey({})", self.to_base64())
    }
}

impl PeerKey {
    /// Checks and wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<PeerKey, KeyError> {
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Invalid)?;
        if key.is_weak() {
            return Err(KeyError::Invalid);
        }
        Ok(PeerKey { bytes, key })
    }

    /// Parses the wire form: base64url without padding (43 characters).
    pub fn from_base64(text: &str) -> Result<PeerKey, KeyError> {
        let bytes = BASE64URL_NOPAD
            .decode(text.as_bytes())
            .map_err(|_| KeyError::Encoding)?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| KeyError::Encoding)?;
        PeerKey::from_bytes(bytes)
    }

    /// The wire form: base64url without padding.
    pub fn to_base64(&self) -> String {
        BASE64URL_NOPAD.encode(&self.bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// The peer id this key speaks for: see [`peer_id_of`].
    pub fn peer_id(&self) -> String {
        peer_id_of(&self.bytes)
    }

    /// The fingerprint a person reads aloud: see [`Fingerprint`].
    pub fn fingerprint(&self) -> Fingerprint {
        let hash = Sha512::new()
            .chain_update(FINGERPRINT_TAG)
            .chain_update(self.bytes)
            .finalize();
        let mut digits = String::with_capacity(FINGERPRINT_DIGITS);
        for chunk in hash[..30].chunks_exact(5) {
            let mut wide = [0u8; 8];
            wide[3..].copy_from_slice(chunk);
            digits.push_str(&format!("{:05}", u64::from_be_bytes(wide) % 100_000));
        }
        Fingerprint(digits)
    }

    /// Checks an ed25519 signature by this key (strict: no malleable signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        self.key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// The peer id of the ed25519 public key `bytes` (valid point or not: it is a hash, so a
/// datagram's id can be checked before its key is decompressed): base32 (lower case) of
/// the first 160 bits of SHA-256 over a domain tag and the key. 32 characters of
/// `[a-z2-7]`, so it passes v1's `valid_id`. 160 bits make finding a key for someone
/// else's id (a second preimage) hopeless; two keys of one's own with one id (a
/// collision, ~2^80 work) gains nothing as long as trust is stored per key, not per id.
pub fn peer_id_of(bytes: &[u8; KEY_LEN]) -> String {
    let hash = Sha256::new()
        .chain_update(PEER_ID_TAG)
        .chain_update(bytes)
        .finalize();
    BASE32_NOPAD.encode(&hash[..20]).to_ascii_lowercase()
}

/// Thirty digits derived from one public key (SHA-512 over a domain tag and the key; each
/// 40-bit slice of the hash gives five digits), shown as six groups of five:
/// `"05972 33818 ..."`. About 100 bits: making a key with a given fingerprint is a
/// second-preimage search of 2^99 hashes, so no key stretching is needed (Signal
/// stretches its 30 digits with 5 200 rounds; here a peer table of thousands of strangers
/// must stay cheap to fill). A safety code is two of these, sorted (`safety.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The 30 digits without spaces.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Fingerprint {
    /// Six groups of five digits separated by spaces.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&group_digits(&self.0))
    }
}

/// Digits in groups of five separated by single spaces.
pub fn group_digits(digits: &str) -> String {
    let groups: Vec<&str> = digits
        .as_bytes()
        .chunks(5)
        .map(|g| std::str::from_utf8(g).expect("ASCII digits"))
        .collect();
    groups.join(" ")
}

/// This installation's secrets: the ed25519 signing key and the X25519 Noise static key.
/// Debug output shows only the public half.
pub struct KeyPair {
    signing: SigningKey,
    dh_secret: Zeroizing<[u8; KEY_LEN]>,
    dh_public: [u8; KEY_LEN],
    public: PeerKey,
    /// Signed once: every handshake sends the same proof.
    proof: StaticProof,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A new pair from the operating system's random source.
    pub fn generate() -> Result<KeyPair, getrandom::Error> {
        let mut ed = Zeroizing::new([0u8; KEY_LEN]);
        let mut dh = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(ed.as_mut())?;
        getrandom::fill(dh.as_mut())?;
        Ok(KeyPair::from_secrets(&ed, &dh))
    }

    /// The pair made of a stored ed25519 seed and X25519 secret.
    pub fn from_secrets(ed25519_seed: &[u8; KEY_LEN], x25519_secret: &[u8; KEY_LEN]) -> KeyPair {
        let signing = SigningKey::from_bytes(ed25519_seed);
        let dh_public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*x25519_secret))
                .to_bytes();
        // A freshly generated ed25519 key is never weak (that needs a crafted point).
        let public = PeerKey::from_bytes(signing.verifying_key().to_bytes())
            .expect("a generated ed25519 key is a valid point");
        let proof = StaticProof {
            key: public,
            signature: signing.sign(&static_proof_message(&dh_public)).to_bytes(),
        };
        KeyPair {
            signing,
            dh_secret: Zeroizing::new(*x25519_secret),
            dh_public,
            public,
            proof,
        }
    }

    /// The ed25519 seed, for storing.
    pub fn ed25519_seed(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The X25519 secret: the Noise static private key, also for storing.
    pub fn x25519_secret(&self) -> &[u8; KEY_LEN] {
        &self.dh_secret
    }

    /// The X25519 public key (the Noise static public key).
    pub fn x25519_public(&self) -> &[u8; KEY_LEN] {
        &self.dh_public
    }

    /// The public identity key.
    pub fn public(&self) -> PeerKey {
        self.public
    }

    /// This installation's peer id ([`PeerKey::peer_id`]).
    pub fn peer_id(&self) -> String {
        self.public.peer_id()
    }

    /// This installation's fingerprint ([`PeerKey::fingerprint`]).
    pub fn fingerprint(&self) -> Fingerprint {
        self.public.fingerprint()
    }

    /// Signs `message` with the identity key.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing.sign(message).to_bytes()
    }

    /// The proof that the X25519 key belongs to this identity, for the handshake.
    pub fn static_proof(&self) -> &StaticProof {
        &self.proof
    }
}

/// "This X25519 static key is mine": an identity key and its signature over a domain tag
/// and the X25519 public key. On the wire (97 bytes): version `1`, the ed25519 public
/// key, the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticProof {
    /// The identity that signs.
    pub key: PeerKey,
    /// Its signature over the static key.
    pub signature: [u8; SIGNATURE_LEN],
}

impl StaticProof {
    /// Size on the wire.
    pub const LEN: usize = 1 + KEY_LEN + SIGNATURE_LEN;

    /// The wire form.
    pub fn encode(&self) -> [u8; StaticProof::LEN] {
        let mut out = [0u8; StaticProof::LEN];
        out[0] = STATIC_PROOF_VERSION;
        out[1..1 + KEY_LEN].copy_from_slice(self.key.as_bytes());
        out[1 + KEY_LEN..].copy_from_slice(&self.signature);
        out
    }

    /// Parses the wire form and checks that it vouches for `x25519_public`; returns the
    /// identity key. Length and version are checked before the key is decoded, and the
    /// key before the signature is checked (the only costly step).
    pub fn verify(bytes: &[u8], x25519_public: &[u8]) -> Result<PeerKey, KeyError> {
        if bytes.len() != StaticProof::LEN || bytes[0] != STATIC_PROOF_VERSION {
            return Err(KeyError::ProofMalformed);
        }
        let key: [u8; KEY_LEN] = bytes[1..1 + KEY_LEN].try_into().expect("length checked");
        let signature: [u8; SIGNATURE_LEN] =
            bytes[1 + KEY_LEN..].try_into().expect("length checked");
        let key = PeerKey::from_bytes(key)?;
        let public: &[u8; KEY_LEN] = x25519_public
            .try_into()
            .map_err(|_| KeyError::ProofMalformed)?;
        if key.verify(&static_proof_message(public), &signature) {
            Ok(key)
        } else {
            Err(KeyError::BadSignature)
        }
    }
}

fn static_proof_message(x25519_public: &[u8; KEY_LEN]) -> Vec<u8> {
    [STATIC_PROOF_TAG, x25519_public].concat()
}

/// A fixed key pair numbered `n`, for tests across the crate (the same `n` is the same
/// peer everywhere).
#[cfg(test)]
pub(crate) fn test_pair(n: u8) -> KeyPair {
    KeyPair::from_secrets(&[n; KEY_LEN], &[n.wrapping_add(100); KEY_LEN])
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;

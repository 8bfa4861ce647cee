//! Signed discovery datagrams (protocol v2): a v1 beacon's fields with the sender's public
//! key, a freshness guard and an ed25519 signature over everything else. Pure: bytes and
//! keys in, a checked [`Envelope`] or the reason out; `freshness.rs` keeps the state that
//! drops stale and replayed ones.
//!
//! # Layout
//! Still one JSON object of at most [`MAX_DATAGRAM`] bytes, so v1 nodes count a v2
//! datagram as `version` and tcpdump still shows what it says; the signature comes first,
//! at a fixed place, so checking it needs no canonical JSON:
//! ```text
//! {"lanchat":2,"sig":"<86 base64url chars>","key":"<43>","ctr":7,"ts":1764750000000,"id":…,…}
//! └──────── P ───────┘└──────── S ─────────┘└──────────────────── R ──────────────────────┘
//! ```
//! The signature is ed25519 by `key` over `"lanchat datagram v2\0" ‖ P ‖ R`: every byte of
//! the datagram except the signature itself. `key` is the sender's identity (base64url);
//! `id` must be the peer id derived from it. `ctr` counts the sender's datagrams since it
//! started (per `instance`), `ts` is its clock (ms since the Unix epoch); together they
//! are the freshness guard. The other fields are v1's (`docs/PROTOCOL.md`).
//!
//! Checks run cheapest first, so junk costs no signature check: size, layout, JSON, key,
//! id (a hash of the key's bytes); then (in `Freshness`) stale and replayed; the key's
//! decompression and the signature check (~40 µs) last.

use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use serde::Deserialize;
use thiserror::Error;

use super::beacon::{Beacon, BeaconError, MAX_DATAGRAM, MAX_ID_LEN, clean_name};
use crate::trust::keys::{KEY_LEN, KeyPair, PeerKey, SIGNATURE_LEN, peer_id_of};

/// Protocol version of signed datagrams.
pub const SIGNED_VERSION: u32 = 2;

/// The bytes every v2 datagram starts with.
const PREFIX: &[u8] = br#"{"lanchat":2,"sig":""#;
/// Length of the signature in base64url.
const SIG_TEXT_LEN: usize = 86;
/// Where the signature's text ends (the closing quote).
const SIG_END: usize = PREFIX.len() + SIG_TEXT_LEN;
/// What the signature covers before the datagram's own bytes.
const SIGNED_TAG: &[u8] = b"lanchat datagram v2\0";
/// How a v2 beacon's own JSON starts (its fields follow the envelope's).
const BEACON_HEAD: &[u8] = br#"{"lanchat":2,"#;

/// Why a signed datagram was dropped. Counted per [`SignedError::label`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SignedError {
    /// Not a datagram of this version: oversized, not JSON, foreign, another version
    /// (v1 included) or malformed, with v1's labels.
    #[error(transparent)]
    Beacon(#[from] BeaconError),
    /// The signature does not verify under a key never heard from before: made up.
    #[error("signature does not verify (forged)")]
    Forged,
    /// The signature does not verify under a key that signed datagrams we accepted:
    /// someone changed one of its datagrams, or forges in its name.
    #[error("signature does not verify under a known key (tampered)")]
    Tampered,
    /// The `id` is not the one derived from `key`: someone claims an id not theirs.
    #[error("peer id {id} does not belong to the datagram's key")]
    IdMismatch {
        /// The id claimed.
        id: String,
    },
    /// Outside the time window, or older than what the key already said.
    #[error("stale datagram ({0})")]
    Stale(String),
    /// A counter already seen from this key and instance.
    #[error("replayed datagram (counter {0})")]
    Replayed(u64),
    /// The datagram would not fit [`MAX_DATAGRAM`] (sending side).
    #[error("signed datagram of {0} bytes exceeds the {MAX_DATAGRAM}-byte limit")]
    TooLarge(usize),
    /// Well-formed and fresh, but its source (or everyone together) has used up the
    /// signature checks it may cost per second: dropped unchecked.
    #[error("over the verification budget")]
    OverBudget,
}

impl SignedError {
    /// Short stable label for counters: v1's (`oversized`, `not_json`, `foreign`,
    /// `version`, `malformed`) and `forged`, `tampered`, `id_mismatch`, `stale`,
    /// `replayed`, `too_large`, `over_budget`.
    pub fn label(&self) -> &'static str {
        match self {
            SignedError::Beacon(e) => e.label(),
            SignedError::Forged => "forged",
            SignedError::Tampered => "tampered",
            SignedError::IdMismatch { .. } => "id_mismatch",
            SignedError::Stale(_) => "stale",
            SignedError::Replayed(_) => "replayed",
            SignedError::TooLarge(_) => "too_large",
            SignedError::OverBudget => "over_budget",
        }
    }
}

/// A signed datagram whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender's identity key.
    pub key: PeerKey,
    /// The sender's datagram counter (per instance).
    pub ctr: u64,
    /// The sender's clock, ms since the Unix epoch.
    pub ts: u64,
    /// What it says (v1's fields; `lanchat` is 2, `id` is `key`'s peer id).
    pub beacon: Beacon,
}

/// What a datagram claims before its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The sender's key as sent: 32 bytes, not yet checked to be a valid point.
    pub key: [u8; KEY_LEN],
    /// The sender's datagram counter (per instance).
    pub ctr: u64,
    /// The sender's clock, ms since the Unix epoch.
    pub ts: u64,
    /// What it says; `id` is already checked to be `key`'s.
    pub beacon: Beacon,
}

/// A datagram that passed every check but the key's validity and the signature.
#[derive(Debug, Clone)]
pub struct Unverified {
    claims: Claims,
    signature: [u8; SIGNATURE_LEN],
    signed: Vec<u8>,
}

impl Unverified {
    /// What it claims, not yet proven.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// Checks the key and the signature (the costly steps: point decompression and
    /// verification, ~40 µs). `known`: the key signed datagrams we accepted before, which
    /// makes a bad signature `Tampered` rather than `Forged`.
    pub fn verify(self, known: bool) -> Result<Envelope, SignedError> {
        let key = PeerKey::from_bytes(self.claims.key)
            .map_err(|e| BeaconError::Malformed(e.to_string()))?;
        if !key.verify(&self.signed, &self.signature) {
            return Err(if known {
                SignedError::Tampered
            } else {
                SignedError::Forged
            });
        }
        let Claims {
            ctr, ts, beacon, ..
        } = self.claims;
        Ok(Envelope {
            key,
            ctr,
            ts,
            beacon,
        })
    }
}

#[derive(Deserialize)]
struct Wire {
    key: String,
    ctr: u64,
    ts: u64,
    #[serde(flatten)]
    beacon: Beacon,
}

/// Signs `beacon` (whose `id` must be `keys`' peer id) as datagram number `ctr` of its
/// instance at `ts` (ms since the Unix epoch). Refuses what would exceed
/// [`MAX_DATAGRAM`], as v1 refuses an oversized shout.
pub fn sign(beacon: &Beacon, keys: &KeyPair, ctr: u64, ts: u64) -> Result<Vec<u8>, SignedError> {
    debug_assert_eq!(beacon.id, keys.peer_id(), "a beacon signed for another id");
    sign_unchecked(beacon, keys, ctr, ts)
}

/// [`sign`] without checking that `beacon.id` is `keys`' peer id: makes the datagram a
/// hostile peer would (its own key, someone else's id), which receivers refuse as
/// `id_mismatch`. For tests; a node never sends one.
#[doc(hidden)]
pub fn sign_unchecked(
    beacon: &Beacon,
    keys: &KeyPair,
    ctr: u64,
    ts: u64,
) -> Result<Vec<u8>, SignedError> {
    let body = serde_json::to_vec(&Beacon {
        lanchat: SIGNED_VERSION,
        ..beacon.clone()
    })
    .expect("a beacon always serialises");
    debug_assert!(body.starts_with(BEACON_HEAD), "lanchat is the first field");
    let envelope = format!(
        r#"","key":"{}","ctr":{ctr},"ts":{ts},"#,
        keys.public().to_base64()
    );
    let mut rest = envelope.into_bytes();
    rest.extend_from_slice(&body[BEACON_HEAD.len()..]);
    let size = SIG_END + rest.len();
    if size > MAX_DATAGRAM {
        return Err(SignedError::TooLarge(size));
    }
    let signature = keys.sign(&[SIGNED_TAG, PREFIX, &rest].concat());
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(BASE64URL_NOPAD.encode(&signature).as_bytes());
    out.extend_from_slice(&rest);
    Ok(out)
}

/// Bytes the signature, key, counter and clock add to `beacon`'s own JSON (at most: the
/// counter and the clock are taken at their longest), so a sender can tell how long a
/// shout may be before signing it.
pub fn overhead() -> usize {
    let envelope = format!(
        r#"","key":"{}","ctr":{},"ts":{},"#,
        "k".repeat(43),
        u64::MAX,
        u64::MAX
    );
    SIG_END + envelope.len() - BEACON_HEAD.len()
}

/// Signs one instance's datagrams, counting them: the sending side of the guard.
#[derive(Debug)]
pub struct DatagramSigner {
    keys: Arc<KeyPair>,
    next: u64,
}

impl DatagramSigner {
    /// A signer for a new instance (its counter starts at 0).
    pub fn new(keys: Arc<KeyPair>) -> DatagramSigner {
        DatagramSigner { keys, next: 0 }
    }

    /// Signs `beacon` as the next datagram, stamped `now` (ms since the Unix epoch). A
    /// refused datagram uses no counter.
    pub fn sign(&mut self, beacon: &Beacon, now: u64) -> Result<Vec<u8>, SignedError> {
        let bytes = sign(beacon, &self.keys, self.next, now)?;
        self.next += 1;
        Ok(bytes)
    }
}

/// Every check but the signature: size, version and layout, JSON shape, key, id. v1 and
/// other versions are told apart as v1 did (`version`).
pub fn parse(bytes: &[u8]) -> Result<Unverified, SignedError> {
    if bytes.len() > MAX_DATAGRAM {
        return Err(BeaconError::Oversized(bytes.len()).into());
    }
    if !bytes.starts_with(PREFIX) {
        return Err(not_v2(bytes).into());
    }
    let malformed = |why: &str| SignedError::from(BeaconError::Malformed(why.to_owned()));
    if bytes.get(SIG_END) != Some(&b'"') {
        return Err(malformed("the signature is not 86 characters"));
    }
    let signature: [u8; SIGNATURE_LEN] = BASE64URL_NOPAD
        .decode(&bytes[PREFIX.len()..SIG_END])
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| malformed("the signature is not base64url"))?;
    let wire: Wire = serde_json::from_slice(bytes).map_err(|e| {
        SignedError::from(match e.classify() {
            serde_json::error::Category::Data => BeaconError::Malformed(e.to_string()),
            _ => BeaconError::NotJson(e.to_string()),
        })
    })?;
    let key: [u8; KEY_LEN] = BASE64URL_NOPAD
        .decode(wire.key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| malformed("the key is not 32 bytes of base64url"))?;
    let mut beacon = wire.beacon;
    if beacon.instance.len() > MAX_ID_LEN {
        return Err(malformed("instance id too long"));
    }
    if beacon.id != peer_id_of(&key) {
        let mut id = beacon.id;
        id.truncate(id.floor_char_boundary(80));
        return Err(SignedError::IdMismatch { id });
    }
    beacon.name = clean_name(&beacon.name);
    beacon.host = clean_name(&beacon.host);
    let signed = [SIGNED_TAG, PREFIX, &bytes[SIG_END..]].concat();
    Ok(Unverified {
        claims: Claims {
            key,
            ctr: wire.ctr,
            ts: wire.ts,
            beacon,
        },
        signature,
        signed,
    })
}

/// Why bytes that do not start like a v2 datagram are not one, in v1's terms.
fn not_v2(bytes: &[u8]) -> BeaconError {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Err(e) => BeaconError::NotJson(e.to_string()),
        Ok(value) => match value.as_object().map(|o| o.get("lanchat")) {
            None => BeaconError::NotJson("not an object".into()),
            Some(None) => BeaconError::Foreign,
            Some(Some(v)) => match v.as_u64() {
                Some(n) if n == u64::from(SIGNED_VERSION) => {
                    BeaconError::Malformed("the signature is not the first field".into())
                }
                Some(n) => BeaconError::Version(n),
                None => BeaconError::Malformed(format!("bad version tag {v}")),
            },
        },
    }
}

#[cfg(test)]
#[path = "signed_tests.rs"]
pub(crate) mod tests;

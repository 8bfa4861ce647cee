//! Keys, ids, fingerprints and the static proof.

use super::*;
use crate::protocol::beacon::valid_id;

fn pair(n: u8) -> KeyPair {
    KeyPair::from_secrets(&[n; 32], &[n.wrapping_add(100); 32])
}

#[test]
fn peer_id_is_derived_from_the_key_and_valid_on_the_wire() {
    let a = pair(1);
    let id = a.peer_id();
    assert_eq!(id.len(), PEER_ID_LEN);
    assert!(valid_id(&id), "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    );
    assert_eq!(id, pair(1).peer_id(), "stable");
    assert_ne!(id, pair(2).peer_id());
}

#[test]
fn fingerprint_is_thirty_digits_in_six_groups() {
    let fp = pair(1).fingerprint();
    assert_eq!(fp.digits().len(), FINGERPRINT_DIGITS);
    assert!(fp.digits().bytes().all(|b| b.is_ascii_digit()));
    let shown = fp.to_string();
    assert_eq!(shown.split(' ').count(), 6, "{shown}");
    assert!(shown.split(' ').all(|g| g.len() == 5));
    assert_ne!(fp, pair(2).fingerprint());
}

#[test]
fn public_key_round_trips_through_base64() {
    let key = pair(3).public();
    let text = key.to_base64();
    assert_eq!(text.len(), 43);
    assert_eq!(PeerKey::from_base64(&text), Ok(key));
    assert_eq!(PeerKey::from_base64("AAAA"), Err(KeyError::Encoding));
    assert_eq!(
        PeerKey::from_base64(&"!".repeat(43)),
        Err(KeyError::Encoding)
    );
    // The identity point (small order) is refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(PeerKey::from_bytes(identity), Err(KeyError::Invalid));
}

#[test]
fn signatures_verify_only_for_their_message_and_key() {
    let a = pair(1);
    let sig = a.sign(b"hello");
    assert!(a.public().verify(b"hello", &sig));
    assert!(!a.public().verify(b"hellO", &sig));
    assert!(!pair(2).public().verify(b"hello", &sig));
}

#[test]
fn static_proof_binds_the_noise_key_to_the_identity() {
    let a = pair(1);
    let proof = a.static_proof().encode();
    assert_eq!(
        StaticProof::verify(&proof, a.x25519_public()),
        Ok(a.public())
    );
    // Someone else's static key under a's proof: refused.
    let b = pair(2);
    assert_eq!(
        StaticProof::verify(&proof, b.x25519_public()),
        Err(KeyError::BadSignature)
    );
    // a's static key with b's identity swapped in: refused.
    let mut forged = proof;
    forged[1..33].copy_from_slice(b.public().as_bytes());
    assert_eq!(
        StaticProof::verify(&forged, a.x25519_public()),
        Err(KeyError::BadSignature)
    );
    assert_eq!(
        StaticProof::verify(&proof[..96], a.x25519_public()),
        Err(KeyError::ProofMalformed)
    );
    let mut wrong_version = proof;
    wrong_version[0] = 2;
    assert_eq!(
        StaticProof::verify(&wrong_version, a.x25519_public()),
        Err(KeyError::ProofMalformed)
    );
}

#[test]
fn generated_pairs_differ_and_round_trip_through_their_secrets() {
    let a = KeyPair::generate().unwrap();
    let b = KeyPair::generate().unwrap();
    assert_ne!(a.public(), b.public());
    let again = KeyPair::from_secrets(&a.ed25519_seed(), a.x25519_secret());
    assert_eq!(again.public(), a.public());
    assert_eq!(again.x25519_public(), a.x25519_public());
    assert!(!format!("{a:?}").contains(&format!("{:?}", a.x25519_secret())));
}

//! The signed datagram codec: layout, what it signs, and what a hostile sender can try.

use serde_json::json;

use super::*;
use crate::protocol::beacon::BeaconKind;

pub(crate) fn keys(n: u8) -> KeyPair {
    KeyPair::from_secrets(&[n; 32], &[n; 32])
}

/// A typical beacon of `keys`: a Chinese name, a host name, uuid-sized instance.
pub(crate) fn beacon(keys: &KeyPair, kind: BeaconKind) -> Beacon {
    Beacon {
        lanchat: SIGNED_VERSION,
        id: keys.peer_id(),
        instance: "a91e6c0d2b8f4e7a9c3d5f1b7e2a4c6d".into(),
        name: "张三".into(),
        host: "lab-07".into(),
        port: 47475,
        status: "online".into(),
        interval_ms: 5000,
        unicast: None,
        kind,
    }
}

const TS: u64 = 1_764_750_000_000;

fn shout(text: &str) -> BeaconKind {
    BeaconKind::Shout {
        msg_id: "0b7e2a4c6d8f1a3c5e7b9d2f4a6c8e0b".into(),
        seq: 12,
        sent_at: TS,
        text: text.into(),
    }
}

#[test]
fn a_signed_beacon_round_trips_and_pins_its_wire_shape() {
    let k = keys(1);
    let b = beacon(&k, BeaconKind::Here);
    let bytes = sign(&b, &k, 7, TS).unwrap();
    assert!(bytes.starts_with(br#"{"lanchat":2,"sig":""#));
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let obj = value.as_object().unwrap();
    assert_eq!(obj["sig"].as_str().unwrap().len(), 86);
    assert_eq!(obj["key"], json!(k.public().to_base64()));
    assert_eq!(
        (obj["ctr"].clone(), obj["ts"].clone()),
        (json!(7), json!(TS))
    );
    assert_eq!(obj["kind"], json!("here"));
    assert_eq!(obj["id"], json!(k.peer_id()));
    let env = parse(&bytes).unwrap().verify(false).unwrap();
    assert_eq!((env.key, env.ctr, env.ts), (k.public(), 7, TS));
    assert_eq!(env.beacon, b);
}

#[test]
fn every_byte_but_the_signature_is_signed() {
    let k = keys(1);
    let bytes = sign(&beacon(&k, shout("lunch?")), &k, 1, TS).unwrap();
    for i in (0..bytes.len()).filter(|i| !(PREFIX.len()..SIG_END).contains(i)) {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        // Either the change breaks the shape, or the signature no longer verifies.
        if let Ok(u) = parse(&bad) {
            assert_eq!(u.verify(false), Err(SignedError::Forged), "byte {i}");
        }
    }
}

#[test]
fn a_changed_text_is_forged_or_tampered_by_who_is_known() {
    let k = keys(1);
    let bytes = sign(&beacon(&k, shout("lunch at 12")), &k, 1, TS).unwrap();
    let text = String::from_utf8(bytes).unwrap().replace("at 12", "at 13");
    let u = parse(text.as_bytes()).unwrap();
    assert_eq!(u.clone().verify(false), Err(SignedError::Forged));
    assert_eq!(u.verify(true).unwrap_err().label(), "tampered");
}

#[test]
fn an_id_that_is_not_the_keys_is_refused_before_the_signature() {
    let (mallory, bob) = (keys(3), keys(2));
    // Mallory signs a beacon with Bob's id: the key does not derive it.
    let mut b = beacon(&mallory, BeaconKind::Here);
    b.id = bob.peer_id();
    let body = serde_json::to_vec(&b).unwrap();
    let rest = [
        format!(
            r#"","key":"{}","ctr":1,"ts":{TS},"#,
            mallory.public().to_base64()
        )
        .as_bytes(),
        &body[BEACON_HEAD.len()..],
    ]
    .concat();
    let sig = mallory.sign(&[SIGNED_TAG, PREFIX, &rest].concat());
    let bytes = [PREFIX, BASE64URL_NOPAD.encode(&sig).as_bytes(), &rest].concat();
    let err = parse(&bytes).unwrap_err();
    assert_eq!(err.label(), "id_mismatch");
    assert!(err.to_string().contains(&bob.peer_id()), "{err}");
    // And Bob's key with Mallory's signature: forged.
    let b = beacon(&bob, BeaconKind::Here);
    let honest = sign(&b, &bob, 1, TS).unwrap();
    let mut swapped = honest.clone();
    swapped[PREFIX.len()..SIG_END].copy_from_slice(&bytes[PREFIX.len()..SIG_END]);
    assert_eq!(
        parse(&swapped).unwrap().verify(false),
        Err(SignedError::Forged)
    );
}

#[test]
fn v1_other_versions_and_junk_keep_v1s_labels() {
    let label = |b: &[u8]| parse(b).unwrap_err().label();
    let v1 = br#"{"lanchat":1,"kind":"here","id":"5f0c","instance":"a","name":"x","port":1}"#;
    assert_eq!(label(v1), "version");
    assert_eq!(label(br#"{"lanchat":3,"sig":""}"#), "version");
    assert_eq!(label(br#"{"other":1}"#), "foreign");
    assert_eq!(label(b"\xff\x00junk"), "not_json");
    assert_eq!(label(b"[1,2]"), "not_json");
    assert_eq!(label(&[b' '; MAX_DATAGRAM + 1]), "oversized");
    // v2 with the signature moved, cut, or not base64: malformed.
    assert_eq!(label(br#"{"lanchat":2,"key":"x","sig":""}"#), "malformed");
    assert_eq!(label(br#"{"lanchat":2,"sig":"abc"}"#), "malformed");
    let k = keys(1);
    let good = sign(&beacon(&k, BeaconKind::Here), &k, 1, TS).unwrap();
    let mut bad = good.clone();
    bad[PREFIX.len()] = b'!';
    assert_eq!(label(&bad), "malformed");
    assert_eq!(label(&good[..good.len() - 1]), "not_json");
    // Someone else's key under this id, a key that is not 32 bytes, no counter.
    let text = String::from_utf8(good.clone()).unwrap();
    let other_key = text.replace(&k.public().to_base64(), &"A".repeat(43));
    assert_eq!(label(other_key.as_bytes()), "id_mismatch");
    let short_key = text.replace(&k.public().to_base64(), "AAAA");
    assert_eq!(label(short_key.as_bytes()), "malformed");
    let no_ctr = text.replace(r#""ctr":1,"#, "");
    assert_eq!(label(no_ctr.as_bytes()), "malformed");
}

#[test]
fn a_key_that_is_not_a_valid_point_is_malformed_at_verification() {
    // 32 zero bytes decode to a point of small order: refused, whatever the signature.
    let k = keys(1);
    let mut b = beacon(&k, BeaconKind::Here);
    b.id = crate::trust::keys::peer_id_of(&[0; 32]);
    let body = serde_json::to_vec(&b).unwrap();
    let rest = [
        format!(r#"","key":"{}","ctr":1,"ts":{TS},"#, "A".repeat(43)).as_bytes(),
        &body[BEACON_HEAD.len()..],
    ]
    .concat();
    let bytes = [PREFIX, "A".repeat(86).as_bytes(), &rest].concat();
    let unverified = parse(&bytes).expect("the cheap checks pass");
    assert_eq!(unverified.verify(false).unwrap_err().label(), "malformed");
}

#[test]
fn names_are_cleaned_after_the_signature_is_taken() {
    let k = keys(1);
    let mut b = beacon(&k, BeaconKind::Here);
    b.name = "a\u{7}b".into();
    let env = parse(&sign(&b, &k, 1, TS).unwrap())
        .unwrap()
        .verify(false)
        .unwrap();
    assert_eq!(env.beacon.name, "ab");
}

/// The longest shout text of `ch` that fits, for a typical sender.
fn longest_shout(ch: char) -> usize {
    let k = keys(1);
    let mut n = 0;
    while sign(
        &beacon(&k, shout(&ch.to_string().repeat(n + 1))),
        &k,
        u64::MAX,
        TS,
    )
    .is_ok()
    {
        n += 1;
    }
    n
}

#[test]
fn a_signed_shout_still_carries_a_useful_text() {
    let ascii = longest_shout('a');
    let chinese = longest_shout('好');
    println!("longest signed shout: {ascii} ASCII characters, {chinese} Chinese");
    assert!(ascii >= 900, "{ascii}");
    assert!(chinese >= 300, "{chinese}");
    let k = keys(1);
    let too_long = sign(&beacon(&k, shout(&"a".repeat(ascii + 1))), &k, u64::MAX, TS);
    assert!(matches!(too_long, Err(SignedError::TooLarge(n)) if n == MAX_DATAGRAM + 1));
}

#[test]
fn a_signer_counts_its_datagrams() {
    let k = std::sync::Arc::new(keys(1));
    let mut signer = DatagramSigner::new(k.clone());
    let b = beacon(&k, BeaconKind::Here);
    let ctrs: Vec<u64> = (0..3)
        .map(|_| parse(&signer.sign(&b, TS).unwrap()).unwrap().claims().ctr)
        .collect();
    assert_eq!(ctrs, [0, 1, 2]);
    assert!(
        signer
            .sign(&beacon(&k, shout(&"a".repeat(2000))), TS)
            .is_err()
    );
    let next = signer.sign(&b, TS).unwrap();
    assert_eq!(
        parse(&next).unwrap().claims().ctr,
        3,
        "a refused one used none"
    );
}

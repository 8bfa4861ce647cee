//! Any datagram: the v2 parser and the freshness guard never panic; what they accept
//! has an id derived from its key, a clean name and host, and fits a datagram.
#![no_main]

use lanchat::protocol::beacon::{MAX_NAME_LEN, valid_id};
use lanchat::protocol::freshness::Freshness;
use lanchat::protocol::{MAX_DATAGRAM, signed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(unverified) = signed::parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_DATAGRAM);
    let claims = unverified.claims().clone();
    assert!(valid_id(&claims.beacon.id));
    assert_eq!(claims.beacon.id, lanchat::trust::keys::peer_id_of(&claims.key));
    for s in [&claims.beacon.name, &claims.beacon.host] {
        assert!(s.len() <= MAX_NAME_LEN);
        assert!(!s.chars().any(char::is_control));
    }
    let _ = unverified.verify(false);
    let mut fresh = Freshness::default();
    for now in [0, claims.ts, u64::MAX] {
        let _ = fresh.check(data, now);
    }
});

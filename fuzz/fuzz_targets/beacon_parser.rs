//! Any datagram: `Beacon::parse` never panics; what it accepts is clean (valid id, name
//! and host within limits, no control characters) and survives encode → parse unchanged.
#![no_main]

use lanchat::protocol::beacon::{MAX_NAME_LEN, valid_id};
use lanchat::protocol::{Beacon, MAX_DATAGRAM};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(beacon) = Beacon::parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_DATAGRAM);
    assert!(valid_id(&beacon.id));
    for s in [&beacon.name, &beacon.host] {
        assert!(s.len() <= MAX_NAME_LEN);
        assert!(!s.chars().any(char::is_control));
    }
    // Cleaning may have shortened it; a cleaned beacon is stable.
    let again = Beacon::parse(&beacon.encode());
    if beacon.encode().len() <= MAX_DATAGRAM {
        assert_eq!(again.as_ref(), Ok(&beacon));
    }
});

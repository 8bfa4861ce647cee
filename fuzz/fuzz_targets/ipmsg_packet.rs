//! Any datagram on port 2425: `Packet::parse` never panics; what it accepts is within the
//! limits, and what lanchat would write for it reads back to the same meaning (unless
//! GB18030 text came out as valid UTF-8, which any IPMsg reader takes for UTF-8: the
//! protocol has no charset field).
#![no_main]

use lanchat::protocol::ipmsg::{Charset, MAX_NAME_FIELD, MAX_PACKET, Packet, Payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_PACKET);
    for s in [&packet.version, &packet.user, &packet.host] {
        assert!(s.len() <= MAX_NAME_FIELD, "a field past its limit");
    }
    if let Payload::Entry(e) = &packet.payload {
        assert!(e.nick.len() <= MAX_NAME_FIELD && e.group.len() <= MAX_NAME_FIELD);
    }
    if let Ok(bytes) = packet.encode() {
        let again = Packet::parse(&bytes).expect("lanchat's own encoding parses");
        if again.charset != packet.charset && packet.charset == Some(Charset::Gb18030) {
            return;
        }
        assert_eq!(again.payload, packet.payload);
        assert_eq!(again.command, packet.command);
        assert_eq!(again.packet_no, packet.packet_no);
    }
});

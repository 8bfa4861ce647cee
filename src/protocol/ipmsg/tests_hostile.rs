//! The hostile person on the LAN: every malformed, oversized, truncated or wrongly
//! encoded packet is refused with a reason, never a panic; nothing is read past the
//! limits.

use super::*;

fn refused(wire: &[u8]) -> &'static str {
    match Packet::parse(wire) {
        Ok(p) => panic!("accepted {wire:?} as {p:?}"),
        Err(e) => e.label(),
    }
}

#[test]
fn not_a_header() {
    assert_eq!(refused(b""), "no_header");
    assert_eq!(refused(b"hello world"), "no_header");
    assert_eq!(refused(b"1:2:3:4"), "no_header");
    // The fifth ':' comes after the first NUL: the header is cut short.
    assert_eq!(refused(b"1:2:u:h\0:32:hi"), "no_header");
    assert_eq!(refused(&[0u8; 100]), "no_header");
}

#[test]
fn versions_other_than_1() {
    assert_eq!(refused(b"2:1:u:h:32:hi\0"), "version");
    assert_eq!(refused(b":1:u:h:32:hi\0"), "version");
    assert_eq!(refused(b"{\"lanchat\":1}:1:u:h:32:x"), "version");
    // A lanchat beacon (JSON) on the wrong port is not IPMsg either.
    assert_eq!(refused(br#"{"lanchat":1,"kind":"hello"}"#), "no_header");
}

#[test]
fn numbers() {
    for bad in [
        &b"1::u:h:32:x\0"[..],
        b"1:4294967296:u:h:32:x\0",
        b"1:99999999999999999999999999:u:h:32:x\0",
        b"1:-1:u:h:32:x\0",
        b"1:+1:u:h:32:x\0",
        b"1: 1:u:h:32:x\0",
        b"1:0x10:u:h:32:x\0",
        b"1:1:u:h::x\0",
        b"1:1:u:h:4294967296:x\0",
        b"1:1:u:h:twenty:x\0",
        b"1:1:u:h:33:\0",
        b"1:1:u:h:33:12ab\0",
        b"1:1:u:h:33:99999999999\0",
        b"1:1:u:h:97:-5\0",
    ] {
        assert_eq!(refused(bad), "bad_number", "{bad:?}");
    }
    // The largest values are fine.
    let p = Packet::parse(b"1:4294967295:u:h:4294967295:x\0").unwrap();
    assert_eq!((p.packet_no, p.command.0), (u32::MAX, u32::MAX));
}

#[test]
fn bad_hex_in_file_requests_and_lists() {
    assert_eq!(refused(b"1:1:u:h:96:zz:0:0\0"), "bad_file_request");
    assert_eq!(refused(b"1:1:u:h:96:1:2\0"), "bad_file_request");
    assert_eq!(refused(b"1:1:u:h:96:1:2:g\0"), "bad_file_request");
    assert_eq!(refused(b"1:1:u:h:96:1:2:\xff\0"), "bad_file_request");
    assert_eq!(
        refused(b"1:1:u:h:2097184:\x001:a:zz:0:1:\x07\0"),
        "bad_file_list"
    );
    assert_eq!(refused(b"1:1:u:h:2097184:\x00garbage\0"), "bad_file_list");
}

#[test]
fn sizes() {
    let mut big = b"1:1:u:h:32:".to_vec();
    big.resize(MAX_PACKET + 1, b'a');
    assert_eq!(refused(&big), "oversized");
    big.truncate(MAX_PACKET);
    let p = Packet::parse(&big).expect("exactly 8192 bytes is fine");
    assert!(matches!(p.payload, Payload::Message { ref text, .. } if text.len() == 8181));
    // Building one that large is refused too.
    let text = "字".repeat(3000);
    let msg = Packet {
        version: "1".into(),
        packet_no: 1,
        user: "u".into(),
        host: "h".into(),
        command: Command::new(Mode::SendMsg, &[Opt::SendCheck]),
        payload: Payload::Message {
            text,
            files: vec![],
        },
        charset: None,
    };
    assert_eq!(msg.encode().unwrap_err().label(), "oversized");
}

#[test]
fn over_long_fields() {
    let long = "x".repeat(MAX_NAME_FIELD + 1);
    for wire in [
        format!("1:1:{long}:h:32:hi\0"),
        format!("1:1:u:{long}:32:hi\0"),
        format!("1{long}:1:u:h:32:hi\0"),
        format!("1:1:u:h:1:{long}\0g\0"),
        format!("1:1:u:h:1:n\0{long}\0"),
        format!("1:1:u:h:1:n\0g\0{long}\0utf-8\0"),
    ] {
        assert_eq!(refused(wire.as_bytes()), "too_long", "{wire}");
    }
}

#[test]
fn nul_soup() {
    // NULs everywhere after a good header: the body is empty, the extras are ignored or
    // refused, never a crash.
    let mut soup = b"1:1:u:h:1:nick".to_vec();
    for i in 0..2000 {
        soup.push(0);
        soup.push(b'a' + (i % 26) as u8);
    }
    let p = Packet::parse(&soup).unwrap();
    let Payload::Entry(e) = p.payload else {
        panic!("entry")
    };
    assert_eq!((e.nick.as_str(), e.group.as_str()), ("nick", "a"));
    let mut nuls = b"1:1:u:h:32:".to_vec();
    nuls.resize(MAX_PACKET, 0);
    assert!(matches!(
        Packet::parse(&nuls).unwrap().payload,
        Payload::Message { ref text, ref files } if text.is_empty() && files.is_empty()
    ));
}

#[test]
fn text_that_is_no_encoding() {
    // 0xFF is neither UTF-8 nor GB18030.
    assert_eq!(refused(b"1:1:u:h:32:\xff\xff\0"), "encoding");
    assert_eq!(refused(b"1:1:\xff:h:32:hi\0"), "encoding");
    assert_eq!(refused(b"1:1:u:h:1:n\0\xff\0"), "encoding");
    // UTF8OPT with GBK bytes.
    assert_eq!(refused(b"1:1:u:h:8388896:\xc4\xe3\xba\xc3\0"), "encoding");
    // The error names the field.
    let err = Packet::parse(b"1:1:u:h:32:\x81\0").unwrap_err();
    assert_eq!(err.to_string(), "message is not valid gb18030");
}

#[test]
fn encrypted_messages_are_refused() {
    assert_eq!(refused(b"1:1:u:h:4194592:deadbeef:cafe\0"), "encrypted");
}

#[test]
fn every_cut_of_every_wire_packet_is_handled() {
    let samples: [&[u8]; 4] = [
        "1_iptux 0.8.3:1:root:iptux-host:257:iptux测试\0组A\0icon-tux.png\0utf-8\0".as_bytes(),
        b"1_iptux 0.8.3:9:root:iptux-host:2097184:\x0010000:blob.bin:30d40:6b0659a7:1:\x07\0",
        b"1_iptux 0.8.3:11:root:iptux-host:96:6b0659ad:0:0\0",
        b"1:100:li:PC-LI:16777473:\xc0\xee\0\xb6\xfe\0\nUN:li\nNN:\xe6\x9d\x8e",
    ];
    for wire in samples {
        for cut in 0..=wire.len() {
            let _ = Packet::parse(&wire[..cut]);
            let _ = Packet::parse(&wire[cut..]);
        }
    }
}

#[test]
fn random_bytes_and_mutations_never_panic() {
    // A fixed xorshift stream: the same inputs every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let base = b"1_iptux 0.8.3:9:root:iptux-host:2097184:hi\x0010000:b:30d40:6b0659a7:1:\x07\0";
    let alphabet = b"0123456789abcdef:\0\x07\xff\x81\xe4 ";
    for _ in 0..20_000 {
        let mut wire = base.to_vec();
        for _ in 0..(next() % 6) {
            let at = (next() as usize) % wire.len();
            wire[at] = alphabet[(next() as usize) % alphabet.len()];
        }
        if let Ok(p) = Packet::parse(&wire) {
            // Whatever was accepted can be written and read again to the same meaning
            // (unless GB18030 text came out as valid UTF-8: see below).
            if let Ok(bytes) = p.encode() {
                let again = Packet::parse(&bytes).expect("our own encoding parses");
                if again.charset == p.charset || p.charset != Some(Charset::Gb18030) {
                    assert_eq!(again.payload, p.payload, "{wire:?}");
                }
            }
        }
        let len = (next() % 64) as usize;
        let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = Packet::parse(&noise);
    }
}

#[test]
fn empty_padding_fields_are_not_iptux_fields() {
    // Found by the fuzzer: `nick\0group\0\0\0\0x\0` once read as an iptux entry with an
    // empty icon, which does not survive being written and read again.
    let p = Packet::parse(b"1:1:u:h:1:n\0g\0\0\0\0x\0").unwrap();
    let Payload::Entry(e) = &p.payload else {
        panic!("entry")
    };
    assert_eq!(e.iptux, None);
    let again = Packet::parse(&p.encode().unwrap()).unwrap();
    assert_eq!(again.payload, p.payload);
}

#[test]
fn gb18030_text_that_is_also_utf8_reads_as_utf8() {
    // Found by the fuzzer: the packet was GB18030 only because of attachment-list bytes
    // that do not survive parsing; written back, all of it is valid UTF-8, and any IPMsg
    // reader (iptux included) then takes it for UTF-8. The protocol cannot tell; the
    // core keeps what it knows of a peer's encoding.
    let wire = b"1:5:u:h:2097440:\xe7\x9c\xb8P\x000:b.txt:a:0:1:\xe7\x9b:\x07\0";
    let p = Packet::parse(wire).unwrap();
    assert_eq!(p.charset, Some(Charset::Gb18030));
    let again = Packet::parse(&p.encode().unwrap()).unwrap();
    assert_eq!(again.charset, Some(Charset::Utf8));
}

#[test]
fn limits_hold_on_the_text_as_read_and_as_written() {
    // Found by the fuzzer: GBK byte 0x80 reads as € (three UTF-8 bytes, two GB18030
    // ones when written back), so a limit on raw bytes accepted a host name that lanchat
    // could not write back within it. The limits now hold on the decoded text, both ways.
    let mut wire = b"1:1:u:".to_vec();
    wire.extend_from_slice(&[0x80; 100]);
    wire.extend_from_slice(b":32:hi\0");
    assert_eq!(refused(&wire), "too_long");
    let p = Packet {
        version: "1".into(),
        packet_no: 1,
        user: "u".into(),
        host: "€".repeat(100),
        command: Command::new(Mode::SendMsg, &[]),
        payload: Payload::Exit,
        charset: Some(Charset::Gb18030),
    };
    assert_eq!(p.encode().unwrap_err().label(), "too_long");
}

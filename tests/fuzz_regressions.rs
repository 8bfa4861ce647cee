//! Every input in `fuzz/seeds/TARGET/` through the same codec the fuzz target drives,
//! under plain `cargo test`. Seeds start the fuzzer off; an input the fuzzer finds
//! failing is added there once fixed, so it stays fixed without libFuzzer or nightly.

use std::path::Path;

use lanchat::protocol::ipmsg::{Charset, Packet};
use lanchat::protocol::{Beacon, FrameDecoder, LinkMsg};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let bytes = std::fs::read(&path).expect("read seed");
            (path.display().to_string(), bytes)
        })
        .collect();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out.sort();
    out
}

#[test]
fn frame_decoder_seeds() {
    for (name, data) in inputs("frame_decoder") {
        let Some((&step, wire)) = data.split_first() else {
            continue;
        };
        let mut dec = FrameDecoder::new();
        'feed: for chunk in wire.chunks(usize::from(step) + 1) {
            dec.push(chunk);
            loop {
                match dec.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
        let _ = dec.finish();
        println!("{name}: ok");
    }
}

#[test]
fn beacon_parser_seeds() {
    for (name, data) in inputs("beacon_parser") {
        if let Ok(b) = Beacon::parse(&data) {
            // Parsing a parsed beacon changes nothing (escapes may make it longer than
            // a datagram, which is then refused as such).
            if b.encode().len() <= lanchat::protocol::MAX_DATAGRAM {
                assert_eq!(Beacon::parse(&b.encode()).as_ref(), Ok(&b), "{name}");
            }
        }
    }
}

#[test]
fn message_parser_seeds() {
    for (name, data) in inputs("message_parser") {
        if let Ok(m) = LinkMsg::decode(&data) {
            let frame = m.to_frame().expect("fits a frame");
            assert_eq!(LinkMsg::decode(&frame[4..]).ok(), Some(m), "{name}");
        }
    }
}

#[test]
fn ipmsg_packet_seeds() {
    for (name, data) in inputs("ipmsg_packet") {
        if let Ok(p) = Packet::parse(&data) {
            // What lanchat writes for an accepted packet reads back to the same meaning,
            // unless GB18030 text came out as valid UTF-8 (no charset field in IPMsg).
            if let Ok(bytes) = p.encode() {
                let again = Packet::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
                if again.charset == p.charset || p.charset != Some(Charset::Gb18030) {
                    assert_eq!(again.payload, p.payload, "{name}");
                }
            }
        }
    }
}

#[test]
fn web_request_seeds() {
    for (name, data) in inputs("web_request") {
        lanchat::web::fuzzing::request_parts(&data);
        println!("{name}: ok");
    }
}

//! Every input in `fuzz/seeds/TARGET/` through the same codec the fuzz target drives,
//! under plain `cargo test`. Seeds start the fuzzer off; an input the fuzzer finds
//! failing is added there once fixed, so it stays fixed without libFuzzer or nightly.

use std::path::Path;

use lanchat::protocol::folder::{FolderSummary, Manifest};
use lanchat::protocol::freshness::Freshness;
use lanchat::protocol::ipmsg::{Charset, Packet};
use lanchat::protocol::{Beacon, FrameDecoder, LinkMsg, signed};
use lanchat::trust::KeyPair;
use lanchat::trust::file_stream::{CHUNK, SealedReader};
use lanchat::trust::noise::{Initiator, Responder};
use lanchat::trust::transport;

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

#[test]
fn signed_datagram_seeds() {
    let mut accepted = 0;
    for (name, data) in inputs("signed_datagram") {
        let Ok(unverified) = signed::parse(&data) else {
            continue;
        };
        let claims = unverified.claims().clone();
        assert_eq!(
            claims.beacon.id,
            lanchat::trust::keys::peer_id_of(&claims.key),
            "{name}"
        );
        // The seeds are real datagrams: they verify, once.
        let mut fresh = Freshness::default();
        assert!(fresh.check(&data, claims.ts).is_ok(), "{name}");
        assert!(fresh.check(&data, claims.ts).is_err(), "{name} twice");
        accepted += 1;
    }
    assert!(accepted >= 2, "the valid seeds parse");
}

#[test]
fn noise_handshake_seeds() {
    // The seeds come from a real handshake with other ephemeral keys: a made-up (or
    // replayed) msg2 or msg3 is never accepted.
    let alice = KeyPair::from_secrets(&[1; 32], &[2; 32]);
    let bob = KeyPair::from_secrets(&[3; 32], &[4; 32]);
    for (name, data) in inputs("noise_handshake") {
        let Some((&place, msg)) = data.split_first() else {
            continue;
        };
        match place % 3 {
            0 => {
                let _ = Responder::start(&bob, msg);
            }
            1 => {
                let (initiator, _) = Initiator::start(&alice, None).expect("msg1");
                assert!(initiator.finish(msg).is_err(), "{name}");
            }
            _ => {
                let (_, msg1) = Initiator::start(&alice, None).expect("msg1");
                let (responder, _) = Responder::start(&bob, &msg1).expect("msg2");
                assert!(responder.finish(msg).is_err(), "{name}");
            }
        }
    }
}

#[test]
fn sealed_frames_seeds() {
    const SIZE: u64 = 3000;
    let mut whole = 0;
    for (name, data) in inputs("sealed_frames") {
        let (_, open) = transport::pair(&[2; 32], &[1; 32]);
        let mut r = SealedReader::new(&data[..], open);
        if r.read_frame().is_err() {
            continue;
        }
        let mut at = 0u64;
        while at < SIZE {
            let left = usize::try_from(SIZE - at).unwrap();
            match r.read_chunk("t", at, left) {
                Ok(chunk) => {
                    assert!(
                        !chunk.is_empty() && chunk.len() <= CHUNK.min(left),
                        "{name}"
                    );
                    at += chunk.len() as u64;
                }
                Err(_) => break,
            }
        }
        if at == SIZE && r.read_frame().is_ok() {
            whole += 1;
        }
    }
    assert_eq!(whole, 1, "the one valid stream opens whole");
}

#[test]
fn folder_manifest_seeds() {
    for (name, data) in inputs("folder_manifest") {
        let Some((head, frames)) = data.split_at_checked(24) else {
            continue;
        };
        let word = |i: usize| u64::from_le_bytes(head[i * 8..i * 8 + 8].try_into().unwrap());
        let summary = FolderSummary {
            files: word(0),
            folders: word(1),
        };
        let mut manifest = Manifest::default();
        let mut ended = false;
        for frame in frames.split(|&b| b == b'\n') {
            match manifest.push_part(frame, summary.entries()) {
                Ok(last) => ended = last,
                Err(_) => break,
            }
            if ended {
                break;
            }
        }
        if !ended {
            continue;
        }
        if let Ok(safe) = manifest.check(summary, word(2)) {
            for e in &safe {
                assert!(
                    e.parts
                        .iter()
                        .all(|p| p != ".." && !p.contains(['/', '\\'])),
                    "{name}: {}",
                    e.shown()
                );
            }
            let total: u64 = safe.iter().filter_map(|e| e.size).sum();
            assert_eq!(total, word(2), "{name}");
        }
        println!("{name}: ok");
    }
}

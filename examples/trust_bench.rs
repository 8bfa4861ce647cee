//! Benchmark (not a test): what trust costs on one core — signing and checking a beacon,
//! the Noise handshake (in memory and over loopback TCP), and sealing frames. Everything
//! stays in this process and on 127.0.0.1.
//!
//! ```sh
//! cargo run --release --no-default-features --example trust_bench
//! ```

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use lanchat::protocol::beacon::{Beacon, BeaconKind};
use lanchat::protocol::freshness::Freshness;
use lanchat::protocol::signed::{self, SIGNED_VERSION};
use lanchat::trust::frame_io::TcpFrames;
use lanchat::trust::noise::{self, Initiator, Responder};
use lanchat::trust::{KeyPair, Open, Seal};
use ring::aead::{AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

fn main() {
    let alice = KeyPair::generate().expect("random");
    let bob = KeyPair::generate().expect("random");
    datagrams(&alice);
    handshakes(&alice, &bob);
    sealing(&alice, &bob);
}

/// Microseconds per call of `f`, best of three runs of `n`.
fn micros(n: u32, mut f: impl FnMut(u32)) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            for i in 0..n {
                f(i);
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn datagrams(keys: &KeyPair) {
    let beacon = Beacon {
        lanchat: SIGNED_VERSION,
        id: keys.peer_id(),
        instance: "a91e6c0d2b8f4e7a9c3d5f1b7e2a4c6d".into(),
        name: "张三".into(),
        host: "lab-07".into(),
        port: 47475,
        status: "online".into(),
        interval_ms: 5000,
        unicast: None,
        kind: BeaconKind::Here,
    };
    let now = 1_764_750_000_000u64;
    let v1 = serde_json::to_vec(&Beacon {
        lanchat: 1,
        ..beacon.clone()
    })
    .expect("serialises");
    let sign = micros(5000, |i| {
        std::hint::black_box(signed::sign(&beacon, keys, u64::from(i), now).expect("fits"));
    });
    let bytes: Vec<Vec<u8>> = (0..5000u64)
        .map(|i| signed::sign(&beacon, keys, i, now).expect("fits"))
        .collect();
    let v1_parse = micros(5000, |_| {
        std::hint::black_box(Beacon::parse(&v1).ok());
    });
    // Each run checks 5000 new counters with a fresh guard, then replays them all.
    let mut check = f64::INFINITY;
    let mut replay = f64::INFINITY;
    for _ in 0..3 {
        let mut fresh = Freshness::default();
        let t = Instant::now();
        for b in &bytes {
            fresh.check(b, now).expect("fresh");
        }
        check = check.min(t.elapsed().as_secs_f64() * 1e6 / 5000.0);
        let t = Instant::now();
        for b in &bytes {
            assert!(fresh.check(b, now).is_err());
        }
        replay = replay.min(t.elapsed().as_secs_f64() * 1e6 / 5000.0);
    }
    // A well-formed datagram whose signature does not match: the full check's cost.
    let forged = String::from_utf8(bytes[0].clone())
        .expect("JSON")
        .replace("lab-07", "lab-08")
        .into_bytes();
    let mut fresh = Freshness::default();
    let reject = micros(5000, |_| {
        assert!(fresh.check(&forged, now).is_err());
    });
    println!(
        "beacon: v1 {} B, v2 {} B; v1 parse {v1_parse:.1} µs; v2 sign {sign:.1} µs, \
         check (parse + verify + guard) {check:.1} µs, forged {reject:.1} µs, replayed {replay:.1} µs",
        v1.len(),
        bytes[0].len()
    );
    println!(
        "  → one core verifies {:.0} fresh datagrams/s; replays cost {:.0}× less",
        1e6 / check,
        check / replay
    );
    for ch in ['a', '好'] {
        let shout = |n: usize| {
            let kind = BeaconKind::Shout {
                msg_id: "0b7e2a4c6d8f1a3c5e7b9d2f4a6c8e0b".into(),
                seq: 12,
                sent_at: now,
                text: ch.to_string().repeat(n),
            };
            Beacon {
                kind,
                ..beacon.clone()
            }
        };
        let v1_max = (0..1400)
            .take_while(|&n| {
                let b = Beacon {
                    lanchat: 1,
                    ..shout(n)
                };
                b.encode_checked().is_ok()
            })
            .last()
            .unwrap_or(0);
        let v2_max = (0..1400)
            .take_while(|&n| signed::sign(&shout(n), keys, u64::MAX, now).is_ok())
            .last()
            .unwrap_or(0);
        println!("longest shout of {ch:?}: v1 {v1_max} characters, v2 {v2_max}");
    }
}

fn handshakes(alice: &KeyPair, bob: &KeyPair) {
    let memory = micros(300, |_| {
        let (i, m1) = Initiator::start(alice, Some(&bob.peer_id())).expect("msg1");
        let (r, m2) = Responder::start(bob, &m1).expect("msg2");
        let (m3, _) = i.finish(&m2).expect("msg3");
        r.finish(&m3).expect("done");
    });
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let bob_id = bob.peer_id();
    let deadline = || Instant::now() + Duration::from_secs(10);
    let mut samples: Vec<f64> = Vec::new();
    std::thread::scope(|s| {
        let responder = std::thread::Builder::new()
            .name("bench-responder".into())
            .spawn_scoped(s, || {
                for _ in 0..200 {
                    let (conn, _) = listener.accept().expect("accept");
                    let mut io = TcpFrames::new(conn);
                    noise::respond(&mut io, bob, deadline()).expect("respond");
                }
            })
            .expect("thread");
        for _ in 0..200 {
            let t = Instant::now();
            let conn = TcpStream::connect(addr).expect("connect");
            conn.set_nodelay(true).expect("nodelay");
            let mut io = TcpFrames::new(conn);
            noise::initiate(&mut io, alice, Some(&bob_id), deadline()).expect("initiate");
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
        responder.join().expect("responder");
    });
    samples.sort_by(f64::total_cmp);
    println!(
        "handshake: both sides in memory {memory:.0} µs of CPU; over loopback TCP, connect \
         included: p50 {:.0} µs, p99 {:.0} µs",
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100]
    );
}

fn sealing(alice: &KeyPair, bob: &KeyPair) {
    let (i, m1) = Initiator::start(alice, None).expect("msg1");
    let (r, m2) = Responder::start(bob, &m1).expect("msg2");
    let (m3, mut a) = i.finish(&m2).expect("msg3");
    let mut b = r.finish(&m3).expect("done");
    let chat = vec![b'x'; 200];
    let small = micros(100_000, |_| {
        let sealed = a.seal.seal(&chat).expect("seal");
        std::hint::black_box(b.open.open(&sealed).expect("open"));
    });
    println!("a 200-byte frame sealed and opened: {small:.2} µs");
    let mut buf = vec![7u8; 256 << 10];
    let total = 1usize << 30;
    for (name, alg) in [
        ("AES-256-GCM", &AES_256_GCM),
        ("ChaCha20-Poly1305", &CHACHA20_POLY1305),
    ] {
        let key = LessSafeKey::new(UnboundKey::new(alg, &[1u8; 32]).expect("key"));
        let t = Instant::now();
        for n in 0..(total / buf.len()) as u64 {
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&n.to_be_bytes());
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(b"ad"),
                    &mut buf,
                )
                .expect("seal");
            let _ = std::hint::black_box(tag);
        }
        let gbps = total as f64 / t.elapsed().as_secs_f64() / 1e9;
        println!("ring {name}, 256 KiB chunks, one core: {gbps:.2} GB/s");
    }
}

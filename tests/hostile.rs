//! Hostile input on the discovery port and the link port, one named test per input, each
//! asserting what must happen: the datagram dropped and counted by reason, or the
//! connection closed by the node; and in every case the node still serving a real peer
//! afterwards (a validly signed beacon still joins, a well-behaved link still chats).
//!
//! Protocol v2: datagrams are signed and links begin with a Noise handshake, so the
//! hostile person here also forges signatures, replays, tampers, claims ids that are not
//! theirs' keys', speaks v1, and says things inside a sealed link that a real node
//! never would. Everything stays on loopback: datagrams go to 127.255.255.255 on a port
//! picked per test, connections to the node's 127.0.0.1 link port.

mod common;
mod wire;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::DEADLINE;
use lanchat::net::link::{GREETING_TIMEOUT, MAX_GREETING, MAX_GREETING_PER_ADDR};
use lanchat::node::{Command, Event, PER_SOURCE_BURST, PER_SOURCE_RATE};
use lanchat::protocol::{BeaconKind, LinkMsg};
use serde_json::json;
use wire::*;

fn node(tag: &str) -> Subject {
    Subject::start(tag)
}

/// The name of the peer `id` when it joins.
fn joined_name(n: &mut Subject, id: &str) -> String {
    match n.node.wait(
        "the peer to join",
        |e| matches!(e, Event::PeerJoined { peer } if peer.id == id),
    ) {
        Event::PeerJoined { peer } => peer.name,
        _ => unreachable!(),
    }
}

/// A made-up peer's valid, signed beacon still makes it join: discovery is still served.
fn assert_discovery_serves(n: &mut Subject) {
    let keys = new_keys();
    n.datagram(&here_beacon(&keys, "honest", 4000, 0));
    n.node.wait_joined(&keys.peer_id());
}

/// A well-behaved raw peer can still open a link and chat.
fn assert_links_serve(n: &mut Subject) {
    let mut peer = RawPeer::connect(n.addr(), "honest");
    peer.chat("still there?");
    let from_peer = peer.id.clone();
    n.node.wait("the honest chat", |e| {
        matches!(e, Event::Message { from, text, .. } if *from == from_peer && text == "still there?")
    });
}

/// Sends datagrams, expects the last dropped for `reason`, then checks the node still
/// works and that no refused datagram counted as a beacon (`accepted`: those before it
/// that were fine).
fn datagrams_are_dropped(tag: &str, payloads: &[Vec<u8>], accepted: u64, reason: &str) -> Subject {
    let mut n = node(tag);
    for p in payloads {
        n.datagram(p);
    }
    n.status_until(&format!("a datagram dropped as {reason}"), |s| {
        s.counters.dropped.get(reason).copied().unwrap_or(0) >= 1
    });
    assert_eq!(
        n.status().counters.beacons_received,
        accepted,
        "a refused datagram must not count as a beacon"
    );
    assert_discovery_serves(&mut n);
    n
}

/// Sends one datagram, expects it dropped for `reason`, then checks the node still works.
fn datagram_is_dropped(tag: &str, payload: &[u8], reason: &str) {
    datagrams_are_dropped(tag, &[payload.to_vec()], 0, reason);
}

// ---- the discovery port -------------------------------------------------------------

#[test]
fn udp_empty_datagram() {
    datagram_is_dropped("udp-empty", b"", "not_json");
}

#[test]
fn udp_binary_garbage() {
    let garbage: Vec<u8> = (0..1000u32).map(|i| (i * 7919 % 251) as u8).collect();
    datagram_is_dropped("udp-garbage", &garbage, "not_json");
}

#[test]
fn udp_non_utf8() {
    datagram_is_dropped(
        "udp-non-utf8",
        b"{\"lanchat\":2,\"name\":\"\xff\xfe\"}",
        "not_json",
    );
}

#[test]
fn udp_json_not_an_object() {
    datagram_is_dropped("udp-array", b"[1,2,3]", "not_json");
}

#[test]
fn udp_foreign_json() {
    datagram_is_dropped("udp-foreign", br#"{"hello":"from another app"}"#, "foreign");
}

#[test]
fn udp_protocol_v1_beacon() {
    // What a v1 node sends: no key, no signature. Refused as another version.
    let v1 = json!({"lanchat":1,"kind":"here","id":new_keys().peer_id(),"instance":"i",
                    "name":"old","host":"h","port":1,"status":"online"});
    datagram_is_dropped("udp-v1", v1.to_string().as_bytes(), "version");
}

#[test]
fn udp_other_protocol_version() {
    let v9 = json!({"lanchat":9,"kind":"here","id":new_keys().peer_id(),"instance":"i",
                    "name":"new","port":1});
    datagram_is_dropped("udp-version", v9.to_string().as_bytes(), "version");
}

#[test]
fn udp_wrong_shape() {
    let keys = new_keys();
    let payload = unsigned_v2(
        &keys,
        json!({"kind":"here","id":keys.peer_id(),"instance":"i","name":"x","port":"many"}),
    );
    datagram_is_dropped("udp-shape", &payload, "malformed");
}

#[test]
fn udp_unknown_kind() {
    let keys = new_keys();
    let payload = unsigned_v2(
        &keys,
        json!({"kind":"dance","id":keys.peer_id(),"instance":"i","name":"x","port":1}),
    );
    datagram_is_dropped("udp-kind", &payload, "malformed");
}

#[test]
fn udp_signature_moved_from_its_place() {
    // The same fields, but the signature not first: no canonical JSON is guessed at.
    let keys = new_keys();
    let good = here_beacon(&keys, "x", 1, 0);
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let sig = v.as_object_mut().unwrap().remove("sig").unwrap();
    v["sig"] = sig;
    datagram_is_dropped("udp-sig-moved", v.to_string().as_bytes(), "malformed");
}

#[test]
fn udp_path_traversal_id() {
    // An id that is not the key's (here: not even an id) is refused before anything else.
    let keys = new_keys();
    let payload = unsigned_v2(
        &keys,
        json!({"kind":"here","id":"../../etc/passwd","instance":"i","name":"x","port":1}),
    );
    datagram_is_dropped("udp-bad-id", &payload, "id_mismatch");
}

#[test]
fn udp_someone_elses_id_under_my_key() {
    // Mallory signs correctly, with her own key, a beacon claiming Bob's id.
    let (mallory, bob) = (new_keys(), new_keys());
    let mut beacon = beacon_of(&mallory, BeaconKind::Here, "bob", 1, 0);
    beacon.id = bob.peer_id();
    let bytes = lanchat::protocol::signed::sign_unchecked(&beacon, &mallory, 1, now_ms()).unwrap();
    datagram_is_dropped("udp-id-mismatch", &bytes, "id_mismatch");
}

#[test]
fn udp_forged_signature() {
    // Well-formed, fresh, a key never heard from, and a signature that is not its.
    let keys = new_keys();
    let mut bytes = here_beacon(&keys, "forger", 1, 0);
    bytes[30] = if bytes[30] == b'A' { b'B' } else { b'A' };
    datagram_is_dropped("udp-forged", &bytes, "forged");
}

#[test]
fn udp_tampered_beacon_of_a_known_peer() {
    // Bob is heard; then one of his beacons arrives with its port changed on the way.
    let bob = new_keys();
    let genuine = here_beacon(&bob, "bob", 4000, 0);
    let mut tampered = here_beacon(&bob, "bob", 4000, 0);
    let at = tampered
        .windows(11)
        .position(|w| w == b"\"port\":4000")
        .expect("the port");
    tampered[at + 8] = b'6'; // "port":4600
    let n = datagrams_are_dropped("udp-tampered", &[genuine, tampered], 1, "tampered");
    drop(n);
}

#[test]
fn udp_replayed_beacon() {
    let keys = new_keys();
    let once = here_beacon(&keys, "echo", 1, 0);
    datagrams_are_dropped("udp-replayed", &[once.clone(), once], 1, "replayed");
}

#[test]
fn udp_stale_beacon() {
    // Signed an hour ago (a recording played back now): outside the 15-minute window.
    let keys = new_keys();
    let beacon = beacon_of(&keys, BeaconKind::Here, "old news", 1, 0);
    let hour_ago = now_ms() - 3_600_000;
    let bytes = lanchat::protocol::signed::sign(&beacon, &keys, 0, hour_ago).unwrap();
    datagram_is_dropped("udp-stale", &bytes, "stale");
}

#[test]
fn udp_oversized_datagram() {
    // 60 KB: far over the 1400-byte limit, still one UDP datagram.
    let keys = new_keys();
    let mut big = here_beacon(&keys, "x", 1, 0);
    big.truncate(big.len() - 1);
    big.extend(format!(r#","pad":"{}"}}"#, "N".repeat(60_000)).bytes());
    datagram_is_dropped("udp-oversized", &big, "oversized");
}

#[test]
fn udp_long_name_is_cut() {
    // Fits in a datagram, but over the 128-byte name limit: accepted, name cut.
    let mut n = node("udp-long-name");
    let keys = new_keys();
    n.datagram(&here_beacon(&keys, &"名".repeat(100), 1, 0));
    let shown = joined_name(&mut n, &keys.peer_id());
    assert!(
        shown.len() <= 128 && shown.starts_with("名名"),
        "{} bytes",
        shown.len()
    );
}

#[test]
fn udp_control_characters_in_name() {
    let mut n = node("udp-ctrl-name");
    let keys = new_keys();
    n.datagram(&here_beacon(&keys, "\u{1b}[2Jevil\u{7}\n", 1, 0));
    let shown = joined_name(&mut n, &keys.peer_id());
    assert_eq!(shown, "[2Jevil");
}

#[test]
fn udp_spoofed_own_id_is_ignored() {
    let mut n = node("udp-own-id");
    // With the node's own key (a copy of its data folder, or its own beacon replayed):
    // recognised as ours, never listed.
    n.datagram(&here_beacon(&n.keys(), "impostor", 1, 0));
    // Its id under another key: not its key's id.
    let mut beacon = beacon_of(&new_keys(), BeaconKind::Here, "impostor", 1, 0);
    beacon.id = n.node.id.clone();
    let other = new_keys();
    n.datagram(&lanchat::protocol::signed::sign_unchecked(&beacon, &other, 1, now_ms()).unwrap());
    // Datagrams to one socket are read in order: once an honest beacon sent after the
    // impostors has been seen, so have they.
    let honest = new_keys();
    n.datagram(&here_beacon(&honest, "honest", 1, 0));
    n.node.wait_joined(&honest.peer_id());
    n.node.send(Command::Peers);
    let peers = match n.node.wait("peers", |e| matches!(e, Event::Peers { .. })) {
        Event::Peers { peers } => peers,
        _ => unreachable!(),
    };
    let ids: Vec<&str> = peers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [honest.peer_id().as_str()], "we never list ourselves");
    let s = n.status();
    assert!(s.counters.own_beacons >= 1, "{:?}", s.counters);
    assert_eq!(s.counters.dropped.get("id_mismatch"), Some(&1));
}

#[test]
fn udp_duplicate_shout_is_shown_once() {
    let mut n = node("udp-dup-shout");
    let keys = new_keys();
    let shout = |text: &str| {
        let kind = BeaconKind::Shout {
            msg_id: "m1".into(),
            seq: 1,
            sent_at: 1,
            text: text.into(),
        };
        here_like(&keys, kind)
    };
    // The same datagram five times (four replays), then the same shout signed anew
    // five times (as heard on five interfaces): shown once.
    let once = shout("once");
    for _ in 0..5 {
        n.datagram(&once);
    }
    for _ in 0..5 {
        n.datagram(&shout("once"));
    }
    n.node.wait(
        "the shout",
        |e| matches!(e, Event::Shout { msg_id, .. } if msg_id == "m1"),
    );
    // All ten were read once the counters say so; no second shout event came.
    let s = n.status_until("all ten datagrams", |s| {
        s.counters.beacons_received >= 6 && s.counters.dropped.get("replayed") == Some(&4)
    });
    assert_eq!(s.counters.beacons_received, 6);
    for e in n.node.drain() {
        assert!(
            !matches!(e, Event::Shout { .. }),
            "duplicate shout shown: {e:?}"
        );
    }
}

/// A datagram of `kind` from `keys`' peer, signed.
fn here_like(keys: &lanchat::trust::KeyPair, kind: BeaconKind) -> Vec<u8> {
    signed_datagram(keys, &beacon_of(keys, kind, "s", 1, 0))
}

#[test]
fn udp_a_flood_of_forgeries_costs_a_bounded_number_of_checks() {
    // 3 000 well-formed forgeries from one address, then a real beacon from another: the
    // real one joins (the node still listens), no forgery is believed, and the forgeries
    // cost at most the source's budget in signature checks over the time they took
    // (the rest are dropped unchecked as `over_budget`, or by the kernel if the socket's
    // buffer overflowed). A debug build checks about as slowly as the budget refills, so
    // whether any is dropped as `over_budget` depends on the build; the bound does not.
    // (The budget's own arithmetic: presence::guard's unit tests, with time a parameter.)
    let mut n = node("udp-forgery-flood");
    let keys = new_keys();
    let sender = broadcaster();
    let to = loopback_broadcast(n.discovery_port);
    let started = Instant::now();
    for _ in 0..3000 {
        let mut bytes = here_beacon(&keys, "flood", 1, 0);
        bytes[30] = if bytes[30] == b'A' { b'B' } else { b'A' };
        let _ = sender.send_to(&bytes, to);
    }
    let honest = new_keys();
    let from_elsewhere = std::net::UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 9), 0)).unwrap();
    from_elsewhere.set_broadcast(true).unwrap();
    from_elsewhere
        .send_to(&here_beacon(&honest, "honest", 1, 0), to)
        .unwrap();
    // One listening socket reads in order: once the honest beacon is in, every forgery
    // the kernel kept has been dealt with.
    n.node.wait_joined(&honest.peer_id());
    let s = n.status();
    let took = started.elapsed().as_secs_f64();
    let forged = s.counters.dropped.get("forged").copied().unwrap_or(0);
    let unchecked = s.counters.dropped.get("over_budget").copied().unwrap_or(0);
    assert_eq!(
        s.counters.beacons_received, 1,
        "only the honest beacon: {s:?}"
    );
    assert!(forged + unchecked > 0, "the forgeries were not seen: {s:?}");
    let bound = PER_SOURCE_BURST + PER_SOURCE_RATE * took;
    assert!(
        (forged as f64) <= bound + 1.0,
        "checked {forged} forgeries in {took:.1}s: more than the budget's {bound:.0}"
    );
    assert!(
        !n.node
            .drain()
            .iter()
            .any(|e| matches!(e, Event::PeerJoined { peer } if peer.id == keys.peer_id())),
        "a forgery was believed"
    );
}

// ---- the link port ------------------------------------------------------------------

/// Connects, writes `bytes`, and expects the node to close the connection.
fn connection_is_closed(tag: &str, bytes: &[u8], deadline: Duration) -> Subject {
    let mut n = node(tag);
    let mut s = TcpStream::connect(n.addr()).expect("connect");
    s.write_all(bytes).expect("write");
    assert_closed_by_node(&mut s, deadline, tag);
    assert_links_serve(&mut n);
    n
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

#[test]
fn tcp_length_ffffffff_first() {
    connection_is_closed("tcp-ffffffff", &[0xFF, 0xFF, 0xFF, 0xFF, b'{'], DEADLINE);
}

#[test]
fn tcp_binary_garbage() {
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 256) as u8).collect();
    connection_is_closed("tcp-garbage", &garbage, DEADLINE);
}

#[test]
fn tcp_http_request() {
    connection_is_closed("tcp-http", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", DEADLINE);
}

/// Runs the handshake as a new peer, then sends `body` as the first sealed frame, and
/// expects the node to close the connection; returns the node, which still serves.
fn sealed_first_frame_is_refused(tag: &str, body: &[u8]) -> Subject {
    let mut n = node(tag);
    let mut peer = RawPeer::handshake(n.addr(), &new_keys(), Some(&n.node.id)).expect("handshake");
    peer.send_body(body);
    assert_closed_by_node(&mut peer.stream, DEADLINE, tag);
    assert_links_serve(&mut n);
    n
}

#[test]
fn tcp_non_utf8_body() {
    let mut n = sealed_first_frame_is_refused("tcp-non-utf8", b"{\"type\":\"hello\xff\xfe\"}");
    assert!(
        n.status()
            .counters
            .connections_refused
            .contains_key("invalid")
    );
}

#[test]
fn tcp_json_wrong_shape() {
    sealed_first_frame_is_refused("tcp-shape", br#"{"type":"hello","id":5}"#);
}

#[test]
fn tcp_first_frame_not_hello() {
    let mut n = sealed_first_frame_is_refused("tcp-not-hello", br#"{"type":"ack","msg_id":"m"}"#);
    assert!(
        n.status().counters.links_dropped >= 1,
        "counted as a dropped link"
    );
}

#[test]
fn tcp_hello_other_version() {
    let body = json!({"type":"hello","id":"x","name":"v9","version":9}).to_string();
    let mut n = sealed_first_frame_is_refused("tcp-version", body.as_bytes());
    assert!(
        n.status().counters.links_dropped >= 1,
        "counted as a dropped link"
    );
}

#[test]
fn tcp_hello_invalid_id() {
    let body = json!({"type":"hello","id":"../x","name":"bad","version":2}).to_string();
    let mut n = sealed_first_frame_is_refused("tcp-bad-id", body.as_bytes());
    assert!(
        n.status().counters.links_dropped >= 1,
        "counted as a dropped link"
    );
}

#[test]
fn tcp_hello_claiming_another_peers_id() {
    // Mallory proves her own key, then says she is Bob: the hello must name the key
    // the handshake proved.
    let bob = new_keys().peer_id();
    let body = json!({"type":"hello","id":bob,"name":"bob","version":2,"instance":"i",
                      "port":0})
    .to_string();
    let mut n = sealed_first_frame_is_refused("tcp-not-my-id", body.as_bytes());
    assert!(n.status().counters.links_dropped >= 1);
    n.node.send(Command::Peers);
    let Event::Peers { peers } = n.node.wait("peers", |e| matches!(e, Event::Peers { .. })) else {
        unreachable!()
    };
    assert!(peers.iter().all(|p| *p.id != bob), "bob was never met");
}

#[test]
fn tcp_unsealed_frame_after_the_handshake() {
    // A plaintext hello where a sealed one must come: refused, never read as a message.
    let keys = new_keys();
    let hello = LinkMsg::Hello {
        id: keys.peer_id(),
        name: "plain".into(),
        version: 2,
        instance: "i".into(),
        port: 0,
    };
    let mut n = node("tcp-unsealed");
    let mut peer = RawPeer::handshake(n.addr(), &keys, None).expect("handshake");
    peer.stream
        .write_all(&hello.to_frame().unwrap())
        .expect("write");
    assert_closed_by_node(&mut peer.stream, DEADLINE, "an unsealed frame");
    let s = n.status();
    assert!(
        s.counters.connections_refused.contains_key("invalid"),
        "{:?}",
        s.counters
    );
    assert_links_serve(&mut n);
}

#[test]
fn tcp_protocol_v1_hello_is_refused_as_version() {
    // What a v1 node sends first: a plaintext JSON hello instead of a handshake.
    let body = json!({"type":"hello","id":new_keys().peer_id(),"name":"old","version":1,
                      "instance":"i","port":0})
    .to_string();
    let mut n = connection_is_closed("tcp-v1", &frame(body.as_bytes()), DEADLINE);
    let s = n.status();
    assert_eq!(s.counters.connections_refused.get("version"), Some(&1));
    assert_eq!(s.counters.handshakes_failed.get("version"), Some(&1));
}

#[test]
fn tcp_handshake_message_of_the_wrong_length() {
    // Starts like a handshake, one byte short: refused before any cryptography.
    let mut msg = b"lanchat2".to_vec();
    msg.extend_from_slice(&[7; 31]);
    let mut n = connection_is_closed("tcp-short-msg1", &frame(&msg), DEADLINE);
    let s = n.status();
    assert_eq!(s.counters.handshakes_failed.get("malformed"), Some(&1));
}

#[test]
fn tcp_truncated_frame_then_silence() {
    // Says 100 bytes follow, sends 10, then nothing: closed after the greeting timeout.
    let mut bytes = 100u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(b"{\"type\":\"h");
    connection_is_closed("tcp-truncated", &bytes, GREETING_TIMEOUT + DEADLINE);
}

#[test]
fn tcp_connect_and_close_at_once() {
    let mut n = node("tcp-connect-close");
    for _ in 0..200 {
        drop(TcpStream::connect(n.addr()).expect("connect"));
    }
    // Those still waiting for a first frame hold this address's greeting places; a new
    // connection displaces the oldest of them, so an honest peer links (the loop only
    // covers a connection displaced by the last of the burst).
    let end = Instant::now() + DEADLINE;
    while !RawPeer::try_connect(n.addr(), "honest")
        .is_some_and(|mut p| p.try_chat("after the burst"))
    {
        assert!(Instant::now() < end, "still refusing links after the burst");
    }
    assert_links_serve(&mut n);
}

#[test]
fn tcp_slow_sender_never_finishing_a_frame() {
    // Drips one byte of a 1 MiB frame at a time, each well within the per-read timeout:
    // the greeting deadline is for the whole first frame, so the node still hangs up.
    let mut n = node("tcp-slow");
    let mut s = TcpStream::connect(n.addr()).expect("connect");
    s.write_all(&(1u32 << 20).to_be_bytes())
        .expect("write length");
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let end = Instant::now() + GREETING_TIMEOUT + DEADLINE;
    let mut buf = [0u8; 64];
    let closed = loop {
        // Every read timeout is one more byte: the drip, paced by the node's silence.
        match std::io::Read::read(&mut s, &mut buf) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {
                if s.write_all(b" ").is_err() {
                    break true;
                }
            }
            Err(_) => break true,
        }
        if Instant::now() > end {
            break false;
        }
    };
    assert!(
        closed,
        "a slow sender kept its greeting open past the deadline"
    );
    assert_links_serve(&mut n);
}

#[test]
fn tcp_length_ffffffff_after_hello() {
    let mut n = node("tcp-ffffffff-late");
    let mut peer = RawPeer::connect(n.addr(), "late");
    peer.chat("first a good message");
    peer.stream
        .write_all(&[0xFF, 0xFF, 0xFF, 0xFF])
        .expect("write");
    assert_closed_by_node(&mut peer.stream, DEADLINE, "huge length after hello");
    n.status_until("the link gone from net_status", |s| {
        s.links.iter().all(|l| l.peer.as_deref() != Some(&peer.id))
    });
    assert_links_serve(&mut n);
}

#[test]
fn tcp_chat_text_over_limit_is_refused_for_good_and_the_link_stays() {
    let mut n = node("tcp-long-text");
    let mut peer = RawPeer::connect(n.addr(), "long");
    // A message it can never take gets a final answer, not a closed link: closing it
    // made the sender resend it on the next link, for ever.
    peer.send(&LinkMsg::Chat {
        msg_id: "big".into(),
        sent_at: 1,
        text: "x".repeat(lanchat::protocol::message::MAX_TEXT_LEN + 1),
        room: None,
        change: None,
    });
    loop {
        match peer.recv() {
            Some(LinkMsg::Nack {
                msg_id,
                permanent: true,
                reason,
                ..
            }) => {
                assert_eq!(msg_id, "big");
                assert!(reason.contains("limit"), "{reason}");
                break;
            }
            Some(LinkMsg::Hello { .. } | LinkMsg::Keepalive { .. }) => {}
            other => panic!("expected a permanent nack, got {other:?}"),
        }
    }
    // The next message on the same link is taken.
    peer.chat("after the long one");
    assert_links_serve(&mut n);
}

#[test]
fn tcp_unknown_message_type_is_skipped() {
    let n = node("tcp-unknown");
    let mut peer = RawPeer::connect(n.addr(), "newer");
    peer.send_body(br#"{"type":"typing","who":"x","extra":[1,2,3]}"#);
    // The link survives: a chat after it is acknowledged on the same connection.
    peer.chat("after an unknown type");
}

#[test]
fn tcp_hello_with_1mib_name() {
    let mut n = node("tcp-1mib-name");
    let name = "名".repeat(((1 << 20) - 200) / 3);
    let mut peer = RawPeer::connect(n.addr(), &name);
    peer.chat("big name");
    let shown = joined_name(&mut n, &peer.id);
    assert!(
        shown.len() <= 128,
        "name cut to the limit, got {} bytes",
        shown.len()
    );
}

#[test]
fn tcp_frame_over_1mib_is_refused() {
    let mut n = node("tcp-2mib");
    let mut peer = RawPeer::connect(n.addr(), "huge");
    peer.chat("hi");
    let body = vec![b' '; (1 << 20) + 1];
    // The node may hang up before it has read it all: a failed write is fine.
    let _ = peer.stream.write_all(&frame(&body));
    assert_closed_by_node(&mut peer.stream, DEADLINE, "frame over 1 MiB");
    assert_links_serve(&mut n);
}

#[test]
fn tcp_thousands_of_half_open_connections() {
    let mut n = node("tcp-half-open");
    // A link that is up before the storm keeps working through it.
    let mut friend = RawPeer::connect(n.addr(), "friend");
    friend.chat("before");
    let mut silent = Vec::new();
    for _ in 0..2000 {
        match TcpStream::connect(n.addr()) {
            Ok(s) => silent.push(s),
            Err(e) => panic!("connect failed: {e}"),
        }
    }
    friend.chat("during the storm");
    // At most MAX_GREETING greeters for this node; the slack is for the few that other
    // tests' nodes in this process may hold at the same moment.
    if let Some(greeters) = threads_named("link-greet") {
        assert!(
            greeters <= MAX_GREETING + 16,
            "greeters are capped at {MAX_GREETING}: {greeters} running during the storm"
        );
    }
    // Every silent connection is closed by the node: beyond the cap at once, the rest at
    // the greeting timeout.
    for s in &mut silent {
        assert_closed_by_node(s, GREETING_TIMEOUT + DEADLINE, "a half-open connection");
    }
    drop(silent);
    friend.chat("after");
    assert_links_serve(&mut n);
}

/// A connection to `to` from the loopback address `from` (any of 127.0.0.0/8), so one
/// machine can play several hosts without leaving loopback.
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .expect("tcp socket");
    s.bind(&SocketAddr::from((from, 0)).into())
        .unwrap_or_else(|e| panic!("bind {from}: {e}"));
    s.connect(&to.into())
        .unwrap_or_else(|e| panic!("connect from {from} to {to}: {e}"));
    s.into()
}

/// Opens `per_source` silent connections from each address in `sources`, waits until
/// the node has accepted them all, and checks that a peer on yet another address
/// (127.0.0.1) links and chats at its first try while they are held. Returns the node
/// and the held connections.
fn silent_sources_leave_room(
    tag: &str,
    sources: &[Ipv4Addr],
    per_source: usize,
) -> (Subject, Vec<TcpStream>) {
    let mut n = node(tag);
    let mut silent = Vec::new();
    for &from in sources {
        silent.extend((0..per_source).map(|_| connect_from(from, n.addr())));
    }
    let total = silent.len() as u64;
    n.status_until("every silent connection accepted", |s| {
        s.counters.connections_accepted >= total
    });
    let mut honest = RawPeer::connect(n.addr(), "honest");
    assert!(
        honest.try_chat("not locked out"),
        "silent connections from {sources:?} locked a peer on 127.0.0.1 out"
    );
    (n, silent)
}

#[test]
fn tcp_silent_connections_from_one_address_hold_only_its_share() {
    // One source opens a whole pool's worth: it keeps its share, losing its own oldest.
    let source = [Ipv4Addr::new(127, 0, 0, 2)];
    let (mut n, mut silent) = silent_sources_leave_room("tcp-one-source", &source, MAX_GREETING);
    let displaced = (MAX_GREETING - MAX_GREETING_PER_ADDR) as u64;
    n.status_until("the source's oldest connections evicted", |s| {
        s.counters
            .connections_refused
            .get("evicted")
            .copied()
            .unwrap_or(0)
            >= displaced
    });
    for s in &mut silent[..MAX_GREETING - MAX_GREETING_PER_ADDR] {
        assert_closed_by_node(s, DEADLINE, "an evicted silent connection");
    }
}

#[test]
fn tcp_silent_connections_filling_the_pool_leave_room_for_another_address() {
    // Four sources at their share fill every greeting slot: a newcomer still gets in,
    // at the cost of the oldest connection of a source holding the most.
    let sources: Vec<Ipv4Addr> = (2..6).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect();
    assert_eq!(sources.len() * MAX_GREETING_PER_ADDR, MAX_GREETING);
    let (mut n, mut silent) =
        silent_sources_leave_room("tcp-full-pool", &sources, MAX_GREETING_PER_ADDR);
    let s = n.status_until("one silent connection evicted", |s| {
        s.counters
            .connections_refused
            .get("evicted")
            .copied()
            .unwrap_or(0)
            >= 1
    });
    assert_eq!(s.counters.connections_refused.get("evicted"), Some(&1));
    assert_closed_by_node(&mut silent[0], DEADLINE, "the oldest silent connection");
}

#[test]
fn refusals_before_hello_are_counted_in_net_status() {
    let mut n = node("tcp-refusals-counted");
    drop(TcpStream::connect(n.addr()).expect("connect"));
    let mut garbage = TcpStream::connect(n.addr()).expect("connect");
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("write");
    assert_closed_by_node(&mut garbage, DEADLINE, "an HTTP request");
    let s = n.status_until("both refusals counted", |s| {
        let r = &s.counters.connections_refused;
        r.get("closed").is_some() && r.get("invalid").is_some()
    });
    assert!(s.counters.connections_accepted >= 2);
    assert_eq!(
        s.counters.links_dropped, 0,
        "not counted as links: none was up"
    );
}

//! A room across a router (issue 14): two subnets in network namespaces
//! (`Lan::routed(2, 2)`), alice and bob on the first, carol and dave on the second, each
//! `lanchat --headless` with its default binding (0.0.0.0). Broadcasts stay on their
//! subnet: alice reaches carol by `add_peer`; bob and carol never met. alice makes a room
//! of the three, and then:
//! - bob and carol talk in it, finding each other only through the addresses the room
//!   carries;
//! - carol, killed with SIGKILL and started again on the same data, gets what alice and
//!   bob said meanwhile exactly once, in order per author, and each hears her `delivered`;
//! - carol adds dave, who never met alice or bob: he reaches both. alice's own entry in the
//!   room is empty (a node bound to 0.0.0.0 cannot say which of its addresses others
//!   know it by), so this works only because carol filled it in from the link alice's
//!   room change came on (docs/PROTOCOL.md, rooms: addresses);
//! - bob and carol, both killed and started again, still reach each other: each binds the
//!   link port it had last time, where the other's copy of the room says it is.
//!
//! Needs root and iproute2 (`common::netns`: skipped where namespaces cannot be made,
//! unless `LANCHAT_REQUIRE_LAN=1`). Nothing here touches the root namespace.

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::netns::{self, Lan};
use common::{ChildNode, TempDir};
use serde_json::{Value, json};

/// alice, bob (10.78.1.10, .11), carol, dave (10.78.2.10, .11).
const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
const DAVE: usize = 3;

fn node(lan: &Lan, host: usize, data: &Path, name: &str) -> ChildNode {
    lan.node(host, data, name, &["--no-ipmsg"])
}

fn meet(n: &mut ChildNode, id: &str) {
    let id = json!(id);
    n.wait(&format!("peer_joined {id}"), |v| {
        v["event"] == "peer_joined" && v["peer"]["id"] == id
    });
}

/// The peer ids `n` lists.
fn listed(n: &mut ChildNode) -> HashSet<String> {
    n.cmd(json!({"cmd":"peers"}));
    let peers = n.wait("peers", |v| v["event"] == "peers");
    peers["peers"]
        .as_array()
        .expect("a list of peers")
        .iter()
        .map(|p| p["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Waits for `n` to get `text` in `room` from `from`.
fn said(n: &mut ChildNode, room: &str, from: &str, text: &str) -> Value {
    let (room, from) = (json!(room), json!(from));
    n.wait(&format!("“{text}”"), |v| {
        v["event"] == "message" && v["room"] == room && v["from"] == from && v["text"] == text
    })
}

#[test]
fn a_room_across_a_router_reaches_members_who_never_met_and_one_who_was_killed() {
    let test = "a_room_across_a_router_reaches_members_who_never_met_and_one_who_was_killed";
    let Some(lan) = netns::or_skip(Lan::routed(2, 2, "m"), test) else {
        return;
    };
    let dir = TempDir::new("lan-rooms");
    let (bob_dir, carol_dir) = (dir.join("bob"), dir.join("carol"));
    let mut a = node(&lan, ALICE, &dir.join("alice"), "alice");
    let mut b = node(&lan, BOB, &bob_dir, "bob");
    let mut c = node(&lan, CAROL, &carol_dir, "carol");
    let mut d = node(&lan, DAVE, &dir.join("dave"), "dave");
    meet(&mut a, &b.id);
    meet(&mut c, &d.id);
    a.cmd(json!({"cmd":"add_peer","addr":"10.78.2.10"}));
    meet(&mut a, &c.id);
    meet(&mut c, &a.id);
    assert!(!listed(&mut b).contains(&c.id), "bob has met carol");
    assert!(!listed(&mut c).contains(&b.id), "carol has met bob");

    a.cmd(json!({"cmd":"room_create","name":"two floors","members":[b.id, c.id]}));
    let created = a.wait("room_created", |v| v["event"] == "room_created");
    let room = created["room"]["id"].as_str().expect("room id").to_owned();
    for m in [&mut b, &mut c] {
        m.wait("room_joined", |v| {
            v["event"] == "room_joined" && v["room"]["id"] == json!(room)
        });
    }

    // bob and carol, who never met, talk through the room's addresses.
    b.cmd(json!({"cmd":"send","to":room,"text":"hi carol, we never met"}));
    said(&mut c, &room, &b.id, "hi carol, we never met");
    c.cmd(json!({"cmd":"send","to":room,"text":"hi bob"}));
    said(&mut b, &room, &c.id, "hi bob");
    said(&mut a, &room, &c.id, "hi bob");

    // carol is killed; alice and bob talk on; carol is back on the same data.
    let carol = c.id.clone();
    c.kill9();
    a.wait("carol gone", |v| {
        v["event"] == "peer_left" && v["id"] == json!(carol)
    });
    const N: usize = 10;
    let mut sent: Vec<(usize, String)> = Vec::new();
    for i in 0..N {
        let (author, who, text) = if i % 2 == 0 {
            (ALICE, &mut a, format!("a{i}"))
        } else {
            (BOB, &mut b, format!("b{i}"))
        };
        who.cmd(json!({"cmd":"send","to":room,"text":text}));
        let s = who.wait("sent", |v| v["event"] == "sent" && v["text"] == text);
        sent.push((author, s["msg_id"].as_str().expect("msg_id").to_owned()));
    }
    for i in (1..N).step_by(2) {
        said(&mut a, &room, &b.id, &format!("b{i}"));
    }
    let mut c = node(&lan, CAROL, &carol_dir, "carol");
    assert_eq!(c.id, carol, "the same key");
    let mut got: Vec<String> = Vec::new();
    while got.len() < N {
        let m = c.wait("a message said while carol was away", |v| {
            v["event"] == "message" && v["room"] == json!(room)
        });
        got.push(m["text"].as_str().expect("text").to_owned());
    }
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), N, "each once: {got:?}");
    for author in ["a", "b"] {
        let seq: Vec<usize> = got
            .iter()
            .filter(|t| t.starts_with(author))
            .map(|t| t[1..].parse().expect("a number"))
            .collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "{author}: {seq:?}");
    }
    for (author, msg_id) in &sent {
        let who = if *author == ALICE { &mut a } else { &mut b };
        who.wait(&format!("carol's delivered of {msg_id}"), |v| {
            v["event"] == "delivered" && v["msg_id"] == json!(msg_id) && v["peer"] == json!(carol)
        });
    }

    // carol adds dave, who never met alice or bob: he reaches them, and they him.
    c.cmd(json!({"cmd":"room_add","room":room,"members":[d.id]}));
    d.wait("room_joined", |v| {
        v["event"] == "room_joined" && v["room"]["id"] == json!(room)
    });
    let dave = listed(&mut d);
    assert!(
        !dave.contains(&a.id) && !dave.contains(&b.id),
        "dave has met alice or bob"
    );
    d.cmd(json!({"cmd":"send","to":room,"text":"dave here"}));
    for m in [&mut a, &mut b, &mut c] {
        said(m, &room, &d.id, "dave here");
    }
    for (m, text) in [
        (&mut a, "hi dave, from alice"),
        (&mut b, "hi dave, from bob"),
    ] {
        m.cmd(json!({"cmd":"send","to":room,"text":text}));
        let from = m.id.clone();
        said(&mut d, &room, &from, text);
    }

    // bob and carol both killed and back: neither hears the other's beacons, and each
    // finds the other where the room says, their link ports being those of last time.
    let (bob, ports) = (b.id.clone(), (b.port, c.port));
    b.kill9();
    c.kill9();
    let mut b = node(&lan, BOB, &bob_dir, "bob");
    let mut c = node(&lan, CAROL, &carol_dir, "carol");
    assert_eq!((b.port, c.port), ports, "the link ports of last time");
    b.cmd(json!({"cmd":"send","to":room,"text":"both back"}));
    said(&mut c, &room, &bob, "both back");
    c.cmd(json!({"cmd":"send","to":room,"text":"so I see"}));
    said(&mut b, &room, &carol, "so I see");

    // carol's history of the room, across her kills: everything once.
    c.cmd(json!({"cmd":"history","with":room,"limit":1000}));
    let h = c.wait("history", |v| v["event"] == "history");
    let texts: Vec<&str> = h["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().expect("text"))
        .collect();
    let once: HashSet<&str> = texts.iter().copied().collect();
    assert_eq!(once.len(), texts.len(), "{texts:?}");
    for text in [
        "hi carol, we never met",
        "hi bob",
        "a0",
        "b9",
        "dave here",
        "both back",
    ] {
        assert!(once.contains(text), "{text} in {texts:?}");
    }
}

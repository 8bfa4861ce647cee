//! Rooms through the real binary on loopback (issue 14): the headless contract with three
//! nodes, a member killed with SIGKILL who gets what was said meanwhile exactly once, and
//! a member who left who gets nothing of what still waited for her (messages, and the
//! room's file offers), and renames that reach a member out of order ending the same
//! everywhere.

mod common;

use std::collections::HashSet;

use common::{ChildNode, TempDir, free_udp_port};
use serde_json::{Value, json};

fn spawn(dir: &TempDir, who: &str, port: u16) -> ChildNode {
    ChildNode::loopback(who, &dir.join(who), port, "0.2")
}

fn meet(a: &mut ChildNode, names: &[&str]) {
    for name in names {
        a.wait(&format!("peer_joined {name}"), |v| {
            v["event"] == "peer_joined" && v["peer"]["name"] == *name
        });
    }
}

fn ids(v: &Value) -> HashSet<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|m| m.as_str().expect("an id").to_owned())
        .collect()
}

/// Makes a room of `a`, `b` and `c`; returns its id once both members joined.
fn make_room(a: &mut ChildNode, b: &mut ChildNode, c: &mut ChildNode) -> String {
    a.cmd(json!({"cmd":"room_create","name":"team","members":[b.id, c.id]}));
    let created = a.wait("room_created", |v| v["event"] == "room_created");
    let room = created["room"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["room"]["name"], "team");
    let all: HashSet<String> = [&a.id, &b.id, &c.id].map(|s| s.clone()).into();
    assert_eq!(ids(&created["room"]["members"]), all);
    for m in [b, c] {
        let joined = m.wait("room_joined", |v| v["event"] == "room_joined");
        assert_eq!(joined["room"]["id"], json!(room));
        assert_eq!(joined["room"]["name"], "team");
        assert_eq!(ids(&joined["room"]["members"]), all);
    }
    room
}

/// Alice, Bob and Carol on one discovery port, met, in a room Alice made.
struct Team {
    dir: TempDir,
    port: u16,
    a: ChildNode,
    b: ChildNode,
    c: ChildNode,
    room: String,
}

fn team(tag: &str) -> Team {
    let dir = TempDir::new(tag);
    let port = free_udp_port();
    let mut a = spawn(&dir, "alice", port);
    let mut b = spawn(&dir, "bob", port);
    let mut c = spawn(&dir, "carol", port);
    meet(&mut a, &["bob", "carol"]);
    meet(&mut b, &["carol"]);
    let room = make_room(&mut a, &mut b, &mut c);
    Team {
        dir,
        port,
        a,
        b,
        c,
        room,
    }
}

#[test]
fn three_nodes_make_a_room_talk_rename_and_leave() {
    let Team {
        dir: _dir,
        port: _,
        mut a,
        mut b,
        mut c,
        room,
    } = team("rooms-3");

    a.cmd(json!({"cmd":"send","to":room,"text":"hello room"}));
    let sent = a.wait("sent", |v| v["event"] == "sent");
    assert_eq!(sent["to"], json!(room));
    let msg_id = sent["msg_id"].clone();
    for m in [&mut b, &mut c] {
        let got = m.wait("message", |v| v["event"] == "message");
        assert_eq!(got["room"], json!(room));
        assert_eq!(got["from"], json!(a.id));
        assert_eq!(got["text"], "hello room");
        assert_eq!(got["msg_id"], msg_id);
    }
    let mut delivered = HashSet::new();
    for _ in 0..2 {
        let d = a.wait("delivered", |v| {
            v["event"] == "delivered" && v["msg_id"] == msg_id
        });
        assert_eq!(d["to"], json!(room));
        delivered.insert(d["peer"].as_str().unwrap().to_owned());
    }
    assert_eq!(delivered, [b.id.clone(), c.id.clone()].into());

    // A member answers; the others get it.
    b.cmd(json!({"cmd":"send","to":room,"text":"hi from bob"}));
    for m in [&mut a, &mut c] {
        m.wait("bob's message", |v| {
            v["event"] == "message" && v["text"] == "hi from bob" && v["room"] == json!(room)
        });
    }

    // Anyone renames; everyone hears it.
    c.cmd(json!({"cmd":"room_rename","room":room,"name":"crew"}));
    for m in [&mut a, &mut b, &mut c] {
        m.wait("room_changed crew", |v| {
            v["event"] == "room_changed" && v["room"]["name"] == "crew"
        });
    }
    a.cmd(json!({"cmd":"rooms"}));
    let rooms = a.wait("rooms", |v| v["event"] == "rooms");
    assert_eq!(rooms["rooms"][0]["id"], json!(room));
    assert_eq!(rooms["rooms"][0]["name"], "crew");

    // History and search know the room.
    c.cmd(json!({"cmd":"history","with":room}));
    let h = c.wait("history", |v| v["event"] == "history");
    let texts: Vec<&str> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"hello room") && texts.contains(&"hi from bob"),
        "{texts:?}"
    );
    c.cmd(json!({"cmd":"search","query":"bob"}));
    let s = c.wait("search_results", |v| v["event"] == "search_results");
    assert!(
        s["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["peer"] == json!(room) && m["text"] == "hi from bob")
    );

    // Bob leaves: the others see him go, and he gets nothing more.
    b.cmd(json!({"cmd":"room_leave","room":room}));
    b.wait("room_left", |v| v["event"] == "room_left");
    for m in [&mut a, &mut c] {
        let ch = m.wait("room_changed without bob", |v| {
            v["event"] == "room_changed" && v["by"] == json!(b.id)
        });
        assert!(!ids(&ch["room"]["members"]).contains(&b.id));
    }
    a.cmd(json!({"cmd":"send","to":room,"text":"after bob"}));
    let sent = a.wait("sent", |v| v["event"] == "sent" && v["text"] == "after bob");
    c.wait("after bob", |v| {
        v["event"] == "message" && v["text"] == "after bob"
    });
    let d = a.wait("delivered to carol", |v| {
        v["event"] == "delivered" && v["msg_id"] == sent["msg_id"]
    });
    assert_eq!(d["peer"], json!(c.id));
    b.cmd(json!({"cmd":"send","to":room,"text":"still here?"}));
    let e = b.wait("error", |v| v["event"] == "error");
    assert!(e["message"].as_str().unwrap().contains("left"), "{e}");
    // Bob heard nothing after he left (the rooms answer is the last word).
    b.cmd(json!({"cmd":"rooms"}));
    let r = b.wait("rooms", |v| v["event"] == "rooms");
    assert_eq!(r["rooms"], json!([]));
    assert!(
        b.wait_for(std::time::Duration::ZERO, &|v: &Value| v["text"]
            == "after bob")
            .is_none()
    );
}

#[test]
fn a_member_killed_gets_what_was_said_meanwhile_exactly_once() {
    let Team {
        dir,
        port,
        mut a,
        mut b,
        mut c,
        room,
    } = team("rooms-kill");

    c.kill9();
    a.wait("carol gone", |v| {
        v["event"] == "peer_left" && v["id"] == json!(c.id)
    });
    const N: usize = 20;
    for i in 0..N {
        let (who, text) = if i % 2 == 0 {
            (&mut a, format!("a{i}"))
        } else {
            (&mut b, format!("b{i}"))
        };
        who.cmd(json!({"cmd":"send","to":room,"text":text}));
    }
    // Bob has all of Alice's, so they were sent.
    for i in (0..N).step_by(2) {
        b.wait("alice's", |v| {
            v["event"] == "message" && v["text"] == format!("a{i}")
        });
    }
    // A change made meanwhile reaches her too.
    b.cmd(json!({"cmd":"room_rename","room":room,"name":"while away"}));
    a.wait("renamed", |v| {
        v["event"] == "room_changed" && v["room"]["name"] == "while away"
    });

    let mut c = spawn(&dir, "carol", port);
    c.wait("the rename said while she was away", |v| {
        v["event"] == "room_changed" && v["room"]["name"] == "while away" && v["by"] == json!(b.id)
    });
    let mut got: Vec<String> = Vec::new();
    while got.len() < N {
        let m = c.wait("a message said while carol was away", |v| {
            v["event"] == "message" && v["room"] == json!(room)
        });
        got.push(m["text"].as_str().unwrap().to_owned());
    }
    // Exactly once, and in order per author.
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), N, "{got:?}");
    for author in ["a", "b"] {
        let seq: Vec<usize> = got
            .iter()
            .filter(|t| t.starts_with(author))
            .map(|t| t[1..].parse().unwrap())
            .collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "{author}: {seq:?}");
    }
    // Each sender hears carol's delivery of its own.
    a.wait("delivered by carol", |v| {
        v["event"] == "delivered" && v["peer"] == json!(c.id)
    });
    // And nothing comes twice: a restart of carol replays nothing.
    c.cmd(json!({"cmd":"quit"}));
    c.wait("stopped", |v| v["event"] == "stopped");
    let _ = c.child.wait();
    let mut c = spawn(&dir, "carol", port);
    c.cmd(json!({"cmd":"history","with":room,"limit":1000}));
    let h = c.wait("history", |v| v["event"] == "history");
    let texts: Vec<&str> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .filter(|t| t.len() <= 3)
        .collect();
    assert_eq!(texts.len(), N, "{texts:?}");
    c.cmd(json!({"cmd":"rooms"}));
    let r = c.wait("rooms", |v| v["event"] == "rooms");
    assert_eq!(r["rooms"][0]["id"], json!(room), "carol is still in it");
}

/// Two members who never met (their discovery ports differ, so no beacon of one reaches
/// the other) reach each other through the addresses the room carries.
#[test]
fn members_who_never_met_reach_each_other_by_the_rooms_addresses() {
    let dir = TempDir::new("rooms-never-met");
    let (p1, p2) = (free_udp_port(), free_udp_port());
    // Alice meets Bob on one port, then moves to another, where she meets Carol.
    let mut a = spawn(&dir, "alice", p1);
    let mut b = spawn(&dir, "bob", p1);
    meet(&mut a, &["bob"]);
    a.cmd(json!({"cmd":"quit"}));
    a.wait("stopped", |v| v["event"] == "stopped");
    let _ = a.child.wait();
    let mut a = spawn(&dir, "alice", p2);
    let mut c = spawn(&dir, "carol", p2);
    meet(&mut a, &["carol"]);

    let room = make_room(&mut a, &mut b, &mut c);
    b.cmd(json!({"cmd":"peers"}));
    let peers = b.wait("peers", |v| v["event"] == "peers");
    assert!(
        !peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == json!(c.id)),
        "bob has never seen carol's beacons"
    );
    b.cmd(json!({"cmd":"send","to":room,"text":"hi carol, we never met"}));
    let got = c.wait("bob's message", |v| {
        v["event"] == "message" && v["text"] == "hi carol, we never met"
    });
    assert_eq!(got["from"], json!(b.id));
    assert_eq!(got["room"], json!(room));
    c.cmd(json!({"cmd":"send","to":room,"text":"hi bob"}));
    b.wait("carol's answer", |v| {
        v["event"] == "message" && v["text"] == "hi bob" && v["from"] == json!(c.id)
    });
}

/// A file sent to a room is offered to each member, who each take it on their own.
#[test]
fn a_file_sent_to_a_room_is_offered_to_each_member() {
    let Team {
        dir,
        port: _,
        mut a,
        mut b,
        mut c,
        room,
    } = team("rooms-file");
    let file = dir.join("notes.txt");
    std::fs::write(&file, "room notes").unwrap();
    a.cmd(json!({"cmd":"send_file","to":room,"path":file}));
    for m in [&mut b, &mut c] {
        let offer = m.wait("file_offer", |v| v["event"] == "file_offer");
        assert_eq!(offer["name"], "notes.txt");
        assert_eq!(offer["room"], room, "offered in the room: {offer}");
        assert_eq!(offer["from"], a.id);
        m.cmd(json!({"cmd":"accept","transfer_id":offer["transfer_id"]}));
        let done = m.wait("transfer_done", |v| v["event"] == "transfer_done");
        let path = done["path"].as_str().expect("where it landed");
        assert_eq!(std::fs::read_to_string(path).unwrap(), "room notes");
        // The room's history has it, with its room; the sender's direct one does not.
        m.cmd(json!({"cmd":"history","peer":room}));
        let h = m.wait("room history", |v| {
            v["event"] == "history" && v["peer"] == room
        });
        let ts = h["transfers"].as_array().expect("transfers");
        assert!(
            ts.iter()
                .any(|t| t["transfer_id"] == offer["transfer_id"] && t["room"] == room),
            "{h}"
        );
        m.cmd(json!({"cmd":"history","peer":a.id}));
        let h = m.wait("alice's history", |v| {
            v["event"] == "history" && v["peer"] == a.id
        });
        assert!(
            !h.to_string()
                .contains(offer["transfer_id"].as_str().unwrap())
        );
    }
}

/// `who` says `quit` and is gone.
fn quit(who: &mut ChildNode) {
    who.cmd(json!({"cmd":"quit"}));
    who.wait("stopped", |v| v["event"] == "stopped");
    let _ = who.child.wait();
}

/// How many room messages and changes `who` refused so far.
fn refused(who: &mut ChildNode) -> u64 {
    who.cmd(json!({"cmd":"net_status"}));
    let s = who.wait("net_status", |v| v["event"] == "net_status");
    s["counters"]["dropped"]["room_refused"]
        .as_u64()
        .unwrap_or(0)
}

/// `from` sends `to` a direct message and waits until `to` shows it and `from` hears it
/// delivered: what `from` had queued for `to` before it went first, in order, so `to`
/// has answered all of it, and `from` has taken those answers.
fn sentinel(from: &mut ChildNode, to: &mut ChildNode, text: &str) {
    from.cmd(json!({"cmd":"send","to":to.id,"text":text}));
    let sent = from.wait("sent", |v| v["event"] == "sent" && v["text"] == text);
    to.wait(text, |v| v["event"] == "message" && v["text"] == text);
    from.wait("delivered", |v| {
        v["event"] == "delivered" && v["msg_id"] == sent["msg_id"]
    });
}

/// Alice says three things while Carol is away; Carol, back while Alice is down, leaves.
/// When both are up, the copies Alice still had for Carol cross Carol's leave: whichever
/// comes first, Carol stores none of them (she refuses them, for good), Alice hears no
/// `delivered` from her for them, and each ends `failed` (refused before the leave
/// arrived) or `left` (dropped when it did). After another restart of Alice nothing of
/// them goes to Carol at all.
#[test]
fn a_member_who_left_gets_nothing_of_what_waited_for_her() {
    let Team {
        dir,
        port,
        mut a,
        mut b,
        mut c,
        room,
    } = team("rooms-left");

    quit(&mut c);
    a.wait("carol gone", |v| {
        v["event"] == "peer_left" && v["id"] == json!(c.id)
    });
    let mut said = Vec::new();
    for text in ["one", "two", "three"] {
        a.cmd(json!({"cmd":"send","to":room,"text":text}));
        let sent = a.wait("sent", |v| v["event"] == "sent" && v["text"] == text);
        said.push(sent["msg_id"].as_str().unwrap().to_owned());
        b.wait(text, |v| v["event"] == "message" && v["text"] == text);
    }
    quit(&mut a);

    let mut c = spawn(&dir, "carol", port);
    c.cmd(json!({"cmd":"room_leave","room":room}));
    c.wait("room_left", |v| v["event"] == "room_left");
    b.wait("carol left", |v| {
        v["event"] == "room_changed" && v["by"] == json!(c.id)
    });

    let mut a = spawn(&dir, "alice", port);
    a.wait("carol's leave", |v| {
        v["event"] == "room_changed" && v["by"] == json!(c.id)
    });
    sentinel(&mut a, &mut c, "after your leave");
    a.cmd(json!({"cmd":"history","with":room}));
    let h = a.wait("history", |v| v["event"] == "history");
    for id in &said {
        let carols: Vec<&str> = h["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .filter(|d| d["msg_id"] == json!(id) && d["peer"] == json!(c.id))
            .map(|d| d["state"].as_str().unwrap())
            .collect();
        assert!(
            matches!(carols[..], ["failed" | "left"]),
            "{id}: {carols:?} in {h}"
        );
    }
    c.cmd(json!({"cmd":"history","with":room}));
    let h = c.wait("carol's history", |v| v["event"] == "history");
    let texts: Vec<&str> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        !texts.iter().any(|t| ["one", "two", "three"].contains(t)),
        "carol stored none of it: {texts:?}"
    );

    // Alice again after a restart: nothing of the room goes to Carol any more.
    let before = refused(&mut c);
    quit(&mut a);
    let mut a = spawn(&dir, "alice", port);
    meet(&mut a, &["carol"]);
    sentinel(&mut a, &mut c, "after a restart");
    assert_eq!(refused(&mut c), before, "nothing more came to be refused");
}

/// Alice sends a file to the room while Carol is away; Carol, back, leaves before she
/// answers the offer. Alice cancels Carol's offer ("left the room") whichever came first
/// on the link, Bob's stays, and after a restart Alice offers Carol nothing again: her
/// history keeps the transfer `cancelled`, made for the room.
#[test]
fn a_member_who_left_is_offered_no_file_of_the_room_any_more() {
    let Team {
        dir,
        port,
        mut a,
        mut b,
        mut c,
        room,
    } = team("rooms-left-file");

    quit(&mut c);
    a.wait("carol gone", |v| {
        v["event"] == "peer_left" && v["id"] == json!(c.id)
    });
    let file = dir.join("plan.txt");
    std::fs::write(&file, "the plan").unwrap();
    a.cmd(json!({"cmd":"send_file","to":room,"path":file}));
    let offer_to = |who: &str| {
        let who = json!(who);
        move |v: &Value| v["event"] == "offer_sent" && v["to"] == who
    };
    let offer = a.wait("offer_sent to carol", offer_to(&c.id));
    assert_eq!(offer["room"], json!(room), "made for the room");
    let hers = offer["transfer_id"].clone();
    let bobs = a.wait("offer_sent to bob", offer_to(&b.id))["transfer_id"].clone();
    b.wait("bob's offer", |v| {
        v["event"] == "file_offer" && v["transfer_id"] == bobs
    });

    let mut c = spawn(&dir, "carol", port);
    c.cmd(json!({"cmd":"room_leave","room":room}));
    c.wait("room_left", |v| v["event"] == "room_left");
    let ended = a.wait("carol's offer cancelled", |v| {
        v["event"] == "transfer_failed" && v["transfer_id"] == hers
    });
    assert_eq!(ended["kind"], "cancelled");
    assert_eq!(ended["reason"], "cancelled by the receiver: left the room");
    assert_eq!(ended["retry"], false);
    assert!(
        a.wait_for(std::time::Duration::ZERO, &|v: &Value| {
            v["event"] == "transfer_failed" && v["transfer_id"] == bobs
        })
        .is_none(),
        "bob's offer stays"
    );

    quit(&mut a);
    let mut a = spawn(&dir, "alice", port);
    meet(&mut a, &["carol"]);
    sentinel(&mut a, &mut c, "after a restart");
    assert!(
        a.wait_for(std::time::Duration::ZERO, &offer_to(&c.id))
            .is_none(),
        "carol's offer is not taken up again"
    );
    a.cmd(json!({"cmd":"history","with":c.id}));
    let h = a.wait("history with carol", |v| v["event"] == "history");
    let t = h["transfers"]
        .as_array()
        .expect("transfers")
        .iter()
        .find(|t| t["transfer_id"] == hers)
        .unwrap_or_else(|| panic!("her transfer in {h}"))
        .clone();
    assert_eq!(
        (&t["state"], &t["room"]),
        (&json!("cancelled"), &json!(room))
    );
    assert!(
        c.wait_for(std::time::Duration::ZERO, &|v: &Value| {
            v["event"] == "transfer_started" || v["event"] == "transfer_done"
        })
        .is_none(),
        "carol received nothing"
    );
}

/// Alice renames the room while Carol is away, then Bob renames it again; Carol comes back
/// while Alice is down, so Bob's later rename reaches her first and Alice's earlier one
/// only when Alice is back. Everyone ends with Bob's name (changes are ordered by when they
/// were made, not by when they arrive: docs/PROTOCOL.md, Order).
#[test]
fn renames_that_reach_a_member_out_of_order_end_the_same_everywhere() {
    let Team {
        dir,
        port,
        mut a,
        mut b,
        mut c,
        room,
    } = team("rooms-order");

    c.kill9();
    let renamed = |who: &mut ChildNode, name: &str, by: &str| {
        who.wait(&format!("renamed {name}"), |v| {
            v["event"] == "room_changed" && v["room"]["name"] == name && v["by"] == by
        });
    };
    a.cmd(json!({"cmd":"room_rename","room":room,"name":"一组"}));
    renamed(&mut b, "一组", &a.id);
    b.cmd(json!({"cmd":"room_rename","room":room,"name":"二组"}));
    renamed(&mut a, "二组", &b.id);
    quit(&mut a);

    let mut c = spawn(&dir, "carol", port);
    renamed(&mut c, "二组", &b.id);
    let mut a = spawn(&dir, "alice", port);
    // Alice's rename arrives now, after Bob's later one: taken, and the name stays.
    renamed(&mut c, "二组", &a.id);
    for who in [&mut a, &mut b, &mut c] {
        who.cmd(json!({"cmd":"rooms"}));
        let r = who.wait("rooms", |v| v["event"] == "rooms");
        assert_eq!(r["rooms"][0]["name"], "二组", "{}", who.id);
    }
}

//! Reach by address (issue 14 item 1), through the real binary on loopback: two nodes
//! that cannot hear each other's broadcasts (different discovery ports, different
//! loopback addresses) see each other after `add_peer`, chat, find each other again
//! after both restart, and stop after `remove_peer`; bad addresses are an `error`.

mod common;

use std::path::Path;

use common::{ChildNode, TempDir, free_udp_port};
use serde_json::{Value, json};

/// A headless node bound to `ip` (a loopback address) with its own discovery port.
fn node(name: &str, data: &Path, ip: &str, discovery_port: u16, extra: &[&str]) -> ChildNode {
    let port = discovery_port.to_string();
    let mut args = vec![
        "--no-ipmsg",
        "--bind",
        ip,
        "--discovery-port",
        &port,
        "--interval",
        "0.2",
        "--data-dir",
        data.to_str().expect("UTF-8 temp path"),
    ];
    args.extend_from_slice(extra);
    ChildNode::spawn(&[], &args, name)
}

fn joined(who: &str) -> impl Fn(&Value) -> bool + '_ {
    move |v| v["event"] == "peer_joined" && v["peer"]["name"] == who
}

/// The `net_status` entry for `addr` in the unicast list, asked until `pred` holds.
fn unicast_entry(n: &mut ChildNode, addr: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        n.cmd(json!({"cmd":"net_status"}));
        let status = n.wait("net_status", |v| v["event"] == "net_status");
        let entry = status["unicast"]
            .as_array()
            .expect("a unicast list")
            .iter()
            .find(|e| e["addr"] == addr)
            .cloned()
            .unwrap_or(Value::Null);
        if pred(&entry) {
            return entry;
        }
    }
}

fn quit(mut n: ChildNode) {
    n.cmd(json!({"cmd":"quit"}));
    n.wait("stopped", |v| v["event"] == "stopped");
    assert!(n.close_stdin_and_wait().success());
}

#[test]
fn a_peer_added_by_address_is_seen_both_ways_remembered_and_removed() {
    let dir = TempDir::new("reach");
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let (da, db) = (dir.join("alice"), dir.join("bob"));
    let mut a = node("alice", &da, "127.0.0.1", pa, &[]);
    let mut b = node("bob", &db, "127.0.0.2", pb, &[]);
    let bob_addr = format!("127.0.0.2:{pb}");
    let alice_addr = format!("127.0.0.1:{pa}");

    a.cmd(json!({"cmd":"add_peer","addr":format!(" 127.0.0.2:{pb} ")}));
    let added = a.wait("peer_added", |v| v["event"] == "peer_added");
    assert_eq!(added["addr"], json!(bob_addr));
    a.wait("bob by unicast", joined("bob"));
    b.wait("alice by her unicast beacon", joined("alice"));
    a.cmd(json!({"cmd":"send","to":"bob","text":"across the router"}));
    a.wait("delivered", |v| v["event"] == "delivered");
    let m = b.wait("message", |v| v["event"] == "message");
    assert_eq!(m["text"], "across the router");

    let on_a = unicast_entry(&mut a, &bob_addr, |e| e["state"] == "reached");
    assert_eq!(on_a["origin"], "added");
    assert!(on_a["last_heard"].as_u64().is_some());
    let on_b = unicast_entry(&mut b, &alice_addr, |e| !e.is_null());
    assert_eq!(on_b["origin"], "learned");

    // Both restart: each finds the other again with no add_peer.
    quit(a);
    quit(b);
    let mut b = node("bob", &db, "127.0.0.2", pb, &[]);
    let mut a = node("alice", &da, "127.0.0.1", pa, &[]);
    a.wait("remembered address", |v| {
        v["event"] == "peer_added" && v["addr"] == json!(bob_addr)
    });
    a.wait("bob again", joined("bob"));
    b.wait("alice again", joined("alice"));

    // Removed: a bye there, and silence both ways.
    a.cmd(json!({"cmd":"remove_peer","addr":bob_addr}));
    a.wait("peer_removed", |v| {
        v["event"] == "peer_removed" && v["addr"] == json!(bob_addr)
    });
    b.wait("alice's bye", |v| {
        v["event"] == "peer_left" && v["name"] == "alice" && v["reason"] == "bye"
    });
    a.wait("bob no longer answers", |v| {
        v["event"] == "peer_left" && v["name"] == "bob" && v["reason"] == "timeout"
    });
    unicast_entry(&mut a, &bob_addr, Value::is_null);
    // Bob restarts and tries the address he learned: Alice ignores it.
    quit(b);
    let _b = node("bob", &db, "127.0.0.2", pb, &[]);
    loop {
        a.cmd(json!({"cmd":"net_status"}));
        let s = a.wait("net_status", |v| v["event"] == "net_status");
        if s["counters"]["dropped"]["removed_address"].as_u64() > Some(0) {
            break;
        }
    }
    assert!(
        a.wait_for(std::time::Duration::ZERO, &joined("bob"))
            .is_none(),
        "a removed address's beacon made bob join"
    );
}

#[test]
fn peer_flag_reaches_at_start_and_bad_addresses_are_errors() {
    let dir = TempDir::new("reach-bad");
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let mut b = node("bob", &dir.join("bob"), "127.0.0.2", pb, &[]);
    let target = format!("127.0.0.2:{pb}");
    let mut a = node(
        "alice",
        &dir.join("alice"),
        "127.0.0.1",
        pa,
        &["--peer", &target, "--peer", "224.0.0.1"],
    );
    let e = a.wait("error for the multicast --peer", |v| v["event"] == "error");
    assert!(e["message"].as_str().unwrap().contains("224.0.0.1"), "{e}");
    a.wait("bob", joined("bob"));
    b.wait("alice", joined("alice"));

    let bad = [
        ("", "no address given"),
        ("10.0.0.1", "10.0.0.1:"),
        ("127.0.0.3:0", "127.0.0.3:0"),
        ("255.255.255.255", "255.255.255.255"),
        ("[::1]:47474", "[::1]:47474"),
        ("a b", "a b"),
    ];
    for (addr, want) in bad {
        a.cmd(json!({"cmd":"add_peer","addr":addr}));
        let e = a.wait("error", |v| v["event"] == "error");
        let msg = e["message"].as_str().unwrap();
        assert!(msg.starts_with("add_peer: "), "{msg}");
        assert!(msg.contains(want), "{addr:?} → {msg:?}");
    }
    a.cmd(json!({"cmd":"remove_peer","addr":"127.0.0.9"}));
    let e = a.wait("error", |v| v["event"] == "error");
    assert!(e["message"].as_str().unwrap().contains("127.0.0.9:"), "{e}");
}

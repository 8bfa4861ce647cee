//! Reach by address across a router (issue 14): two subnets in network namespaces
//! (`scripts/testlan.sh routed`: a bridge each, joined by a router namespace with
//! ip_forward on), one lanchat on each with its default binding. Broadcasts stay on
//! their subnet, so they never meet, until one is given the other's address: then both
//! see each other, a message is delivered, and after both restart they find each other
//! again with no address given.
//!
//! Needs root and iproute2 (`common::netns`: skipped where namespaces cannot be made,
//! unless `LANCHAT_REQUIRE_LAN=1`). Nothing here touches the root namespace.

mod common;

use common::netns::{self, Lan};
use common::{ChildNode, TempDir};
use serde_json::{Value, json};

/// `lanchat --headless` in host `host` (0: 10.78.1.10, 1: 10.78.2.10).
fn node(lan: &Lan, host: usize, data: &std::path::Path, name: &str) -> ChildNode {
    lan.node(host, data, name, &["--no-ipmsg"])
}

fn joined(name: &str, addr: &str) -> impl Fn(&Value) -> bool {
    let (name, addr) = (json!(name), json!(addr));
    move |v| v["event"] == "peer_joined" && v["peer"]["name"] == name && v["peer"]["addr"] == addr
}

fn quit(mut n: ChildNode) {
    n.cmd(json!({"cmd":"quit"}));
    n.wait("stopped", |v| v["event"] == "stopped");
    assert!(n.close_stdin_and_wait().success());
}

#[test]
fn a_peer_behind_a_router_is_reached_by_address_and_remembered() {
    let test = "a_peer_behind_a_router_is_reached_by_address_and_remembered";
    let Some(lan) = netns::or_skip(Lan::routed(1, 1, "r"), test) else {
        return;
    };
    let dir = TempDir::new("lan-reach");
    let (da, db) = (dir.join("ann"), dir.join("bob"));
    let mut a = node(&lan, 0, &da, "ann");
    let mut b = node(&lan, 1, &db, "bob");

    // Broadcast alone: bob has sent beacons, and ann heard none of them.
    a.cmd(json!({"cmd":"net_status"}));
    let status = a.wait("net_status", |v| v["event"] == "net_status");
    assert_eq!(status["broadcast_targets"], json!(["10.78.1.255:47474"]));
    loop {
        b.cmd(json!({"cmd":"net_status"}));
        let s = b.wait("net_status", |v| v["event"] == "net_status");
        if s["counters"]["beacons_sent"].as_u64() >= Some(3) {
            break;
        }
    }
    a.cmd(json!({"cmd":"net_status"}));
    let status = a.wait("net_status", |v| v["event"] == "net_status");
    assert_eq!(
        status["counters"]["beacons_received"],
        json!(0),
        "a broadcast crossed the router"
    );

    a.cmd(json!({"cmd":"add_peer","addr":"10.78.2.10"}));
    a.wait("peer_added", |v| {
        v["event"] == "peer_added" && v["addr"] == "10.78.2.10:47474"
    });
    a.wait("bob across the router", joined("bob", "10.78.2.10"));
    b.wait("ann across the router", joined("ann", "10.78.1.10"));
    a.cmd(json!({"cmd":"send","to":"bob","text":"hello from the other floor"}));
    a.wait("delivered", |v| v["event"] == "delivered");
    let m = b.wait("message", |v| v["event"] == "message");
    assert_eq!(m["text"], "hello from the other floor");

    // Both restart, bob first: ann tries him from history, and he her.
    quit(a);
    quit(b);
    let mut b = node(&lan, 1, &db, "bob");
    let mut a = node(&lan, 0, &da, "ann");
    a.wait("bob again", joined("bob", "10.78.2.10"));
    b.wait("ann again", joined("ann", "10.78.1.10"));
    b.cmd(json!({"cmd":"send","to":"ann","text":"still here"}));
    b.wait("delivered", |v| v["event"] == "delivered");
    let m = a.wait("message", |v| v["event"] == "message");
    assert_eq!(m["text"], "still here");
}

//! A real LAN: hosts in network namespaces on a private bridge (`scripts/testlan.sh`),
//! each running `lanchat --headless` with its default binding, two of them on one host.
//! Discovery must go through the directed broadcast address 10.77.0.255.
//!
//! Needs root and iproute2 (`common::netns`: skipped where namespaces cannot be made,
//! unless `LANCHAT_REQUIRE_LAN=1`). Nothing here touches the root namespace.

mod common;

use common::netns::{self, Lan};
use common::{ChildNode, TempDir};
use serde_json::{Value, json};

fn node(lan: &Lan, host: usize, dir: &TempDir, name: &str) -> ChildNode {
    // Default binding on purpose: the namespace's only non-loopback interface is the
    // private bridge, and this is the code path users run.
    lan.node(host, &dir.join(name), name, &[])
}

fn joined(n: &mut ChildNode, name: &str, addr: &str) {
    let (name, addr) = (name.to_owned(), addr.to_owned());
    n.wait(&format!("peer_joined {name}"), |v| {
        v["event"] == "peer_joined"
            && v["peer"]["name"] == json!(name)
            && v["peer"]["addr"] == json!(addr)
    });
}

#[test]
fn hosts_on_a_bridge_find_each_other_chat_shout_and_leave() {
    let test = "hosts_on_a_bridge_find_each_other_chat_shout_and_leave";
    let Some(lan) = netns::or_skip(Lan::up(3, "t"), test) else {
        return;
    };
    let dir = TempDir::new("lan");
    let mut a1 = node(&lan, 0, &dir, "ann");
    let mut a2 = node(&lan, 0, &dir, "安娜");
    let mut b = node(&lan, 1, &dir, "bob");
    let mut c = node(&lan, 2, &dir, "carol");

    // Everyone sees everyone, at the address of the host it runs on.
    for (me, others) in [
        (
            &mut a1,
            [
                ("安娜", "10.77.0.10"),
                ("bob", "10.77.0.11"),
                ("carol", "10.77.0.12"),
            ],
        ),
        (
            &mut a2,
            [
                ("ann", "10.77.0.10"),
                ("bob", "10.77.0.11"),
                ("carol", "10.77.0.12"),
            ],
        ),
        (
            &mut b,
            [
                ("ann", "10.77.0.10"),
                ("安娜", "10.77.0.10"),
                ("carol", "10.77.0.12"),
            ],
        ),
        (
            &mut c,
            [
                ("ann", "10.77.0.10"),
                ("安娜", "10.77.0.10"),
                ("bob", "10.77.0.11"),
            ],
        ),
    ] {
        for (name, addr) in others {
            joined(me, name, addr);
        }
    }

    // The beacons went to the bridge's directed broadcast address.
    b.cmd(json!({"cmd":"net_status"}));
    let st = b.wait("net_status", |v| v["event"] == "net_status");
    assert_eq!(st["broadcast_targets"], json!(["10.77.0.255:47474"]));
    assert_eq!(st["interfaces"][0]["name"], "eth0");
    assert_eq!(st["interfaces"][0]["addr"], "10.77.0.11");
    assert_eq!(st["interfaces"][0]["prefix"], 24);
    assert!(st["counters"]["beacons_received"].as_u64().unwrap() >= 3);

    // Chat across hosts, and between the two instances on one host.
    a1.cmd(json!({"cmd":"send","to":"carol","text":"跨主机 hello"}));
    a1.wait("delivered", |v| v["event"] == "delivered");
    let m = c.wait("message", |v| v["event"] == "message");
    assert_eq!(
        (m["from_name"].clone(), m["text"].clone()),
        (json!("ann"), json!("跨主机 hello"))
    );
    a2.cmd(json!({"cmd":"send","to":"ann","text":"same host"}));
    a2.wait("delivered", |v| v["event"] == "delivered");
    a1.wait("message", |v| {
        v["event"] == "message" && v["text"] == "same host"
    });

    // One shout reaches the three others.
    b.cmd(json!({"cmd":"shout","text":"大家好"}));
    for n in [&mut a1, &mut a2, &mut c] {
        let s = n.wait("shout", |v: &Value| v["event"] == "shout");
        assert_eq!(
            (s["from_name"].clone(), s["text"].clone()),
            (json!("bob"), json!("大家好"))
        );
    }

    // A clean exit is noticed at once; a killed host is gone at once where a link to it
    // was open (ann wrote to carol: the closed link is probed, the port refuses), and
    // times out elsewhere (or is gone too, if a link was open there as well).
    let a2_id = a2.id.clone();
    a2.cmd(json!({"cmd":"quit"}));
    assert!(a2.child.wait().unwrap().success());
    for n in [&mut a1, &mut b, &mut c] {
        n.wait("peer_left bye", |v| {
            v["event"] == "peer_left" && v["id"] == json!(a2_id) && v["reason"] == "bye"
        });
    }
    let c_id = c.id.clone();
    c.kill9();
    let left = a1.wait("peer_left gone", |v| {
        v["event"] == "peer_left" && v["id"] == json!(c_id)
    });
    assert_eq!(left["reason"], "gone", "{left}");
    b.wait("peer_left timeout or gone", |v| {
        v["event"] == "peer_left"
            && v["id"] == json!(c_id)
            && (v["reason"] == "timeout" || v["reason"] == "gone")
    });
}

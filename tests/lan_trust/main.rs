//! The trust attacks of issue 11, on a real LAN: hosts in network namespaces on a private
//! bridge (`scripts/testlan.sh`), each running `lanchat --headless` with its default
//! binding.
//!
//! - A passive capture of the bridge sees none of a chat's text, a file's name or bytes
//!   (and, as a control, does see the public shout and the bulk of the file crossing).
//! - mallory, a third host, replays bob's beacons and shouts from its own address,
//!   tampered copies too, listens on bob's port and dials alice claiming bob's id (a v1
//!   `hello`, and a v2 handshake under its own key with a sealed `hello` naming bob): alice's
//!   message still reaches the real bob, mallory gets nothing readable, and no shout
//!   shows under bob's name from mallory.
//! - A key changed under a verified peer's name is reported (`key_changed`), the new key
//!   is a separate unverified peer; the safety code is the same on both sides.
//!
//! Needs root and iproute2 (and tcpdump for the capture: `scripts/setup-debian.sh
//! --test`). Where namespaces or tcpdump are missing the tests say so on stderr and pass,
//! unless `LANCHAT_REQUIRE_LAN=1`, where they fail. Nothing here touches the root
//! namespace: the bridge lives in a namespace of its own.

mod capture;
#[path = "../common/mod.rs"]
mod common;
mod mallory;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use common::netns::{self, Lan, skip};
use common::{ChildNode, DEADLINE, TempDir};
use crossbeam_channel::{Receiver, unbounded};
use serde_json::{Value, json};

/// The namespaces' subnet.
const ALICE: &str = "10.77.0.10";
const BOB: &str = "10.77.0.11";
const BROADCAST: &str = "10.77.0.255";
const DISCOVERY: u16 = 47474;

/// `lanchat --headless` in host `host` (IPMsg off, downloads in the data dir), with
/// `extra`.
fn node(lan: &Lan, host: usize, data: &Path, name: &str, extra: &[&str]) -> ChildNode {
    let downloads = data.join("downloads");
    let mut args = vec![
        "--no-ipmsg",
        "--download-dir",
        downloads.to_str().expect("UTF-8 temp path"),
    ];
    args.extend_from_slice(extra);
    lan.node(host, data, name, &args)
}

/// The LAN of `n` hosts, or `None` after saying why the test is skipped (a failure
/// where the LAN is required). Each test has its own `tag`, so tests running at once
/// never share a namespace.
fn lan_or_skip(n: usize, tag: char, test: &str) -> Option<Lan> {
    netns::or_skip(Lan::up(n, &format!("t{tag}")), test)
}

fn joined(n: &mut ChildNode, id: &str) -> Value {
    let id = id.to_owned();
    n.wait(&format!("peer_joined {id}"), |v| {
        v["event"] == "peer_joined" && v["peer"]["id"] == json!(id)
    })
}

/// Whether `needle` occurs anywhere in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Lines a child process writes to a pipe, read on a named thread.
fn lines(from: impl Read + Send + 'static, name: &str) -> Receiver<String> {
    let (tx, rx) = unbounded();
    std::thread::Builder::new()
        .name(format!("test-{name}"))
        .spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
        .expect("spawn a reader thread");
    rx
}

/// Waits for a line that `pred` accepts.
fn wait_line(rx: &Receiver<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
    loop {
        match rx.recv_timeout(DEADLINE) {
            Ok(line) if pred(&line) => return line,
            Ok(_) => {}
            Err(e) => panic!("no {what} within {DEADLINE:?}: {e}"),
        }
    }
}

#[test]
fn a_key_changed_under_a_verified_name_is_reported_and_codes_agree() {
    let test = "a_key_changed_under_a_verified_name_is_reported_and_codes_agree";
    let Some(lan) = lan_or_skip(2, 'k', test) else {
        return;
    };
    let dir = TempDir::new("lan-keys");
    let bob_dir = dir.join("bob");
    let mut alice = node(&lan, 0, &dir.join("alice"), "alice", &[]);
    let mut bob = node(&lan, 1, &bob_dir, "bob", &[]);
    joined(&mut alice, &bob.id);
    joined(&mut bob, &alice.id);

    // The same sixty digits on both screens.
    alice.cmd(json!({"cmd":"safety_code","peer":bob.id}));
    bob.cmd(json!({"cmd":"safety_code","peer":alice.id}));
    let a = alice.wait("safety_code", |v| v["event"] == "safety_code");
    let b = bob.wait("safety_code", |v| v["event"] == "safety_code");
    assert_eq!(a["code"], b["code"]);
    let digits: String = a["code"].as_str().expect("code").split(' ').collect();
    assert_eq!(digits.len(), 60, "{a}");

    alice.cmd(json!({"cmd":"verify","peer":bob.id}));
    alice.wait("bob verified", |v| {
        v["event"] == "peer_changed"
            && v["peer"]["id"] == json!(bob.id)
            && v["peer"]["verified"] == true
    });

    // bob's key file is replaced (another installation's key), and bob starts again.
    bob.cmd(json!({"cmd":"quit"}));
    assert!(bob.child.wait().expect("bob exits").success());
    let other = TempDir::new("other-key");
    lanchat::trust::identity::load_or_create(&other.0).expect("make another key");
    std::fs::copy(other.join("identity.key"), bob_dir.join("identity.key")).expect("replace");
    let old_id = bob.id.clone();
    let mut bob = node(&lan, 1, &bob_dir, "bob", &[]);
    assert_ne!(bob.id, old_id, "another key is another id");

    let warned = alice.wait("key_changed", |v| v["event"] == "key_changed");
    assert_eq!(warned["name"], "bob");
    assert_eq!(warned["verified_peer"], json!(old_id));
    assert_eq!(warned["peer"]["id"], json!(bob.id));
    assert_eq!(warned["peer"]["verified"], false);
    assert_eq!(warned["peer"]["key_changed_from"], json!(old_id));
    alice.cmd(json!({"cmd":"peers"}));
    let peers = alice.wait("peers", |v| v["event"] == "peers");
    let find = |id: &str| {
        peers["peers"]
            .as_array()
            .expect("peers")
            .iter()
            .find(|p| p["id"] == json!(id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {peers}"))
    };
    assert_eq!(
        find(&old_id)["verified"],
        true,
        "the verified key stays verified"
    );
    assert_eq!(find(&bob.id)["verified"], false, "never merged");
    joined(&mut bob, &alice.id);
}

//! `lanchat --headless` as a child process: the JSON contract, flags, and `kill -9`.

use std::fs;

use serde_json::json;

use crate::common::{ChildNode, TempDir, TestNode, free_udp_port};
use crate::{PNG, config, listing, noise, wait_done};
use lanchat::node::Event;

/// The headless contract end to end: `lanchat --headless --auto-accept --download-dir`.
#[test]
fn headless_send_file_with_auto_accept_and_download_dir() {
    let dir = TempDir::new("hl-files");
    let port = free_udp_port().to_string();
    let args = |name: &str, extra: &[&str]| {
        let data = dir.join(name).to_str().unwrap().to_owned();
        let mut v: Vec<String> = [
            "--no-ipmsg",
            "--bind",
            "127.0.0.1",
            "--discovery-port",
            &port,
            "--interval",
            "0.2",
            "--data-dir",
            &data,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let dl = dir.join("inbox");
    let dl_arg = dl.to_str().unwrap().to_owned();
    let a_dl = dir.join("alice-inbox").to_str().unwrap().to_owned();
    let a_args = args("alice", &["--download-dir", &a_dl]);
    let b_args = args("bob", &["--auto-accept", "--download-dir", &dl_arg]);
    fn as_refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let mut a = ChildNode::spawn(&[], &as_refs(&a_args), "alice");
    let mut b = ChildNode::spawn(&[], &as_refs(&b_args), "bob");
    a.wait("bob", |v| v["event"] == "peer_joined");
    let src = dir.join("dot.png");
    fs::write(&src, PNG).unwrap();
    a.cmd(json!({"cmd":"send_file","to":"bob","path":src}));
    let sent = a.wait("offer_sent", |v| v["event"] == "offer_sent");
    let tid = sent["transfer_id"].clone();
    assert_eq!(
        sent,
        json!({"event":"offer_sent","transfer_id":tid,"to":b.id,"name":"dot.png",
               "size":PNG.len(),"mime":"image/png"})
    );
    let offer = b.wait("file_offer", |v| v["event"] == "file_offer");
    assert_eq!(
        offer,
        json!({"event":"file_offer","transfer_id":tid,"from":a.id,"name":"dot.png",
               "size":PNG.len(),"mime":"image/png","verified":false})
    );
    let done = b.wait("transfer_done", |v| v["event"] == "transfer_done");
    let landed = dl.join("dot.png");
    assert_eq!(
        done,
        json!({"event":"transfer_done","transfer_id":tid,"path":landed})
    );
    a.wait("sender's transfer_done", |v| {
        v["event"] == "transfer_done" && v["transfer_id"] == tid
    });
    assert_eq!(fs::read(landed).unwrap(), PNG);
    // A bad id is an error event, and the node keeps going.
    b.cmd(json!({"cmd":"accept","transfer_id":"nope"}));
    let e = b.wait("error", |v| v["event"] == "error");
    assert!(e["message"].as_str().unwrap().contains("no offer"));
}

/// `kill -9` of a sending `lanchat --headless` midway; restarted on the same data dir, it
/// offers the file again and the receiver asks only for the rest.
#[test]
fn a_sender_killed_with_sigkill_resumes_after_restart() {
    let dir = TempDir::new("kill9");
    let port = free_udp_port();
    let mut cb = config(&dir.0, "bob", port);
    cb.auto_accept = true;
    let mut b = TestNode::start_with(cb);
    let bytes = noise(6_000_000, 99);
    let src = dir.join("big.bin");
    fs::write(&src, &bytes).unwrap();
    let alice_dir = dir.join("alice");
    let alice_dl = dir.join("alice-downloads");
    let start_alice = |extra: &[&str]| {
        let port = port.to_string();
        let mut args = vec![
            "--no-ipmsg",
            "--bind",
            "127.0.0.1",
            "--discovery-port",
            &port,
            "--interval",
            "0.2",
            "--data-dir",
            alice_dir.to_str().unwrap(),
            "--download-dir",
            alice_dl.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ChildNode::spawn(&[], &args, "alice")
    };
    let mut a = start_alice(&["--max-send-rate", "2000000"]);
    a.wait("bob", |v| v["event"] == "peer_joined");
    a.cmd(json!({"cmd":"send_file","to":b.id,"path":src}));
    let tid = a.wait("offer_sent", |v| v["event"] == "offer_sent")["transfer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.wait(
        "a megabyte",
        |e| matches!(e, Event::TransferProgress { bytes, .. } if *bytes >= 1_000_000),
    );
    a.kill9();
    b.wait(
        "transfer_interrupted",
        |e| matches!(e, Event::TransferInterrupted { transfer_id, .. } if *transfer_id == tid),
    );
    let mut a = start_alice(&[]);
    a.wait("bob again", |v| v["event"] == "peer_joined");
    // It offers the transfer again by itself; sending the same file again changes
    // nothing but is answered as before.
    a.cmd(json!({"cmd":"send_file","to":b.id,"path":src}));
    let again = a.wait("offer_sent", |v| v["event"] == "offer_sent");
    assert_eq!(again["transfer_id"], tid.as_str());
    let resumed = a.wait("transfer_started", |v| v["event"] == "transfer_started");
    assert_eq!(resumed["transfer_id"], tid.as_str());
    assert!(
        resumed["offset"].as_u64().unwrap() >= 1_000_000,
        "{resumed}"
    );
    let got = wait_done(&mut b, &tid);
    a.wait("transfer_done", |v| v["event"] == "transfer_done");
    assert!(fs::read(&got).unwrap() == bytes, "whole file, right hash");
    assert_eq!(listing(&dir.join("bob-downloads")), ["big.bin"]);
}

//! The headless contract, through the real binary: JSON lines in, JSON lines out, errors
//! for every bad line, and a bye on every way of stopping.

mod common;

use common::{ChildNode, TempDir, free_udp_port};
use serde_json::json;

fn spawn(dir: &TempDir, who: &str, port: u16) -> ChildNode {
    ChildNode::loopback(who, &dir.join(who), port, "0.2")
}

#[test]
fn two_instances_chat_by_name() {
    let dir = TempDir::new("hl-chat");
    let port = free_udp_port();
    let mut a = spawn(&dir, "alice", port);
    let mut b = spawn(&dir, "bob", port);
    let ready_fields = json!({"id": a.id, "port": a.port, "discovery_port": port});
    assert!(ready_fields["port"].as_u64().unwrap() > 0);
    a.wait("peer_joined bob", |v| {
        v["event"] == "peer_joined"
            && v["peer"]["name"] == "bob"
            && v["peer"]["addr"] == "127.0.0.1"
    });
    a.cmd(json!({"cmd":"send","to":"bob","text":"你好 bob"}));
    let sent = a.wait("sent", |v| v["event"] == "sent");
    assert_eq!(sent["to"], json!(b.id));
    let msg_id = sent["msg_id"].clone();
    a.wait("delivered", |v| {
        v["event"] == "delivered" && v["msg_id"] == msg_id
    });
    let m = b.wait("message", |v| v["event"] == "message");
    assert_eq!(m["text"], "你好 bob");
    assert_eq!(m["from"], json!(a.id));
    assert_eq!(m["msg_id"], msg_id);
    assert!(m["sent_at"].as_u64().unwrap() > 1_600_000_000_000);

    b.cmd(json!({"cmd":"shout","text":"hello all"}));
    let s = a.wait("shout", |v| v["event"] == "shout");
    assert_eq!(
        (s["from"].clone(), s["text"].clone()),
        (json!(b.id), json!("hello all"))
    );

    a.cmd(json!({"cmd":"peers"}));
    let p = a.wait("peers", |v| v["event"] == "peers");
    assert_eq!(p["peers"][0]["name"], "bob");
    assert_eq!(p["peers"][0]["online"], true);
}

#[test]
fn every_bad_line_gets_an_error_and_the_process_keeps_running() {
    let dir = TempDir::new("hl-bad");
    let port = free_udp_port();
    let mut a = spawn(&dir, "alice", port);
    let bad = [
        ("not json", "bad command line"),
        ("[1,2,3]", "bad command line"),
        (r#"{"cmd":"dance"}"#, "unknown command"),
        (r#"{"text":"no cmd"}"#, "missing field `cmd`"),
        (r#"{"cmd":"send","to":"x"}"#, "missing field `text`"),
        (r#"{"cmd":"send","to":"nobody","text":"x"}"#, "unknown peer"),
        (r#"{"cmd":"send","to":"someone","text":""}"#, "empty"),
        (r#"{"cmd":"rename","name":"\u0007"}"#, "empty"),
    ];
    for (line, want) in bad {
        a.line(line);
        let e = a.wait("error", |v| v["event"] == "error");
        let msg = e["message"].as_str().unwrap();
        assert!(msg.contains(want), "{line:?} → {msg:?}, expected {want:?}");
    }
    // Non-UTF-8 bytes.
    {
        use std::io::Write;
        let stdin = a.stdin.as_mut().unwrap();
        stdin.write_all(b"\xff\xfe\n").unwrap();
        stdin.flush().unwrap();
    }
    let e = a.wait("error", |v| v["event"] == "error");
    assert!(e["message"].as_str().unwrap().contains("UTF-8"));
    // Still alive and answering.
    a.cmd(json!({"cmd":"rename","name":"阿丽"}));
    a.wait("renamed", |v| {
        v["event"] == "renamed" && v["name"] == "阿丽"
    });
}

#[test]
fn end_of_input_says_bye() {
    let dir = TempDir::new("hl-eof");
    let port = free_udp_port();
    let mut a = spawn(&dir, "alice", port);
    let mut b = spawn(&dir, "bob", port);
    a.wait("bob", |v| v["event"] == "peer_joined");
    let status = b.close_stdin_and_wait();
    assert!(status.success(), "clean exit on EOF: {status}");
    let left = a.wait("peer_left", |v| v["event"] == "peer_left");
    assert_eq!(
        left,
        json!({"event":"peer_left","id":b.id,"reason":"bye","name":"bob","protocol":"lanchat"})
    );
}

#[test]
fn quit_command_says_bye() {
    let dir = TempDir::new("hl-quit");
    let port = free_udp_port();
    let mut a = spawn(&dir, "alice", port);
    let mut b = spawn(&dir, "bob", port);
    a.wait("bob", |v| v["event"] == "peer_joined");
    b.cmd(json!({"cmd":"quit"}));
    b.wait("stopped", |v| v["event"] == "stopped");
    assert!(b.child.wait().unwrap().success());
    a.wait("peer_left bye", |v| {
        v["event"] == "peer_left" && v["reason"] == "bye"
    });
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_say_bye() {
    let dir = TempDir::new("hl-sig");
    let port = free_udp_port();
    let mut a = spawn(&dir, "alice", port);
    for (who, sig) in [("bob", "-TERM"), ("carol", "-INT")] {
        let mut b = spawn(&dir, who, port);
        let id = b.id.clone();
        a.wait("joined", |v| {
            v["event"] == "peer_joined" && v["peer"]["id"] == json!(id)
        });
        let st = std::process::Command::new("kill")
            .args([sig, &b.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        b.wait("stopped", |v| v["event"] == "stopped");
        assert!(b.child.wait().unwrap().success());
        a.wait("peer_left bye", |v| {
            v["event"] == "peer_left" && v["id"] == json!(id) && v["reason"] == "bye"
        });
    }
}

#[test]
fn a_second_instance_on_the_same_data_dir_is_refused_clearly() {
    let dir = TempDir::new("hl-lock");
    let port = free_udp_port();
    let _a = spawn(&dir, "alice", port);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lanchat"))
        .arg("--headless")
        .args(["--bind", "127.0.0.1", "--discovery-port", &port.to_string()])
        .arg("--data-dir")
        .arg(dir.join("alice"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another lanchat"), "{err}");
}

#[test]
fn answers_carry_the_request_id_they_were_asked_with() {
    let dir = TempDir::new("hl-reqid");
    let port = free_udp_port();
    let mut a = spawn(&dir, "alice", port);
    a.cmd(json!({"cmd":"peers","request_id":7}));
    let p = a.wait("peers", |v| v["event"] == "peers");
    assert_eq!(p["request_id"], 7);
    a.cmd(json!({"cmd":"net_status","request_id":8}));
    let s = a.wait("net_status", |v| v["event"] == "net_status");
    assert_eq!(s["request_id"], 8);
    // A command that fails: its error is the answer.
    a.cmd(json!({"cmd":"send","to":"nobody","text":"x","request_id":9}));
    let e = a.wait("error", |v| v["event"] == "error");
    assert_eq!(e["request_id"], 9);
    assert!(e["message"].as_str().unwrap().contains("unknown peer"));
    // A line that is not a command still has its id read.
    a.line(r#"{"cmd":"dance","request_id":10}"#);
    let e = a.wait("error", |v| v["event"] == "error");
    assert_eq!(e["request_id"], 10);
    // Without an id, none: the JSON is what it always was.
    a.cmd(json!({"cmd":"peers"}));
    let p = a.wait("peers", |v| v["event"] == "peers");
    assert!(p.get("request_id").is_none(), "{p}");
    // A state change goes to everyone, with no id.
    a.cmd(json!({"cmd":"rename","name":"alicia","request_id":11}));
    let r = a.wait("renamed", |v| v["event"] == "renamed");
    assert!(r.get("request_id").is_none(), "{r}");
}

//! The page for browsers against lanchat itself: `lanchat --headless --web-port 0` on
//! loopback and a browser-like client (the contract: `web_ready`, visitors in
//! `peer_joined`/`peer_left` with `"protocol":"web"`, `send`, `send_file`, `accept`,
//! `decline` on them), and two in-process nodes whose chat goes on under a flood of
//! requests to the page.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use lanchat::config::Config;
use lanchat::node::{Command, Event, Protocol};
use serde_json::{Value, json};

use crate::common::{ChildNode, TestNode, free_udp_port};
use crate::harness::*;

fn host(dir: &TempDir, extra: &[&str]) -> (ChildNode, String) {
    let data = dir.join("data");
    let inbox = dir.join("inbox");
    let port = free_udp_port().to_string();
    let mut args = vec![
        "--bind",
        "127.0.0.1",
        "--discovery-port",
        &port,
        "--web-port",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
        "--download-dir",
        inbox.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut node = ChildNode::spawn(&[], &args, "主机");
    let ready = node.wait("web_ready", |v| v["event"] == "web_ready");
    let url = ready["url"].as_str().expect("a link").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
    assert_eq!(ready["links"], json!([url]));
    (node, url)
}

#[test]
fn a_browser_visitor_chats_and_swaps_files_with_lanchat_headless() {
    let dir = TempDir::new("web-headless");
    let (mut node, url) = host(&dir, &[]);
    assert_eq!(get(&url.replace("/t/", "/t/0"), None).status, 403);

    let visitor = Visitor::join(&url, "小红");
    let joined = node.wait("the visitor", |v| {
        v["event"] == "peer_joined" && v["peer"]["protocol"] == "web"
    });
    assert_eq!(joined["peer"]["name"], "小红");
    let peer = joined["peer"]["id"].as_str().unwrap().to_owned();
    let events = visitor.events(0, None);

    // Chinese both ways, delivered both ways.
    assert_eq!(visitor.say("c1", "你好，主人！").status, 202);
    let said = node.wait("their message", |v| v["event"] == "message");
    assert_eq!(
        (said["from"].as_str(), said["text"].as_str()),
        (Some(peer.as_str()), Some("你好，主人！"))
    );
    events.next("message");
    let (_, delivered) = events.next("delivered");
    assert_eq!(delivered["id"], "c1");
    node.cmd(json!({"cmd": "send", "to": "小红", "text": "欢迎！🎉"}));
    let (cursor, ours) = events.next("message");
    assert_eq!(
        (ours["from"].as_str(), ours["text"].as_str()),
        (Some("host"), Some("欢迎！🎉"))
    );
    let seen = visitor.post_json("api/seen", &json!({"upto": cursor.unwrap()}));
    assert_eq!(seen.status, 204);
    node.wait("delivered", |v| {
        v["event"] == "delivered" && v["to"] == peer.as_str()
    });

    // Their file waits for the accept, then lands with the same bytes.
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let r = visitor.upload("测试 文件.bin", &bytes);
    assert_eq!(r.status, 202, "{}", r.text());
    let offer = node.wait("file_offer", |v| v["event"] == "file_offer");
    assert_eq!(
        (offer["from"].as_str(), offer["size"].as_u64()),
        (Some(peer.as_str()), Some(300_000))
    );
    assert!(
        !dir.join("inbox").join("测试 文件.bin").exists(),
        "nothing before the accept"
    );
    let id = offer["transfer_id"].as_str().unwrap().to_owned();
    node.cmd(json!({"cmd": "accept", "transfer_id": id}));
    let done = node.wait("transfer_done", |v| {
        v["event"] == "transfer_done" && v["transfer_id"] == id.as_str()
    });
    let landed = std::path::PathBuf::from(done["path"].as_str().unwrap());
    assert_eq!(landed.file_name().unwrap(), "测试 文件.bin");
    assert_eq!(std::fs::read(&landed).unwrap(), bytes);
    events.next("upload");
    let (_, state) = events.next("transfer");
    assert_eq!(state["state"], "accepted");

    // A second one declined: nothing lands.
    visitor.upload("不要.txt", b"no");
    let offer = node.wait("file_offer", |v| v["event"] == "file_offer");
    let id = offer["transfer_id"].as_str().unwrap().to_owned();
    node.cmd(json!({"cmd": "decline", "transfer_id": id}));
    node.wait("declined", |v| {
        v["event"] == "transfer_failed" && v["kind"] == "declined"
    });
    assert!(!dir.join("inbox").join("不要.txt").exists());

    // Our file: offered on their page, done once fetched.
    let ours = dir.join("说明.txt");
    std::fs::File::create(&ours)
        .and_then(|mut f| f.write_all("这是一个测试文件。\n".as_bytes()))
        .unwrap();
    node.cmd(json!({"cmd": "send_file", "to": peer, "path": ours}));
    let sent = node.wait("offer_sent", |v| v["event"] == "offer_sent");
    let (_, file) = loop {
        let (id, v) = events.next_any();
        if v["kind"] == "file" {
            break (id, v);
        }
    };
    assert_eq!(file["name"], "说明.txt");
    let fetched = visitor.get(&format!("file/{}", file["id"].as_str().unwrap()));
    assert_eq!(fetched.body, std::fs::read(&ours).unwrap());
    node.wait("transfer_done", |v| {
        v["event"] == "transfer_done" && v["transfer_id"] == sent["transfer_id"]
    });

    // The visitor closes the tab.
    drop(events);
    assert_eq!(visitor.post_json("api/leave", &json!({})).status, 204);
    let left = node.wait("peer_left", |v| v["event"] == "peer_left");
    assert_eq!(
        (
            left["id"].as_str(),
            left["protocol"].as_str(),
            left["name"].as_str()
        ),
        (Some(peer.as_str()), Some("web"), Some("小红"))
    );

    // A new link: the old one stops working.
    node.cmd(json!({"cmd": "web_new_link"}));
    let renewed = node.wait("web_ready", |v| v["event"] == "web_ready");
    assert_ne!(renewed["url"].as_str(), Some(url.as_str()));
    assert_eq!(get(&url, None).status, 403);
    node.cmd(json!({"cmd": "web_stop"}));
    node.wait("web_stopped", |v| v["event"] == "web_stopped");
    node.cmd(json!({"cmd": "quit"}));
    node.wait("stopped", |v: &Value| v["event"] == "stopped");
}

#[test]
fn a_visitor_back_after_a_while_sees_the_conversation_from_history() {
    let dir = TempDir::new("web-back");
    let (mut node, url) = host(&dir, &[]);
    let visitor = Visitor::join(&url, "阿明");
    let joined = node.wait("the visitor", |v| v["event"] == "peer_joined");
    let peer = joined["peer"]["id"].as_str().unwrap().to_owned();
    assert_eq!(visitor.say("c1", "第一句").status, 202);
    node.wait("their message", |v| v["event"] == "message");
    {
        let events = visitor.events(0, None);
        events.next("message");
        events.next("delivered");
    } // the phone sleeps: no stream, then the visitor is gone
    assert_eq!(visitor.post_json("api/leave", &json!({})).status, 204);
    node.wait("peer_left", |v| {
        v["event"] == "peer_left" && v["id"] == peer.as_str()
    });
    node.cmd(json!({"cmd": "send", "to": peer, "text": "你还在吗？"}));
    node.wait("sent", |v| v["event"] == "sent");

    assert_eq!(visitor.get("api/info").json()["returning"]["name"], "阿明");
    assert_eq!(
        visitor
            .post_json("api/join", &json!({"name": "阿明"}))
            .status,
        200
    );
    node.wait("back", |v| {
        v["event"] == "peer_joined" && v["peer"]["id"] == peer.as_str()
    });
    let events = visitor.events(0, None);
    let (_, mine) = events.next("message");
    assert_eq!(
        (mine["from"].as_str(), mine["text"].as_str()),
        (Some("me"), Some("第一句"))
    );
    events.next("delivered");
    let (_, waited) = events.next("message");
    assert_eq!(
        (waited["from"].as_str(), waited["text"].as_str()),
        (Some("host"), Some("你还在吗？"))
    );
    node.cmd(json!({"cmd": "quit"}));
    node.wait("stopped", |v: &Value| v["event"] == "stopped");
}

#[test]
fn the_hosts_own_chat_keeps_working_under_a_browser_flood() {
    let (da, db) = (TempDir::new("web-flood-a"), TempDir::new("web-flood-b"));
    let discovery = free_udp_port();
    let mut config = Config::loopback(da.0.clone(), discovery);
    config.name = Some("a".into());
    config.interval = Duration::from_millis(200);
    config.web_port = Some(0);
    let mut a = TestNode::start_with(config);
    let mut b = TestNode::start("b", &db.0, discovery);
    let url = match a.wait("web_ready", |e| matches!(e, Event::WebReady { .. })) {
        Event::WebReady { url, .. } => url,
        _ => unreachable!(),
    };
    a.wait_joined(&b.id);
    b.wait_joined(&a.id);
    let server: SocketAddr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // Visitors join and say things as fast as they can, from many addresses, while
    // strangers hammer wrong tokens.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let floods: Vec<_> = (0..4u8)
        .map(|n| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("flood-{n}"))
                .spawn(move || {
                    let visitor = Visitor::join(&url, &format!("flood{n}"));
                    let wrong = url.replace("/t/", "/t/f");
                    let mut i = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i += 1;
                        let _ = visitor.say(&format!("m{i}"), "刷屏");
                        let mut s = raw(server, std::net::IpAddr::from([127, 0, 1, n + 1]));
                        let _ = raw_status(
                            &mut s,
                            format!("GET {wrong} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                        );
                    }
                    i
                })
                .unwrap()
        })
        .collect();
    for i in 0..20 {
        a.chat(&b.id, &format!("a→b {i}"));
        b.chat(&a.id, &format!("b→a {i}"));
    }
    for i in 0..20 {
        let text = format!("a→b {i}");
        b.wait(
            &text,
            |e| matches!(e, Event::Message { text: t, .. } if *t == text),
        );
        let text = format!("b→a {i}");
        a.wait(
            &text,
            |e| matches!(e, Event::Message { text: t, .. } if *t == text),
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let said: u64 = floods.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(said > 0);
    let visitors = a
        .drain()
        .into_iter()
        .filter(|e| matches!(e, Event::PeerJoined { peer } if peer.protocol == Protocol::Web))
        .count();
    assert!(
        visitors <= 4,
        "the flood's visitors are peers, nothing more"
    );
    a.send(Command::Quit);
}

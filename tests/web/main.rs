//! The page for browsers against a fake host, over loopback: the token, joining, messages
//! both ways in Chinese, the cursor a reload replays from, leaving, revoking, stopping.
//! Files both ways are in `files.rs`, hostile requests in `hostile.rs`, the page against
//! lanchat itself in `node.rs`.

#[path = "../common/mod.rs"]
mod common;
mod files;
mod harness;
mod hostile;
mod node;

use harness::*;
use lanchat::web::{WebInput, WebOutput};
use serde_json::json;

#[test]
fn without_the_token_nothing_is_learned() {
    let fake = Fake::start();
    let url = fake.url();
    let base = format!("http://{}", fake.addr());
    let token = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let mut wrong = token.clone().into_bytes();
    wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    for path in [
        "/".to_owned(),
        "/index.html".to_owned(),
        "/t/".to_owned(),
        format!("/t/{wrong}/"),
        format!("/t/{wrong}/api/info"),
        format!("/t/{}/", &token[..31]),
        format!("/t/{token}x/api/info"),
        format!("/T/{token}/"),
    ] {
        let r = get(&format!("{base}{path}"), None);
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.text(), "forbidden\n", "{path}");
        assert!(!r.text().contains("主机"));
        assert!(
            r.headers
                .iter()
                .all(|(_, v)| !v.contains("主机") && !v.contains("Host"))
        );
    }
    let r = post_json(
        &format!("{base}/t/{wrong}/api/join"),
        None,
        &json!({"name": "x"}),
    );
    assert_eq!(r.status, 403);
    fake.expect_nothing();

    // With it: the page, its files, the host's name.
    let page = get(&url, None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("role=\"log\""));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(get(&format!("{url}app.js"), None).status, 200);
    assert_eq!(get(&format!("{url}style.css"), None).status, 200);
    let info = get(&format!("{url}api/info"), None).json();
    assert_eq!(info["host"], "主机 Host");
    assert_eq!(info["visitor"], serde_json::Value::Null);
    assert_eq!(info["encrypted"], false);
    let r = get(url.trim_end_matches('/'), None);
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some(format!("/t/{token}/").as_str()));
}

#[test]
fn messages_go_both_ways_in_chinese_and_are_marked() {
    let fake = Fake::start();
    let (visitor, id) = fake.join("小明");
    let info = visitor.get("api/info").json();
    assert_eq!(info["visitor"]["name"], "小明");
    let events = visitor.events(0, None);

    assert_eq!(visitor.say("m1", "你好，世界！\n第二行").status, 202);
    match fake.expect("said", |i| matches!(i, WebInput::Said { .. })) {
        WebInput::Said {
            visitor: v,
            client_msg_id,
            text,
        } => {
            assert_eq!(
                (v, client_msg_id.as_str(), text.as_str()),
                (id.clone(), "m1", "你好，世界！\n第二行")
            );
        }
        _ => unreachable!(),
    }
    let (seq, mine) = events.next("message");
    assert_eq!(seq, Some(1));
    assert_eq!(mine["from"], "me");
    assert_eq!(mine["text"], "你好，世界！\n第二行");

    // A retried send (same id) is answered but not reported twice.
    let again = visitor.say("m1", "你好，世界！\n第二行");
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["repeat"], true);

    let delivered = WebOutput::Delivered {
        client_msg_id: "m1".into(),
    };
    fake.server.push(&id, delivered).unwrap();
    assert_eq!(events.next("delivered").1["id"], "m1");

    let hello = WebOutput::Message {
        id: "h1".into(),
        text: "欢迎光临 🎉".into(),
        time_ms: 7,
    };
    fake.server.push(&id, hello).unwrap();
    let (seq, msg) = events.next("message");
    assert_eq!(
        (msg["from"].as_str(), msg["text"].as_str()),
        (Some("host"), Some("欢迎光临 🎉"))
    );
    let r = visitor.post_json("api/seen", &json!({"upto": seq.unwrap()}));
    assert_eq!(r.status, 204);
    match fake.expect("seen", |i| matches!(i, WebInput::Seen { .. })) {
        WebInput::Seen { ids, .. } => assert_eq!(ids, ["h1"]),
        _ => unreachable!(),
    }
    visitor.post_json("api/seen", &json!({"upto": 99}));
    fake.expect_nothing();
}

#[test]
fn a_reload_replays_the_conversation_from_its_cursor() {
    let fake = Fake::start();
    let (visitor, id) = fake.join("a");
    for n in 0..3 {
        let m = WebOutput::Message {
            id: format!("h{n}"),
            text: format!("第{n}条"),
            time_ms: 0,
        };
        fake.server.push(&id, m).unwrap();
    }
    visitor.say("c1", "mine");
    fake.expect("said", |i| matches!(i, WebInput::Said { .. }));

    // A reload: everything again, in order.
    let all = visitor.events(0, None);
    let texts: Vec<String> = (0..4)
        .map(|_| all.next("message").1["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["第0条", "第1条", "第2条", "mine"]);
    // A reconnect with Last-Event-ID: only what came after.
    let tail = visitor.events(0, Some(3));
    let (seq, mine) = tail.next("message");
    assert_eq!(
        (seq, &mine["text"], &mine["from"]),
        (Some(4), &json!("mine"), &json!("me"))
    );
    // A stream opened from a cursor gets live events too.
    fake.server
        .push(
            &id,
            WebOutput::Message {
                id: "h9".into(),
                text: "live".into(),
                time_ms: 0,
            },
        )
        .unwrap();
    assert_eq!(tail.next("message").0, Some(5));
    assert_eq!(all.next("message").0, Some(5));
}

#[test]
fn a_visitor_who_closes_the_tab_leaves_and_their_upload_goes() {
    let fake = Fake::start();
    let (visitor, id) = fake.join("a");
    visitor.upload("x.bin", b"waiting");
    let WebInput::Uploaded { spool_path, .. } =
        fake.expect("uploaded", |i| matches!(i, WebInput::Uploaded { .. }))
    else {
        unreachable!()
    };
    let tab = raw_events(&fake, &visitor);
    drop(tab); // the tab closes; leave_after is short in these tests
    fake.expect("left", |i| {
        i == &WebInput::Left {
            visitor: id.clone(),
        }
    });
    assert!(!spool_path.exists());
    assert_eq!(visitor.get("api/events").status, 401);
    assert_eq!(visitor.say("m", "late").status, 401);
    let late = WebOutput::Delivered {
        client_msg_id: "m".into(),
    };
    assert!(
        fake.server.push(&id, late).is_err(),
        "a visitor who left is unknown"
    );

    // The page says it is leaving, and its stream closes: gone after a short grace.
    let (b, id) = fake.join("b");
    let tab = raw_events(&fake, &b);
    let other_tab = raw_events(&fake, &b);
    assert_eq!(b.post_json("api/leave", &json!({})).status, 204);
    drop(tab);
    fake.expect_nothing();
    drop(other_tab);
    fake.expect("left", |i| {
        i == &WebInput::Left {
            visitor: id.clone(),
        }
    });
}

#[test]
fn a_visitor_who_left_comes_back_as_themselves() {
    let fake = Fake::start();
    let (visitor, id) = fake.join("小明");
    let tab = raw_events(&fake, &visitor);
    drop(tab); // a phone asleep: the stream is gone, and after a while the visitor
    fake.expect("left", |i| {
        i == &WebInput::Left {
            visitor: id.clone(),
        }
    });
    let info = visitor.get("api/info").json();
    assert_eq!(info["visitor"], serde_json::Value::Null);
    assert_eq!(
        info["returning"]["name"], "小明",
        "the page can rejoin by itself"
    );
    assert_eq!(
        visitor.get("api/events").status,
        401,
        "not here until they rejoin"
    );
    let r = visitor.post_json("api/join", &json!({"name": "小明"}));
    assert_eq!(r.status, 200, "{}", r.text());
    fake.expect(
        "the same visitor joined again",
        |i| matches!(i, WebInput::Joined { visitor, .. } if *visitor == id),
    );
    assert_eq!(visitor.say("back", "我回来了").status, 202);
    assert_eq!(
        visitor.get("api/info").json()["returning"],
        serde_json::Value::Null
    );
    // A stranger's cookie is nobody's.
    let stranger = format!("{}api/info", fake.url());
    let r = get(
        &stranger,
        Some("lanchat_visitor=00000000000000000000000000000000"),
    );
    assert_eq!(r.json()["returning"], serde_json::Value::Null);
}

#[test]
fn revoking_the_link_ends_every_session() {
    let fake = Fake::start();
    let old = fake.url();
    let (visitor, id) = fake.join("a");
    let events = visitor.events(0, None);
    let new = fake.server.revoke();
    assert_ne!(new, old);
    events.expect_end();
    fake.expect("left", |i| {
        i == &WebInput::Left {
            visitor: id.clone(),
        }
    });
    assert_eq!(get(&old, None).status, 403);
    assert_eq!(visitor.get("api/info").status, 403);
    assert_eq!(get(&new, None).status, 200);
    let same_cookie = get(&format!("{new}api/info"), Some(&visitor.cookie)).json();
    assert_eq!(
        same_cookie["visitor"],
        serde_json::Value::Null,
        "old sessions do not carry over"
    );
}

#[test]
fn stopping_closes_every_stream_and_reports_who_left() {
    let fake = Fake::start();
    let (visitor, id) = fake.join("a");
    let events = visitor.events(0, None);
    let addr = fake.addr();
    let Fake {
        server,
        inputs,
        dir: _dir,
    } = fake;
    let late = server.stop();
    events.expect_end();
    let left: Vec<WebInput> = inputs.try_iter().chain(late).collect();
    assert_eq!(left, [WebInput::Left { visitor: id }]);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
}

#[test]
fn a_full_host_channel_turns_requests_away_but_loses_no_leave() {
    let fake = Fake::with(test_limits(), 1);
    let (visitor, id) = fake.join("a");
    assert_eq!(visitor.say("m1", "fills the channel").status, 202);
    assert_eq!(visitor.say("m2", "no room").status, 503);
    // The host catches up: the retry goes through.
    fake.expect("said", |i| matches!(i, WebInput::Said { .. }));
    assert_eq!(visitor.say("m2", "no room").status, 202);
    fake.expect("said", |i| matches!(i, WebInput::Said { .. }));
    // Two leaves while the channel holds one report: both arrive.
    let (b, id_b) = fake.join("b");
    visitor.post_json("api/leave", &json!({}));
    b.post_json("api/leave", &json!({}));
    let first = fake.expect("left", |i| matches!(i, WebInput::Left { .. }));
    let second = fake.expect("left", |i| matches!(i, WebInput::Left { .. }));
    let mut gone = [first, second].map(|i| match i {
        WebInput::Left { visitor } => visitor,
        _ => unreachable!(),
    });
    gone.sort();
    let mut want = [id, id_b];
    want.sort();
    assert_eq!(gone, want);
}

//! Unit tests of the window model: unread counts, marks, peer order, titles.

use std::net::Ipv4Addr;

use super::*;

fn peer(id: &str, name: &str, online: bool) -> PeerInfo {
    PeerInfo {
        id: id.into(),
        name: name.into(),
        host: "host".into(),
        group: String::new(),
        addr: Ipv4Addr::LOCALHOST,
        port: 4000,
        online,
        status: "online".into(),
        last_seen: 0,
        protocol: Default::default(),
        trust: Default::default(),
    }
}

fn ready() -> Event {
    Event::Ready {
        id: "me000000".into(),
        fingerprint: "12345 67890 12345 67890 12345 67890".into(),
        name: "我".into(),
        host: "lab".into(),
        addr: "127.0.0.1".into(),
        port: 4000,
        discovery_port: 47474,
        data_dir: "/tmp/x".into(),
    }
}

fn message(from: &str, id: &str) -> Event {
    Event::Message {
        room: None,
        from: from.into(),
        from_name: "张三".into(),
        msg_id: id.into(),
        text: "你好".into(),
        sent_at: 1,
    }
}

#[test]
fn unread_rises_off_view_and_clears_when_opened() {
    let mut s = ChatState::default();
    s.apply(ready(), true);
    s.apply(
        Event::PeerJoined {
            peer: peer("a1", "张三", true),
        },
        true,
    );
    let arrival = s.apply(message("a1", "m1"), true);
    assert_eq!(arrival.unwrap().from_name, "张三");
    s.apply(message("a1", "m2"), true);
    assert_eq!(s.unread(&ConvKey::Peer("a1".into())), 2);
    assert_eq!(s.unread_total(), 2);
    s.select(ConvKey::Peer("a1".into()));
    assert_eq!(s.unread_total(), 0);
    s.apply(message("a1", "m3"), true);
    assert_eq!(s.unread_total(), 0, "the open conversation, in view");
    s.apply(message("a1", "m4"), false);
    assert_eq!(
        s.unread_total(),
        1,
        "the open conversation, window unfocused"
    );
}

#[test]
fn our_status_follows_the_core() {
    let mut s = ChatState::default();
    s.apply(ready(), true);
    assert_eq!(s.me.as_ref().unwrap().status, "online");
    s.apply(
        Event::StatusChanged {
            status: "away".into(),
        },
        true,
    );
    assert_eq!(s.me.as_ref().unwrap().status, "away");
}

#[test]
fn sent_then_delivered() {
    let mut s = ChatState::default();
    s.apply(ready(), true);
    s.apply(
        Event::Sent {
            msg_id: "m1".into(),
            to: "a1".into(),
            sent_at: 5,
            text: "hi".into(),
        },
        true,
    );
    let conv = ConvKey::Peer("a1".into());
    assert_eq!(s.messages(&conv)[0].mark, Mark::Sent);
    assert_eq!(s.messages(&conv)[0].from_name, "我");
    s.apply(
        Event::Delivered {
            msg_id: "m1".into(),
            to: "a1".into(),
            peer: None,
        },
        true,
    );
    assert_eq!(s.messages(&conv)[0].mark, Mark::Delivered);
    // A delivery for a message this window never saw (from an earlier run) is ignored.
    s.apply(
        Event::Delivered {
            msg_id: "old".into(),
            to: "zz".into(),
            peer: None,
        },
        true,
    );
    assert!(!s.conversations.contains_key(&ConvKey::Peer("zz".into())));
}

#[test]
fn peers_online_first_then_by_name() {
    let mut s = ChatState::default();
    for p in [
        peer("1", "bob", false),
        peer("2", "Alice", true),
        peer("3", "carol", true),
    ] {
        s.apply(Event::PeerJoined { peer: p }, true);
    }
    s.apply(
        Event::PeerLeft {
            id: "3".into(),
            reason: crate::node::LeftReason::Bye,
            name: "carol".into(),
            protocol: crate::node::Protocol::Lanchat,
        },
        true,
    );
    let names: Vec<&str> = s.peers_sorted().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Alice", "bob", "carol"]);
}

#[test]
fn a_message_from_an_unknown_peer_still_has_a_title() {
    let mut s = ChatState::default();
    s.apply(message("abcdef123456", "m1"), true);
    let conv = ConvKey::Peer("abcdef123456".into());
    assert_eq!(s.title(&conv), "张三");
    assert_eq!(s.strangers(), [("abcdef123456", "张三")]);
}

#[test]
fn a_refused_message_is_marked_failed_and_a_waiting_peer_shows_why_until_resumed() {
    let mut s = ChatState::default();
    s.apply(ready(), true);
    s.apply(
        Event::Sent {
            msg_id: "m1".into(),
            to: "a1".into(),
            sent_at: 5,
            text: "hi".into(),
        },
        true,
    );
    s.apply(
        Event::SendFailed {
            msg_id: "m1".into(),
            to: "a1".into(),
            reason: "too long".into(),
        },
        true,
    );
    let conv = ConvKey::Peer("a1".into());
    assert_eq!(s.messages(&conv)[0].mark, Mark::Failed);
    assert_eq!(s.failures.get("m1").map(String::as_str), Some("too long"));
    let why = "cannot save messages right now (the disk is full)";
    s.apply(
        Event::DeliveryWaiting {
            to: "a1".into(),
            reason: why.into(),
        },
        true,
    );
    assert_eq!(s.waiting.get("a1").map(String::as_str), Some(why));
    s.apply(Event::DeliveryResumed { to: "a1".into() }, true);
    assert!(s.waiting.is_empty());
}

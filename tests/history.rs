//! Offline delivery and history across restarts, with real nodes on loopback.
//!
//! Each node has its own data directory; each test its own discovery port. Restarting a
//! node is dropping its handle (it says bye and closes its store) and spawning a new one
//! on the same directory.

mod common;
mod wire;

use std::path::Path;

use common::{TempDir, TestNode, free_udp_port};
use lanchat::node::{Command, Event};
use lanchat::protocol::LinkMsg;
use lanchat::store::{MsgState, StoredMessage};

fn start(dir: &Path, port: u16, name: &str) -> TestNode {
    TestNode::start(name, dir, port)
}

fn left(node: &mut TestNode, id: &str) {
    node.wait(
        &format!("peer_left {id}"),
        |e| matches!(e, Event::PeerLeft { id: left, .. } if left == id),
    );
}

/// Sends a direct message; returns its id once `sent` says it is stored.
fn send(node: &mut TestNode, to: &str, text: &str) -> String {
    node.chat(to, text);
    match node.wait("sent or error", |e| {
        matches!(e, Event::Sent { .. } | Event::Error { .. })
    }) {
        Event::Sent { msg_id, .. } => msg_id.into(),
        other => panic!("send failed: {other:?}"),
    }
}

fn delivered(node: &mut TestNode) -> String {
    match node.wait("delivered", |e| matches!(e, Event::Delivered { .. })) {
        Event::Delivered { msg_id, .. } => msg_id.into(),
        _ => unreachable!(),
    }
}

fn received(node: &mut TestNode) -> (String, String) {
    match node.wait("message", |e| matches!(e, Event::Message { .. })) {
        Event::Message { msg_id, text, .. } => (msg_id.into(), text),
        _ => unreachable!(),
    }
}

fn history(node: &mut TestNode, peer: &str) -> Vec<StoredMessage> {
    node.send(Command::History {
        peer: peer.to_owned(),
        limit: 100,
        before: None,
        after: None,
    });
    match node.wait("history or error", |e| {
        matches!(e, Event::History { .. } | Event::Error { .. })
    }) {
        Event::History { messages, .. } => messages,
        other => panic!("history failed: {other:?}"),
    }
}

/// Two nodes that have met; the second one is then stopped.
fn pair_then_stop_b(port: u16, da: &Path, db: &Path) -> (TestNode, String) {
    let mut a = start(da, port, "alice");
    let b = start(db, port, "bob");
    a.wait_joined(&b.id);
    let b_id = b.id.clone();
    drop(b);
    left(&mut a, &b_id);
    (a, b_id)
}

#[test]
fn a_message_to_an_offline_known_peer_is_delivered_when_it_is_back() {
    let (da, db) = (TempDir::new("a"), TempDir::new("b"));
    let port = free_udp_port();
    let (mut a, b_id) = pair_then_stop_b(port, &da.0, &db.0);

    let msg_id = send(&mut a, &b_id, "are you there?");
    let shown = history(&mut a, &b_id);
    assert_eq!(shown.len(), 1);
    assert_eq!(
        shown[0].state,
        MsgState::Pending,
        "nobody to send it to yet"
    );

    let mut b = start(&db.0, port, "bob");
    assert_eq!(
        received(&mut b),
        (msg_id.clone(), "are you there?".to_owned())
    );
    assert_eq!(delivered(&mut a), msg_id);
    assert_eq!(history(&mut a, &b_id)[0].state, MsgState::Delivered);
    let theirs = history(&mut b, &a.id);
    assert_eq!((theirs.len(), theirs[0].state), (1, MsgState::Received));
}

#[test]
fn pending_messages_survive_a_sender_restart_and_are_delivered_once() {
    let (da, db) = (TempDir::new("a"), TempDir::new("b"));
    let port = free_udp_port();
    let (mut a, b_id) = pair_then_stop_b(port, &da.0, &db.0);
    let sent: Vec<String> = (0..3)
        .map(|i| send(&mut a, &b_id, &format!("m{i}")))
        .collect();
    drop(a);

    // Both restarted: the sender knows the peer only from its store.
    let mut a = start(&da.0, port, "alice");
    a.send(Command::Peers);
    let Event::Peers { peers } = a.wait("peers", |e| matches!(e, Event::Peers { .. })) else {
        unreachable!()
    };
    let known = peers.iter().find(|p| p.id == b_id).expect("bob remembered");
    assert!(!known.online && known.last_seen > 0, "{known:?}");

    let mut b = start(&db.0, port, "bob");
    let acked: Vec<String> = sent.iter().map(|_| delivered(&mut a)).collect();
    assert_eq!(acked, sent, "each once, in order");
    // Every message was shown before its ack left, so all are in the log now.
    let shown: Vec<String> = b
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message { msg_id, .. } => Some(msg_id.into_string()),
            _ => None,
        })
        .collect();
    assert_eq!(shown, sent, "each shown exactly once");
}

/// A peer speaking the link protocol by hand (the handshake, sealed frames), so it can
/// send the same message twice. Its key is fixed: the same peer on every connection.
struct FakePeer {
    link: wire::RawPeer,
}

impl FakePeer {
    fn keys() -> lanchat::trust::KeyPair {
        lanchat::trust::KeyPair::from_secrets(&[7; 32], &[8; 32])
    }

    fn id() -> String {
        Self::keys().peer_id()
    }

    fn connect(port: u16) -> FakePeer {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut link = wire::RawPeer::try_connect_as(addr, &Self::keys(), "fake").expect("a link");
        assert!(matches!(link.recv(), Some(LinkMsg::Hello { .. })));
        FakePeer { link }
    }

    /// Sends a chat and waits for its ack.
    fn chat(&mut self, msg_id: &str) {
        self.link.send(&LinkMsg::Chat {
            msg_id: msg_id.into(),
            sent_at: 1,
            text: format!("text of {msg_id}"),
            room: None,
            change: None,
        });
        assert_eq!(
            self.link.recv(),
            Some(LinkMsg::Ack {
                msg_id: msg_id.into()
            })
        );
    }
}

#[test]
fn a_restarted_receiver_drops_a_message_it_already_has() {
    let db = TempDir::new("b");
    let port = free_udp_port();
    let mut b = start(&db.0, port, "bob");
    let mut fake = FakePeer::connect(b.port);
    fake.chat("x");
    assert_eq!(received(&mut b).0, "x");
    drop(fake);
    drop(b);

    let mut b = start(&db.0, port, "bob");
    let mut fake = FakePeer::connect(b.port);
    fake.chat("x"); // the ack was lost, say: the sender tries again
    fake.chat("y");
    assert_eq!(received(&mut b).0, "y", "x was a duplicate");
    let ids: Vec<String> = history(&mut b, &FakePeer::id())
        .into_iter()
        .map(|m| m.msg_id)
        .collect();
    assert_eq!(ids, ["x", "y"]);
}

#[test]
fn shouts_are_kept_and_found() {
    let (da, db) = (TempDir::new("a"), TempDir::new("b"));
    let port = free_udp_port();
    let mut a = start(&da.0, port, "alice");
    let mut b = start(&db.0, port, "bob");
    a.wait_joined(&b.id);
    b.wait_joined(&a.id);
    a.send(Command::Shout {
        text: "明天开会 tomorrow".into(),
    });
    b.wait("the shout", |e| matches!(e, Event::Shout { .. }));
    let kept = history(&mut b, "everyone");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].peer.as_str(), kept[0].from.as_str()),
        ("everyone", a.id.as_str())
    );
    for query in ["开会", "tomorrow"] {
        b.send(Command::Search {
            query: query.into(),
            limit: 10,
        });
        let Event::SearchResults { hits, .. } = b.wait("search results", |e| {
            matches!(e, Event::SearchResults { .. })
        }) else {
            unreachable!()
        };
        assert_eq!(hits, kept, "{query}");
    }
    assert_eq!(history(&mut a, "everyone").len(), 1, "our own shouts too");
}

#[test]
fn a_corrupt_history_is_moved_aside_and_the_node_still_starts() {
    let (da, db) = (TempDir::new("a"), TempDir::new("b"));
    let port = free_udp_port();
    let garbage = b"not an SQLite file; ".repeat(500);
    std::fs::write(da.join("history.db"), &garbage).unwrap();
    let mut a = start(&da.0, port, "alice");
    let Event::Error { message } = a.wait(
        "an error about history",
        |e| matches!(e, Event::Error { message } if message.starts_with("history:")),
    ) else {
        unreachable!()
    };
    assert!(message.contains("corrupt"), "{message}");
    let moved: Vec<_> = std::fs::read_dir(&da.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("history.db.corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        message.contains(&moved[0]),
        "the message says where: {message}"
    );
    assert_eq!(std::fs::read(da.join(&moved[0])).unwrap(), garbage);

    // And the new history works.
    let b = start(&db.0, port, "bob");
    a.wait_joined(&b.id);
    let msg_id = send(&mut a, &b.id, "still here");
    assert_eq!(delivered(&mut a), msg_id);
    assert_eq!(history(&mut a, &b.id).len(), 1);
}

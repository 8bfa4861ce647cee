//! Offline delivery and history across restarts, with real nodes on loopback.
//!
//! Each node has its own data directory; each test its own discovery port. Restarting a
//! node is dropping its handle (it says bye and closes its store) and spawning a new one
//! on the same directory.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use lanchat::config::Config;
use lanchat::node::{self, Command, Event, NodeHandle};
use lanchat::protocol::{LinkMsg, PROTOCOL_VERSION};
use lanchat::store::{MsgState, StoredMessage};

const WAIT: Duration = Duration::from_secs(15);

/// A directory of its own, removed on drop.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new(tag: &str) -> TmpDir {
        let dir = std::env::temp_dir().join(format!("lanchat-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TmpDir(dir)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running node and what its `ready` said.
struct Node {
    handle: NodeHandle,
    id: String,
    port: u16,
}

fn start(dir: &Path, discovery_port: u16, name: &str) -> Node {
    let config = Config {
        name: Some(name.to_owned()),
        interval: Duration::from_millis(200),
        ..Config::loopback(dir, discovery_port)
    };
    let handle = node::spawn(config, node::no_waker()).expect("node starts");
    let (id, port) = wait_for(&handle.events, "ready", |e| match e {
        Event::Ready { id, port, .. } => Some((id.clone(), *port)),
        _ => None,
    });
    Node { handle, id, port }
}

/// Reads events until `pick` returns something; panics with `what` after [`WAIT`].
fn wait_for<T>(
    events: &Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("expected {what}"));
        if let Some(t) = pick(&event) {
            return t;
        }
    }
}

fn joined(events: &Receiver<Event>, id: &str) {
    wait_for(events, &format!("{id} to join"), |e| match e {
        Event::PeerJoined { peer } if peer.id == id => Some(()),
        _ => None,
    });
}

fn left(events: &Receiver<Event>, id: &str) {
    wait_for(events, &format!("{id} to leave"), |e| match e {
        Event::PeerLeft { id: left, .. } if left == id => Some(()),
        _ => None,
    });
}

fn send(node: &Node, to: &str, text: &str) -> String {
    node.handle
        .commands
        .send(Command::Send {
            to: to.to_owned(),
            text: text.to_owned(),
        })
        .unwrap();
    wait_for(&node.handle.events, "sent", |e| match e {
        Event::Sent { msg_id, .. } => Some(msg_id.clone()),
        Event::Error { message } => panic!("send failed: {message}"),
        _ => None,
    })
}

fn history(node: &Node, peer: &str) -> Vec<StoredMessage> {
    node.handle
        .commands
        .send(Command::History {
            peer: peer.to_owned(),
            limit: 100,
            before: None,
        })
        .unwrap();
    wait_for(&node.handle.events, "history", |e| match e {
        Event::History { messages, .. } => Some(messages.clone()),
        Event::Error { message } => panic!("history failed: {message}"),
        _ => None,
    })
}

/// Two nodes that have met; the second one is then stopped.
fn pair_then_stop_b(port: u16, da: &Path, db: &Path) -> (Node, String) {
    let a = start(da, port, "alice");
    let b = start(db, port, "bob");
    joined(&a.handle.events, &b.id);
    let b_id = b.id.clone();
    drop(b);
    left(&a.handle.events, &b_id);
    (a, b_id)
}

#[test]
fn a_message_to_an_offline_known_peer_is_delivered_when_it_is_back() {
    let (da, db) = (TmpDir::new("a"), TmpDir::new("b"));
    let port = free_udp_port();
    let (a, b_id) = pair_then_stop_b(port, &da.0, &db.0);

    let msg_id = send(&a, &b_id, "are you there?");
    let shown = history(&a, &b_id);
    assert_eq!(shown.len(), 1);
    assert_eq!(
        shown[0].state,
        MsgState::Pending,
        "nobody to send it to yet"
    );

    let b = start(&db.0, port, "bob");
    let got = wait_for(&b.handle.events, "the message", |e| match e {
        Event::Message { msg_id, text, .. } => Some((msg_id.clone(), text.clone())),
        _ => None,
    });
    assert_eq!(got, (msg_id.clone(), "are you there?".to_owned()));
    wait_for(&a.handle.events, "delivered", |e| match e {
        Event::Delivered { msg_id: m, .. } if *m == msg_id => Some(()),
        _ => None,
    });
    assert_eq!(history(&a, &b_id)[0].state, MsgState::Delivered);
    let theirs = history(&b, &a.id);
    assert_eq!((theirs.len(), theirs[0].state), (1, MsgState::Received));
}

#[test]
fn pending_messages_survive_a_sender_restart_and_are_delivered_once() {
    let (da, db) = (TmpDir::new("a"), TmpDir::new("b"));
    let port = free_udp_port();
    let (a, b_id) = pair_then_stop_b(port, &da.0, &db.0);
    let sent: Vec<String> = (0..3).map(|i| send(&a, &b_id, &format!("m{i}"))).collect();
    drop(a);

    // Both restarted: the sender knows the peer only from its store.
    let a = start(&da.0, port, "alice");
    a.handle.commands.send(Command::Peers).unwrap();
    let peers = wait_for(&a.handle.events, "peers", |e| match e {
        Event::Peers { peers } => Some(peers.clone()),
        _ => None,
    });
    let known = peers.iter().find(|p| p.id == b_id).expect("bob remembered");
    assert!(!known.online && known.last_seen > 0, "{known:?}");

    let b = start(&db.0, port, "bob");
    let mut delivered = Vec::new();
    while delivered.len() < sent.len() {
        delivered.push(wait_for(&a.handle.events, "delivered", |e| match e {
            Event::Delivered { msg_id, .. } => Some(msg_id.clone()),
            _ => None,
        }));
    }
    assert_eq!(delivered, sent, "each once, in order");
    // Every message was shown before its ack left, so all are in the channel now.
    let shown: Vec<String> = b
        .handle
        .events
        .try_iter()
        .filter_map(|e| match e {
            Event::Message { msg_id, .. } => Some(msg_id),
            _ => None,
        })
        .collect();
    assert_eq!(shown, sent, "each shown exactly once");
}

/// A peer speaking the link protocol by hand, so it can send the same message twice.
struct FakePeer {
    stream: TcpStream,
}

impl FakePeer {
    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn connect(port: u16) -> FakePeer {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut peer = FakePeer { stream };
        peer.send(&LinkMsg::Hello {
            id: Self::ID.into(),
            name: "fake".into(),
            version: PROTOCOL_VERSION,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            port: 0,
        });
        assert!(matches!(peer.recv(), LinkMsg::Hello { .. }));
        peer
    }

    fn send(&mut self, msg: &LinkMsg) {
        self.stream.write_all(&msg.to_frame().unwrap()).unwrap();
    }

    fn recv(&mut self) -> LinkMsg {
        let mut len = [0; 4];
        self.stream.read_exact(&mut len).expect("a frame");
        let mut body = vec![0; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).expect("a frame body");
        LinkMsg::decode(&body).unwrap()
    }

    /// Sends a chat and waits for its ack.
    fn chat(&mut self, msg_id: &str) {
        self.send(&LinkMsg::Chat {
            msg_id: msg_id.into(),
            sent_at: 1,
            text: format!("text of {msg_id}"),
        });
        assert_eq!(
            self.recv(),
            LinkMsg::Ack {
                msg_id: msg_id.into()
            }
        );
    }
}

#[test]
fn a_restarted_receiver_drops_a_message_it_already_has() {
    let db = TmpDir::new("b");
    let port = free_udp_port();
    let b = start(&db.0, port, "bob");
    let mut fake = FakePeer::connect(b.port);
    fake.chat("x");
    wait_for(&b.handle.events, "x shown", |e| match e {
        Event::Message { msg_id, .. } if msg_id == "x" => Some(()),
        _ => None,
    });
    drop(fake);
    drop(b);

    let b = start(&db.0, port, "bob");
    let mut fake = FakePeer::connect(b.port);
    fake.chat("x"); // the ack was lost, say: the sender tries again
    fake.chat("y");
    let first = wait_for(&b.handle.events, "a message", |e| match e {
        Event::Message { msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    });
    assert_eq!(first, "y", "x was a duplicate");
    let ids: Vec<String> = history(&b, FakePeer::ID)
        .into_iter()
        .map(|m| m.msg_id)
        .collect();
    assert_eq!(ids, ["x", "y"]);
}

#[test]
fn shouts_are_kept_and_found() {
    let (da, db) = (TmpDir::new("a"), TmpDir::new("b"));
    let port = free_udp_port();
    let a = start(&da.0, port, "alice");
    let b = start(&db.0, port, "bob");
    joined(&a.handle.events, &b.id);
    a.handle
        .commands
        .send(Command::Shout {
            text: "明天开会 tomorrow".into(),
        })
        .unwrap();
    wait_for(&b.handle.events, "the shout", |e| match e {
        Event::Shout { .. } => Some(()),
        _ => None,
    });
    let kept = history(&b, "everyone");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].peer.as_str(), kept[0].from.as_str()),
        ("everyone", a.id.as_str())
    );
    for query in ["开会", "tomorrow"] {
        b.handle
            .commands
            .send(Command::Search {
                query: query.into(),
                limit: 10,
            })
            .unwrap();
        let hits = wait_for(&b.handle.events, "search results", |e| match e {
            Event::SearchResults { hits, .. } => Some(hits.clone()),
            _ => None,
        });
        assert_eq!(hits, kept, "{query}");
    }
    assert_eq!(history(&a, "everyone").len(), 1, "our own shouts too");
}

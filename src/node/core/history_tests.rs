//! The core's store side: a message that cannot be stored is not sent, bursts are all or
//! nothing, and the `history`/`search` shapes.

use serde_json::json;

use super::fake::{FakePort, ME, TempDir, core_in};
use super::*;
use crate::headless::{event_line, parse_command};
use crate::node::command::Command;
use crate::store::{Direction, KnownPeer, MsgState, StoredMessage, Transfer, TransferState};

/// The id of the known peer [`core_knowing_offline_bob`] sets up.
const BOB: &str = "0123456789abcdef0123456789abcdef";

/// A core (over a port that binds nothing) whose history knows one peer, `bob`,
/// offline: the core, the events its front end receives, and its data folder.
fn core_knowing_offline_bob(
    tag: &str,
) -> (Core<FakePort>, crossbeam_channel::Receiver<Event>, TempDir) {
    let dir = TempDir::new(tag);
    let bob = KnownPeer {
        id: BOB.into(),
        name: "bob".into(),
        host: String::new(),
        addr: std::net::Ipv4Addr::LOCALHOST,
        port: 1,
        last_seen: 0,
        key: None,
        protocol: "lanchat".into(),
        group: String::new(),
    };
    Store::open(&dir.0.join(crate::store::HISTORY_FILE))
        .and_then(|s| s.save_peer(&bob))
        .expect("history knows bob");
    let (core, events) = core_in(&dir.0, Now::read());
    (core, events, dir)
}

#[test]
fn a_message_that_cannot_be_stored_is_not_sent() {
    let (mut core, events, _dir) = core_knowing_offline_bob("full");
    core.store.set_max_pages(1); // no room to grow: the disk is full
    core.send_burst(vec![(ME, BOB.into(), "x".repeat(10_000))], Now::read());
    let said: Vec<Event> = events.try_iter().collect();
    assert!(
        matches!(&said[..], [Event::Error { message }]
            if message.starts_with("send: the message was not sent") && message.contains("full")),
        "{said:?}"
    );
    assert!(core.chat.outbox().is_empty(), "nothing queued");
}

#[test]
fn a_burst_of_sends_is_answered_in_order_and_stored_all_or_nothing() {
    let (mut core, events, _dir) = core_knowing_offline_bob("burst");
    let peer = BOB;
    let burst = |texts: [&str; 3]| texts.map(|t| (ME, peer.to_owned(), t.to_owned())).to_vec();
    core.send_burst(burst(["one", "", "two"]), Now::read());
    let said: Vec<Event> = events.try_iter().collect();
    assert!(
        matches!(&said[..], [Event::Sent { text: a, .. }, Event::Error { message }, Event::Sent { text: b, .. }]
            if a == "one" && message.contains("empty") && b == "two"),
        "answers in command order: {said:?}"
    );
    let stored: Vec<String> = core
        .store
        .history(peer, None, 10)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(stored, ["one", "two"]);

    core.store.set_max_pages(1); // the disk is full
    core.send_burst(burst(["three", "", &"x".repeat(10_000)]), Now::read());
    let said: Vec<Event> = events.try_iter().collect();
    assert!(
        matches!(&said[..], [Event::Error { message: a }, Event::Error { message: b }, Event::Error { message: c }]
            if a.starts_with("send: the message was not sent") && b.contains("empty")
                && c.starts_with("send: the message was not sent")),
        "{said:?}"
    );
    assert_eq!(core.chat.outbox().len(), 2, "only the two stored before");
    assert_eq!(core.store.history(peer, None, 10).unwrap().len(), 2);
}

#[test]
fn history_and_search_commands_parse() {
    assert_eq!(
        parse_command(r#"{"cmd":"history","peer":"everyone","limit":20}"#).unwrap(),
        Command::History {
            peer: "everyone".into(),
            limit: 20,
            before: None,
            after: None
        }
    );
    assert_eq!(
        parse_command(r#"{"cmd":"history","peer":"张三","limit":5,"before":42}"#).unwrap(),
        Command::History {
            peer: "张三".into(),
            limit: 5,
            before: Some(42),
            after: None
        }
    );
    assert_eq!(
        parse_command(r#"{"cmd":"history","peer":"everyone","limit":5,"after":42}"#).unwrap(),
        Command::History {
            peer: "everyone".into(),
            limit: 5,
            before: None,
            after: Some(42)
        }
    );
    assert_eq!(
        parse_command(r#"{"cmd":"search","query":"开会"}"#).unwrap(),
        Command::Search {
            query: "开会".into(),
            limit: 100
        }
    );
}

#[test]
fn history_and_search_event_shapes() {
    let m = StoredMessage {
        id: 7,
        peer: "p".into(),
        msg_id: "m".into(),
        dir: Direction::Out,
        from: "me".into(),
        from_name: "Me".into(),
        text: "你好".into(),
        sent_at: 5,
        state: MsgState::Pending,
        reason: None,
    };
    let message = json!({"id":7,"peer":"p","msg_id":"m","dir":"out","from":"me",
        "from_name":"Me","text":"你好","sent_at":5,"state":"pending"});
    let v = |e: &Event| serde_json::from_str::<serde_json::Value>(&event_line(e)).unwrap();
    assert_eq!(
        v(&Event::History {
            peer: "p".into(),
            messages: vec![m.clone()],
            transfers: vec![Transfer {
                id: "t".into(),
                peer: "p".into(),
                dir: Direction::In,
                name: "照片.jpg".into(),
                size: 3,
                mime: "image/jpeg".into(),
                path: "/d/照片.jpg".into(),
                bytes_done: 3,
                hash: None,
                state: TransferState::Done,
                created_at: 4,
                updated_at: 6,
                room: None,
            }],
            deliveries: Vec::new(),
            before: None,
            after: None,
        }),
        json!({"event":"history","peer":"p","messages":[message.clone()],
            "transfers":[{"transfer_id":"t","peer":"p","dir":"in","name":"照片.jpg",
                "size":3,"mime":"image/jpeg","path":"/d/照片.jpg","bytes_done":3,
                "state":"done","created_at":4,"updated_at":6}]})
    );
    assert_eq!(
        v(&Event::History {
            peer: "p".into(),
            messages: vec![],
            transfers: vec![],
            deliveries: Vec::new(),
            before: Some(9),
            after: None,
        }),
        json!({"event":"history","peer":"p","messages":[],"transfers":[],"before":9}),
        "the request's paging key is echoed, so a front end can tell its pages apart"
    );
    assert_eq!(
        v(&Event::History {
            peer: "p".into(),
            messages: vec![],
            transfers: vec![],
            deliveries: Vec::new(),
            before: None,
            after: Some(3),
        }),
        json!({"event":"history","peer":"p","messages":[],"transfers":[],"after":3})
    );
    assert_eq!(
        v(&Event::History {
            peer: "room-1".into(),
            messages: vec![],
            transfers: vec![],
            deliveries: vec![crate::store::MemberDelivery {
                msg_id: "m".into(),
                peer: "c".into(),
                state: "left".into(),
            }],
            before: None,
            after: None,
        }),
        json!({"event":"history","peer":"room-1","messages":[],"transfers":[],
            "deliveries":[{"msg_id":"m","peer":"c","state":"left"}]}),
        "a room's page says where each member's copy stands"
    );
    assert_eq!(
        v(&Event::SearchResults {
            query: "你".into(),
            hits: vec![m]
        }),
        json!({"event":"search_results","query":"你","hits":[message]})
    );
}

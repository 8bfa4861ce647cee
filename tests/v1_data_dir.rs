//! A data directory as lanchat v1 left it (issue 11 item 1): `identity.json` with the
//! random id v1 made up, no identity key, and a history at schema version 1 written
//! under that id. The node opens it, makes a key, migrates the schema, moves our
//! messages to the key's id, and the whole history stays visible: the conversation, the
//! Everyone room, search, and the peer it was with (offline, with no key known).

mod common;

use common::{TempDir, TestNode, free_udp_port};
use lanchat::config::Config;
use lanchat::node::{Command, Event};
use lanchat::store::{Direction, HISTORY_FILE, StoredMessage};
use serde_json::json;

/// The random id v1 made up for us, and the one it knew bob by.
const OLD_ME: &str = "8f2c41d0b7e94a6c9d3e5f1a2b4c6d8e";
const BOB: &str = "3a9e7c5b1d2f4e6a8c0b9d7f5e3a1c2b";

/// Schema version 1, as v1 released it (`store::migrations::V1`), with a conversation
/// with bob, one shout, and bob in the known peers.
fn write_v1_history(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).expect("create the v1 history");
    conn.execute_batch(
        "
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    peer        TEXT    NOT NULL,
    msg_id      TEXT    NOT NULL,
    dir         TEXT    NOT NULL CHECK (dir IN ('in', 'out')),
    author      TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    sent_at     INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    state       TEXT    NOT NULL
                CHECK (state IN ('pending', 'sent', 'delivered', 'received')),
    UNIQUE (peer, author, msg_id)
);
CREATE INDEX messages_by_peer ON messages (peer, id);
CREATE INDEX messages_unacked ON messages (id)
    WHERE state IN ('pending', 'sent') AND peer <> 'everyone';
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text, content = '', contentless_delete = 1
);
CREATE TABLE peers (
    id        TEXT    PRIMARY KEY,
    name      TEXT    NOT NULL,
    host      TEXT    NOT NULL,
    addr      TEXT    NOT NULL,
    port      INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE TABLE transfers (
    id         TEXT    PRIMARY KEY,
    peer       TEXT    NOT NULL,
    dir        TEXT    NOT NULL CHECK (dir IN ('in', 'out')),
    name       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    mime       TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    hash       TEXT,
    state      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX transfers_unfinished ON transfers (created_at)
    WHERE state IN ('offered', 'active', 'paused');
PRAGMA user_version = 1;
",
    )
    .expect("the v1 schema");
    let rows = [
        (
            BOB,
            "m1",
            "out",
            OLD_ME,
            "alice",
            "lunch at noon?",
            "delivered",
        ),
        (
            BOB,
            "m2",
            "in",
            BOB,
            "bob",
            "好的 see you there",
            "received",
        ),
        (
            "everyone",
            "m3",
            "out",
            OLD_ME,
            "alice",
            "printer fixed",
            "sent",
        ),
    ];
    for (i, (peer, msg_id, dir, author, name, text, state)) in rows.into_iter().enumerate() {
        conn.execute(
            "INSERT INTO messages (id, peer, msg_id, dir, author, author_name, sent_at, text, \
             state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                i as i64 + 1,
                peer,
                msg_id,
                dir,
                author,
                name,
                1_700_000_000_000i64 + i as i64,
                text,
                state
            ],
        )
        .expect("a v1 message");
        conn.execute(
            "INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)",
            rusqlite::params![i as i64 + 1, text],
        )
        .expect("its index row");
    }
    conn.execute(
        "INSERT INTO peers VALUES (?1, 'bob', 'bob-laptop', '10.0.0.7', 40123, 1700000000000)",
        [BOB],
    )
    .expect("bob as v1 knew him");
}

#[test]
fn a_v1_data_directory_opens_migrates_and_keeps_its_history_visible() {
    let dir = TempDir::new("v1-dir");
    std::fs::write(
        dir.join("identity.json"),
        json!({"id": OLD_ME, "name": "alice"}).to_string(),
    )
    .expect("v1's identity.json");
    write_v1_history(&dir.join(HISTORY_FILE));

    let mut config = Config::loopback(&dir.0, free_udp_port());
    config.name = None;
    let mut alice = TestNode::start_with(config);
    assert_ne!(alice.id, OLD_ME, "the id is the new key's now");
    assert!(dir.join("identity.key").exists(), "a key was made");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("identity.json")).expect("identity"))
            .expect("identity.json");
    assert_eq!(saved, json!({"id": alice.id, "name": "alice"}));

    // The conversation with bob: both messages, ours now under our new id.
    alice.send(Command::History {
        peer: BOB.into(),
        limit: 10,
        before: None,
        after: None,
    });
    let Event::History { messages, .. } = alice.wait(
        "bob's history",
        |e| matches!(e, Event::History { peer, .. } if peer == BOB),
    ) else {
        unreachable!()
    };
    let seen: Vec<(&str, Direction, &str)> = messages
        .iter()
        .map(|m: &StoredMessage| (m.from.as_str(), m.dir, m.text.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (alice.id.as_str(), Direction::Out, "lunch at noon?"),
            (BOB, Direction::In, "好的 see you there"),
        ]
    );

    // Everyone, and search over the old rows.
    alice.send(Command::History {
        peer: "everyone".into(),
        limit: 10,
        before: None,
        after: None,
    });
    let Event::History { messages, .. } = alice.wait(
        "Everyone's history",
        |e| matches!(e, Event::History { peer, .. } if peer == "everyone"),
    ) else {
        unreachable!()
    };
    assert_eq!(messages.len(), 1);
    assert_eq!(
        (messages[0].from.as_str(), messages[0].text.as_str()),
        (alice.id.as_str(), "printer fixed")
    );
    alice.send(Command::Search {
        query: "lunch".into(),
        limit: 10,
    });
    let Event::SearchResults { hits, .. } = alice.wait("search results", |e| {
        matches!(e, Event::SearchResults { .. })
    }) else {
        unreachable!()
    };
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].text, "lunch at noon?");

    // bob is still known, offline, with no key yet (met before v2): not verified.
    alice.send(Command::Peers);
    let Event::Peers { peers } = alice.wait("peers", |e| matches!(e, Event::Peers { .. })) else {
        unreachable!()
    };
    let bob = peers
        .iter()
        .find(|p| p.id == BOB)
        .expect("bob is still known");
    assert_eq!((bob.name.as_str(), bob.online), ("bob", false));
    assert_eq!(bob.trust.fingerprint, None);
    assert!(!bob.trust.verified);

    // A second start finds nothing left to move and the same history.
    alice.send(Command::Quit);
    alice.wait("stopped", |e| matches!(e, Event::Stopped));
    drop(alice);
    let mut config = Config::loopback(&dir.0, free_udp_port());
    config.name = None;
    let mut again = TestNode::start_with(config);
    again.send(Command::History {
        peer: BOB.into(),
        limit: 10,
        before: None,
        after: None,
    });
    let Event::History { messages, .. } = again.wait("bob's history again", |e| {
        matches!(e, Event::History { .. })
    }) else {
        unreachable!()
    };
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].from, again.id);
}

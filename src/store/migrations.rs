//! The schema, versioned by `PRAGMA user_version`: version N is reached by running
//! `MIGRATIONS[N-1]` on a version N-1 database, each step in one transaction. A file with a
//! version above [`LATEST`] was written by a newer lanchat and is left alone.
//!
//! Adding a version: append a step to `MIGRATIONS`, never edit a released one, and add a
//! test that migrates a database of the previous version with data in it.

use rusqlite::{Connection, Transaction};

/// Version 1: messages (direct and Everyone, with the outbox state), their full-text
/// index, known peers, and transfers.
///
/// `messages.peer` is the conversation: the other peer's id for direct messages, or
/// `everyone` for shouts. One table for both keeps one timeline, one paging query and one
/// search index. `(peer, author, msg_id)` is unique: that is how a message that arrives
/// again (a resend after a lost ack, across restarts) is recognised.
///
/// `messages_fts` is contentless: its text is the message text with every CJK character
/// set apart by spaces (see `store::search`), so the default `unicode61` tokenizer indexes
/// Chinese one character at a time and a query matches it as a phrase.
const V1: &str = "
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
";

/// Version 2 (protocol v2, issue 11): a peer's identity key, and the keys the user
/// verified.
///
/// `peers.key` is the peer's ed25519 public key (base64url), so its fingerprint and a
/// safety code can be shown while it is offline; `NULL` for peers met before v2. Trust is
/// kept per key in `trusted_keys`, never per name: `peer` (the id the key speaks for)
/// and `name` (what it was called when verified, to warn when another key takes that
/// name) are notes beside it.
const V2: &str = "
ALTER TABLE peers ADD COLUMN key TEXT;

CREATE TABLE trusted_keys (
    key         TEXT    PRIMARY KEY,
    peer        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    verified_at INTEGER NOT NULL
);
";

/// Version 3 (issue 16): a message of ours can be `failed` (the recipient refused it for good: too
/// long, a field it does not take), with the recipient's `reason`.
///
/// SQLite cannot change a `CHECK`, so the table is rebuilt: the rows keep their ids,
/// which the contentless search index refers to.
const V3: &str = "
CREATE TABLE messages_v3 (
    id          INTEGER PRIMARY KEY,
    peer        TEXT    NOT NULL,
    msg_id      TEXT    NOT NULL,
    dir         TEXT    NOT NULL CHECK (dir IN ('in', 'out')),
    author      TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    sent_at     INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    state       TEXT    NOT NULL
                CHECK (state IN ('pending', 'sent', 'delivered', 'received', 'failed')),
    reason      TEXT,
    UNIQUE (peer, author, msg_id)
);
INSERT INTO messages_v3 (id, peer, msg_id, dir, author, author_name, sent_at, text, state)
    SELECT id, peer, msg_id, dir, author, author_name, sent_at, text, state FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_by_peer ON messages (peer, id);
CREATE INDEX messages_unacked ON messages (id)
    WHERE state IN ('pending', 'sent') AND peer <> 'everyone';
";

/// Version 4 (issue 12): known peers say how they are known (`lanchat`, or `ipmsg` for iptux, FeiQ
/// and IP Messenger users) and the group they announced, so an IPMsg peer is listed as
/// one, with its group, after a restart. Every peer known before was a lanchat peer.
const V4: &str = "
ALTER TABLE peers ADD COLUMN protocol TEXT NOT NULL DEFAULT 'lanchat';
ALTER TABLE peers ADD COLUMN grp      TEXT NOT NULL DEFAULT '';
";

/// Version 5 (issue 14, reach by address): the addresses presence sends beacons to by
/// unicast, remembered until `remove_peer`: `added` by the user, `learned` (they reached
/// us by unicast), or `removed` (their unicast beacons are ignored until added again).
const V5: &str = "
CREATE TABLE reach (
    addr   TEXT    PRIMARY KEY,
    origin TEXT    NOT NULL CHECK (origin IN ('added', 'learned', 'removed')),
    since  INTEGER NOT NULL
);
";

/// Version 6 (issue 14): rooms, their members, and the room outbox.
///
/// A room's messages are in `messages` like any conversation, `peer` being the room id
/// (`room-` and 32 hex digits), so history, search and duplicates work as for direct
/// messages. Ours are sent to each member: `room_outbox` holds one row per member and
/// message, with its own state (`pending`, `sent`, `delivered`, `failed`), and the body to
/// send again after a restart (`text`, and `change`, the signed room change as JSON, for a
/// change). `room_members` carries what each member needs to be reached (key, last
/// address and link port); `rooms.joined` is 0 once we left (the room stays known, so its
/// late messages are refused).
const V6: &str = "
CREATE TABLE rooms (
    id     TEXT    PRIMARY KEY,
    name   TEXT    NOT NULL,
    joined INTEGER NOT NULL
);
CREATE TABLE room_members (
    room TEXT    NOT NULL,
    peer TEXT    NOT NULL,
    name TEXT    NOT NULL,
    key  TEXT    NOT NULL,
    addr TEXT    NOT NULL,
    port INTEGER NOT NULL,
    pos  INTEGER NOT NULL,
    PRIMARY KEY (room, peer)
);
CREATE TABLE room_outbox (
    id      INTEGER PRIMARY KEY,
    member  TEXT    NOT NULL,
    msg_id  TEXT    NOT NULL,
    room    TEXT    NOT NULL,
    sent_at INTEGER NOT NULL,
    text    TEXT    NOT NULL,
    change  TEXT,
    state   TEXT    NOT NULL
            CHECK (state IN ('pending', 'sent', 'delivered', 'failed')),
    reason  TEXT,
    UNIQUE (member, msg_id)
);
CREATE INDEX room_outbox_unacked ON room_outbox (id) WHERE state IN ('pending', 'sent');
";

/// Version 7 (issue 14): a room message's body is stored once, not once per member
/// (`room_bodies`: its text and, for a change, the signed change, ~150 bytes a member:
/// 100 rooms of 50 were 40 MB), and a member's copy can be `left` — dropped because they
/// left the room before acknowledging it, never sent (also not after a restart), and not
/// `failed`: nothing was refused. SQLite cannot change a `CHECK`, so `room_outbox` is
/// made again with its rows and ids.
const V7: &str = "
CREATE TABLE room_bodies (
    msg_id  TEXT    PRIMARY KEY,
    room    TEXT    NOT NULL,
    sent_at INTEGER NOT NULL,
    text    TEXT    NOT NULL,
    change  TEXT
);
INSERT INTO room_bodies (msg_id, room, sent_at, text, change)
    SELECT msg_id, room, sent_at, text, change FROM room_outbox
    WHERE id IN (SELECT MIN(id) FROM room_outbox GROUP BY msg_id);
CREATE TABLE room_outbox_v7 (
    id      INTEGER PRIMARY KEY,
    member  TEXT    NOT NULL,
    msg_id  TEXT    NOT NULL,
    room    TEXT    NOT NULL,
    state   TEXT    NOT NULL
            CHECK (state IN ('pending', 'sent', 'delivered', 'failed', 'left')),
    reason  TEXT,
    UNIQUE (member, msg_id)
);
INSERT INTO room_outbox_v7 (id, member, msg_id, room, state, reason)
    SELECT id, member, msg_id, room, state, reason FROM room_outbox;
DROP TABLE room_outbox;
ALTER TABLE room_outbox_v7 RENAME TO room_outbox;
CREATE INDEX room_outbox_unacked ON room_outbox (id) WHERE state IN ('pending', 'sent');
CREATE INDEX room_outbox_msg ON room_outbox (msg_id);
";

/// Version 8 (issue 14): an outgoing transfer remembers the room it was offered for
/// (`transfers.room`, the room id; `NULL` for a direct send and every transfer before), so
/// a member's leave cancels what still waits for them of that room, also after a restart.
const V8: &str = "
ALTER TABLE transfers ADD COLUMN room TEXT;
CREATE INDEX transfers_by_room ON transfers (room, peer) WHERE room IS NOT NULL;
";

/// Version 9 (issue 14): where each of a room's changes stands in their order, so every
/// member ends with the same room whatever order changes reach it in: the mark (signed
/// `at`, author) of the change that set the name (`rooms.name_at`, `name_by`), and of the
/// last change that brought each peer in or took them out (`room_marks`, one row per
/// member and per peer who left). Rooms from before start with none: any change orders
/// after them.
const V9: &str = "
ALTER TABLE rooms ADD COLUMN name_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN name_by TEXT NOT NULL DEFAULT '';
CREATE TABLE room_marks (
    room TEXT    NOT NULL,
    peer TEXT    NOT NULL,
    at   INTEGER NOT NULL,
    by   TEXT    NOT NULL,
    PRIMARY KEY (room, peer)
) WITHOUT ROWID;
";

/// The schema steps, oldest first: `MIGRATIONS[0]` makes version 1.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9];

/// The newest schema version this build knows.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Why the schema could not be brought up to date.
#[derive(Debug)]
pub(super) enum MigrateError {
    /// The file's version is newer than [`LATEST`].
    Newer(i64),
    /// SQLite failed.
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sqlite(e)
    }
}

/// The file's schema version (0 for a new file).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Runs the steps up to `target` only: a database as an older lanchat left it (tests of
/// the later steps).
#[cfg(test)]
pub(super) fn migrate_to(conn: &mut Connection, target: i64) -> rusqlite::Result<()> {
    for (i, step) in MIGRATIONS.iter().enumerate().take(target as usize) {
        conn.execute_batch(step)?;
        conn.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    Ok(())
}

/// Runs every step above the file's version.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let found = version(conn)?;
    if found > LATEST {
        return Err(MigrateError::Newer(found));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let tx = Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!("history schema migrated to version {}", i + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_with_messages_migrates_keeping_rows_ids_and_the_index() {
        let dir = std::env::temp_dir().join(format!("lanchat-mig-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(crate::store::HISTORY_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO messages VALUES
                   (7, 'p', 'm1', 'out', 'me', 'Me', 1, 'hello there', 'sent'),
                   (9, 'p', 'm2', 'in', 'p', 'P', 2, 'hi back', 'received');
                 INSERT INTO messages_fts (rowid, text) VALUES (7, 'hello there'), (9, 'hi back');",
            )
            .unwrap();
        }
        let mut s = crate::store::Store::open(&path).unwrap();
        let page = s.history("p", None, 10).unwrap();
        use crate::store::MsgState;
        let rows: Vec<(i64, &str, MsgState)> = page
            .iter()
            .map(|m| (m.id, m.msg_id.as_str(), m.state))
            .collect();
        assert_eq!(
            rows,
            [(7, "m1", MsgState::Sent), (9, "m2", MsgState::Received)]
        );
        assert_eq!(
            s.search("hello", 10).unwrap()[0].id,
            7,
            "the index still points at it"
        );
        // The new state fits, with its reason; the outbox no longer holds it.
        assert!(s.mark_failed("p", "me", "m1", "too long").unwrap());
        let m = &s.history("p", None, 10).unwrap()[0];
        assert_eq!(
            (m.state, m.reason.as_deref()),
            (MsgState::Failed, Some("too long"))
        );
        assert!(!s.mark_failed("p", "me", "m1", "again").unwrap(), "once");
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Rooms (schema v6): the rooms we know with their members, and our room messages' outbox,
//! one row per member (see `migrations::V6` and `V7`).
//!
//! A room message is stored once in `messages` (its conversation is the room) and, for
//! ours, its body once in `room_bodies` (to send it again) and its state once per member
//! in `room_outbox`, in one transaction. The outbox updates of
//! `messages` (`mark_sent`, `mark_delivered_all`, `mark_failed`) fall through to
//! `room_outbox` when no direct message matches, so chat's records need no room case.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};

use super::messages::{INDEX, INSERT};
use super::search::index_text;
use super::{NewMessage, Store, StoreError, classify};
use crate::protocol::room::{Member, RoomChange};

pub(super) const MARK_SENT: &str =
    "UPDATE room_outbox SET state = 'sent' WHERE member = ?1 AND msg_id = ?2 AND state = 'pending'";
pub(super) const MARK_DELIVERED: &str = "UPDATE room_outbox SET state = 'delivered'
     WHERE member = ?1 AND msg_id = ?2 AND state IN ('pending', 'sent')";
pub(super) const MARK_FAILED: &str = "UPDATE room_outbox SET state = 'failed', reason = ?3
     WHERE member = ?1 AND msg_id = ?2 AND state IN ('pending', 'sent')";
const MARK_LEFT: &str = "UPDATE room_outbox SET state = 'left'
     WHERE member = ?2 AND room = ?1 AND state IN ('pending', 'sent')";
// A body is kept only to send it again: once no copy waits, it goes (the text stays in
// the history row).
pub(super) const FORGET_BODY: &str = "DELETE FROM room_bodies WHERE msg_id = ?1
     AND NOT EXISTS (SELECT 1 FROM room_outbox
                     WHERE msg_id = ?1 AND state IN ('pending', 'sent'))";
const FORGET_ROOM_BODIES: &str = "DELETE FROM room_bodies WHERE room = ?1
     AND NOT EXISTS (SELECT 1 FROM room_outbox o
                     WHERE o.msg_id = room_bodies.msg_id AND o.state IN ('pending', 'sent'))";

/// A room as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRoom {
    /// The room id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether we are in it (false once we left).
    pub joined: bool,
    /// Its members, in the order they joined, us included while we are in it.
    pub members: Vec<Member>,
    /// The change that set the name (schema v9; the default before).
    pub name_mark: Mark,
    /// Per peer id, the last change that brought them in or took them out: members and
    /// those who left (schema v9; none before, which orders before every change).
    pub marks: BTreeMap<String, Mark>,
}

/// Where in the order of a room's changes one was made: its signed `at`, then its
/// author's id to break ties. Comparing marks orders any two changes the same way at
/// every member (see `node::rooms::order`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    /// Milliseconds since the Unix epoch at the author (the change's `at`).
    pub at: u64,
    /// The author's peer id.
    pub by: String,
}

/// One member's copy of one of our room messages or changes, not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomDelivery {
    /// The member it goes to.
    pub member: String,
    /// The message id (the same for every member).
    pub msg_id: String,
    /// The room.
    pub room: String,
    /// Milliseconds since the Unix epoch at us.
    pub sent_at: u64,
    /// The text (for a change: what it did, in words).
    pub text: String,
    /// The signed change, for a change.
    pub change: Option<Box<RoomChange>>,
    /// Already written to a link once (stored as `sent`, not `pending`).
    pub sent: bool,
}

/// Where one member's copy of one of our room messages stands (`history` of a room).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberDelivery {
    /// The message.
    pub msg_id: String,
    /// The member it went to.
    pub peer: String,
    /// `pending` (not yet on a link), `sent` (no ack yet), `delivered`, `failed` (they
    /// refused it for good) or `left` (they left the room before taking it: dropped).
    pub state: String,
}

impl Store {
    /// Every room we know (in it or left), with its members.
    pub fn rooms(&self) -> Result<Vec<StoredRoom>, StoreError> {
        let mut rooms: Vec<StoredRoom> = self
            .conn
            .prepare_cached("SELECT id, name, joined, name_at, name_by FROM rooms ORDER BY id")
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(StoredRoom {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        joined: r.get::<_, i64>(2)? != 0,
                        name_mark: Mark {
                            at: r.get::<_, i64>(3)?.max(0) as u64,
                            by: r.get(4)?,
                        },
                        ..StoredRoom::default()
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))?;
        for room in &mut rooms {
            room.members = self
                .conn
                .prepare_cached(
                    "SELECT peer, name, key, addr, port FROM room_members WHERE room = ?1
                     ORDER BY pos",
                )
                .and_then(|mut s| {
                    s.query_map([&room.id], |r| {
                        Ok(Member {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            key: r.get(2)?,
                            addr: r.get(3)?,
                            port: r.get::<_, i64>(4)?.clamp(0, 65535) as u16,
                        })
                    })?
                    .collect()
                })
                .map_err(|e| self.err(e))?;
            room.marks = self
                .conn
                .prepare_cached("SELECT peer, at, by FROM room_marks WHERE room = ?1")
                .and_then(|mut s| {
                    s.query_map([&room.id], |r| {
                        let at = r.get::<_, i64>(1)?.max(0) as u64;
                        Ok((r.get(0)?, Mark { at, by: r.get(2)? }))
                    })?
                    .collect()
                })
                .map_err(|e| self.err(e))?;
        }
        Ok(rooms)
    }

    /// Stores one of our room messages or changes in one transaction: `row` in the
    /// room's history, one outbox row per delivery, and the room as it is after it
    /// (`room`, for a change).
    pub fn send_room(
        &mut self,
        row: &NewMessage<'_>,
        deliveries: &[RoomDelivery],
        room: Option<&StoredRoom>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        insert_row(&tx, row).map_err(err)?;
        {
            // The body once (every delivery of one message carries the same), then a
            // row per member.
            let mut body = tx
                .prepare_cached(
                    "INSERT INTO room_bodies (msg_id, room, sent_at, text, change)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (msg_id) DO NOTHING",
                )
                .map_err(err)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO room_outbox (member, msg_id, room, state)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (member, msg_id) DO NOTHING",
                )
                .map_err(err)?;
            let mut bodies_done: Option<&str> = None;
            for d in deliveries {
                if bodies_done != Some(d.msg_id.as_str()) {
                    let change = d
                        .change
                        .as_ref()
                        .map(|c| serde_json::to_string(c).expect("a change always serialises"));
                    body.execute(params![d.msg_id, d.room, d.sent_at as i64, d.text, change])
                        .map_err(err)?;
                    bodies_done = Some(d.msg_id.as_str());
                }
                let state = if d.sent { "sent" } else { "pending" };
                insert
                    .execute(params![d.member, d.msg_id, d.room, state])
                    .map_err(err)?;
            }
        }
        if let Some(room) = room {
            save_room(&tx, room).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Stores a change someone made (`row`, in the room's history) and the room after it,
    /// in one transaction; for a `leave`, `left` is who left, and our copies of the
    /// room's messages to them not yet acknowledged become `left`, and our transfers made
    /// for the room to them and not yet done become `cancelled`, in the same transaction
    /// (never sent, also not after a restart). Returns `false` (and changes nothing) when
    /// the change was stored before: a resend.
    pub fn take_room_change(
        &mut self,
        row: &NewMessage<'_>,
        room: &StoredRoom,
        left: Option<&str>,
    ) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        if insert_row(&tx, row).map_err(err)?.is_none() {
            return Ok(false);
        }
        save_room(&tx, room).map_err(err)?;
        if let Some(member) = left {
            tx.prepare_cached(MARK_LEFT)
                .and_then(|mut s| s.execute(params![room.id, member]))
                .map_err(err)?;
            tx.prepare_cached(FORGET_ROOM_BODIES)
                .and_then(|mut s| s.execute([&room.id]))
                .map_err(err)?;
            tx.prepare_cached(super::transfers::CANCEL_LEFT)
                .and_then(|mut s| s.execute(params![room.id, member]))
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(true)
    }

    /// Stores a room as it is now (its members' addresses brought up to date).
    pub fn update_room(&mut self, room: &StoredRoom) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        save_room(&tx, room).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Our room deliveries not yet acknowledged, oldest first, at most `limit`: the room
    /// half of the outbox to reload at start. A change that does not parse (a damaged
    /// row) goes as its words only.
    pub fn room_unacked(&self, limit: usize) -> Result<Vec<RoomDelivery>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT o.member, o.msg_id, o.room, b.sent_at, b.text, b.change, o.state
                 FROM room_outbox o JOIN room_bodies b ON b.msg_id = o.msg_id
                 WHERE o.state IN ('pending', 'sent') ORDER BY o.id LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map([limit as i64], |r| {
                    let change: Option<String> = r.get(5)?;
                    Ok(RoomDelivery {
                        member: r.get(0)?,
                        msg_id: r.get(1)?,
                        room: r.get(2)?,
                        sent_at: r.get::<_, i64>(3)?.max(0) as u64,
                        text: r.get(4)?,
                        change: change.and_then(|c| serde_json::from_str(&c).ok()),
                        sent: r.get::<_, String>(6)? == "sent",
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }

    /// Each member's state of one of our room messages (`pending`, `sent`, `delivered`,
    /// `failed`, `left`), in the order they were queued.
    pub fn room_states(&self, msg_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.conn
            .prepare_cached("SELECT member, state FROM room_outbox WHERE msg_id = ?1 ORDER BY id")
            .and_then(|mut s| {
                s.query_map([msg_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(|e| self.err(e))
    }

    /// Each member's state of each of `msg_ids` (ours, in a room), message by message in
    /// the order given, members in the order they were queued.
    pub fn room_deliveries<S: AsRef<str>>(
        &self,
        msg_ids: &[S],
    ) -> Result<Vec<MemberDelivery>, StoreError> {
        let mut all = Vec::new();
        for id in msg_ids {
            let id = id.as_ref();
            all.extend(
                self.room_states(id)?
                    .into_iter()
                    .map(|(peer, state)| MemberDelivery {
                        msg_id: id.to_owned(),
                        peer,
                        state,
                    }),
            );
        }
        Ok(all)
    }
}

/// Inserts one history row and indexes it; `None` for a duplicate.
fn insert_row(tx: &Transaction<'_>, m: &NewMessage<'_>) -> rusqlite::Result<Option<i64>> {
    let inserted = tx.prepare_cached(INSERT)?.execute(params![
        m.peer,
        m.msg_id,
        m.dir.as_str(),
        m.from,
        m.from_name,
        m.sent_at as i64,
        m.text,
        m.state.as_str()
    ])?;
    if inserted == 0 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    tx.prepare_cached(INDEX)?
        .execute(params![id, index_text(m.text)])?;
    Ok(Some(id))
}

/// Writes a room and its members as they are now.
fn save_room(tx: &Transaction<'_>, room: &StoredRoom) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO rooms (id, name, joined, name_at, name_by) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, joined = excluded.joined,
             name_at = excluded.name_at, name_by = excluded.name_by",
    )?
    .execute(params![
        room.id,
        room.name,
        i64::from(room.joined),
        i64::try_from(room.name_mark.at).unwrap_or(i64::MAX),
        room.name_mark.by
    ])?;
    tx.prepare_cached("DELETE FROM room_marks WHERE room = ?1")?
        .execute([&room.id])?;
    let mut mark =
        tx.prepare_cached("INSERT INTO room_marks (room, peer, at, by) VALUES (?1, ?2, ?3, ?4)")?;
    for (peer, m) in &room.marks {
        let at = i64::try_from(m.at).unwrap_or(i64::MAX);
        mark.execute(params![room.id, peer, at, m.by])?;
    }
    tx.prepare_cached("DELETE FROM room_members WHERE room = ?1")?
        .execute([&room.id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO room_members (room, peer, name, key, addr, port, pos)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (pos, m) in room.members.iter().enumerate() {
        insert.execute(params![
            room.id,
            m.id,
            m.name,
            m.key,
            m.addr,
            i64::from(m.port),
            pos as i64
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! File transfers, both ways, with their progress: what the transfer code records so a
//! broken transfer can resume after a restart.
//!
//! The transfer code owns the meaning of the states; this module only keeps them. A
//! transfer is *unfinished* while it is `offered`, `active` or `paused`.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Direction, Store, StoreError};

/// Where a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// Offered, not yet accepted or declined.
    Offered,
    /// Bytes are flowing.
    Active,
    /// Interrupted (link down, restart): resumes from `bytes_done`.
    Paused,
    /// Complete and the hash checked.
    Done,
    /// Failed for good (hash mismatch, file gone).
    Failed,
    /// The receiver said no.
    Declined,
    /// A user cancelled it.
    Cancelled,
}

impl TransferState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Offered => "offered",
            TransferState::Active => "active",
            TransferState::Paused => "paused",
            TransferState::Done => "done",
            TransferState::Failed => "failed",
            TransferState::Declined => "declined",
            TransferState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> TransferState {
        match s {
            "offered" => TransferState::Offered,
            "active" => TransferState::Active,
            "paused" => TransferState::Paused,
            "done" => TransferState::Done,
            "declined" => TransferState::Declined,
            "cancelled" => TransferState::Cancelled,
            _ => TransferState::Failed,
        }
    }
}

/// One transfer as recorded; also what `history` carries in `transfers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The `transfer_id` of the offer.
    #[serde(rename = "transfer_id")]
    pub id: String,
    /// The other peer's id.
    pub peer: String,
    /// `In` = we receive.
    pub dir: Direction,
    /// File name as offered (never trusted as a path).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub mime: String,
    /// The local file: the source (out) or the `.part`/final file (in).
    pub path: String,
    /// Bytes transferred and safely on disk.
    pub bytes_done: u64,
    /// Hex hash of the whole file, once known (not reported in `history`).
    #[serde(skip)]
    pub hash: Option<String>,
    /// Where it is.
    pub state: TransferState,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch.
    pub updated_at: u64,
    /// The room a transfer was offered for (`send_file` to a room), if any: ours, the
    /// member's leave cancels it; theirs (kept only for a room we are in whose member the
    /// sender is), it shows in the room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

impl Transfer {
    /// A transfer as history first records it: offered, nothing done yet. Every route
    /// (links, the page for browsers) records its offers through this one constructor.
    pub fn offered(
        (id, peer, dir): (&str, &str, Direction),
        (name, size, mime): (&str, u64, &str),
        path: String,
        wall: u64,
    ) -> Transfer {
        Transfer {
            id: id.to_owned(),
            peer: peer.to_owned(),
            dir,
            name: name.to_owned(),
            size,
            mime: mime.to_owned(),
            path,
            bytes_done: 0,
            hash: None,
            state: TransferState::Offered,
            created_at: wall,
            updated_at: wall,
            room: None,
        }
    }
}

/// A transfer row (in an upsert: the row already stored) that has not ended.
const UNFINISHED: &str = "transfers.state IN ('offered', 'active', 'paused')";

const COLUMNS: &str =
    "id, peer, dir, name, size, mime, path, bytes_done, hash, state, created_at, updated_at, room";

/// Cancels every outgoing transfer to `?2` made for room `?1` that has not ended well
/// (`done`) or been ended by someone (`declined`, `cancelled`): a member who left gets
/// none of them, not after a restart, not on a Retry of one that gave up.
pub(super) const CANCEL_LEFT: &str = "UPDATE transfers SET state = 'cancelled'
     WHERE room = ?1 AND peer = ?2 AND dir = 'out'
       AND state NOT IN ('done', 'declined', 'cancelled')";

fn row_to_transfer(r: &Row<'_>) -> rusqlite::Result<Transfer> {
    Ok(Transfer {
        id: r.get(0)?,
        peer: r.get(1)?,
        dir: if r.get::<_, String>(2)? == "in" {
            Direction::In
        } else {
            Direction::Out
        },
        name: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        mime: r.get(5)?,
        path: r.get(6)?,
        bytes_done: r.get::<_, i64>(7)? as u64,
        hash: r.get(8)?,
        state: TransferState::parse(&r.get::<_, String>(9)?),
        created_at: r.get::<_, i64>(10)? as u64,
        updated_at: r.get::<_, i64>(11)? as u64,
        room: r.get(12)?,
    })
}

impl Store {
    /// Records a new transfer, or an offer made again under the same id. An offer made
    /// again while the transfer is unfinished (a retry, a resume) is the same transfer:
    /// it keeps its place in the conversation (`created_at`), its bytes done and, if the
    /// new record has none, its path. An offer of a finished transfer's id (the same
    /// unchanged file sent again) starts afresh.
    pub fn save_transfer(&self, t: &Transfer) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO transfers ({COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (id) DO UPDATE SET
                 peer = excluded.peer, dir = excluded.dir, name = excluded.name,
                 size = excluded.size, mime = excluded.mime,
                 path = CASE WHEN excluded.path = '' THEN transfers.path
                             ELSE excluded.path END,
                 bytes_done = CASE WHEN {UNFINISHED} THEN transfers.bytes_done
                                   ELSE excluded.bytes_done END,
                 hash = excluded.hash, state = excluded.state,
                 created_at = CASE WHEN {UNFINISHED} THEN transfers.created_at
                                   ELSE excluded.created_at END,
                 updated_at = excluded.updated_at, room = excluded.room"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.execute(params![
                    t.id,
                    t.peer,
                    if t.dir == Direction::In { "in" } else { "out" },
                    t.name,
                    t.size as i64,
                    t.mime,
                    t.path,
                    t.bytes_done as i64,
                    t.hash,
                    t.state.as_str(),
                    t.created_at as i64,
                    t.updated_at as i64,
                    t.room
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Records progress (`now` in Unix milliseconds). Returns whether the transfer exists.
    pub fn transfer_progress(
        &self,
        id: &str,
        bytes_done: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("UPDATE transfers SET bytes_done = ?2, updated_at = ?3 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id, bytes_done as i64, now as i64]))
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Moves a transfer to `state`, recording the hash if given. Returns whether it exists.
    pub fn set_transfer_state(
        &self,
        id: &str,
        state: TransferState,
        hash: Option<&str>,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE transfers SET state = ?2, hash = coalesce(?3, hash), updated_at = ?4
                 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, state.as_str(), hash, now as i64]))
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Records where a finished transfer's file is. Returns whether the transfer exists.
    pub fn set_transfer_path(&self, id: &str, path: &str, now: u64) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("UPDATE transfers SET path = ?2, updated_at = ?3 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id, path, now as i64]))
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// A transfer by id.
    pub fn transfer(&self, id: &str) -> Result<Option<Transfer>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM transfers WHERE id = ?1");
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id], row_to_transfer).optional())
            .map_err(|e| self.err(e))
    }

    /// Transfers with `peer` (a direct conversation) created in `[since, until)` (Unix
    /// milliseconds; `until` `None` = up to now), oldest first, at most `limit` (the
    /// newest of them): the file cards that belong beside a page of messages. Ours made
    /// for a room are among them (each member's offer is theirs); theirs offered in a
    /// room are the room's ([`Self::room_transfers_between`]).
    pub fn transfers_between(
        &self,
        peer: &str,
        since: u64,
        until: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Transfer>, StoreError> {
        self.transfers_where(
            "peer = ?1 AND (dir = 'out' OR room IS NULL)",
            peer,
            (since, until),
            limit,
        )
    }

    /// Like [`Self::transfers_between`], for room `room`'s conversation: the files
    /// members offered us in the room.
    pub fn room_transfers_between(
        &self,
        room: &str,
        since: u64,
        until: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Transfer>, StoreError> {
        self.transfers_where("room = ?1 AND dir = 'in'", room, (since, until), limit)
    }

    /// The page of transfers `which` (`?1` = `conv`) picks, as `transfers_between` says.
    fn transfers_where(
        &self,
        which: &str,
        conv: &str,
        (since, until): (u64, Option<u64>),
        limit: usize,
    ) -> Result<Vec<Transfer>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM transfers
             WHERE {which} AND created_at >= ?2 AND created_at < ?3
             ORDER BY created_at DESC LIMIT ?4"
        );
        let until = until.map_or(i64::MAX, |u| i64::try_from(u).unwrap_or(i64::MAX));
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let mut page: Vec<Transfer> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![conv, since, until, limit as i64], row_to_transfer)?
                    .collect()
            })
            .map_err(|e| self.err(e))?;
        page.reverse();
        Ok(page)
    }

    /// Transfers still `offered`, `active` or `paused`, oldest first: to resume at start.
    pub fn unfinished_transfers(&self) -> Result<Vec<Transfer>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM transfers
             WHERE state IN ('offered', 'active', 'paused') ORDER BY created_at"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_map([], row_to_transfer)?.collect())
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests;

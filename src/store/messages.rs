//! Direct messages and Everyone shouts: writing them, the outbox states, history pages
//! and search.
//!
//! An outgoing direct message goes `pending` (stored, not yet on a link) → `sent`
//! (written to a link, not acknowledged) → `delivered` (acknowledged), or `failed` (the
//! recipient refused it for good, with its reason). `pending` and `sent` are both
//! unacknowledged: they are what the outbox reloads at start. Incoming messages are
//! `received`; our own shouts are `sent` (best effort: no ack exists).

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::search::{fts_query, index_text};
use super::{Store, StoreError, classify};

/// Who wrote a message, seen from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From a peer to us.
    In,
    /// From us.
    Out,
}

/// Where a message is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgState {
    /// Ours, stored, not yet written to a link (e.g. the peer is offline).
    Pending,
    /// Ours, written to a link, not acknowledged yet (or a shout: never acknowledged).
    Sent,
    /// Ours, acknowledged by the recipient.
    Delivered,
    /// From a peer.
    Received,
    /// Ours, refused for good by the recipient (too long, a field it does not take):
    /// never sent again. The reason is beside it.
    Failed,
}

impl Direction {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    fn parse(s: &str) -> Direction {
        if s == "in" {
            Direction::In
        } else {
            Direction::Out
        }
    }
}

impl MsgState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            MsgState::Pending => "pending",
            MsgState::Sent => "sent",
            MsgState::Delivered => "delivered",
            MsgState::Received => "received",
            MsgState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> MsgState {
        match s {
            "pending" => MsgState::Pending,
            "sent" => MsgState::Sent,
            "delivered" => MsgState::Delivered,
            "failed" => MsgState::Failed,
            _ => MsgState::Received,
        }
    }
}

/// A message to store.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    /// The conversation: the other peer's id, or [`super::EVERYONE`].
    pub peer: &'a str,
    /// The sender's message id.
    pub msg_id: &'a str,
    /// In or out.
    pub dir: Direction,
    /// The author's peer id (ours for outgoing messages).
    pub from: &'a str,
    /// The author's name at the time.
    pub from_name: &'a str,
    /// The text.
    pub text: &'a str,
    /// Milliseconds since the Unix epoch at the sender.
    pub sent_at: u64,
    /// Initial state.
    pub state: MsgState,
}

/// A message as stored: what `history` and `search_results` carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMessage {
    /// Local row number: increases with arrival, the key for paging (`before`).
    pub id: i64,
    /// The conversation: the other peer's id, or `everyone`.
    pub peer: String,
    /// The sender's message id.
    pub msg_id: String,
    /// `in` or `out`.
    pub dir: Direction,
    /// The author's peer id.
    pub from: String,
    /// The author's name at the time.
    pub from_name: String,
    /// The text.
    pub text: String,
    /// Milliseconds since the Unix epoch at the sender.
    pub sent_at: u64,
    /// `pending`, `sent`, `delivered`, `received` or `failed`.
    pub state: MsgState,
    /// Why a `failed` message was refused, in the recipient's words (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

// The outbox updates name the whole unique key (conversation, author, message id), so
// each is one index lookup. Without the author SQLite can only use the conversation and
// walks all of it: with 10 000 messages to one peer, that walk was most of a message's
// round trip (`docs/BENCHMARKS.md`).
pub(super) const INSERT: &str = "INSERT INTO messages
     (peer, msg_id, dir, author, author_name, sent_at, text, state)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (peer, author, msg_id) DO NOTHING";
pub(super) const INDEX: &str = "INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)";

pub(super) const MARK_SENT: &str = "UPDATE messages SET state = 'sent'
     WHERE peer = ?1 AND author = ?2 AND msg_id = ?3 AND dir = 'out' AND state = 'pending'";
pub(super) const MARK_DELIVERED: &str = "UPDATE messages SET state = 'delivered'
     WHERE peer = ?1 AND author = ?2 AND msg_id = ?3 AND dir = 'out'
       AND state IN ('pending', 'sent')";
const MARK_FAILED: &str = "UPDATE messages SET state = 'failed', reason = ?4
     WHERE peer = ?1 AND author = ?2 AND msg_id = ?3 AND dir = 'out'
       AND state IN ('pending', 'sent')";

const COLUMNS: &str = "id, peer, msg_id, dir, author, author_name, sent_at, text, state, reason";

fn row_to_message(r: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        id: r.get(0)?,
        peer: r.get(1)?,
        msg_id: r.get(2)?,
        dir: Direction::parse(&r.get::<_, String>(3)?),
        from: r.get(4)?,
        from_name: r.get(5)?,
        sent_at: r.get::<_, i64>(6)? as u64,
        text: r.get(7)?,
        state: MsgState::parse(&r.get::<_, String>(8)?),
        reason: r.get(9)?,
    })
}

impl Store {
    /// Stores a message and indexes it for search. Returns its row id, or `None` if the
    /// same message (conversation, author, `msg_id`) is already stored: a duplicate.
    pub fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<Option<i64>, StoreError> {
        Ok(self.insert_messages(std::slice::from_ref(m))?[0])
    }

    /// Stores messages in one transaction (group commit: one WAL append and one set of
    /// locks for a burst), all or none: on an error nothing of them is stored. Returns
    /// each one's row id, `None` for a duplicate.
    pub fn insert_messages(
        &mut self,
        ms: &[NewMessage<'_>],
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut rows = Vec::with_capacity(ms.len());
        {
            let mut insert = tx.prepare_cached(INSERT).map_err(err)?;
            let mut index = tx.prepare_cached(INDEX).map_err(err)?;
            for m in ms {
                let inserted = insert
                    .execute(params![
                        m.peer,
                        m.msg_id,
                        m.dir.as_str(),
                        m.from,
                        m.from_name,
                        m.sent_at as i64,
                        m.text,
                        m.state.as_str()
                    ])
                    .map_err(err)?;
                if inserted == 0 {
                    rows.push(None);
                    continue;
                }
                let id = tx.last_insert_rowid();
                index
                    .execute(params![id, index_text(m.text)])
                    .map_err(err)?;
                rows.push(Some(id));
            }
        }
        tx.commit().map_err(err)?;
        Ok(rows)
    }

    /// Our unacknowledged direct messages (`pending` or `sent`; shouts are never
    /// acknowledged and are not among them), oldest first, at most `limit`: the outbox to
    /// reload at start.
    pub fn unacked(&self, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages
             WHERE state IN ('pending', 'sent') AND peer <> 'everyone'
               AND peer NOT LIKE 'room-%'
             ORDER BY id LIMIT ?1"
        );
        self.query_messages(&sql, params![limit as i64])
    }

    /// Marks our messages to `peer` as written to a link (`pending` → `sent`). `me` is our
    /// peer id, their author.
    pub fn mark_sent<S: AsRef<str>>(
        &mut self,
        peer: &str,
        me: &str,
        msg_ids: &[S],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| classify(&self.path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(MARK_SENT)
                .map_err(|e| classify(&self.path, e))?;
            let mut room = tx
                .prepare_cached(super::rooms::MARK_SENT)
                .map_err(|e| classify(&self.path, e))?;
            for id in msg_ids {
                if stmt
                    .execute(params![peer, me, id.as_ref()])
                    .map_err(|e| classify(&self.path, e))?
                    == 0
                {
                    room.execute(params![peer, id.as_ref()])
                        .map_err(|e| classify(&self.path, e))?;
                }
            }
        }
        tx.commit().map_err(|e| classify(&self.path, e))
    }

    /// Marks our acknowledged messages, `(peer, msg_id)` pairs, in one transaction. `me` is
    /// our peer id, their author.
    pub fn mark_delivered_all<P: AsRef<str>, M: AsRef<str>>(
        &mut self,
        me: &str,
        acked: &[(P, M)],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut stmt = tx.prepare_cached(MARK_DELIVERED).map_err(err)?;
            let mut room = tx
                .prepare_cached(super::rooms::MARK_DELIVERED)
                .map_err(err)?;
            let mut forget = tx.prepare_cached(super::rooms::FORGET_BODY).map_err(err)?;
            for (peer, msg_id) in acked {
                if stmt
                    .execute(params![peer.as_ref(), me, msg_id.as_ref()])
                    .map_err(err)?
                    == 0
                    && room
                        .execute(params![peer.as_ref(), msg_id.as_ref()])
                        .map_err(err)?
                        > 0
                {
                    forget.execute([msg_id.as_ref()]).map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }

    /// Marks our message to `peer` as refused for good, with the recipient's `reason`
    /// (`pending`/`sent` → `failed`): it leaves the outbox. Returns whether it was waiting.
    /// `me` is our peer id, its author.
    pub fn mark_failed(
        &mut self,
        peer: &str,
        me: &str,
        msg_id: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(MARK_FAILED)
            .and_then(|mut s| s.execute(params![peer, me, msg_id, reason]))
            .and_then(|n| match n {
                0 => self
                    .conn
                    .prepare_cached(super::rooms::MARK_FAILED)
                    .and_then(|mut s| s.execute(params![peer, msg_id, reason]))
                    .and_then(|n| {
                        if n > 0 {
                            self.conn
                                .prepare_cached(super::rooms::FORGET_BODY)?
                                .execute([msg_id])?;
                        }
                        Ok(n)
                    }),
                n => Ok(n),
            })
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Marks our message to `peer` as acknowledged. Returns whether it was waiting. `me`
    /// is our peer id, its author.
    pub fn mark_delivered(
        &mut self,
        peer: &str,
        me: &str,
        msg_id: &str,
    ) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(MARK_DELIVERED)
            .and_then(|mut s| s.execute(params![peer, me, msg_id]))
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// One page of a conversation (`peer` id or [`super::EVERYONE`]), oldest first: the
    /// `limit` newest messages, or the `limit` newest before row `before`.
    pub fn history(
        &self,
        peer: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE peer = ?1 AND id < ?2
             ORDER BY id DESC LIMIT ?3"
        );
        let mut page = self.query_messages(
            &sql,
            params![peer, before.unwrap_or(i64::MAX), limit as i64],
        )?;
        page.reverse();
        Ok(page)
    }

    /// When the message in row `id` was sent (Unix milliseconds), if there is one.
    pub fn message_time(&self, id: i64) -> Result<Option<u64>, StoreError> {
        self.conn
            .prepare_cached("SELECT sent_at FROM messages WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get::<_, i64>(0)).optional())
            .map(|t| t.map(|t| t.max(0) as u64))
            .map_err(|e| self.err(e))
    }

    /// One page of a conversation going forward, oldest first: the `limit` oldest messages
    /// with a row id above `after` (what a view that jumped to an old message reads next).
    pub fn history_after(
        &self,
        peer: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE peer = ?1 AND id > ?2
             ORDER BY id LIMIT ?3"
        );
        self.query_messages(&sql, params![peer, after, limit as i64])
    }

    /// Messages matching what a user typed (see `store::search`), newest first, at most
    /// `limit`. An empty query finds nothing.
    pub fn search(&self, input: &str, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let Some(query) = fts_query(input) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE id IN (
                 SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1
                 ORDER BY rowid DESC LIMIT ?2)
             ORDER BY id DESC"
        );
        self.query_messages(&sql, params![query, limit as i64])
    }

    /// A message by conversation, author and id.
    pub fn message(
        &self,
        peer: &str,
        from: &str,
        msg_id: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE peer = ?1 AND author = ?2 AND msg_id = ?3"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_row(params![peer, from, msg_id], row_to_message)
                    .optional()
            })
            .map_err(|e| self.err(e))
    }

    fn query_messages(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_map(params, row_to_message)?.collect())
            .map_err(|e| self.err(e))
    }
}

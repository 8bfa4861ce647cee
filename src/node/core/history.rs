//! The core's side of the store: opening it at start (reloading known peers and the
//! unacknowledged outbox) and answering `history` and `search`. Messages are written
//! where they are sent and received (`commands`, `frames`), other records where the
//! parts' state changes (`carry`).

use std::path::Path;

use super::Core;
use crate::net::Port;
use crate::node::chat::outbox::{MAX_OUTBOX, OutMsg, Outbox};
use crate::node::clock::Now;
use crate::node::command::MAX_PAGE;
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::peer::{PeerInfo, PeerTrust, Protocol};
use crate::node::presence::{MAX_PEERS, PeerTable, TrustBook};
use crate::store::{Direction, EVERYONE, Fallback, HISTORY_FILE, KnownPeer, Store};
use crate::trust::PeerKey;

/// What was loaded from the data directory at start.
pub(super) struct Loaded {
    pub(super) store: Store,
    /// Why the file on disk could not be used as it was, to tell the user after `ready`.
    pub(super) problem: Option<Fallback>,
    pub(super) peers: PeerTable,
    /// The keys the user verified.
    pub(super) trust: TrustBook,
    pub(super) outbox: Outbox,
    /// Our messages moved to our new id, in the history file itself (not in a stand-in
    /// kept in memory): `identity.json` may say the new id now.
    pub(super) moved: bool,
}

/// Opens `history.db` in `data_dir` (or a fallback) and reloads known peers (offline,
/// with their last-seen time and keys), the keys the user verified, and the messages
/// still waiting for an ack. A corrupt file moved aside is named after `now`. `moved`:
/// our own id changed from the first to the second (a v1 data directory): the messages
/// we wrote move to the new id first, and `identity.json` is saved by the caller once
/// that is done.
pub(super) fn load(data_dir: &Path, now: Now, moved: Option<(&str, &str)>) -> Loaded {
    let path = data_dir.join(HISTORY_FILE);
    let (mut store, problem) = Store::open_or_fallback(&path, now.wall / 1000);
    if let Some(p) = &problem {
        tracing::error!("{p}");
    }
    let in_memory = matches!(problem, Some(Fallback::InMemory { .. }));
    let moved = match moved {
        None => false,
        Some((old, new)) => match store.rename_author(old, new) {
            Ok(n) => {
                tracing::info!("our peer id is now {new} (was {old}); {n} messages moved");
                !in_memory
            }
            Err(e) => {
                tracing::error!("cannot move the history from {old} to {new}: {e}");
                false
            }
        },
    };
    let mut peers = PeerTable::new();
    match store.known_peers(MAX_PEERS) {
        Ok(known) => known.into_iter().for_each(|p| {
            let key = p.key.as_deref().and_then(|k| PeerKey::from_base64(k).ok());
            peers.remember(peer_info(p), key, now.at);
        }),
        Err(e) => tracing::error!("cannot load known peers: {e}"),
    }
    let trust = match store.trusted_keys() {
        Ok(rows) => TrustBook::from_stored(rows),
        Err(e) => {
            tracing::error!("cannot load the verified keys: {e}");
            TrustBook::default()
        }
    };
    let mut outbox = Outbox::new();
    match store.unacked(MAX_OUTBOX) {
        Ok(waiting) => {
            if !waiting.is_empty() {
                tracing::info!("{} unacknowledged messages to send", waiting.len());
            }
            for m in waiting {
                let msg = OutMsg {
                    msg_id: m.msg_id.into(),
                    to: m.peer.into(),
                    sent_at: m.sent_at,
                    text: m.text,
                    room: None,
                    change: None,
                    sent_on: None,
                    stored_sent: m.state == crate::store::MsgState::Sent,
                };
                if outbox.push(msg).is_err() {
                    break;
                }
            }
        }
        Err(e) => tracing::error!("cannot load the outbox: {e}"),
    }
    match store.room_unacked(MAX_OUTBOX.saturating_sub(outbox.len())) {
        Ok(waiting) => {
            for d in waiting {
                let msg = OutMsg {
                    msg_id: d.msg_id.into(),
                    to: d.member.into(),
                    sent_at: d.sent_at,
                    text: d.text,
                    room: Some(d.room),
                    change: d.change,
                    sent_on: None,
                    stored_sent: d.sent,
                };
                if outbox.push(msg).is_err() {
                    break;
                }
            }
        }
        Err(e) => tracing::error!("cannot load the room outbox: {e}"),
    }
    Loaded {
        store,
        problem,
        peers,
        trust,
        outbox,
        moved,
    }
}

fn peer_info(p: KnownPeer) -> PeerInfo {
    PeerInfo {
        id: p.id.as_str().into(),
        name: p.name,
        host: p.host,
        group: p.group,
        addr: p.addr,
        port: p.port,
        online: false,
        status: "offline".to_owned(),
        last_seen: p.last_seen,
        // A visitor's id says what it was, whatever the protocol column says.
        protocol: if crate::node::web::is_visitor(&p.id) {
            Protocol::Web
        } else {
            Protocol::from_label(&p.protocol)
        },
        trust: PeerTrust::default(),
    }
}

impl<P: Port> Core<P> {
    /// Answers `history`: a page back from `before` (or the newest), or forward from `after`.
    pub(super) fn answer_history(
        &mut self,
        origin: Origin,
        peer: &str,
        before: Option<i64>,
        after: Option<i64>,
        limit: usize,
    ) {
        let asked = Some(origin);
        let chat = if peer == EVERYONE || self.rooms.knows(peer) {
            peer.to_owned()
        } else {
            match self.presence.table().resolve(peer) {
                Ok(p) => p.id.to_string(),
                Err(e) => return self.out.reply(asked, Event::error(format!("history: {e}"))),
            }
        };
        let limit = limit.min(MAX_PAGE);
        let page = match after {
            Some(after) => self.store.history_after(&chat, after, limit),
            None => self.store.history(&chat, before, limit),
        }
        .and_then(|messages| {
            let transfers = if chat == EVERYONE || limit == 0 {
                Vec::new() // files go to one peer, never to Everyone
            } else {
                let (since, until) = self.page_span(&messages, limit, before, after)?;
                if self.rooms.knows(&chat) {
                    self.store
                        .room_transfers_between(&chat, since, until, MAX_PAGE)?
                } else {
                    self.store
                        .transfers_between(&chat, since, until, MAX_PAGE)?
                }
            };
            let ours: Vec<&str> = messages
                .iter()
                .filter(|m| m.dir == Direction::Out)
                .map(|m| m.msg_id.as_str())
                .collect();
            let deliveries = if self.rooms.knows(&chat) {
                self.store.room_deliveries(&ours)?
            } else {
                Vec::new()
            };
            Ok((messages, transfers, deliveries))
        });
        let answer = match page {
            Ok((messages, transfers, deliveries)) => Event::History {
                peer: chat,
                messages,
                transfers,
                deliveries,
                before,
                after,
            },
            Err(e) => Event::error(format!("history: {e}")),
        };
        self.out.reply(asked, answer);
    }

    /// The stretch of time a page of messages covers, `[since, until)` in Unix ms
    /// (`until` `None`: up to now), for the transfers that belong beside it. Paging back
    /// (`before`): from the page's oldest message — or the beginning, when the page is
    /// short because nothing older is left — up to the message it stops before. Paging
    /// forward (`after`): from the message it starts after, up to its newest message — or
    /// now, when nothing newer is left.
    fn page_span(
        &self,
        messages: &[crate::store::StoredMessage],
        limit: usize,
        before: Option<i64>,
        after: Option<i64>,
    ) -> Result<(u64, Option<u64>), crate::store::StoreError> {
        let full = messages.len() == limit;
        let time_of = |row: i64| -> Result<u64, crate::store::StoreError> {
            Ok(self.store.message_time(row)?.unwrap_or(0))
        };
        Ok(match after {
            Some(row) => (
                time_of(row)?,
                messages.last().filter(|_| full).map(|m| m.sent_at),
            ),
            None => (
                messages.first().filter(|_| full).map_or(0, |m| m.sent_at),
                before.map(time_of).transpose()?,
            ),
        })
    }

    /// Answers `search`.
    pub(super) fn answer_search(&mut self, origin: Origin, query: String, limit: usize) {
        let answer = match self.store.search(&query, limit.min(MAX_PAGE)) {
            Ok(hits) => Event::SearchResults { query, hits },
            Err(e) => Event::error(format!("search: {e}")),
        };
        self.out.reply(Some(origin), answer);
    }
}

//! The core's side of the store: opening it at start (reloading known peers and the
//! unacknowledged outbox), remembering peers as they come and go, and answering
//! `history` and `search`. Transfers are recorded in `transfer_log`.
//!
//! Direct messages are written in `chat`, where they are sent and received; this file
//! holds what the store means to the rest of the core.

use std::path::Path;
use std::time::Instant;

use super::command::MAX_PAGE;
use super::core::Core;
use super::event::Event;
use super::outbox::{MAX_OUTBOX, OutMsg, Outbox};
use super::peers::{MAX_PEERS, PeerInfo, PeerTable};
use crate::store::{EVERYONE, Fallback, HISTORY_FILE, KnownPeer, Store};

/// What was loaded from the data directory at start.
pub(super) struct Loaded {
    pub(super) store: Store,
    /// Why the file on disk could not be used as it was, to tell the user after `ready`.
    pub(super) problem: Option<Fallback>,
    pub(super) peers: PeerTable,
    pub(super) outbox: Outbox,
}

/// Opens `history.db` in `data_dir` (or a fallback) and reloads known peers (offline,
/// with their last-seen time) and the messages still waiting for an ack. `now` is the
/// peer table's clock; `wall_ms` (Unix milliseconds) names a corrupt file moved aside.
pub(super) fn load(data_dir: &Path, now: Instant, wall_ms: u64) -> Loaded {
    let path = data_dir.join(HISTORY_FILE);
    let (store, problem) = Store::open_or_fallback(&path, wall_ms / 1000);
    if let Some(p) = &problem {
        tracing::error!("{p}");
    }
    let mut peers = PeerTable::new();
    match store.known_peers(MAX_PEERS) {
        Ok(known) => known
            .into_iter()
            .for_each(|p| peers.remember(peer_info(p), now)),
        Err(e) => tracing::error!("cannot load known peers: {e}"),
    }
    let mut outbox = Outbox::new();
    match store.unacked(MAX_OUTBOX) {
        Ok(waiting) => {
            if !waiting.is_empty() {
                tracing::info!("{} unacknowledged messages to send", waiting.len());
            }
            for m in waiting {
                let msg = OutMsg {
                    msg_id: m.msg_id,
                    to: m.peer,
                    sent_at: m.sent_at,
                    text: m.text,
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
    Loaded {
        store,
        problem,
        peers,
        outbox,
    }
}

fn peer_info(p: KnownPeer) -> PeerInfo {
    PeerInfo {
        id: p.id,
        name: p.name,
        host: p.host,
        addr: p.addr,
        port: p.port,
        online: false,
        status: "offline".to_owned(),
        last_seen: p.last_seen,
    }
}

impl Core {
    /// Tells the user (after `ready`) if the history file could not be used as it was.
    pub(super) fn report_store_problem(&mut self) {
        if let Some(problem) = self.store_problem.take() {
            self.emit(Event::error(format!("history: {problem}")));
        }
    }

    /// Remembers a peer as it is in the peer table now (name, address, last seen).
    pub(super) fn save_peer(&self, id: &str) {
        let Some(p) = self.peers.get(id) else {
            return;
        };
        let known = KnownPeer {
            id: p.id.clone(),
            name: p.name.clone(),
            host: p.host.clone(),
            addr: p.addr,
            port: p.port,
            last_seen: p.last_seen,
        };
        if let Err(e) = self.store.save_peer(&known) {
            tracing::warn!(peer = %id, "cannot remember peer: {e}");
        }
    }

    /// Remembers every online peer's last-seen time (at shutdown).
    pub(super) fn save_online_peers(&self) {
        for p in self.peers.list().into_iter().filter(|p| p.online) {
            self.save_peer(&p.id);
        }
    }

    /// Answers `history`: a page back from `before` (or the newest), or forward from `after`.
    pub(super) fn answer_history(
        &mut self,
        peer: &str,
        before: Option<i64>,
        after: Option<i64>,
        limit: usize,
    ) {
        let chat = if peer == EVERYONE {
            EVERYONE.to_owned()
        } else {
            match self.peers.resolve(peer) {
                Ok(p) => p.id.clone(),
                Err(e) => return self.emit(Event::error(format!("history: {e}"))),
            }
        };
        let limit = limit.min(MAX_PAGE);
        let page = match after {
            Some(after) => self.store.history_after(&chat, after, limit),
            None => self.store.history(&chat, before, limit),
        }
        .and_then(|messages| {
            let transfers = if chat == EVERYONE || limit == 0 {
                Vec::new() // files go to one peer, never to the room
            } else {
                let (since, until) = self.page_span(&messages, limit, before, after)?;
                self.store
                    .transfers_between(&chat, since, until, MAX_PAGE)?
            };
            Ok((messages, transfers))
        });
        match page {
            Ok((messages, transfers)) => self.emit(Event::History {
                peer: chat,
                messages,
                transfers,
                before,
                after,
            }),
            Err(e) => self.emit(Event::error(format!("history: {e}"))),
        }
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
    pub(super) fn answer_search(&mut self, query: String, limit: usize) {
        match self.store.search(&query, limit.min(MAX_PAGE)) {
            Ok(hits) => self.emit(Event::SearchResults { query, hits }),
            Err(e) => self.emit(Event::error(format!("search: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::headless::{event_line, parse_command};
    use crate::node::Command;
    use crate::store::{Direction, MsgState, StoredMessage, Transfer, TransferState};

    /// The id of the known peer [`core_knowing_offline_bob`] sets up.
    const BOB: &str = "0123456789abcdef0123456789abcdef";

    /// A core on loopback that knows one peer, `bob`, offline: the core, the receiving
    /// end of its events, its data folder (fresh, to remove) and the receiving end of
    /// its inputs (kept open while the test runs).
    fn core_knowing_offline_bob(
        tag: &str,
    ) -> (
        Core,
        crossbeam_channel::Receiver<Event>,
        std::path::PathBuf,
        crossbeam_channel::Receiver<crate::net::NetInput>,
    ) {
        let dir = std::env::temp_dir().join(format!("lanchat-{tag}-{}", uuid::Uuid::new_v4()));
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .unwrap()
            .port();
        let (events_tx, events) = crossbeam_channel::unbounded();
        let (input_tx, inputs) = crossbeam_channel::bounded(16);
        let config = crate::config::Config::loopback(&dir, port);
        let mut core = Core::start(config, events_tx, crate::node::no_waker(), input_tx).unwrap();
        core.peers.remember(
            peer_info(KnownPeer {
                id: BOB.into(),
                name: "bob".into(),
                host: String::new(),
                addr: std::net::Ipv4Addr::LOCALHOST,
                port: 1,
                last_seen: 0,
            }),
            Instant::now(),
        );
        (core, events, dir, inputs)
    }

    #[test]
    fn a_message_that_cannot_be_stored_is_not_sent() {
        let (mut core, events, dir, _inputs) = core_knowing_offline_bob("full");
        let peer = BOB;
        core.store.set_max_pages(1); // no room to grow: the disk is full
        core.send_chat(peer, "x".repeat(10_000));
        let said: Vec<Event> = events.try_iter().collect();
        assert!(
            matches!(&said[..], [Event::Error { message }]
                if message.starts_with("send: the message was not sent") && message.contains("full")),
            "{said:?}"
        );
        assert!(core.outbox.is_empty(), "nothing queued");
        drop(core);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_burst_of_sends_is_answered_in_order_and_stored_all_or_nothing() {
        let (mut core, events, dir, _inputs) = core_knowing_offline_bob("burst");
        let peer = BOB;
        let burst = |texts: [&str; 3]| texts.map(|t| (peer.to_owned(), t.to_owned())).to_vec();
        core.send_chats(burst(["one", "", "two"]));
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
        core.send_chats(burst(["three", "", &"x".repeat(10_000)]));
        let said: Vec<Event> = events.try_iter().collect();
        assert!(
            matches!(&said[..], [Event::Error { message: a }, Event::Error { message: b }, Event::Error { message: c }]
                if a.starts_with("send: the message was not sent") && b.contains("empty")
                    && c.starts_with("send: the message was not sent")),
            "{said:?}"
        );
        assert_eq!(core.outbox.len(), 2, "only the two stored before");
        assert_eq!(core.store.history(peer, None, 10).unwrap().len(), 2);
        drop(core);
        std::fs::remove_dir_all(dir).unwrap();
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
                }],
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
                before: None,
                after: Some(3),
            }),
            json!({"event":"history","peer":"p","messages":[],"transfers":[],"after":3})
        );
        assert_eq!(
            v(&Event::SearchResults {
                query: "你".into(),
                hits: vec![m]
            }),
            json!({"event":"search_results","query":"你","hits":[message]})
        );
    }
}

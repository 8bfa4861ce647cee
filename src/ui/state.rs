//! The window's model: core [`Event`]s folded into peers, conversations, unread counts and
//! delivery marks. No egui here, so every rule is unit-tested without a window.
//!
//! Owns: who we are, the peers we know, one [`Conversation`] per peer plus Everyone, which
//! conversation is open, the latest [`NetStatus`] and the latest error. It never sends
//! anything: callers turn what they see here into [`crate::node::Command`]s.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::transfers::{FileTransfer, TransferStage};
use crate::node::{Event, NetStatus, PeerInfo};
use crate::store::{Direction, MsgState, StoredMessage};

/// Which conversation: the Everyone room or one peer (by id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum ConvKey {
    /// Broadcast shouts, best effort.
    #[default]
    Everyone,
    /// Direct messages with the peer of this id.
    Peer(String),
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Someone else wrote it.
    Received,
    /// Ours, stored but not yet on the wire (the peer was offline): from history.
    Pending,
    /// Ours, accepted by the core and queued; no ack yet.
    Sent,
    /// Ours, acknowledged by the peer.
    Delivered,
    /// Ours, broadcast to Everyone: no delivery report exists.
    Shouted,
}

/// One bubble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Message id from the core.
    pub msg_id: String,
    /// Sender's name (ours for our messages).
    pub from_name: String,
    /// The text.
    pub text: String,
    /// Milliseconds since the Unix epoch (at the sender).
    pub sent_at: u64,
    /// Delivery state.
    pub mark: Mark,
    /// The file this bubble stands for, if it is a file (see [`ChatState::transfers`]).
    pub transfer: Option<String>,
}

impl ChatMessage {
    /// Whether we wrote it.
    pub fn is_mine(&self) -> bool {
        self.mark != Mark::Received
    }
}

/// The messages of one conversation and how many arrived unseen.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// Arrived while the conversation was not in view.
    pub unread: usize,
    /// Name to show if the peer itself is unknown (a message from before a beacon).
    pub fallback_name: String,
}

/// Who we are, from the core's `ready` event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Me {
    /// Our peer id.
    pub id: String,
    /// Our display name.
    pub name: String,
    /// Our host name.
    pub host: String,
    /// Where the link listener is bound.
    pub addr: String,
    /// TCP link port.
    pub port: u16,
    /// UDP discovery port.
    pub discovery_port: u16,
    /// Presence status we announce.
    pub status: String,
}

/// Something worth a desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Where it arrived.
    pub conv: ConvKey,
    /// Sender's name.
    pub from_name: String,
    /// The text.
    pub text: String,
}

/// Everything the window shows, folded from events.
#[derive(Debug, Default)]
pub struct ChatState {
    /// Set by `ready`; `None` until then.
    pub me: Option<Me>,
    /// Known peers by id.
    pub peers: HashMap<String, PeerInfo>,
    /// Conversations by key; created on first message.
    pub conversations: HashMap<ConvKey, Conversation>,
    /// The open conversation.
    pub selected: ConvKey,
    /// Latest network snapshot.
    pub net_status: Option<NetStatus>,
    /// Latest error from the core, until dismissed.
    pub error: Option<String>,
    /// The core said `stopped`.
    pub stopped: bool,
    /// Conversations whose stored history has been asked for.
    pub history_asked: HashSet<ConvKey>,
    /// File transfers by id; their bubbles refer to them.
    pub transfers: HashMap<String, FileTransfer>,
    /// The last search: what was asked and what matched, newest first.
    pub search: Option<(String, Vec<StoredMessage>)>,
}

impl ChatState {
    /// Folds one event in. `in_view` says whether the user is looking at the window (it
    /// is focused): a message to the open conversation counts as unread otherwise.
    /// Returns a message that arrived, for a notification.
    pub fn apply(&mut self, event: Event, in_view: bool) -> Option<Arrival> {
        match event {
            Event::Ready {
                id,
                name,
                host,
                addr,
                port,
                discovery_port,
                data_dir: _,
            } => {
                self.me = Some(Me {
                    id,
                    name,
                    host,
                    addr,
                    port,
                    discovery_port,
                    status: "online".to_owned(),
                });
                self.stopped = false;
            }
            Event::PeerJoined { peer } | Event::PeerChanged { peer } => {
                self.peers.insert(peer.id.clone(), peer);
            }
            Event::PeerLeft { id, .. } => {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.online = false;
                }
            }
            Event::Peers { peers } => {
                for p in peers {
                    self.peers.insert(p.id.clone(), p);
                }
            }
            Event::Sent {
                msg_id,
                to,
                sent_at,
                text,
            } => {
                let from_name = self.my_name();
                self.push(
                    ConvKey::Peer(to),
                    ChatMessage {
                        msg_id,
                        from_name,
                        text,
                        sent_at,
                        mark: Mark::Sent,
                        transfer: None,
                    },
                );
            }
            Event::Delivered { msg_id, to } => {
                self.set_mark(&ConvKey::Peer(to), &msg_id, Mark::Delivered);
            }
            Event::Message {
                from,
                from_name,
                msg_id,
                text,
                sent_at,
            } => {
                return self.arrive(
                    ConvKey::Peer(from),
                    from_name,
                    msg_id,
                    text,
                    sent_at,
                    in_view,
                );
            }
            Event::Shout {
                from: _,
                from_name,
                msg_id,
                text,
                sent_at,
            } => return self.arrive(ConvKey::Everyone, from_name, msg_id, text, sent_at, in_view),
            Event::ShoutSent {
                msg_id,
                text,
                sent_at,
            } => {
                let from_name = self.my_name();
                self.push(
                    ConvKey::Everyone,
                    ChatMessage {
                        msg_id,
                        from_name,
                        text,
                        sent_at,
                        mark: Mark::Shouted,
                        transfer: None,
                    },
                );
            }
            Event::Renamed { name } => {
                if let Some(me) = &mut self.me {
                    me.name = name;
                }
            }
            Event::StatusChanged { status } => {
                if let Some(me) = &mut self.me {
                    me.status = status;
                }
            }
            Event::NetStatus(status) => self.net_status = Some(status),
            Event::History { peer, messages, .. } => self.load_history(&peer, messages),
            Event::Error { message } => self.error = Some(message),
            Event::Stopped => self.stopped = true,
            Event::SearchResults { query, hits } => self.search = Some((query, hits)),
            Event::OfferSent {
                transfer_id,
                to,
                name,
                size,
                mime,
            } => {
                let from_name = self.my_name();
                self.push(
                    ConvKey::Peer(to.clone()),
                    ChatMessage {
                        msg_id: transfer_id.clone(),
                        from_name,
                        text: name.clone(),
                        sent_at: crate::ui::timefmt::now_ms(),
                        mark: Mark::Sent,
                        transfer: Some(transfer_id.clone()),
                    },
                );
                let t = FileTransfer::offered(transfer_id.clone(), to, true, name, size, mime);
                self.transfers.insert(transfer_id, t);
            }
            Event::FileOffer {
                transfer_id,
                from,
                name,
                size,
                mime,
            } => {
                let from_name = self
                    .peers
                    .get(&from)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| short_id(&from).to_owned());
                let t = FileTransfer::offered(
                    transfer_id.clone(),
                    from.clone(),
                    false,
                    name.clone(),
                    size,
                    mime,
                );
                self.transfers.insert(transfer_id.clone(), t);
                let arrival = self.arrive(
                    ConvKey::Peer(from),
                    from_name,
                    transfer_id.clone(),
                    format!("📎 {name}"),
                    crate::ui::timefmt::now_ms(),
                    in_view,
                );
                if let Some(c) = self.conversations.get_mut(&arrival.as_ref()?.conv)
                    && let Some(m) = c.messages.last_mut()
                {
                    m.transfer = Some(transfer_id);
                }
                return arrival;
            }
            Event::TransferStarted {
                transfer_id,
                offset,
                ..
            } => {
                if let Some(t) = self.transfers.get_mut(&transfer_id) {
                    t.started(offset, Instant::now());
                }
            }
            Event::TransferProgress {
                transfer_id, bytes, ..
            } => {
                if let Some(t) = self.transfers.get_mut(&transfer_id) {
                    t.progress(bytes, Instant::now());
                }
            }
            Event::TransferDone { transfer_id, path } => {
                if let Some(t) = self.transfers.get_mut(&transfer_id) {
                    t.stage = TransferStage::Done { path };
                    if t.mine {
                        let conv = ConvKey::Peer(t.peer.clone());
                        self.set_mark(&conv, &transfer_id, Mark::Delivered);
                    }
                }
            }
            Event::TransferFailed {
                transfer_id,
                reason,
            } => {
                if let Some(t) = self.transfers.get_mut(&transfer_id) {
                    t.stage = TransferStage::Failed { reason };
                }
            }
        }
        None
    }

    fn arrive(
        &mut self,
        conv: ConvKey,
        from_name: String,
        msg_id: String,
        text: String,
        sent_at: u64,
        in_view: bool,
    ) -> Option<Arrival> {
        let seen = in_view && self.selected == conv;
        let c = self.conversations.entry(conv.clone()).or_default();
        if c.fallback_name.is_empty() {
            c.fallback_name.clone_from(&from_name);
        }
        c.messages.push(ChatMessage {
            msg_id,
            from_name: from_name.clone(),
            text: text.clone(),
            sent_at,
            mark: Mark::Received,
            transfer: None,
        });
        if !seen {
            c.unread += 1;
        }
        Some(Arrival {
            conv,
            from_name,
            text,
        })
    }

    fn set_mark(&mut self, conv: &ConvKey, msg_id: &str, mark: Mark) {
        if let Some(m) = self
            .conversations
            .get_mut(conv)
            .and_then(|c| c.messages.iter_mut().rev().find(|m| m.msg_id == msg_id))
        {
            m.mark = mark;
        }
    }

    /// Puts a page of stored history before what this run has shown, skipping messages
    /// already there (a message can be both stored and reported live).
    fn load_history(&mut self, peer: &str, stored: Vec<StoredMessage>) {
        let conv = if peer == "everyone" {
            ConvKey::Everyone
        } else {
            ConvKey::Peer(peer.to_owned())
        };
        let c = self.conversations.entry(conv.clone()).or_default();
        let known: HashSet<&str> = c.messages.iter().map(|m| m.msg_id.as_str()).collect();
        let mut older: Vec<ChatMessage> = stored
            .into_iter()
            .filter(|m| !known.contains(m.msg_id.as_str()))
            .map(|m| ChatMessage {
                mark: match (m.dir, m.state, &conv) {
                    (Direction::In, ..) | (_, MsgState::Received, _) => Mark::Received,
                    (Direction::Out, _, ConvKey::Everyone) => Mark::Shouted,
                    (Direction::Out, MsgState::Delivered, _) => Mark::Delivered,
                    (Direction::Out, MsgState::Pending, _) => Mark::Pending,
                    (Direction::Out, MsgState::Sent, _) => Mark::Sent,
                },
                msg_id: m.msg_id,
                from_name: m.from_name,
                text: m.text,
                sent_at: m.sent_at,
                transfer: None,
            })
            .collect();
        if c.fallback_name.is_empty()
            && let Some(m) = older.iter().find(|m| m.mark == Mark::Received)
        {
            c.fallback_name.clone_from(&m.from_name);
        }
        older.append(&mut c.messages);
        c.messages = older;
    }

    fn push(&mut self, conv: ConvKey, msg: ChatMessage) {
        self.conversations
            .entry(conv)
            .or_default()
            .messages
            .push(msg);
    }

    fn my_name(&self) -> String {
        self.me.as_ref().map(|m| m.name.clone()).unwrap_or_default()
    }

    /// Opens a conversation and clears its unread count.
    pub fn select(&mut self, conv: ConvKey) {
        self.selected = conv;
        self.mark_read();
    }

    /// The open conversation has been seen.
    pub fn mark_read(&mut self) {
        if let Some(c) = self.conversations.get_mut(&self.selected) {
            c.unread = 0;
        }
    }

    /// Unread messages across all conversations (for the window title).
    pub fn unread_total(&self) -> usize {
        self.conversations.values().map(|c| c.unread).sum()
    }

    /// Unread messages in one conversation.
    pub fn unread(&self, conv: &ConvKey) -> usize {
        self.conversations.get(conv).map_or(0, |c| c.unread)
    }

    /// The messages of a conversation, oldest first.
    pub fn messages(&self, conv: &ConvKey) -> &[ChatMessage] {
        self.conversations
            .get(conv)
            .map_or(&[][..], |c| c.messages.as_slice())
    }

    /// Peers for the list: online first, then by name; peers we only know from a
    /// conversation are not included (see [`ChatState::strangers`]).
    pub fn peers_sorted(&self) -> Vec<&PeerInfo> {
        let mut v: Vec<&PeerInfo> = self.peers.values().collect();
        v.sort_by(|a, b| {
            b.online
                .cmp(&a.online)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                .then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    /// Conversations with peers missing from the peer table: (id, name), by name.
    pub fn strangers(&self) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = self
            .conversations
            .iter()
            .filter_map(|(k, c)| match k {
                ConvKey::Peer(id) if !self.peers.contains_key(id) => {
                    Some((id.as_str(), c.fallback_name.as_str()))
                }
                _ => None,
            })
            .collect();
        v.sort_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// A conversation's title: the peer's name, or "Everyone".
    pub fn title(&self, conv: &ConvKey) -> String {
        match conv {
            ConvKey::Everyone => "Everyone".to_owned(),
            ConvKey::Peer(id) => self
                .peers
                .get(id)
                .map(|p| p.name.clone())
                .or_else(|| {
                    self.conversations
                        .get(conv)
                        .map(|c| c.fallback_name.clone())
                })
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| short_id(id).to_owned()),
        }
    }
}

/// The first 8 characters of a peer id, for display.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn peer(id: &str, name: &str, online: bool) -> PeerInfo {
        PeerInfo {
            id: id.into(),
            name: name.into(),
            host: "host".into(),
            addr: Ipv4Addr::LOCALHOST,
            port: 4000,
            online,
            status: "online".into(),
            last_seen: 0,
        }
    }

    fn ready() -> Event {
        Event::Ready {
            id: "me000000".into(),
            name: "我".into(),
            host: "lab".into(),
            addr: "127.0.0.1".into(),
            port: 4000,
            discovery_port: 47474,
            data_dir: "/tmp/x".into(),
        }
    }

    fn message(from: &str, id: &str) -> Event {
        Event::Message {
            from: from.into(),
            from_name: "张三".into(),
            msg_id: id.into(),
            text: "你好".into(),
            sent_at: 1,
        }
    }

    #[test]
    fn unread_rises_off_view_and_clears_when_opened() {
        let mut s = ChatState::default();
        s.apply(ready(), true);
        s.apply(
            Event::PeerJoined {
                peer: peer("a1", "张三", true),
            },
            true,
        );
        let arrival = s.apply(message("a1", "m1"), true);
        assert_eq!(arrival.unwrap().from_name, "张三");
        s.apply(message("a1", "m2"), true);
        assert_eq!(s.unread(&ConvKey::Peer("a1".into())), 2);
        assert_eq!(s.unread_total(), 2);
        s.select(ConvKey::Peer("a1".into()));
        assert_eq!(s.unread_total(), 0);
        s.apply(message("a1", "m3"), true);
        assert_eq!(s.unread_total(), 0, "the open conversation, in view");
        s.apply(message("a1", "m4"), false);
        assert_eq!(
            s.unread_total(),
            1,
            "the open conversation, window unfocused"
        );
    }

    #[test]
    fn our_status_follows_the_core() {
        let mut s = ChatState::default();
        s.apply(ready(), true);
        assert_eq!(s.me.as_ref().unwrap().status, "online");
        s.apply(
            Event::StatusChanged {
                status: "away".into(),
            },
            true,
        );
        assert_eq!(s.me.as_ref().unwrap().status, "away");
    }

    #[test]
    fn sent_then_delivered() {
        let mut s = ChatState::default();
        s.apply(ready(), true);
        s.apply(
            Event::Sent {
                msg_id: "m1".into(),
                to: "a1".into(),
                sent_at: 5,
                text: "hi".into(),
            },
            true,
        );
        let conv = ConvKey::Peer("a1".into());
        assert_eq!(s.messages(&conv)[0].mark, Mark::Sent);
        assert_eq!(s.messages(&conv)[0].from_name, "我");
        s.apply(
            Event::Delivered {
                msg_id: "m1".into(),
                to: "a1".into(),
            },
            true,
        );
        assert_eq!(s.messages(&conv)[0].mark, Mark::Delivered);
        // A delivery for a message this window never saw (from an earlier run) is ignored.
        s.apply(
            Event::Delivered {
                msg_id: "old".into(),
                to: "zz".into(),
            },
            true,
        );
        assert!(!s.conversations.contains_key(&ConvKey::Peer("zz".into())));
    }

    #[test]
    fn peers_online_first_then_by_name() {
        let mut s = ChatState::default();
        for p in [
            peer("1", "bob", false),
            peer("2", "Alice", true),
            peer("3", "carol", true),
        ] {
            s.apply(Event::PeerJoined { peer: p }, true);
        }
        s.apply(
            Event::PeerLeft {
                id: "3".into(),
                reason: crate::node::LeftReason::Bye,
            },
            true,
        );
        let names: Vec<&str> = s.peers_sorted().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Alice", "bob", "carol"]);
    }

    #[test]
    fn a_message_from_an_unknown_peer_still_has_a_title() {
        let mut s = ChatState::default();
        s.apply(message("abcdef123456", "m1"), true);
        let conv = ConvKey::Peer("abcdef123456".into());
        assert_eq!(s.title(&conv), "张三");
        assert_eq!(s.strangers(), [("abcdef123456", "张三")]);
    }
}

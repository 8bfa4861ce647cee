//! The window's model: core [`Event`]s folded into peers, conversations, unread counts and
//! delivery marks. No egui here, so every rule is unit-tested without a window.
//!
//! Owns: who we are, the peers we know, one [`Conversation`] per peer plus Everyone, which
//! conversation is open, the latest [`NetStatus`] and the latest error. It never sends
//! anything: callers turn what they see here into [`crate::node::Command`]s.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

pub use super::conversation::{ChatMessage, ConvKey, Conversation, Mark, PAGE, Paging};
use super::transfers::{FileTransfer, TransferStage};
use crate::node::rooms::RoomInfo;
use crate::node::{Command, Event, NetStatus, PeerInfo};
use crate::store::StoredMessage;

/// No messages (for a conversation that does not exist yet).
static NO_MESSAGES: VecDeque<ChatMessage> = VecDeque::new();

/// Who we are, from the core's `ready` event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Me {
    /// Our peer id.
    pub id: String,
    /// Our key's fingerprint (six groups of five digits).
    pub fingerprint: String,
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
    /// File transfers by id; their bubbles refer to them.
    pub transfers: HashMap<String, FileTransfer>,
    /// The last search: what was asked and what matched, newest first.
    pub search: Option<(String, Vec<StoredMessage>)>,
    /// Where received files land now, as the core last said (`download_dir_changed`);
    /// `None` until it says, then the app shows the folder it was started with.
    pub download_dir: Option<String>,
    /// The last safety code the core gave (`safety_code`), for the verify dialog.
    pub safety: Option<Safety>,
    /// Whose offers are accepted without asking, as the core last said.
    pub auto_accept: Option<crate::config::AutoAccept>,
    /// Peers whose messages wait although they could go, and why, said of the peer
    /// (`delivery_waiting`, until `delivery_resumed`).
    pub waiting: HashMap<String, String>,
    /// Why each failed message of ours was refused, by message id.
    pub failures: HashMap<String, String>,
    /// The page for browsers while it is on: its links (`web_ready`).
    pub web: Option<WebLinks>,
    /// Addresses reached by unicast that the user added (`peer_added`, until
    /// `peer_removed`), normalised.
    pub reach: std::collections::BTreeSet<String>,
    /// The rooms we are in, by id.
    pub rooms: HashMap<String, RoomInfo>,
}

/// A safety code to compare, as the core gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Safety {
    /// The peer.
    pub peer: String,
    /// Its name.
    pub name: String,
    /// Twelve groups of five digits.
    pub code: String,
    /// Whether the peer was verified when the code was asked for.
    pub verified: bool,
}

/// The page for browsers, as `web_ready` said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebLinks {
    /// The link to give.
    pub url: String,
    /// The link at each address of this machine.
    pub links: Vec<String>,
}

impl ChatState {
    /// Folds one event in. `in_view` says whether the user is looking at the window (it
    /// is focused): a message to the open conversation counts as unread otherwise.
    /// Returns a message that arrived, for a notification.
    pub fn apply(&mut self, event: Event, in_view: bool) -> Option<Arrival> {
        match event {
            Event::Ready {
                id,
                fingerprint,
                name,
                host,
                addr,
                port,
                discovery_port,
                data_dir: _,
            } => {
                self.me = Some(Me {
                    id: id.into(),
                    fingerprint,
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
                self.peers.insert(peer.id.clone().into(), peer);
            }
            Event::PeerLeft { id, .. } => {
                if let Some(p) = self.peers.get_mut(id.as_str()) {
                    p.online = false;
                }
            }
            Event::Peers { peers } => {
                for p in peers {
                    self.peers.insert(p.id.clone().into(), p);
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
                    ConvKey::from_peer(&to),
                    ChatMessage {
                        msg_id: msg_id.into(),
                        from_name,
                        text,
                        sent_at,
                        mark: Mark::Sent,
                        transfer: None,
                        row: None,
                        delivered_to: Vec::new(),
                        refused_by: Vec::new(),
                    },
                );
            }
            // A room message counts who has it; the bubble compares that with the
            // members (see `room_delivery`).
            Event::Delivered { msg_id, to, peer } => {
                let conv = ConvKey::from_peer(&to);
                match (&conv, peer) {
                    (ConvKey::Room(_), Some(peer)) => {
                        self.delivered_to(&conv, &msg_id, peer.into())
                    }
                    _ => self.set_mark(&conv, &msg_id, Mark::Delivered),
                }
            }
            // A room message's copy refused by one member (`to`) is that member's.
            Event::SendFailed { msg_id, to, reason } => {
                let direct = ConvKey::Peer(to.to_string());
                if self
                    .conversations
                    .get(&direct)
                    .is_some_and(|c| c.position(&msg_id).is_some())
                {
                    self.set_mark(&direct, &msg_id, Mark::Failed);
                } else {
                    self.refused_by(&msg_id, to.into());
                }
                self.failures.insert(msg_id.into(), reason);
            }
            Event::DeliveryWaiting { to, reason } => {
                self.waiting.insert(to.into(), reason);
            }
            Event::DeliveryResumed { to } => {
                self.waiting.remove(to.as_str());
            }
            Event::RoomCreated { room } | Event::RoomJoined { room } => {
                self.rooms.insert(room.id.clone(), room);
            }
            Event::RoomChanged { room, .. } => {
                self.rooms.insert(room.id.clone(), room);
            }
            Event::RoomLeft { room } => {
                self.rooms.remove(&room);
                if self.selected == ConvKey::Room(room) {
                    self.selected = ConvKey::Everyone;
                }
            }
            Event::Rooms { rooms } => {
                self.rooms = rooms.into_iter().map(|r| (r.id.clone(), r)).collect();
            }
            Event::Message {
                room: Some(room),
                from,
                from_name,
                msg_id,
                text,
                sent_at,
            } => {
                self.heard(&from);
                let m = received(msg_id.into(), from_name, text, sent_at, None);
                return self.arrive(ConvKey::Room(room), m, in_view);
            }
            Event::Message {
                from,
                from_name,
                msg_id,
                text,
                sent_at,
                room: None,
            } => {
                self.heard(&from);
                let m = received(msg_id.into(), from_name, text, sent_at, None);
                return self.arrive(ConvKey::Peer(from.into()), m, in_view);
            }
            Event::Shout {
                from,
                from_name,
                msg_id,
                text,
                sent_at,
            } => {
                self.heard(&from);
                let m = received(msg_id.into(), from_name, text, sent_at, None);
                return self.arrive(ConvKey::Everyone, m, in_view);
            }
            Event::ShoutSent {
                msg_id,
                text,
                sent_at,
            } => {
                let from_name = self.my_name();
                self.push(
                    ConvKey::Everyone,
                    ChatMessage {
                        msg_id: msg_id.into(),
                        from_name,
                        text,
                        sent_at,
                        mark: Mark::Shouted,
                        transfer: None,
                        row: None,
                        delivered_to: Vec::new(),
                        refused_by: Vec::new(),
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
            Event::PeerAdded { addr } => {
                self.reach.insert(addr);
            }
            Event::PeerRemoved { addr } => {
                self.reach.remove(&addr);
            }
            Event::History {
                peer,
                messages,
                transfers,
                deliveries,
                before,
                after,
            } => {
                self.load_page(&peer, messages, transfers, before, after);
                let conv = ConvKey::from_peer(&peer);
                self.room_page(&conv, deliveries);
            }
            Event::Error { message } => self.error = Some(message),
            Event::Stopped => {
                self.stopped = true;
                self.web = None;
            }
            Event::WebReady { url, links, .. } => self.web = Some(WebLinks { url, links }),
            Event::WebStopped => self.web = None,
            Event::SearchResults { query, hits } => self.search = Some((query, hits)),
            Event::OfferSent { transfer_id, .. } | Event::FileOffer { transfer_id, .. }
                if self.offered_again(&transfer_id) => {}
            Event::OfferSent {
                transfer_id,
                to,
                name,
                size,
                mime,
                folder,
                ..
            } => {
                let t = FileTransfer::offered(
                    transfer_id.to_string(),
                    to.to_string(),
                    true,
                    name,
                    size,
                    mime,
                )
                .with_folder(folder);
                let m = ChatMessage::file(&t, self.my_name(), crate::ui::timefmt::now_ms());
                self.push(ConvKey::Peer(to.into()), m);
                self.transfers.insert(transfer_id.into(), t);
            }
            Event::FileOffer {
                transfer_id,
                from,
                verified: _,
                name,
                size,
                mime,
                folder,
                room,
            } => {
                let t = FileTransfer::offered(
                    transfer_id.to_string(),
                    from.to_string(),
                    false,
                    name,
                    size,
                    mime,
                )
                .with_folder(folder);
                let by = self.sender_name(room.as_deref(), &from);
                let m = ChatMessage::file(&t, by, crate::ui::timefmt::now_ms());
                self.transfers.insert(transfer_id.into(), t);
                // Offered in a room (the core kept the room only for one we are in, from
                // a member): the room's, beside its messages, as a room message is.
                let conv = match room {
                    Some(room) => ConvKey::Room(room),
                    None => ConvKey::Peer(from.into()),
                };
                return self.arrive(conv, m, in_view);
            }
            Event::TransferStarted {
                transfer_id,
                offset,
                ..
            } => {
                if let Some(t) = self.transfers.get_mut(transfer_id.as_str()) {
                    t.started(offset, Instant::now());
                }
            }
            Event::TransferProgress {
                transfer_id,
                bytes,
                files,
                ..
            } => {
                if let Some(t) = self.transfers.get_mut(transfer_id.as_str()) {
                    if let (Some(f), Some(done)) = (t.folder.as_mut(), files) {
                        f.done = done;
                    }
                    t.progress(bytes, Instant::now());
                }
            }
            Event::TransferDone { transfer_id, path } => {
                if let Some(t) = self.transfers.get_mut(transfer_id.as_str()) {
                    t.stage = TransferStage::Done { path };
                    if t.mine {
                        let conv = ConvKey::Peer(t.peer.clone());
                        self.set_mark(&conv, &transfer_id, Mark::Delivered);
                    }
                }
            }
            Event::TransferFailed { transfer_id, end } => {
                if let Some(t) = self.transfers.get_mut(transfer_id.as_str()) {
                    t.stage = TransferStage::Failed {
                        reason: end.to_string(),
                        retry: end.retry(),
                    };
                }
            }
            Event::DownloadDirChanged { path } => self.download_dir = Some(path),
            Event::SafetyCode {
                peer,
                name,
                code,
                verified,
            } => {
                self.safety = Some(Safety {
                    peer: peer.into(),
                    name,
                    code,
                    verified,
                });
            }
            Event::KeyChanged {
                peer,
                name,
                verified_peer: _,
            } => {
                self.error = Some(format!(
                    "Warning: a peer calling itself \"{name}\" has a different key from the \
                     {name} you verified. It is shown as a separate, unverified peer."
                ));
                self.peers.insert(peer.id.clone().into(), peer);
            }
            Event::AutoAcceptChanged { from } => self.auto_accept = Some(from),
            e @ (Event::TransferInterrupted { .. } | Event::TransferRetrying { .. }) => {
                self.apply_transfer(e);
            }
        }
        None
    }

    /// A peer was heard from now (a message): its "last seen" moves on even though the
    /// core reports no presence change for it.
    fn heard(&mut self, peer: &str) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.last_seen = p.last_seen.max(crate::ui::timefmt::now_ms());
        }
    }

    fn arrive(&mut self, conv: ConvKey, m: ChatMessage, in_view: bool) -> Option<Arrival> {
        let seen = in_view && self.selected == conv;
        let c = self.conversations.entry(conv.clone()).or_default();
        if c.fallback_name.is_empty() {
            c.fallback_name.clone_from(&m.from_name);
        }
        let arrival = Arrival {
            conv,
            from_name: m.from_name.clone(),
            text: m.text.clone(),
        };
        c.arrive(m);
        if !seen {
            c.unread += 1;
        }
        Some(arrival)
    }

    fn set_mark(&mut self, conv: &ConvKey, msg_id: &str, mark: Mark) {
        if let Some(m) = self
            .conversations
            .get_mut(conv)
            .and_then(|c| c.find_mut(msg_id))
        {
            m.mark = mark;
        }
    }

    fn push(&mut self, conv: ConvKey, msg: ChatMessage) {
        self.conversations.entry(conv).or_default().arrive(msg);
    }

    /// The command for a conversation's newest page of stored history, the first time it
    /// is shown (`None` after that).
    pub fn ask_newest(&mut self, conv: &ConvKey) -> Option<Command> {
        self.conversations
            .entry(conv.clone())
            .or_default()
            .ask_newest(conv)
    }

    /// The command for the page before the oldest row loaded, if one may be asked now.
    pub fn ask_older(&mut self, conv: &ConvKey) -> Option<Command> {
        self.conversations.get_mut(conv)?.ask_older(conv)
    }

    /// The command for the page after a window's newest row, if one may be asked now.
    pub fn ask_newer(&mut self, conv: &ConvKey) -> Option<Command> {
        self.conversations.get_mut(conv)?.ask_newer(conv)
    }

    /// Opens the conversation of a stored message (a search hit) and returns what to ask
    /// the core so the message is loaded (nothing if it already is).
    pub fn jump(&mut self, conv: ConvKey, msg_id: &str, row: i64) -> Vec<Command> {
        self.select(conv.clone());
        self.conversations
            .entry(conv.clone())
            .or_default()
            .jump(&conv, msg_id, row)
    }

    /// Shows the newest rows of a conversation again after a jump. Returns whether it was
    /// showing an older window.
    pub fn back_to_newest(&mut self, conv: &ConvKey) -> bool {
        self.conversations
            .get_mut(conv)
            .is_some_and(Conversation::back_to_newest)
    }

    /// Who sent something, in `room` or directly, as a bubble names them: the name we
    /// know them by, else the name the room lists them with, else the start of their id.
    pub(super) fn sender_name(&self, room: Option<&str>, peer: &str) -> String {
        if let Some(p) = self.peers.get(peer) {
            return p.name.clone();
        }
        room.and_then(|r| self.rooms.get(r))
            .and_then(|r| r.people.iter().find(|p| p.id == peer))
            .map_or_else(|| short_id(peer).to_owned(), |p| p.name.clone())
    }

    pub(super) fn my_name(&self) -> String {
        self.me.as_ref().map(|m| m.name.clone()).unwrap_or_default()
    }
}

/// A bubble for a message someone else wrote, reported live.
fn received(
    msg_id: String,
    from_name: String,
    text: String,
    sent_at: u64,
    transfer: Option<String>,
) -> ChatMessage {
    ChatMessage {
        msg_id,
        from_name,
        text,
        sent_at,
        mark: Mark::Received,
        transfer,
        row: None,
        delivered_to: Vec::new(),
        refused_by: Vec::new(),
    }
}

mod queries;
mod room_marks;
#[cfg(test)]
mod tests;

pub use queries::short_id;

//! What one row of a conversation is: which conversation ([`ConvKey`]), the bubble
//! ([`ChatMessage`]) and where it stands ([`Mark`]). No egui here.

use super::transfers::{FileTransfer, TransferStage};
use crate::store::{Direction, EVERYONE, MsgState, StoredMessage};

/// Which conversation: the Everyone room, one peer (by id) or a room (by id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum ConvKey {
    /// Broadcast shouts, best effort.
    #[default]
    Everyone,
    /// Direct messages with the peer of this id.
    Peer(String),
    /// A room, by its id.
    Room(String),
}

impl ConvKey {
    /// The conversation named by a store or event `peer` field (a peer id or `everyone`).
    pub fn from_peer(peer: &str) -> ConvKey {
        if peer == EVERYONE {
            ConvKey::Everyone
        } else if crate::protocol::room::is_room_id(peer) {
            ConvKey::Room(peer.to_owned())
        } else {
            ConvKey::Peer(peer.to_owned())
        }
    }

    /// The `peer` to name this conversation in a command.
    pub fn peer(&self) -> String {
        match self {
            ConvKey::Everyone => EVERYONE.to_owned(),
            ConvKey::Peer(id) | ConvKey::Room(id) => id.clone(),
        }
    }
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
    /// Ours, refused for good by the recipient (too long for it, …): never sent again.
    Failed,
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
    /// The file this bubble stands for, if it is a file (see `ChatState::transfers`).
    pub transfer: Option<String>,
    /// The store's row id, for a message read from history (the paging key); `None` for
    /// one reported live during this run.
    pub row: Option<i64>,
    /// Ours in a room: the members who have it (acknowledged), peer ids.
    pub delivered_to: Vec<String>,
    /// Ours in a room: the members who refused it for good, peer ids.
    pub refused_by: Vec<String>,
}

impl ChatMessage {
    /// Whether we wrote it.
    pub fn is_mine(&self) -> bool {
        self.mark != Mark::Received
    }

    /// The bubble of file transfer `t`, live or read back from history: the name (theirs
    /// with a 📎), marked delivered once ours arrived.
    pub fn file(t: &FileTransfer, from_name: String, sent_at: u64) -> ChatMessage {
        ChatMessage {
            msg_id: t.id.clone(),
            from_name,
            text: if t.mine {
                t.name.clone()
            } else {
                format!("📎 {}", t.name)
            },
            sent_at,
            mark: match (&t.stage, t.mine) {
                (_, false) => Mark::Received,
                (TransferStage::Done { .. }, true) => Mark::Delivered,
                _ => Mark::Sent,
            },
            transfer: Some(t.id.clone()),
            row: None,
            delivered_to: Vec::new(),
            refused_by: Vec::new(),
        }
    }

    /// A row of stored history in conversation `conv`.
    pub(super) fn stored(m: StoredMessage, conv: &ConvKey) -> ChatMessage {
        ChatMessage {
            mark: match (m.dir, m.state, conv) {
                (Direction::In, ..) | (_, MsgState::Received, _) => Mark::Received,
                (Direction::Out, _, ConvKey::Everyone) => Mark::Shouted,
                (Direction::Out, MsgState::Delivered, _) => Mark::Delivered,
                (Direction::Out, MsgState::Pending, _) => Mark::Pending,
                (Direction::Out, MsgState::Sent, _) => Mark::Sent,
                (Direction::Out, MsgState::Failed, _) => Mark::Failed,
            },
            msg_id: m.msg_id,
            from_name: m.from_name,
            text: m.text,
            sent_at: m.sent_at,
            transfer: None,
            row: Some(m.id),
            delivered_to: Vec::new(),
            refused_by: Vec::new(),
        }
    }
}

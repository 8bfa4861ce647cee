//! File cards read back from history: each `history` page carries the transfers of the
//! same stretch of the conversation, and they are shown among its messages as the cards
//! they were (saved, failed, declined), so a restart does not lose them. A room's page
//! carries the files members offered us in it, each named by who offered it. A transfer
//! the window already shows (reported live this run) is not shown twice. No egui here.

use super::conversation::{ChatMessage, ConvKey};
use super::state::ChatState;
use super::transfers::{FileTransfer, TransferStage};
use crate::store::{Direction, StoredMessage, Transfer, TransferState};

impl FileTransfer {
    /// The card of a transfer as history last recorded it. One that never ended (the
    /// app stopped while it was offered or moving) shows as interrupted, with Retry.
    pub fn from_stored(t: &Transfer) -> FileTransfer {
        let stage = match t.state {
            TransferState::Done => TransferStage::Done {
                path: t.path.clone(),
            },
            TransferState::Declined => TransferStage::Failed {
                reason: "declined".into(),
                retry: false,
            },
            TransferState::Cancelled => TransferStage::Failed {
                reason: "cancelled".into(),
                retry: false,
            },
            TransferState::Failed => TransferStage::Failed {
                reason: "failed".into(),
                retry: true,
            },
            TransferState::Offered | TransferState::Active | TransferState::Paused => {
                TransferStage::Interrupted {
                    reason: "interrupted when lanchat stopped".into(),
                    automatic: false,
                    attempt: 0,
                }
            }
        };
        FileTransfer {
            id: t.id.clone(),
            peer: t.peer.clone(),
            mine: t.dir == Direction::Out,
            name: t.name.clone(),
            size: t.size,
            mime: t.mime.clone(),
            stage,
            folder: None, // history keeps no counts; `mime` still says it is a folder
        }
    }
}

impl ChatState {
    /// Folds a `history` page: its messages into the conversation, and its transfers the
    /// window does not know yet as cards among them, by time.
    pub(super) fn load_page(
        &mut self,
        peer: &str,
        messages: Vec<StoredMessage>,
        transfers: Vec<Transfer>,
        before: Option<i64>,
        after: Option<i64>,
    ) {
        let conv = ConvKey::from_peer(peer);
        for m in &messages {
            if let Some(reason) = &m.reason {
                self.failures.insert(m.msg_id.clone(), reason.clone());
            }
        }
        let me = self.my_name();
        let (fresh, cards): (Vec<FileTransfer>, Vec<ChatMessage>) = transfers
            .iter()
            .filter(|t| !self.transfers.contains_key(&t.id))
            .map(|t| {
                let f = FileTransfer::from_stored(t);
                // In a room, the member who offered it (the page's peer is the room).
                let from = if f.mine {
                    me.clone()
                } else {
                    self.sender_name(t.room.as_deref(), &t.peer)
                };
                let c = ChatMessage::file(&f, from, t.created_at);
                (f, c)
            })
            .unzip();
        let c = self.conversations.entry(conv.clone()).or_default();
        if c.load(&conv, messages, cards, before, after) {
            for f in fresh {
                self.transfers.insert(f.id.clone(), f);
            }
        }
    }
}

/// Puts each card among `page` (oldest first) before the first message sent after it.
pub(super) fn merge_cards(page: &mut Vec<ChatMessage>, mut cards: Vec<ChatMessage>) {
    cards.sort_by_key(|c| c.sent_at);
    for c in cards.into_iter().rev() {
        let at = page.partition_point(|m| m.sent_at <= c.sent_at);
        page.insert(at, c);
    }
}

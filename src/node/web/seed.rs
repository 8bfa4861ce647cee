//! A returning visitor's conversation, from the host's history: what their page shows
//! again, oldest first. Pure: the core reads history and carries the steps out.
//!
//! Their messages come back as theirs, delivered; ours as the host's, when they were
//! delivered (the outbox sends the others again by itself); files we sent are offered
//! again (those still waiting are offered by the web part); their uploads show how
//! each ended.

use std::path::PathBuf;

use crate::protocol::TransferId;
use crate::store::{self, Direction, MsgState, StoredMessage, Transfer};
use crate::web::{FileOffer, TransferState, WebOutput};

/// Most messages of history a returning visitor's page shows again.
pub const SEED_MESSAGES: usize = 500;

/// One step of showing a conversation again.
#[derive(Debug, Clone, PartialEq)]
pub enum Seed {
    /// Show this on the page.
    Show(WebOutput),
    /// Offer this file again (fetched before: fetching it again says nothing).
    Offer {
        /// The transfer it was.
        transfer: TransferId,
        /// The file.
        offer: FileOffer,
    },
}

/// The steps that show `messages` and `transfers` (history, oldest first) again.
pub fn seed(messages: Vec<StoredMessage>, transfers: Vec<Transfer>) -> Vec<Seed> {
    let mut timed: Vec<(u64, usize, Vec<Seed>)> = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        timed.push((m.sent_at, i, message(m)));
    }
    let base = timed.len();
    for (i, t) in transfers.into_iter().enumerate() {
        timed.push((t.created_at, base + i, transfer(t)));
    }
    // Stable within the same millisecond: messages in history's order, then files.
    timed.sort_by_key(|(at, i, _)| (*at, *i));
    timed.into_iter().flat_map(|(_, _, steps)| steps).collect()
}

fn message(m: StoredMessage) -> Vec<Seed> {
    match (m.dir, m.state) {
        (Direction::In, _) => vec![
            Seed::Show(WebOutput::Mine {
                id: m.msg_id.clone(),
                text: m.text,
                time_ms: m.sent_at,
            }),
            Seed::Show(WebOutput::Delivered {
                client_msg_id: m.msg_id,
            }),
        ],
        (Direction::Out, MsgState::Delivered) => vec![Seed::Show(WebOutput::Message {
            id: m.msg_id,
            text: m.text,
            time_ms: m.sent_at,
        })],
        (Direction::Out, _) => Vec::new(),
    }
}

fn transfer(t: Transfer) -> Vec<Seed> {
    match t.dir {
        Direction::Out if !t.path.is_empty() => vec![Seed::Offer {
            transfer: TransferId::from(t.id),
            offer: FileOffer {
                path: PathBuf::from(t.path),
                name: t.name,
                mime: t.mime,
            },
        }],
        Direction::Out => Vec::new(),
        Direction::In => vec![Seed::Show(WebOutput::Upload {
            id: t.id,
            name: t.name,
            size: t.size,
            state: match t.state {
                store::TransferState::Done => TransferState::Accepted,
                store::TransferState::Declined => TransferState::Declined,
                store::TransferState::Cancelled => TransferState::Cancelled,
                store::TransferState::Failed => TransferState::Failed,
                _ => TransferState::Waiting,
            },
        })],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(dir: Direction, state: MsgState, id: &str, at: u64) -> StoredMessage {
        StoredMessage {
            id: 0,
            peer: "web-v".into(),
            msg_id: id.into(),
            dir,
            from: "x".into(),
            from_name: "x".into(),
            text: format!("text {id}"),
            sent_at: at,
            state,
            reason: None,
        }
    }

    fn file(dir: Direction, id: &str, path: &str, at: u64) -> Transfer {
        Transfer {
            id: id.into(),
            peer: "web-v".into(),
            dir,
            name: "照片.png".into(),
            size: 3,
            mime: "image/png".into(),
            path: path.into(),
            bytes_done: 0,
            hash: None,
            state: store::TransferState::Done,
            created_at: at,
            updated_at: at,
            room: None,
        }
    }

    #[test]
    fn a_conversation_is_shown_again_in_order_without_what_the_outbox_resends() {
        let steps = seed(
            vec![
                msg(Direction::In, MsgState::Received, "theirs", 10),
                msg(Direction::Out, MsgState::Delivered, "ours", 20),
                msg(Direction::Out, MsgState::Sent, "unseen", 40),
            ],
            vec![
                file(Direction::Out, "t1", "/f/照片.png", 15),
                file(Direction::In, "t2", "/in/x", 30),
            ],
        );
        let shape: Vec<String> = steps
            .iter()
            .map(|s| match s {
                Seed::Show(WebOutput::Mine { id, .. }) => format!("mine {id}"),
                Seed::Show(WebOutput::Delivered { client_msg_id }) => {
                    format!("delivered {client_msg_id}")
                }
                Seed::Show(WebOutput::Message { id, .. }) => format!("host {id}"),
                Seed::Show(WebOutput::Upload { id, state, .. }) => format!("upload {id} {state:?}"),
                Seed::Offer { transfer, .. } => format!("offer {transfer}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "mine theirs",
                "delivered theirs",
                "offer t1",
                "host ours",
                "upload t2 Accepted"
            ]
        );
    }
}

//! Every transfer state a user sees is one the store remembers: the core records each
//! transfer event as it goes out (offered, started, interrupted, retrying, done, failed),
//! so `history` can give the file cards back after a restart and unfinished transfers
//! can be taken up again.

use super::core::Core;
use super::event::Event;
use crate::store::{Direction, Transfer, TransferState};

impl Core {
    /// Records a transfer's state change in the store, from the event that reports it:
    /// every state a user sees is one that was remembered. A failed write is logged; the
    /// transfer itself goes on.
    pub(super) fn remember_transfer(&self, event: &Event) {
        let now = super::core::now_ms();
        let new = |id: &str, peer: &str, dir, name: &str, size, mime: &str| Transfer {
            id: id.to_owned(),
            peer: peer.to_owned(),
            dir,
            name: name.to_owned(),
            size,
            mime: mime.to_owned(),
            path: String::new(),
            bytes_done: 0,
            hash: None,
            state: TransferState::Offered,
            created_at: now,
            updated_at: now,
        };
        let result = match event {
            Event::OfferSent {
                transfer_id,
                to,
                name,
                size,
                mime,
            } => self
                .store
                .save_transfer(&new(transfer_id, to, Direction::Out, name, *size, mime)),
            Event::FileOffer {
                transfer_id,
                from,
                name,
                size,
                mime,
            } => {
                self.store
                    .save_transfer(&new(transfer_id, from, Direction::In, name, *size, mime))
            }
            Event::TransferStarted {
                transfer_id,
                offset,
                ..
            } => self
                .store
                .set_transfer_state(transfer_id, TransferState::Active, None, now)
                .and_then(|_| self.store.transfer_progress(transfer_id, *offset, now))
                .map(drop),
            Event::TransferDone { transfer_id, path } => self
                .store
                .set_transfer_state(transfer_id, TransferState::Done, None, now)
                .and_then(|_| self.store.set_transfer_path(transfer_id, path, now))
                .map(drop),
            Event::TransferInterrupted { transfer_id, .. } => self
                .store
                .set_transfer_state(transfer_id, TransferState::Paused, None, now)
                .map(drop),
            Event::TransferRetrying { transfer_id, .. } => self
                .store
                .set_transfer_state(transfer_id, TransferState::Offered, None, now)
                .map(drop),
            Event::TransferFailed {
                transfer_id,
                reason,
            } => {
                let state = if reason.contains("declined") {
                    TransferState::Declined
                } else if reason.contains("cancel") {
                    TransferState::Cancelled
                } else {
                    TransferState::Failed
                };
                self.store
                    .set_transfer_state(transfer_id, state, None, now)
                    .map(drop)
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!("history: cannot record a transfer: {e}");
        }
    }
}

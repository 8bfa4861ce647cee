//! The receiving side of resume: what a download does when its stream breaks, how long
//! it waits for the sender, the receiver's Retry, and the sweep of old `.part` files.
//!
//! The sender owns retries (it has the file; see `retry`). A receiver whose stream
//! breaks keeps the bytes, says `transfer_interrupted`, and accepts the sender's next
//! offer of the same transfer at once with the `.part`'s length as the offset. If no
//! offer (or, after accepting, no data connection) comes within `Config::accept_timeout`
//! it says `transfer_failed`, and still keeps the bytes: a later offer resumes them, and
//! so does Retry, which asks the sender to offer again (`file_resume`). This file never
//! starts a stream itself.

use std::fs;
use std::time::{Duration, Instant, SystemTime};

use super::core::Core;
use super::downloads::InState;
use super::event::Event;
use super::partial;
use crate::protocol::LinkMsg;

impl Core {
    /// The stream of a download broke: keep the bytes and wait for the sender.
    pub(super) fn download_broken(&mut self, transfer_id: &str, reason: String) {
        let deadline = Instant::now() + self.config.accept_timeout;
        let Some(inc) = self.transfers.incoming.get_mut(transfer_id) else {
            return;
        };
        inc.state = InState::Interrupted {
            deadline,
            reason: reason.clone(),
        };
        self.emit(Event::TransferInterrupted {
            transfer_id: transfer_id.to_owned().into(),
            reason,
            attempt: 0,
            retry_in_ms: None,
        });
    }

    /// Downloads that waited longer than `accept_timeout` for the sender end as failed;
    /// the bytes they hold stay for a later offer (an empty `.part` does not).
    pub(super) fn download_deadlines(&mut self, now: Instant) {
        let due: Vec<String> = self
            .transfers
            .incoming
            .iter()
            .filter(|(_, i)| match &i.state {
                InState::Accepted { deadline, .. } | InState::Interrupted { deadline, .. } => {
                    *deadline <= now
                }
                _ => false,
            })
            .map(|(id, _)| id.clone())
            .collect();
        let wait = shown(self.config.accept_timeout);
        for id in due {
            let Some(inc) = self.transfers.incoming.remove(&id) else {
                continue;
            };
            let data = &self.config.data_dir;
            let kept = partial::read(data, &id)
                .and_then(|p| fs::metadata(&p.part).ok())
                .map_or(0, |m| m.len());
            let what = match inc.state {
                InState::Interrupted { reason, .. } => {
                    format!("interrupted ({reason}); the sender did not offer it again")
                }
                _ => "the sender did not connect".to_owned(),
            };
            let reason = if kept == 0 {
                partial::discard(data, &id);
                format!("{what} within {wait}")
            } else {
                format!(
                    "{what} within {wait}; the {kept} bytes received are kept, and Retry or \
                     a new offer of the file resumes it"
                )
            };
            tracing::info!(transfer_id = %id, peer = %inc.peer, "download given up: {reason}");
            self.emit(Event::TransferFailed {
                transfer_id: id.into(),
                reason,
            });
        }
    }

    /// The peer a download is from: one we track, or one whose bytes we kept.
    pub(super) fn incoming_peer(&self, transfer_id: &str) -> Option<String> {
        match self.transfers.incoming.get(transfer_id) {
            Some(i) => Some(i.peer.clone()),
            None => partial::read(&self.config.data_dir, transfer_id).map(|p| p.from),
        }
    }

    /// The receiver's Retry: ask the sender to offer the transfer again. The answer is
    /// the sender's `file_offer`, which is accepted at once at the `.part`'s length.
    pub(super) fn ask_resume(&mut self, transfer_id: &str, peer: &str) {
        if let Some(inc) = self.transfers.incoming.get(transfer_id) {
            let busy = match inc.state {
                InState::Offered => Some("accept or decline it first"),
                InState::Streaming { .. } => Some("it is under way"),
                InState::Accepted { .. } | InState::Interrupted { .. } => None,
            };
            if let Some(why) = busy {
                return self.emit(Event::error(format!("retry: {transfer_id}: {why}")));
            }
        }
        let Some(&link) = self.active.get(peer) else {
            let who = self.peers.get(peer).map_or(peer, |p| p.name.as_str());
            return self.emit(Event::error(format!(
                "retry: {who} is not connected; the download resumes when they offer it again"
            )));
        };
        let ask = LinkMsg::FileResume {
            transfer_id: transfer_id.to_owned(),
        };
        if self.send_on(link, &ask) {
            self.emit(Event::TransferRetrying {
                transfer_id: transfer_id.to_owned().into(),
                attempt: 0,
            });
        } else {
            self.emit(Event::error(format!(
                "retry: the link to {peer} just went down; try again"
            )));
        }
    }

    /// At start: deletes unfinished downloads untouched for `partial_max_age`.
    pub(super) fn sweep_partials(&self) {
        let (data, age) = (&self.config.data_dir, self.config.partial_max_age);
        for note in partial::sweep(data, SystemTime::now(), age) {
            tracing::info!(note = %note.display(), "old unfinished download removed");
        }
    }
}

/// `120 s`, `300 ms`: a wait as the user reads it.
fn shown(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

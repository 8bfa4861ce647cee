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
use std::time::{Duration, UNIX_EPOCH};

use super::incoming::InState;
use super::partial;
use super::{Ctx, TransferEnd, Transfers, report_end};
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::out::{Out, Record};
use crate::protocol::{LinkMsg, PeerId, TransferId};
use crate::store::TransferState;

impl Transfers {
    /// The stream of a download broke: keep the bytes and wait for the sender.
    pub(super) fn download_broken(
        &mut self,
        id: &TransferId,
        reason: String,
        now: Now,
        out: &mut Out,
    ) {
        let deadline = now.at + self.settings.accept_timeout;
        let Some(inc) = self.incoming.get_mut(id) else {
            return;
        };
        inc.state = InState::Interrupted {
            deadline,
            reason: reason.clone(),
        };
        out.record(Record::TransferState(id.clone(), TransferState::Paused));
        out.emit(Event::TransferInterrupted {
            transfer_id: id.clone(),
            reason,
            attempt: 0,
            retry_in_ms: None,
        });
    }

    /// Downloads that waited longer than `accept_timeout` for the sender end; the bytes
    /// they hold stay for a later offer (an empty `.part` does not).
    pub(super) fn download_deadlines(&mut self, now: Now, out: &mut Out) {
        let due: Vec<TransferId> = self
            .incoming
            .iter()
            .filter(|(_, i)| match &i.state {
                InState::Accepted { deadline, .. } | InState::Interrupted { deadline, .. } => {
                    *deadline <= now.at
                }
                _ => false,
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let Some(inc) = self.incoming.remove(&id) else {
                continue;
            };
            let data = &self.settings.data_dir;
            let kept = partial::read(data, &id)
                .and_then(|p| fs::metadata(&p.part).ok())
                .map_or(0, |m| m.len());
            if kept == 0 {
                partial::discard(data, &id); // no stream writes it: it never started, or broke
            }
            let end = TransferEnd::SenderAbsent {
                waited: self.settings.accept_timeout,
                interrupted: match inc.state {
                    InState::Interrupted { reason, .. } => Some(reason),
                    _ => None,
                },
                kept,
            };
            tracing::info!(transfer_id = %id, peer = %inc.peer, "download given up: {end}");
            report_end(&id, end, out);
        }
    }

    /// The peer a download is from: one we track, or one whose bytes we kept.
    pub(super) fn incoming_peer(&self, id: &TransferId) -> Option<PeerId> {
        match self.incoming.get(id) {
            Some(i) => Some(i.peer.clone()),
            None => partial::read(&self.settings.data_dir, id).map(|p| p.from.into()),
        }
    }

    /// The receiver's Retry: ask the sender to offer the transfer again. The answer is
    /// the sender's `file_offer`, which is accepted at once at the `.part`'s length.
    pub(super) fn ask_resume(
        &mut self,
        origin: Origin,
        id: &TransferId,
        peer: &PeerId,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) {
        if let Some(inc) = self.incoming.get(id) {
            let busy = match inc.state {
                InState::Offered => Some("accept or decline it first"),
                InState::Streaming(_) => Some("it is under way"),
                InState::Accepted { .. } | InState::Interrupted { .. } => None,
            };
            if let Some(why) = busy {
                return out.reply(Some(origin), Event::error(format!("retry: {id}: {why}")));
            }
        }
        let Some(route) = ctx.routes.route(peer) else {
            let who = ctx
                .peers
                .get(peer)
                .map_or(peer.as_str(), |p| p.name.as_str());
            return out.reply(
                Some(origin),
                Event::error(format!(
                    "retry: {who} is not connected; the download resumes when they offer it again"
                )),
            );
        };
        let ask = LinkMsg::FileResume {
            transfer_id: id.to_string(),
        };
        out.send(route, ask);
        out.record(Record::TransferState(id.clone(), TransferState::Offered));
        out.emit(Event::TransferRetrying {
            transfer_id: id.clone(),
            attempt: 0,
        });
    }

    /// At start: deletes unfinished downloads untouched for `partial_max_age`.
    pub(super) fn sweep_partials(&self, now: Now) {
        let (data, age) = (&self.settings.data_dir, self.settings.partial_max_age);
        let wall = UNIX_EPOCH + Duration::from_millis(now.wall);
        for note in partial::sweep(data, wall, age) {
            tracing::info!(note = %note.display(), "old unfinished download removed");
        }
    }
}

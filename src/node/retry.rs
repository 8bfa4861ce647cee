//! The sending side of resume: automatic retries of a broken stream, the `retry`
//! command, a receiver's `file_resume`, and unfinished transfers taken up again after a
//! restart.
//!
//! **The sender owns retries.** It has the file and its path; the receiver has only the
//! bytes so far and cannot make more flow. So when a stream breaks (the thread says the
//! connection broke, stalled or could not be made), the sender waits
//! `Config::retry_delay`, doubled for each further try up to a minute, and offers the
//! same transfer again, sooner if a new link to the peer comes up (the network is back);
//! the receiver answers with the length of its `.part` and only the rest is sent. Tries
//! that moved no byte count: after `Config::retry_attempts` of them in a row the
//! transfer fails, and `retry` takes it up again. Final failures (the file changed, the
//! receiver rejected the hash) are never retried.
//!
//! Across restarts the store is the memory: every outgoing transfer's path is recorded
//! when it is offered, and at start the unfinished ones are offered again if the file is
//! unchanged (its derived id still matches), or reported failed with the reason.

use std::path::Path;
use std::time::{Duration, Instant};

use super::core::Core;
use super::event::Event;
use super::transfers::{MAX_TRANSFERS, OutState};
use crate::net::LinkId;
use crate::protocol::LinkMsg;
use crate::store::{Direction, Transfer, TransferState};

/// Longest wait between two automatic retries.
pub(super) const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// The wait before automatic retry number `attempt` (1, 2, …): `first`, doubled for
/// each further try, at most [`MAX_RETRY_DELAY`] (or `first`, if that is longer).
pub(super) fn backoff(first: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    first
        .saturating_mul(1 << doublings)
        .min(MAX_RETRY_DELAY.max(first))
}

impl Core {
    /// The stream of one of our transfers broke: wait and offer it again, or give up.
    pub(super) fn send_broken(&mut self, transfer_id: &str, reason: String) {
        let (limit, first) = (self.config.retry_attempts, self.config.retry_delay);
        let Some(o) = self.transfers.outgoing.get_mut(transfer_id) else {
            return;
        };
        o.fruitless += 1;
        let attempt = o.fruitless;
        if attempt > limit {
            let reason = match limit {
                0 => reason,
                n => format!("{reason}; gave up after {n} tries (Retry resumes it)"),
            };
            return self.fail_outgoing(transfer_id, &reason, false);
        }
        let delay = backoff(first, attempt);
        let link = self.active.get(&o.peer).copied();
        o.state = OutState::Waiting {
            at: Instant::now() + delay,
            link,
        };
        self.emit(Event::TransferInterrupted {
            transfer_id: transfer_id.to_owned().into(),
            reason,
            attempt,
            retry_in_ms: Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
        });
    }

    /// `cancel` of one of our transfers that is no longer running (it failed, or stopped
    /// with an earlier run) but that history remembers unfinished: the receiver may
    /// still keep its bytes for a resume, so it is told to drop them (if it is linked
    /// now; otherwise its 7-day sweep does), and the transfer ends as cancelled.
    /// Returns whether there was such a transfer.
    pub(super) fn cancel_remembered(&mut self, transfer_id: &str) -> bool {
        let Ok(Some(t)) = self.store.transfer(transfer_id) else {
            return false;
        };
        if t.dir != Direction::Out || t.state == TransferState::Done {
            return false;
        }
        if let Some(&link) = self.active.get(&t.peer) {
            let cancel = LinkMsg::FileCancel {
                transfer_id: transfer_id.to_owned(),
                reason: "cancelled".into(),
            };
            self.send_on(link, &cancel);
        }
        self.emit(Event::TransferFailed {
            transfer_id: transfer_id.to_owned().into(),
            reason: "cancelled".into(),
        });
        true
    }

    /// When the earliest waiting retry is due, if any: the loop wakes for it.
    pub(super) fn next_retry(&self) -> Option<Instant> {
        self.transfers
            .outgoing
            .values()
            .filter_map(|o| match o.state {
                OutState::Waiting { at, .. } => Some(at),
                _ => None,
            })
            .min()
    }

    /// Timer work: interrupted transfers whose wait is over are offered again, and
    /// downloads that waited too long for their sender give up.
    pub(super) fn transfers_tick(&mut self, now: Instant) {
        let due: Vec<(String, String, u32)> = self
            .transfers
            .outgoing
            .iter()
            .filter(|(_, o)| matches!(o.state, OutState::Waiting { at, .. } if at <= now))
            .map(|(id, o)| (id.clone(), o.peer.clone(), o.fruitless))
            .collect();
        for (id, peer, attempt) in due {
            self.requeue(&id, attempt);
            self.pump_transfers(&peer);
        }
        self.download_deadlines(now);
    }

    /// Queues an outgoing transfer's offer again and says `transfer_retrying`.
    pub(super) fn requeue(&mut self, transfer_id: &str, attempt: u32) {
        if let Some(o) = self.transfers.outgoing.get_mut(transfer_id) {
            o.state = OutState::Queued;
            self.emit(Event::TransferRetrying {
                transfer_id: transfer_id.to_owned().into(),
                attempt,
            });
        }
    }

    /// The `retry` command, for either side.
    pub(super) fn retry_transfer(&mut self, transfer_id: &str) {
        if let Some(o) = self.transfers.outgoing.get_mut(transfer_id) {
            if matches!(o.state, OutState::Streaming { .. }) {
                let e = format!("retry: {transfer_id} is under way");
                return self.emit(Event::error(e));
            }
            o.fruitless = 0;
            let peer = o.peer.clone();
            self.requeue(transfer_id, 0);
            return self.pump_transfers(&peer);
        }
        if let Some(peer) = self.incoming_peer(transfer_id) {
            return self.ask_resume(transfer_id, &peer);
        }
        match self.stored_outgoing(transfer_id, None) {
            Ok(t) => self.revive_and_offer(t),
            Err(e) => self.emit(Event::error(format!("retry: {e}"))),
        }
    }

    /// A receiver asks us to offer one of our transfers again (its Retry).
    pub(super) fn on_file_resume(&mut self, link: LinkId, peer: &str, transfer_id: &str) {
        if let Some(o) = self.transfers.outgoing.get_mut(transfer_id) {
            if o.peer != peer || matches!(o.state, OutState::Streaming { .. }) {
                return tracing::debug!(%peer, transfer_id, "file_resume ignored");
            }
            o.fruitless = 0;
            self.requeue(transfer_id, 0);
            return self.pump_transfers(peer);
        }
        match self.stored_outgoing(transfer_id, Some(peer)) {
            Ok(t) => self.revive_and_offer(t),
            Err(reason) => {
                let cancel = LinkMsg::FileCancel {
                    transfer_id: transfer_id.to_owned(),
                    reason,
                };
                self.send_on(link, &cancel);
            }
        }
    }

    /// Takes up a transfer from the store again and offers it; if the file changed, the
    /// transfer fails for good (and the receiver, if connected, drops its bytes).
    fn revive_and_offer(&mut self, t: Transfer) {
        let (id, peer) = (t.id.clone(), t.peer.clone());
        match self.revive(t) {
            Ok(()) => {
                self.requeue(&id, 0);
                self.pump_transfers(&peer);
            }
            Err(reason) => {
                if let Some(&link) = self.active.get(&peer) {
                    let cancel = LinkMsg::FileCancel {
                        transfer_id: id.clone(),
                        reason: reason.clone(),
                    };
                    self.send_on(link, &cancel);
                }
                self.emit(Event::TransferFailed {
                    transfer_id: id.into(),
                    reason,
                });
            }
        }
    }

    /// An outgoing transfer as recorded (to `peer`, if given), not yet delivered.
    fn stored_outgoing(&self, transfer_id: &str, peer: Option<&str>) -> Result<Transfer, String> {
        let t = self
            .store
            .transfer(transfer_id)
            .map_err(|e| e.to_string())?
            .filter(|t| t.dir == Direction::Out && peer.is_none_or(|p| p == t.peer))
            .ok_or_else(|| format!("no transfer {transfer_id}"))?;
        if t.state == TransferState::Done {
            return Err(format!("{} was already delivered", t.name));
        }
        Ok(t)
    }

    /// Puts a recorded outgoing transfer back in the queue, if its file is unchanged.
    fn revive(&mut self, t: Transfer) -> Result<(), String> {
        if t.path.is_empty() {
            return Err(format!("{}: where the file is was not recorded", t.name));
        }
        let path = Path::new(&t.path);
        let (id, out) = self.outgoing_for(&t.peer, path)?;
        if id != t.id {
            return Err(if out.size == t.size {
                format!("{} was modified since it was offered", path.display())
            } else {
                format!(
                    "{} changed since it was offered ({} bytes then, {} now)",
                    path.display(),
                    t.size,
                    out.size
                )
            });
        }
        if self.transfers.outgoing.len() >= MAX_TRANSFERS {
            return Err(format!("{MAX_TRANSFERS} transfers are under way"));
        }
        self.transfers.outgoing.insert(id, out);
        Ok(())
    }

    /// At start (after `ready`): old `.part` files are swept, and the transfers left
    /// unfinished by the last run are taken up again: ours are offered again (`offer_sent`)
    /// once the peer is reachable, or reported failed if the file changed; theirs are
    /// marked paused, to resume when the sender offers them again.
    pub(super) fn restore_transfers(&mut self) {
        self.sweep_partials();
        let unfinished = match self.store.unfinished_transfers() {
            Ok(v) => v,
            Err(e) => return tracing::warn!("history: cannot read unfinished transfers: {e}"),
        };
        let now = super::core::now_ms();
        for t in unfinished {
            let id = t.id.clone();
            if t.dir == Direction::In {
                if let Err(e) = self
                    .store
                    .set_transfer_state(&id, TransferState::Paused, None, now)
                {
                    tracing::warn!("history: cannot record a transfer: {e}");
                }
                continue;
            }
            match self.revive(t) {
                Ok(()) => {
                    tracing::info!(transfer_id = %id, "unfinished transfer offered again");
                    self.announce_offer(&id);
                }
                Err(reason) => self.emit(Event::TransferFailed {
                    transfer_id: id.into(),
                    reason: format!("not resumed after a restart: {reason}"),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let s = Duration::from_secs;
        let waits: Vec<Duration> = (1..=8).map(|n| backoff(s(1), n)).collect();
        assert_eq!(waits, [s(1), s(2), s(4), s(8), s(16), s(32), s(60), s(60)]);
        assert_eq!(backoff(s(1), 1000), s(60), "no overflow");
        assert_eq!(
            backoff(Duration::from_millis(10), 2),
            Duration::from_millis(20)
        );
    }
}

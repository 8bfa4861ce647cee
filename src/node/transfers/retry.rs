//! The sending side of resume: automatic retries of a broken stream, the `retry`
//! command, a receiver's `file_resume`, and unfinished transfers taken up again after a
//! restart.
//!
//! **The sender owns retries.** It has the file and its path; the receiver has only the
//! bytes so far and cannot make more flow. So when a stream breaks (the connection
//! broke, stalled or could not be made), the sender waits `Config::retry_delay`, doubled
//! for each further try up to a minute, and offers the same transfer again, sooner if a
//! new route to the peer comes up (the network is back); the receiver answers with the
//! length of its `.part` and only the rest is sent. Tries that moved no byte count: after
//! `Config::retry_attempts` of them in a row the transfer gives up, and `retry` takes it
//! up again. Final failures (the file changed, the hash did not match) are never retried.
//!
//! Across restarts the store is the memory: every outgoing transfer's path is recorded
//! when it is offered, and at start the unfinished ones are offered again if the file is
//! unchanged (its derived id still matches), or reported failed with the reason.

use std::path::Path;
use std::time::Duration;

use super::outgoing::OutState;
use super::{Ctx, MAX_TRANSFERS, NeedStored, Then, TransferEnd, Transfers, report_end};
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::out::{Out, Record, Route};
use crate::protocol::{LinkMsg, PeerId, TransferId};
use crate::store::{Direction, Transfer, TransferState};

/// Longest wait between two automatic retries.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// The wait before automatic retry number `attempt` (1, 2, …): `first`, doubled for
/// each further try, at most [`MAX_RETRY_DELAY`] (or `first`, if that is longer).
pub fn backoff(first: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    first
        .saturating_mul(1 << doublings)
        .min(MAX_RETRY_DELAY.max(first))
}

impl Transfers {
    /// The stream of one of our transfers broke: wait and offer it again, or give up.
    pub(super) fn send_broken(
        &mut self,
        id: &TransferId,
        reason: String,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) {
        let (limit, first) = (self.settings.retry_attempts, self.settings.retry_delay);
        let Some(o) = self.outgoing.get_mut(id) else {
            return;
        };
        o.fruitless += 1;
        let attempt = o.fruitless;
        if attempt > limit {
            let end = TransferEnd::GaveUp {
                tries: limit,
                last: reason,
            };
            return self.end_outgoing(id, end, false, ctx, out);
        }
        let delay = backoff(first, attempt);
        o.state = OutState::Waiting {
            at: ctx.now.at + delay,
            route: ctx.routes.route(&o.peer),
        };
        out.record(Record::TransferState(id.clone(), TransferState::Paused));
        out.emit(Event::TransferInterrupted {
            transfer_id: id.clone(),
            reason,
            attempt,
            retry_in_ms: Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
        });
    }

    /// Queues an outgoing transfer's offer again and says `transfer_retrying`.
    pub(super) fn requeue(&mut self, id: &TransferId, attempt: u32, out: &mut Out) {
        if let Some(o) = self.outgoing.get_mut(id) {
            o.state = OutState::Queued;
            out.record(Record::TransferState(id.clone(), TransferState::Offered));
            out.emit(Event::TransferRetrying {
                transfer_id: id.clone(),
                attempt,
            });
        }
    }

    /// The `retry` command, for either side.
    pub fn retry(&mut self, origin: Origin, id: TransferId, ctx: Ctx<'_>, out: &mut Out) -> Then {
        if let Some(o) = self.outgoing.get_mut(&id) {
            if matches!(o.state, OutState::Streaming(_)) {
                out.reply(
                    Some(origin),
                    Event::error(format!("retry: {id} is under way")),
                );
                return Then::Done;
            }
            o.fruitless = 0;
            let peer = o.peer.clone();
            self.requeue(&id, 0, out);
            return self.pump_or_dial(peer, ctx, out);
        }
        if let Some(peer) = self.incoming_peer(&id) {
            self.ask_resume(origin, &id, &peer, ctx, out);
            return Then::Done;
        }
        Then::LookUp(NeedStored::Retry { id, origin })
    }

    /// A receiver asks us to offer one of our transfers again (its Retry).
    pub(super) fn on_file_resume(
        &mut self,
        route: Route,
        peer: &PeerId,
        id: TransferId,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) -> Then {
        let Some(o) = self.outgoing.get_mut(&id) else {
            return Then::LookUp(NeedStored::Resume {
                id,
                peer: peer.clone(),
                route,
            });
        };
        if o.peer != *peer || matches!(o.state, OutState::Streaming(_)) {
            tracing::debug!(%peer, transfer_id = %id, "file_resume ignored");
            return Then::Done;
        }
        o.fruitless = 0;
        self.requeue(&id, 0, out);
        self.pump_or_dial(peer.clone(), ctx, out)
    }

    /// Goes on with a transfer history had (`stored`: the core's lookup).
    pub fn stored(
        &mut self,
        need: NeedStored,
        stored: Result<Option<Transfer>, String>,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) -> Then {
        match need {
            NeedStored::Retry { id, origin } => match stored_outgoing(&id, None, stored) {
                Ok(t) => self.revive_and_offer(t, ctx, out),
                Err(e) => {
                    out.reply(Some(origin), Event::error(format!("retry: {e}")));
                    Then::Done
                }
            },
            NeedStored::Resume { id, peer, route } => {
                match stored_outgoing(&id, Some(&peer), stored).and_then(not_decided) {
                    Ok(t) => self.revive_and_offer(t, ctx, out),
                    Err(reason) => {
                        let cancel = LinkMsg::FileCancel {
                            transfer_id: id.to_string(),
                            reason,
                        };
                        out.send(route, cancel);
                        Then::Done
                    }
                }
            }
            NeedStored::Cancel { id, origin } => {
                self.cancel_remembered(origin, &id, stored, ctx, out);
                Then::Done
            }
        }
    }

    /// `cancel` of one of our transfers that is no longer running (it failed, or
    /// stopped with an earlier run) but that history remembers unfinished: the receiver
    /// may still keep its bytes for a resume, so it is told to drop them (if it has a
    /// route now; otherwise its 7-day sweep does), and the transfer ends as cancelled.
    fn cancel_remembered(
        &mut self,
        origin: Origin,
        id: &TransferId,
        stored: Result<Option<Transfer>, String>,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) {
        let t = match stored {
            Ok(Some(t)) if t.dir == Direction::Out && t.state != TransferState::Done => t,
            _ => {
                out.reply(
                    Some(origin),
                    Event::error(format!("cancel: no transfer {id}")),
                );
                return;
            }
        };
        if let Some(route) = ctx.routes.route(&t.peer) {
            let cancel = LinkMsg::FileCancel {
                transfer_id: id.to_string(),
                reason: "cancelled".into(),
            };
            out.send(route, cancel);
        }
        let end = TransferEnd::Cancelled {
            by: super::Party::Us,
            said: String::new(),
        };
        report_end(id, end, out);
    }

    /// Takes up a transfer from the store again and offers it; if the file changed, the
    /// transfer ends for good (and the receiver, if it has a route, drops its bytes).
    fn revive_and_offer(&mut self, t: Transfer, ctx: Ctx<'_>, out: &mut Out) -> Then {
        let (id, peer) = (TransferId::from(t.id.clone()), PeerId::from(t.peer.clone()));
        match self.revive(t, false) {
            Ok(()) => {
                self.requeue(&id, 0, out);
                self.pump_or_dial(peer, ctx, out)
            }
            Err(end) => {
                if let Some(route) = ctx.routes.route(&peer) {
                    let cancel = LinkMsg::FileCancel {
                        transfer_id: id.to_string(),
                        reason: end.to_string(),
                    };
                    out.send(route, cancel);
                }
                report_end(&id, end, out);
                Then::Done
            }
        }
    }

    /// Puts a recorded outgoing transfer back in the queue, if its file is unchanged.
    fn revive(&mut self, t: Transfer, after_restart: bool) -> Result<(), TransferEnd> {
        let changed = |detail: String| TransferEnd::FileChanged {
            detail,
            after_restart,
        };
        let failed = |detail: String| match after_restart {
            true => TransferEnd::failed(format!("not resumed after a restart: {detail}")),
            false => TransferEnd::failed(detail),
        };
        if t.path.is_empty() {
            return Err(failed(format!(
                "{}: where the file is was not recorded",
                t.name
            )));
        }
        let path = Path::new(&t.path);
        let (id, mut out) = self
            .outgoing_for(&t.peer.clone().into(), path)
            .map_err(changed)?;
        if id != t.id {
            return Err(changed(if out.size == t.size {
                format!("{} was modified since it was offered", path.display())
            } else {
                format!(
                    "{} changed since it was offered ({} bytes then, {} now)",
                    path.display(),
                    t.size,
                    out.size
                )
            }));
        }
        if self.outgoing.len() >= MAX_TRANSFERS {
            return Err(failed(format!("{MAX_TRANSFERS} transfers are under way")));
        }
        out.room = t.room;
        self.outgoing.insert(id, out);
        Ok(())
    }

    /// At start (after `ready`): old `.part` files are swept, and the transfers left
    /// unfinished by the last run are taken up again: ours are offered again
    /// (`offer_sent`) once the peer is reachable, or reported failed if the file changed;
    /// theirs are marked paused, to resume when the sender offers them again.
    pub fn restore(&mut self, unfinished: Vec<Transfer>, ctx: Ctx<'_>, out: &mut Out) {
        self.sweep_partials(ctx.now);
        for t in unfinished {
            let id = TransferId::from(t.id.clone());
            if t.dir == Direction::In {
                out.record(Record::TransferState(id, TransferState::Paused));
                continue;
            }
            match self.revive(t, true) {
                Ok(()) => {
                    tracing::info!(transfer_id = %id, "unfinished transfer offered again");
                    self.announce_offer(&id, ctx, out);
                }
                Err(end) => report_end(&id, end, out),
            }
        }
    }

    fn pump_or_dial(&mut self, peer: PeerId, ctx: Ctx<'_>, out: &mut Out) -> Then {
        if self.pump(&peer, ctx.routes.route(&peer), out) {
            Then::Dial(peer)
        } else {
            Then::Done
        }
    }
}

/// An outgoing transfer as recorded (to `peer`, if given), not yet delivered.
fn stored_outgoing(
    id: &TransferId,
    peer: Option<&PeerId>,
    stored: Result<Option<Transfer>, String>,
) -> Result<Transfer, String> {
    let t = stored?
        .filter(|t| t.dir == Direction::Out && peer.is_none_or(|p| *p == t.peer))
        .ok_or_else(|| format!("no transfer {id}"))?;
    if t.state == TransferState::Done {
        return Err(format!("{} was already delivered", t.name));
    }
    Ok(t)
}

/// A transfer someone ended on purpose (cancelled, declined) is not the receiver's to
/// take up again: its `file_resume` undoes no decision (a member who left a room asks in
/// vain for the room's files). Our own `retry` still may.
fn not_decided(t: Transfer) -> Result<Transfer, String> {
    match t.state {
        TransferState::Cancelled | TransferState::Declined => {
            Err(format!("{} was {}", t.name, t.state.as_str()))
        }
        _ => Ok(t),
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

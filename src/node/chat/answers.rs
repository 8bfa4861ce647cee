//! The sender's side of a recipient's answers: acks (`delivered`), permanent nacks
//! (`send_failed`, and the next message goes), temporary nacks and silence (the peer is
//! held, see `hold`), the timer that sends the probes, and what `net_status` shows of it.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::Chat;
use super::hold::NO_ANSWER;
use super::outbox::WINDOW;
use crate::node::event::Event;
use crate::node::out::{Out, Record, Route, Routes};
use crate::protocol::{MsgId, PeerId};

/// A recipient's answer to one of our chats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Stored: delivered.
    Ack {
        /// Who answered.
        peer: PeerId,
        /// Our message.
        msg_id: MsgId,
    },
    /// Not stored (see `LinkMsg::Nack`).
    Nack {
        /// Who answered.
        peer: PeerId,
        /// Where the answer came from: a "not now" counts only for a message in flight
        /// on that route (an older one is stale).
        route: Route,
        /// Our message.
        msg_id: MsgId,
        /// Never (else: not now).
        permanent: bool,
        /// Why, in the recipient's words.
        reason: String,
        /// The recipient's suggested wait before the next try.
        retry: Duration,
    },
}

/// Messages waiting for one peer, for `net_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The peer.
    pub peer: PeerId,
    /// Messages not yet acknowledged.
    pub queued: usize,
    /// Of those, how many are on the wire.
    pub in_flight: usize,
    /// Why they wait although the peer's route may be up, said of the peer (`cannot
    /// save messages right now (the disk is full)`); absent while they flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    /// While waiting: milliseconds until the next try (0: a probe is out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
}

impl Chat {
    /// Answers that arrived together, in order: acks reported `delivered` (recorded
    /// together after), permanent nacks `send_failed`, temporary ones hold their peer.
    /// Returns the peers that may send more now (the core pumps them).
    pub fn on_answers(&mut self, answers: Vec<Answer>, now: Instant, out: &mut Out) -> Vec<PeerId> {
        let mut acked = Vec::new();
        let mut peers: Vec<PeerId> = Vec::new();
        for answer in answers {
            match answer {
                Answer::Ack { peer, msg_id } => {
                    let Some(m) = self.outbox.ack(&peer, &msg_id) else {
                        continue; // a duplicate ack
                    };
                    // Told first, stored after: the ack is the receiver's word that it has
                    // the message, whatever we record. If the record fails (or we crash
                    // before it), the message goes out again after a restart and the
                    // receiver drops the duplicate.
                    // A room message is delivered member by member: `to` is the room,
                    // `peer` the member who has it.
                    out.emit(match m.room {
                        Some(room) => Event::Delivered {
                            msg_id: m.msg_id,
                            to: room.into(),
                            peer: Some(m.to),
                        },
                        None => Event::Delivered {
                            msg_id: m.msg_id,
                            to: m.to,
                            peer: None,
                        },
                    });
                    self.released(&peer, now, out);
                    acked.push((peer.clone(), msg_id));
                    if !peers.contains(&peer) {
                        peers.push(peer);
                    }
                }
                Answer::Nack {
                    peer,
                    msg_id,
                    permanent: true,
                    reason,
                    ..
                } => {
                    // Never is never, whichever route said it (a peer can only refuse
                    // messages to itself).
                    let Some(m) = self.outbox.ack(&peer, &msg_id) else {
                        continue;
                    };
                    tracing::info!(%peer, %msg_id, "message refused for good: {reason}");
                    let reason = if reason.is_empty() {
                        "refused by the recipient".to_owned()
                    } else {
                        reason
                    };
                    out.record(Record::Failed {
                        peer: peer.clone(),
                        msg_id: msg_id.clone(),
                        reason: reason.clone(),
                    });
                    out.emit(Event::SendFailed {
                        msg_id,
                        to: m.to,
                        reason,
                    });
                    self.released(&peer, now, out);
                    if !peers.contains(&peer) {
                        peers.push(peer);
                    }
                }
                Answer::Nack {
                    peer,
                    route,
                    msg_id,
                    reason,
                    retry,
                    ..
                } => {
                    if self.outbox.sent_on(&peer, &msg_id) != Some(route) {
                        continue;
                    }
                    let reason = if reason.is_empty() {
                        "cannot take messages right now".to_owned()
                    } else {
                        reason
                    };
                    self.not_now(&peer, reason, retry, now, out);
                }
            }
        }
        if !acked.is_empty() {
            out.record(Record::Delivered(acked));
        }
        peers
    }

    /// Timer work at `now`: a peer silent too long with messages in flight is held;
    /// a held peer whose wait is over gets its probe on `routes`.
    pub fn tick(&mut self, routes: &dyn Routes, now: Instant, out: &mut Out) {
        let outbox = &self.outbox;
        for peer in self.holds.silent(now, |p| outbox.in_flight(p) > 0) {
            let why = format!("has not answered for {} s", NO_ANSWER.as_secs());
            self.not_now(&peer, why, Duration::ZERO, now, out);
        }
        let due: Vec<PeerId> = self
            .outbox
            .peers()
            .filter(|p| self.holds.limit(p, WINDOW, now) == 1 && self.outbox.in_flight(p) == 0)
            .cloned()
            .collect();
        for peer in due {
            self.pump(&peer, routes.route(&peer), now, out);
        }
    }

    /// Every peer with messages waiting, for `net_status`.
    pub fn delivery(&self, now: Instant) -> Vec<Delivery> {
        let mut v: Vec<Delivery> = self
            .outbox
            .peers()
            .map(|p| {
                let hold = self.holds.get(p);
                Delivery {
                    peer: p.clone(),
                    queued: self.outbox.queued(p),
                    in_flight: self.outbox.in_flight(p),
                    waiting: hold.map(|h| h.reason.clone()),
                    retry_in_ms: hold.map(|h| {
                        u64::try_from(h.until.saturating_duration_since(now).as_millis())
                            .unwrap_or(u64::MAX)
                    }),
                }
            })
            .collect();
        v.sort_by(|a, b| a.peer.cmp(&b.peer));
        v
    }

    /// The peer said "not now" (or nothing): what is in flight goes again later, and the
    /// front ends hear why if it is news.
    fn not_now(
        &mut self,
        peer: &PeerId,
        reason: String,
        hint: Duration,
        now: Instant,
        out: &mut Out,
    ) {
        self.outbox.unsend(peer);
        if self.holds.not_now(peer, reason.clone(), hint, now) {
            tracing::info!(%peer, "messages wait: {reason}");
            out.emit(Event::DeliveryWaiting {
                to: peer.clone(),
                reason,
            });
        }
    }

    /// The peer answered something other than "not now".
    fn released(&mut self, peer: &PeerId, now: Instant, out: &mut Out) {
        let was_held = if self.outbox.has_pending(peer) {
            self.holds.answered(peer, now)
        } else {
            self.holds.forget(peer)
        };
        if was_held {
            tracing::info!(%peer, "messages flow again");
            out.emit(Event::DeliveryResumed { to: peer.clone() });
        }
    }
}

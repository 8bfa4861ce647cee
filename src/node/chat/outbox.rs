//! Messages written but not yet acknowledged, per peer, in send order: the in-memory
//! half of the outbox. The durable half is the store (`messages` in state `pending` or
//! `sent`), which the core writes first and reloads from at start.
//!
//! A message leaves the outbox only when its `ack` arrives, or a permanent `nack` (the
//! recipient will never take it). At most [`WINDOW`] messages per peer are on the wire at
//! once, so a long backlog never overflows a link's writer queue; each answer lets the
//! next one out. When a route goes down, or the recipient says "not now", what it carried
//! is marked unsent and goes out again, in order (receivers drop duplicates); how many go
//! at once then is the caller's `limit` (see `hold`).

use std::collections::{HashMap, VecDeque};

use crate::node::out::Route;
use crate::protocol::room::RoomChange;
use crate::protocol::{MsgId, PeerId};

/// Messages per peer in flight (sent, not acknowledged) at once.
pub const WINDOW: usize = 256;

/// Most messages the outbox holds in all.
pub const MAX_OUTBOX: usize = 100_000;

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMsg {
    /// Message id.
    pub msg_id: MsgId,
    /// Recipient peer id.
    pub to: PeerId,
    /// Milliseconds since the Unix epoch.
    pub sent_at: u64,
    /// The text.
    pub text: String,
    /// The room it was said in (absent: a direct message): one entry per member.
    pub room: Option<String>,
    /// A signed room change it carries instead of words.
    pub change: Option<Box<RoomChange>>,
    /// The route it was last written to, if that route is still up.
    pub sent_on: Option<Route>,
    /// The store already has it as `sent` (written to a link once), so writing it again
    /// needs no store update.
    pub stored_sent: bool,
}

/// The outbox is full.
#[derive(Debug, thiserror::Error)]
#[error("the outbox is full ({MAX_OUTBOX} undelivered messages); wait for peers to come back")]
pub struct OutboxFull;

/// All unacknowledged messages.
#[derive(Debug, Default)]
pub struct Outbox {
    queues: HashMap<PeerId, VecDeque<OutMsg>>,
    total: usize,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a message at the end of its peer's queue.
    pub fn push(&mut self, msg: OutMsg) -> Result<(), OutboxFull> {
        if self.total >= MAX_OUTBOX {
            return Err(OutboxFull);
        }
        self.total += 1;
        self.queues
            .entry(msg.to.clone())
            .or_default()
            .push_back(msg);
        Ok(())
    }

    /// Removes an answered message (acknowledged, or refused for good); `None` if it was
    /// not waiting (a duplicate answer).
    pub fn ack(&mut self, peer: &str, msg_id: &str) -> Option<OutMsg> {
        let q = self.queues.get_mut(peer)?;
        let pos = q.iter().position(|m| m.msg_id == msg_id)?;
        let msg = q.remove(pos)?;
        if q.is_empty() {
            self.queues.remove(peer);
        }
        self.total -= 1;
        Some(msg)
    }

    /// Removes what waits for `peer` in `room` (it left the room), in flight or not;
    /// returns their ids. What waits for it elsewhere stays, in order.
    pub fn drop_room(&mut self, peer: &str, room: &str) -> Vec<MsgId> {
        let Some(q) = self.queues.get_mut(peer) else {
            return Vec::new();
        };
        let mut dropped = Vec::new();
        q.retain(|m| {
            let gone = m.room.as_deref() == Some(room);
            if gone {
                dropped.push(m.msg_id.clone());
            }
            !gone
        });
        if q.is_empty() {
            self.queues.remove(peer);
        }
        self.total -= dropped.len();
        dropped
    }

    /// The messages to write to `route` now: those among the peer's oldest `limit` (at
    /// most [`WINDOW`]) not yet on it. They are marked as sent on `route` (and as
    /// `stored_sent` from now on: the caller updates the store for those returned with
    /// `stored_sent == false`).
    pub fn take_unsent(&mut self, peer: &str, route: Route, limit: usize) -> Vec<OutMsg> {
        let Some(q) = self.queues.get_mut(peer) else {
            return Vec::new();
        };
        q.iter_mut()
            .take(limit.min(WINDOW))
            .filter(|m| m.sent_on != Some(route))
            .map(|m| {
                m.sent_on = Some(route);
                let taken = m.clone();
                m.stored_sent = true;
                taken
            })
            .collect()
    }

    /// Whether a message queued for `peer` behind `ahead` more (not yet queued) would be
    /// inside its window, i.e. go out at once on a link that is up.
    pub fn window_open(&self, peer: &str, ahead: usize) -> bool {
        self.queues.get(peer).map_or(0, VecDeque::len) + ahead < WINDOW
    }

    /// The route a waiting message was last written to, if it is still in flight.
    pub fn sent_on(&self, peer: &str, msg_id: &str) -> Option<Route> {
        self.queues
            .get(peer)?
            .iter()
            .take(WINDOW)
            .find(|m| m.msg_id == msg_id)?
            .sent_on
    }

    /// How many of the peer's messages are on the wire, unanswered.
    pub fn in_flight(&self, peer: &str) -> usize {
        self.queues.get(peer).map_or(0, |q| {
            q.iter()
                .take(WINDOW)
                .filter(|m| m.sent_on.is_some())
                .count()
        })
    }

    /// How many messages wait for the peer, in flight or not.
    pub fn queued(&self, peer: &str) -> usize {
        self.queues.get(peer).map_or(0, VecDeque::len)
    }

    /// The peer said "not now" (or nothing at all): what is in flight to it is unsent
    /// again, to go once more in order.
    pub fn unsend(&mut self, peer: &str) {
        for m in self.queues.get_mut(peer).into_iter().flatten() {
            m.sent_on = None;
        }
    }

    /// A route went down: what it carried is unsent again.
    pub fn route_down(&mut self, route: Route) {
        for m in self.queues.values_mut().flatten() {
            if m.sent_on == Some(route) {
                m.sent_on = None;
            }
        }
    }

    /// Whether anything waits for `peer`.
    pub fn has_pending(&self, peer: &str) -> bool {
        self.queues.contains_key(peer)
    }

    /// Peers with something waiting.
    pub fn peers(&self) -> impl Iterator<Item = &PeerId> {
        self.queues.keys()
    }

    /// Messages waiting in all.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether nothing waits.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(to: &str, id: &str) -> OutMsg {
        OutMsg {
            msg_id: id.into(),
            to: to.into(),
            sent_at: 0,
            text: "t".into(),
            room: None,
            change: None,
            sent_on: None,
            stored_sent: false,
        }
    }

    fn ids(v: &[OutMsg]) -> Vec<&str> {
        v.iter().map(|m| m.msg_id.as_str()).collect()
    }

    const L1: Route = Route::Link(1);
    const L2: Route = Route::Link(2);

    #[test]
    fn send_ack_resend_in_order() {
        let mut o = Outbox::new();
        for i in 0..3 {
            o.push(msg("p", &format!("m{i}"))).unwrap();
        }
        assert!(o.window_open("p", 0));
        assert!(!o.window_open("p", WINDOW), "a burst fills it");
        let first = o.take_unsent("p", L1, WINDOW);
        assert_eq!(ids(&first), ["m0", "m1", "m2"]);
        assert!(
            first.iter().all(|m| !m.stored_sent),
            "the store says pending"
        );
        assert!(
            o.take_unsent("p", L1, WINDOW).is_empty(),
            "not twice on one link"
        );
        assert_eq!(o.in_flight("p"), 3);
        assert_eq!(o.sent_on("p", "m1"), Some(L1));
        assert_eq!(o.ack("p", "m0").unwrap().msg_id, "m0");
        assert!(o.ack("p", "m0").is_none(), "duplicate ack");
        o.route_down(L1);
        assert_eq!(o.in_flight("p"), 0);
        let again = o.take_unsent("p", L2, WINDOW);
        assert_eq!(ids(&again), ["m1", "m2"]);
        assert!(
            again.iter().all(|m| m.stored_sent),
            "the store says sent already"
        );
        o.ack("p", "m1");
        o.ack("p", "m2");
        assert!(o.is_empty());
        assert!(!o.has_pending("p"));
    }

    #[test]
    fn a_member_who_left_loses_that_rooms_copies_only() {
        let mut o = Outbox::new();
        let in_room = |id: &str, room: &str| OutMsg {
            room: Some(room.into()),
            ..msg("p", id)
        };
        o.push(in_room("r1", "room-a")).unwrap();
        o.push(msg("p", "d1")).unwrap();
        o.push(in_room("r2", "room-b")).unwrap();
        o.push(in_room("r3", "room-a")).unwrap();
        o.push(OutMsg {
            room: Some("room-a".into()),
            ..msg("q", "q1")
        })
        .unwrap();
        assert_eq!(o.take_unsent("p", L1, WINDOW).len(), 4);
        let dropped = o.drop_room("p", "room-a");
        assert_eq!(ids_of(&dropped), ["r1", "r3"]);
        assert_eq!(o.len(), 3);
        assert_eq!(o.in_flight("p"), 2, "the direct message and room-b's");
        assert!(o.drop_room("p", "room-a").is_empty(), "once");
        assert_eq!(o.queued("q"), 1, "another member keeps theirs");
        o.route_down(L1);
        assert_eq!(ids(&o.take_unsent("p", L1, WINDOW)), ["d1", "r2"]);
    }

    fn ids_of(v: &[MsgId]) -> Vec<&str> {
        v.iter().map(MsgId::as_str).collect()
    }

    #[test]
    fn window_limits_what_is_in_flight() {
        let mut o = Outbox::new();
        for i in 0..WINDOW + 10 {
            o.push(msg("p", &i.to_string())).unwrap();
        }
        assert!(!o.window_open("p", 0));
        assert_eq!(o.take_unsent("p", L1, usize::MAX).len(), WINDOW);
        o.ack("p", "0");
        assert_eq!(ids(&o.take_unsent("p", L1, WINDOW)), [WINDOW.to_string()]);
    }

    #[test]
    fn not_now_unsends_and_a_limit_sends_only_the_oldest() {
        let mut o = Outbox::new();
        for i in 0..5 {
            o.push(msg("p", &format!("m{i}"))).unwrap();
        }
        assert_eq!(o.take_unsent("p", L1, WINDOW).len(), 5);
        o.unsend("p");
        assert_eq!(o.in_flight("p"), 0);
        assert_eq!(o.sent_on("p", "m0"), None);
        // A probe: the oldest only, once.
        assert_eq!(ids(&o.take_unsent("p", L1, 1)), ["m0"]);
        assert!(o.take_unsent("p", L1, 1).is_empty());
        assert_eq!(
            ids(&o.take_unsent("p", L1, WINDOW)),
            ["m1", "m2", "m3", "m4"]
        );
        assert_eq!(o.queued("p"), 5);
    }

    #[test]
    fn peers_are_independent() {
        let mut o = Outbox::new();
        o.push(msg("a", "1")).unwrap();
        o.push(msg("b", "2")).unwrap();
        assert!(
            o.ack("a", "2").is_none(),
            "an ack only counts from the recipient"
        );
        assert_eq!(o.len(), 2);
    }
}

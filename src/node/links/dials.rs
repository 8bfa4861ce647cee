//! Dial bookkeeping: one dial (and the handshake of the link it made) at a time per
//! peer, and a back-off after failures, reset whenever the peer is heard from. Pure:
//! time is a parameter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::protocol::PeerId;

/// First wait after a failed dial.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Longest wait between two dial attempts to a reachable peer.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
struct DialState {
    /// A dial, or the handshake of the link it made, is under way.
    in_progress: bool,
    next_try: Instant,
    backoff: Duration,
}

impl DialState {
    fn new(now: Instant) -> Self {
        DialState {
            in_progress: false,
            next_try: now,
            backoff: FIRST_BACKOFF,
        }
    }
}

/// Dial state per peer (peers never dialed, or linked, have none).
#[derive(Debug, Default)]
pub struct Dials {
    by_peer: HashMap<PeerId, DialState>,
}

impl Dials {
    /// Whether a dial to `peer` may start at `now`; if so it counts as under way.
    pub fn start(&mut self, peer: &PeerId, now: Instant) -> bool {
        let state = self
            .by_peer
            .entry(peer.clone())
            .or_insert_with(|| DialState::new(now));
        if state.in_progress || now < state.next_try {
            return false;
        }
        state.in_progress = true;
        true
    }

    /// A dial, or the handshake on the link it made, failed: the next try waits, each
    /// time twice as long, up to [`MAX_BACKOFF`].
    pub fn failed(&mut self, peer: &PeerId, now: Instant) {
        let state = self
            .by_peer
            .entry(peer.clone())
            .or_insert_with(|| DialState::new(now));
        state.in_progress = false;
        state.next_try = now + state.backoff;
        state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
    }

    /// The peer's link went down: the next dial waits one back-off (no doubling).
    pub fn link_lost(&mut self, peer: &PeerId, now: Instant) {
        let state = self
            .by_peer
            .entry(peer.clone())
            .or_insert_with(|| DialState::new(now));
        state.next_try = now + state.backoff;
    }

    /// The peer was heard from: anything waiting for it may dial now.
    pub fn reachable(&mut self, peer: &str, now: Instant) {
        if let Some(d) = self.by_peer.get_mut(peer) {
            d.next_try = now;
            d.backoff = FIRST_BACKOFF;
        }
    }

    /// A link to the peer is up: nothing to remember.
    pub fn done(&mut self, peer: &str) {
        self.by_peer.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_dials_back_off_doubling_up_to_thirty_seconds() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let bob = PeerId::from("bob0");
        let mut d = Dials::default();
        assert!(d.start(&bob, t0));
        assert!(!d.start(&bob, t0), "one dial at a time");
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..9 {
            d.failed(&bob, at);
            let mut next = at;
            while !d.start(&bob, next) {
                next += ms(50);
            }
            waits.push(next - at);
            at = next;
        }
        assert_eq!(
            waits,
            [250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000].map(ms)
        );
        // Heard from: the next dial may go at once, and the back-off starts over.
        d.failed(&bob, at);
        d.reachable("bob0", at);
        assert!(d.start(&bob, at));
        d.failed(&bob, at);
        assert!(d.start(&bob, at + FIRST_BACKOFF));
        // A link that goes down makes the next dial wait one back-off.
        d.done("bob0");
        d.link_lost(&bob, at);
        assert!(!d.start(&bob, at));
        assert!(d.start(&bob, at + FIRST_BACKOFF));
    }
}

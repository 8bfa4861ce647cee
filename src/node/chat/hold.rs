//! Why a peer's messages wait while its route is up, and when they go again: the
//! sender's half of "never stall".
//!
//! A recipient that cannot store right now (a full disk, a locked database) answers each
//! chat with a temporary `nack`; one that does not answer at all (an older build that
//! drops what it cannot store, a peer whose core hangs) says nothing for [`NO_ANSWER`].
//! Either way the peer is *held*: the caller unsends what was in flight and, once the
//! wait is over, lets only the oldest message go, as a probe. Any answer that is not "not
//! now" (an ack, a permanent nack) releases the peer and the whole window goes again;
//! another "not now" doubles the wait, up to [`MAX_RETRY`] (or the recipient's hint, at
//! most [`MAX_HINT`]). So a recipient that can store again gets the backlog within about
//! [`MAX_RETRY`] of that moment, and one that cannot costs one message per wait.
//!
//! Pure: time is a parameter; the caller (chat) knows what is in flight.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::protocol::PeerId;

/// The wait after a first "not now".
pub const FIRST_RETRY: Duration = Duration::from_millis(250);

/// The longest wait between two probes of a recipient that keeps saying "not now".
pub const MAX_RETRY: Duration = Duration::from_secs(2);

/// The longest wait a recipient's hint (`retry_ms`) can ask for.
pub const MAX_HINT: Duration = Duration::from_secs(30);

/// A recipient that answers nothing for this long while messages are in flight to it is
/// held as if it had said "not now".
pub const NO_ANSWER: Duration = Duration::from_secs(30);

/// Why and until when one peer's messages wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Why, said of the peer (`cannot save messages right now (the disk is full)`).
    pub reason: String,
    /// Since when it has been held.
    pub since: Instant,
    /// When the probe may go.
    pub until: Instant,
    /// The wait after the next "not now".
    backoff: Duration,
}

/// The held peers, and how long each peer with messages in flight has been silent.
#[derive(Debug, Default)]
pub struct Holds {
    held: HashMap<PeerId, Hold>,
    /// Peers with messages in flight: when they last answered, or when the first of
    /// those messages went.
    heard: HashMap<PeerId, Instant>,
}

impl Holds {
    /// The peer said "not now" (`reason`, said of the peer), suggesting a wait of `hint`
    /// (or said nothing for [`NO_ANSWER`]). Returns `true` when this is news: the peer
    /// was not held, or for another reason.
    pub fn not_now(&mut self, peer: &PeerId, reason: String, hint: Duration, now: Instant) -> bool {
        let (backoff, since, news) = match self.held.get(peer) {
            Some(h) => (h.backoff, h.since, h.reason != reason),
            None => (FIRST_RETRY, now, true),
        };
        let wait = backoff.max(hint.min(MAX_HINT));
        self.held.insert(
            peer.clone(),
            Hold {
                reason,
                since,
                until: now + wait,
                backoff: (backoff * 2).min(MAX_RETRY),
            },
        );
        self.heard.insert(peer.clone(), now);
        news
    }

    /// The peer answered something other than "not now": it takes messages. Returns
    /// whether it was held (and is released now).
    pub fn answered(&mut self, peer: &PeerId, now: Instant) -> bool {
        self.heard.insert(peer.clone(), now);
        self.held.remove(peer).is_some()
    }

    /// How many of the peer's oldest messages may be in flight at `now`: `window` when
    /// it is not held; one (the probe) once its wait is over; none before.
    pub fn limit(&self, peer: &str, window: usize, now: Instant) -> usize {
        match self.held.get(peer) {
            None => window,
            Some(h) if now >= h.until => 1,
            Some(_) => 0,
        }
    }

    /// Messages went to the peer when none were in flight: its silence counts from now.
    pub fn started(&mut self, peer: &PeerId, now: Instant) {
        self.heard.insert(peer.clone(), now);
    }

    /// The peer has nothing waiting any more: forgotten. Returns whether it was held.
    pub fn forget(&mut self, peer: &str) -> bool {
        self.heard.remove(peer);
        self.held.remove(peer).is_some()
    }

    /// Peers silent for [`NO_ANSWER`] at `now` among those `in_flight` says have
    /// messages on the wire (the others stop being watched).
    pub fn silent(&mut self, now: Instant, in_flight: impl Fn(&str) -> bool) -> Vec<PeerId> {
        self.heard.retain(|p, _| in_flight(p));
        self.heard
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= NO_ANSWER)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The peer's hold, if it is held.
    pub fn get(&self, peer: &str) -> Option<&Hold> {
        self.held.get(peer)
    }

    /// Whether the peer is held.
    pub fn is_held(&self, peer: &str) -> bool {
        self.held.contains_key(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn not_now_backs_off_doubling_up_to_the_limit_and_an_answer_releases() {
        let t0 = Instant::now();
        let bob = PeerId::from("bob");
        let mut h = Holds::default();
        assert_eq!(h.limit("bob", 256, t0), 256);
        let why = || "cannot save messages right now (the disk is full)".to_owned();
        assert!(h.not_now(&bob, why(), Duration::ZERO, t0), "news");
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..5 {
            let until = h.get("bob").unwrap().until;
            assert_eq!(h.limit("bob", 256, until - MS(1)), 0, "nothing before");
            assert_eq!(h.limit("bob", 256, until), 1, "one probe once due");
            waits.push(until - at);
            at = until;
            assert!(
                !h.not_now(&bob, why(), Duration::ZERO, at),
                "the same reason"
            );
        }
        assert_eq!(waits, [250, 500, 1000, 2000, 2000].map(MS));
        assert_eq!(h.get("bob").unwrap().since, t0);
        assert!(h.answered(&bob, at));
        assert!(!h.answered(&bob, at), "released once");
        assert_eq!(h.limit("bob", 256, at), 256);
        // Held again: the wait starts over.
        h.not_now(&bob, why(), Duration::ZERO, at);
        assert_eq!(h.get("bob").unwrap().until - at, MS(250));
    }

    #[test]
    fn the_recipients_hint_is_followed_within_bounds() {
        let t0 = Instant::now();
        let bob = PeerId::from("bob");
        let mut h = Holds::default();
        h.not_now(&bob, "x".into(), MS(700), t0);
        assert_eq!(h.get("bob").unwrap().until - t0, MS(700));
        h.not_now(&bob, "y".into(), Duration::from_secs(3600), t0);
        assert_eq!(h.get("bob").unwrap().until - t0, MAX_HINT);
    }

    #[test]
    fn silence_counts_only_while_something_is_in_flight() {
        let t0 = Instant::now();
        let (bob, ann) = (PeerId::from("bob"), PeerId::from("ann"));
        let mut h = Holds::default();
        h.started(&bob, t0);
        h.started(&ann, t0);
        assert!(h.silent(t0 + NO_ANSWER - MS(1), |_| true).is_empty());
        h.answered(&ann, t0 + MS(10));
        assert_eq!(
            h.silent(t0 + NO_ANSWER, |_| true),
            std::slice::from_ref(&bob)
        );
        // Nothing in flight any more: not watched.
        assert!(h.silent(t0 + NO_ANSWER * 2, |_| false).is_empty());
        assert!(h.silent(t0 + NO_ANSWER * 2, |_| true).is_empty());
        assert!(!h.forget("bob"));
    }
}

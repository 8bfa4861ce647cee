//! The receiving side of direct messages: which chats of a burst may be stored, and
//! which are answered without trying.
//!
//! - A chat this node will never take (text over [`MAX_TEXT_LEN`], a missing or
//!   oversized id) is refused for good: a permanent `nack`, and the link stays up.
//! - Once a chat on a route could not be stored for a passing reason (a full disk, a
//!   locked database), that route is *held* on it: later chats on the route are answered
//!   "not now" without being stored, until that one comes again. The sender sends it
//!   again first (it resends in order), so nothing is stored out of order.
//! - After such a failure the store is left alone for [`STORE_RETRY`]: chats are answered
//!   "not now" at once, so many senders probing a full disk cost one attempt per
//!   [`STORE_RETRY`] (a locked database makes each attempt wait for its lock).
//!
//! Pure: time is a parameter; the core does the store write between [`Inbox::admit`] and
//! [`Inbox::stored`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::node::out::Route;
use crate::protocol::MsgId;
use crate::protocol::message::MAX_TEXT_LEN;

/// How long the store is left alone after a write failed for a passing reason; also
/// the wait a "not now" suggests.
pub const STORE_RETRY: Duration = Duration::from_millis(500);

/// Longest message id taken, in bytes (lanchat's are 32; other clients' may differ).
pub const MAX_MSG_ID_LEN: usize = 128;

/// What to do with one incoming chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Try to store it.
    Store,
    /// Never: a permanent `nack` with this reason.
    Refuse(String),
    /// Not now: a temporary `nack` with this reason, said of us.
    NotNow(String),
}

/// How an incoming chat fared in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Stored for the first time: shown and acknowledged.
    New,
    /// Stored before (a resend): acknowledged, not shown again.
    Again,
    /// Never: refused for good (by the checks, or the store refuses the data).
    Refused(String),
    /// Not now: the store failed for a passing reason, or the chat waits behind one that
    /// did (said of us: `cannot save messages right now (the disk is full)`).
    NotNow(String),
}

/// The receiving side's state (see the module documentation).
#[derive(Debug, Default)]
pub struct Inbox {
    /// Per route: the first chat that could not be stored; later ones wait for it.
    held: HashMap<Route, MsgId>,
    /// After a failure: until when the store is left alone, and why it failed (said of
    /// us).
    store_down: Option<(Instant, String)>,
    /// Our user was told that messages cannot be saved, and none was saved since.
    told: bool,
}

/// Why a chat can never be taken, if it cannot.
pub fn refusal(msg_id: &str, text: &str) -> Option<String> {
    if msg_id.is_empty() || msg_id.len() > MAX_MSG_ID_LEN || msg_id.chars().any(char::is_control) {
        return Some(format!(
            "the message id is not valid (1 to {MAX_MSG_ID_LEN} bytes, no control characters)"
        ));
    }
    (text.len() > MAX_TEXT_LEN).then(|| {
        format!(
            "the message is {} bytes; the limit is {MAX_TEXT_LEN} bytes",
            text.len()
        )
    })
}

/// A passing store failure, said of us.
pub fn cannot_save(cause: &str) -> String {
    format!("cannot save messages right now ({cause})")
}

impl Inbox {
    /// What to do with a chat that arrived on `route` at `now` (in arrival order).
    pub fn admit(&mut self, route: Route, msg_id: &str, text: &str, now: Instant) -> Admit {
        if let Some(why) = refusal(msg_id, text) {
            return Admit::Refuse(why);
        }
        if let Some(first) = self.held.get(&route) {
            if *first != msg_id {
                return Admit::NotNow(self.why());
            }
            // The one it waited for: it and those behind it may go.
            self.held.remove(&route);
        }
        match &self.store_down {
            // Resting: not tried; `stored` holds the route on it.
            Some((until, why)) if now < *until => Admit::NotNow(why.clone()),
            _ => Admit::Store,
        }
    }

    /// How a chat on `route` fared (admitted, or answered "not now" by [`Inbox::admit`]):
    /// the first one not stored holds its route; one stored ends the failure.
    pub fn stored(&mut self, route: Route, msg_id: &str, how: &Stored) {
        match how {
            Stored::NotNow(_) => {
                self.held.entry(route).or_insert_with(|| msg_id.into());
            }
            Stored::New | Stored::Again => self.told = false,
            Stored::Refused(_) => {}
        }
    }

    /// The store failed for a passing reason (`cause`: the store's own words) at `now`:
    /// it rests. Returns the reason said of us.
    pub fn store_failed(&mut self, cause: &str, now: Instant) -> String {
        let why = cannot_save(cause);
        self.store_down = Some((now + STORE_RETRY, why.clone()));
        why
    }

    /// Whether our user should hear that messages cannot be saved: once, until one is.
    pub fn tell_once(&mut self) -> bool {
        !std::mem::replace(&mut self.told, true)
    }

    /// A route went down: what it held is forgotten (the sender starts over on the next).
    pub fn route_down(&mut self, route: Route) {
        self.held.remove(&route);
    }

    fn why(&self) -> String {
        self.store_down.as_ref().map_or_else(
            || cannot_save("an earlier message is not saved yet"),
            |(_, w)| w.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L1: Route = Route::Link(1);
    const L2: Route = Route::Link(2);

    #[test]
    fn a_chat_it_can_never_take_is_refused() {
        let t0 = Instant::now();
        let mut i = Inbox::default();
        let long = "x".repeat(MAX_TEXT_LEN + 1);
        assert!(matches!(i.admit(L1, "m1", &long, t0), Admit::Refuse(w) if w.contains("limit")));
        assert!(matches!(i.admit(L1, "", "hi", t0), Admit::Refuse(_)));
        assert!(matches!(
            i.admit(L1, &"i".repeat(MAX_MSG_ID_LEN + 1), "hi", t0),
            Admit::Refuse(_)
        ));
        assert!(matches!(i.admit(L1, "a\nb", "hi", t0), Admit::Refuse(_)));
        assert_eq!(
            i.admit(L1, "m2", &"x".repeat(MAX_TEXT_LEN), t0),
            Admit::Store
        );
    }

    #[test]
    fn after_a_failure_the_route_waits_for_that_chat_and_the_store_rests() {
        let t0 = Instant::now();
        let mut i = Inbox::default();
        assert_eq!(i.admit(L1, "m1", "a", t0), Admit::Store);
        assert_eq!(i.admit(L1, "m2", "b", t0), Admit::Store);
        let why = i.store_failed("the disk is full", t0);
        i.stored(L1, "m1", &Stored::NotNow(why.clone()));
        i.stored(L1, "m2", &Stored::NotNow(why.clone()));
        assert!(i.tell_once());
        assert!(!i.tell_once(), "told once");
        // Behind m1, and the store is resting: not now, without trying.
        assert_eq!(i.admit(L1, "m3", "c", t0), Admit::NotNow(why.clone()));
        assert_eq!(i.admit(L2, "x1", "c", t0), Admit::NotNow(why.clone()));
        i.stored(L2, "x1", &Stored::NotNow(why.clone()));
        // m1 again before the rest is over: still not now, still first in line.
        assert_eq!(i.admit(L1, "m1", "a", t0), Admit::NotNow(why.clone()));
        assert_eq!(i.admit(L1, "m2", "b", t0), Admit::NotNow(why.clone()));
        // After it: m1 may be stored, and what follows it in the same burst too.
        let later = t0 + STORE_RETRY;
        assert_eq!(i.admit(L1, "m1", "a", later), Admit::Store);
        assert_eq!(i.admit(L1, "m2", "b", later), Admit::Store);
        i.stored(L1, "m1", &Stored::New);
        assert!(i.tell_once(), "a new failure is news again");
        // L2 was held on x1 while the store rested.
        assert_eq!(i.admit(L2, "x2", "d", later), Admit::NotNow(why));
        assert_eq!(i.admit(L2, "x1", "c", later), Admit::Store);
    }

    #[test]
    fn a_route_that_goes_down_forgets_what_it_held() {
        let t0 = Instant::now();
        let mut i = Inbox::default();
        let why = i.store_failed("locked", t0);
        i.stored(L1, "m1", &Stored::NotNow(why));
        i.route_down(L1);
        assert_eq!(i.admit(L1, "m2", "b", t0 + STORE_RETRY), Admit::Store);
    }
}

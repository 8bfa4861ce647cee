//! Who is visiting: sessions, each visitor's log and live streams, and when they count as
//! gone; and who visited (a session that went quiet, a phone that slept), so the same
//! browser comes back as the same visitor while the link lasts.
//!
//! Pure state with the time as a parameter; the server holds it behind one mutex and
//! never across an await. A visitor is present while an event stream is open; with none,
//! they leave [`HubLimits::leave_after`] after their last request (or a few seconds after
//! the page said it is closing). Streams are bounded channels: a page that cannot keep up
//! loses its stream, reconnects and replays from its cursor.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::api::VisitorId;
use super::log::{Log, PageEvent};
use super::token::random_hex;

/// Frames a live stream may have waiting before it is dropped.
pub const STREAM_BACKLOG: usize = 256;

/// Client message ids remembered per visitor, to answer a retried send without
/// reporting it twice.
const RECENT_IDS: usize = 256;

/// Sessions of visitors who left, remembered so that they come back as themselves (the
/// oldest is forgotten first).
pub const MAX_FORMER: usize = 256;

/// How long after the page said it is closing the visitor counts as gone (a reload
/// comes back sooner).
pub const LEAVE_GRACE: Duration = Duration::from_secs(3);

/// The hub's caps and times.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Visitors at once.
    pub max_visitors: usize,
    /// With no event stream open, how long after the last request a visitor is gone.
    pub leave_after: Duration,
}

/// One visitor.
#[derive(Debug)]
pub struct Visitor {
    /// Their id.
    pub id: VisitorId,
    /// The name they typed.
    pub name: String,
    /// What their page has been shown.
    pub log: Log,
    streams: Vec<(u64, mpsc::Sender<Bytes>)>,
    last_seen: Instant,
    leaving: bool,
    seen_upto: u64,
    recent_ids: VecDeque<String>,
}

impl Visitor {
    fn new(id: VisitorId, name: String, now: Instant) -> Self {
        Visitor {
            id,
            name,
            log: Log::default(),
            streams: Vec::new(),
            last_seen: now,
            leaving: false,
            seen_upto: 0,
            recent_ids: VecDeque::new(),
        }
    }

    /// Appends an event to the log and sends it to every live stream; a stream that is
    /// full or closed is dropped (its page reconnects and replays).
    pub fn show(&mut self, event: &PageEvent<'_>) {
        let (_, frame) = self.log.push(event);
        self.send(frame);
    }

    /// Sends a frame to live streams only (not kept).
    pub fn send(&mut self, frame: Bytes) {
        self.streams
            .retain(|(_, tx)| tx.try_send(frame.clone()).is_ok());
    }

    /// Remembers a client message id; false if it was already seen (a retry).
    pub fn first_time(&mut self, client_id: &str) -> bool {
        if self.recent_ids.iter().any(|id| id == client_id) {
            return false;
        }
        if self.recent_ids.len() >= RECENT_IDS {
            self.recent_ids.pop_front();
        }
        self.recent_ids.push_back(client_id.to_owned());
        true
    }

    /// Forgets a client message id (its send was turned away, so a retry is new).
    pub fn forget_id(&mut self, client_id: &str) {
        self.recent_ids.retain(|id| id != client_id);
    }

    /// The host's messages the page has now shown up to cursor `upto`, each once.
    pub fn seen(&mut self, upto: u64) -> Vec<String> {
        let upto = upto.min(self.log.last());
        if upto <= self.seen_upto {
            return Vec::new();
        }
        let ids = self.log.host_messages(self.seen_upto, upto);
        self.seen_upto = upto;
        ids
    }

    /// Live streams open now.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// When the visitor counts as gone: never while a page of theirs has its stream
    /// open (another tab, a reload under way); soon after a page said it is closing;
    /// else a while after their last request.
    fn gone_at(&self, limits: &HubLimits) -> Option<Instant> {
        if !self.streams.is_empty() {
            None
        } else if self.leaving {
            Some(self.last_seen + LEAVE_GRACE)
        } else {
            Some(self.last_seen + limits.leave_after)
        }
    }
}

/// Every visitor and session of the current link.
#[derive(Debug)]
pub struct Hub {
    limits: HubLimits,
    visitors: HashMap<VisitorId, Visitor>,
    sessions: HashMap<String, VisitorId>,
    /// Sessions of visitors who left: secret → who they were, oldest first.
    former: HashMap<String, (VisitorId, String)>,
    former_order: VecDeque<String>,
    next_stream: u64,
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: HubLimits) -> Self {
        Self {
            limits,
            visitors: HashMap::new(),
            sessions: HashMap::new(),
            former: HashMap::new(),
            former_order: VecDeque::new(),
            next_stream: 0,
        }
    }

    /// A new visitor called `name`; returns it with its session secret, or `None` when
    /// [`HubLimits::max_visitors`] are here already.
    pub fn join(&mut self, name: String, now: Instant) -> Option<(VisitorId, String)> {
        if self.visitors.len() >= self.limits.max_visitors {
            return None;
        }
        let id = VisitorId(random_hex());
        let secret = random_hex();
        self.sessions.insert(secret.clone(), id.clone());
        self.visitors
            .insert(id.clone(), Visitor::new(id.clone(), name, now));
        Some((id, secret))
    }

    /// The name a visitor who left had, if `secret` was their session.
    pub fn former(&self, secret: &str) -> Option<&str> {
        self.former.get(secret).map(|(_, name)| name.as_str())
    }

    /// A visitor who left comes back with their session `secret`, now called `name`: the
    /// same id, a fresh log. `None` if the secret is no former session, or when
    /// [`HubLimits::max_visitors`] are here already.
    pub fn rejoin(&mut self, secret: &str, name: String, now: Instant) -> Option<VisitorId> {
        if self.visitors.len() >= self.limits.max_visitors {
            return None;
        }
        let (id, _) = self.former.remove(secret)?;
        self.former_order.retain(|s| s != secret);
        self.sessions.insert(secret.to_owned(), id.clone());
        self.visitors
            .insert(id.clone(), Visitor::new(id.clone(), name, now));
        Some(id)
    }

    /// The visitor whose session secret is `secret`, marked as seen at `now`.
    pub fn by_session(&mut self, secret: &str, now: Instant) -> Option<&mut Visitor> {
        let id = self.sessions.get(secret)?;
        let visitor = self.visitors.get_mut(id)?;
        visitor.last_seen = now;
        visitor.leaving = false;
        Some(visitor)
    }

    /// A visitor by id.
    pub fn get_mut(&mut self, id: &VisitorId) -> Option<&mut Visitor> {
        self.visitors.get_mut(id)
    }

    /// Every visitor (for the host's name going to every page).
    pub fn visitors_mut(&mut self) -> impl Iterator<Item = &mut Visitor> {
        self.visitors.values_mut()
    }

    /// The page said it is closing: gone soon unless it comes back.
    pub fn leaving(&mut self, id: &VisitorId, now: Instant) {
        if let Some(v) = self.visitors.get_mut(id) {
            v.last_seen = now;
            v.leaving = true;
        }
    }

    /// Opens a live stream for `id`: the frames after cursor `after` to send first, the
    /// receiver of what follows, and the stream's serial for [`Hub::close_stream`].
    pub fn open_stream(
        &mut self,
        id: &VisitorId,
        after: u64,
    ) -> Option<(Bytes, mpsc::Receiver<Bytes>, u64)> {
        let visitor = self.visitors.get_mut(id)?;
        let (tx, rx) = mpsc::channel(STREAM_BACKLOG);
        self.next_stream += 1;
        visitor.streams.push((self.next_stream, tx));
        Some((visitor.log.replay(after), rx, self.next_stream))
    }

    /// A stream ended (the page went away or was dropped); the visitor was last seen now.
    pub fn close_stream(&mut self, id: &VisitorId, serial: u64, now: Instant) {
        if let Some(v) = self.visitors.get_mut(id) {
            v.streams.retain(|(s, _)| *s != serial);
            v.last_seen = now;
        }
    }

    /// Removes and returns the visitors gone by `now`.
    pub fn sweep(&mut self, now: Instant) -> Vec<VisitorId> {
        let limits = self.limits;
        let gone: Vec<VisitorId> = self
            .visitors
            .values()
            .filter(|v| v.gone_at(&limits).is_some_and(|t| t <= now))
            .map(|v| v.id.clone())
            .collect();
        for id in &gone {
            self.retire(id);
        }
        gone
    }

    /// A visitor left (or their return could not be taken now): their session is
    /// remembered (up to [`MAX_FORMER`]) so that the same browser comes back as them.
    pub fn retire(&mut self, id: &VisitorId) {
        let Some(visitor) = self.visitors.remove(id) else {
            return;
        };
        let secrets: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, v)| *v == id)
            .map(|(s, _)| s.clone())
            .collect();
        for secret in secrets {
            self.sessions.remove(&secret);
            if self.former_order.len() >= MAX_FORMER
                && let Some(oldest) = self.former_order.pop_front()
            {
                self.former.remove(&oldest);
            }
            self.former_order.push_back(secret.clone());
            self.former
                .insert(secret, (id.clone(), visitor.name.clone()));
        }
    }

    /// When the next visitor would be gone, if any may be.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.visitors
            .values()
            .filter_map(|v| v.gone_at(&self.limits))
            .min()
    }

    /// Removes every visitor (link revoked, server stopping); their streams end and no
    /// session comes back.
    pub fn clear(&mut self) -> Vec<VisitorId> {
        self.sessions.clear();
        self.former.clear();
        self.former_order.clear();
        self.visitors.drain().map(|(id, _)| id).collect()
    }

    /// Visitors here now.
    pub fn len(&self) -> usize {
        self.visitors.len()
    }

    /// Whether no one is here.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.visitors.is_empty()
    }

    /// Removes one visitor (a join the host could not take).
    pub fn remove(&mut self, id: &VisitorId) {
        self.visitors.remove(id);
        self.sessions.retain(|_, v| v != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAVE: Duration = Duration::from_secs(30);

    fn hub(max: usize) -> Hub {
        Hub::new(HubLimits {
            max_visitors: max,
            leave_after: LEAVE,
        })
    }

    #[test]
    fn sessions_find_their_visitor_and_visitors_are_capped() {
        let t0 = Instant::now();
        let mut hub = hub(2);
        let (a, secret) = hub.join("小明".into(), t0).unwrap();
        hub.join("b".into(), t0).unwrap();
        assert!(hub.join("c".into(), t0).is_none());
        assert_eq!(hub.by_session(&secret, t0).unwrap().id, a);
        assert!(hub.by_session(&random_hex(), t0).is_none());
    }

    #[test]
    fn a_visitor_without_a_stream_leaves_after_the_timeout() {
        let t0 = Instant::now();
        let mut hub = hub(8);
        let (a, secret) = hub.join("a".into(), t0).unwrap();
        let (_, _rx, serial) = hub.open_stream(&a, 0).unwrap();
        assert_eq!(hub.next_deadline(), None, "a stream is open");
        assert!(hub.sweep(t0 + LEAVE * 10).is_empty());
        let t1 = t0 + Duration::from_secs(5);
        hub.close_stream(&a, serial, t1);
        assert_eq!(hub.next_deadline(), Some(t1 + LEAVE));
        hub.by_session(&secret, t1 + LEAVE / 2).unwrap();
        assert!(
            hub.sweep(t1 + LEAVE).is_empty(),
            "a request came in between"
        );
        assert_eq!(hub.sweep(t1 + LEAVE * 2), [a]);
        assert!(hub.by_session(&secret, t1).is_none());
        assert!(hub.is_empty());
    }

    #[test]
    fn a_visitor_who_left_comes_back_as_themselves_while_the_link_lasts() {
        let t0 = Instant::now();
        let mut hub = hub(1);
        let (a, secret) = hub.join("a".into(), t0).unwrap();
        hub.get_mut(&a)
            .unwrap()
            .show(&PageEvent::Delivered { id: "x" });
        assert_eq!(hub.sweep(t0 + LEAVE), std::slice::from_ref(&a));
        assert!(
            hub.by_session(&secret, t0).is_none(),
            "gone until they rejoin"
        );
        assert_eq!(hub.former(&secret), Some("a"));
        let (b, _) = hub.join("b".into(), t0).unwrap();
        assert!(hub.rejoin(&secret, "a2".into(), t0).is_none(), "full");
        hub.remove(&b);
        assert_eq!(hub.rejoin(&secret, "a2".into(), t0), Some(a.clone()));
        let v = hub.by_session(&secret, t0).unwrap();
        assert_eq!((v.name.as_str(), v.log.last()), ("a2", 0), "a fresh log");
        assert!(hub.former(&secret).is_none());
        hub.clear();
        assert!(hub.former(&secret).is_none(), "revoked: nobody comes back");
        assert!(hub.rejoin(&secret, "a".into(), t0).is_none());
    }

    #[test]
    fn former_sessions_are_bounded() {
        let t0 = Instant::now();
        let mut hub = hub(MAX_FORMER + 10);
        for _ in 0..MAX_FORMER + 5 {
            hub.join("v".into(), t0).unwrap();
        }
        hub.sweep(t0 + LEAVE);
        assert_eq!(hub.former.len(), MAX_FORMER);
        assert_eq!(hub.former_order.len(), MAX_FORMER);
    }

    #[test]
    fn leaving_is_quick_but_a_reload_or_another_tab_cancels_it() {
        let t0 = Instant::now();
        let mut hub = hub(8);
        let (a, secret) = hub.join("a".into(), t0).unwrap();
        let (_, _rx, closing) = hub.open_stream(&a, 0).unwrap();
        let (_, _rx2, other) = hub.open_stream(&a, 0).unwrap();
        hub.leaving(&a, t0);
        hub.close_stream(&a, closing, t0);
        assert_eq!(hub.next_deadline(), None, "another tab still has a stream");
        hub.close_stream(&a, other, t0);
        assert_eq!(hub.next_deadline(), Some(t0 + LEAVE_GRACE));
        hub.by_session(&secret, t0 + Duration::from_secs(1))
            .unwrap();
        assert!(hub.sweep(t0 + LEAVE_GRACE).is_empty(), "a reload came back");
        hub.leaving(&a, t0);
        assert_eq!(hub.sweep(t0 + LEAVE_GRACE), [a]);
    }

    #[test]
    fn a_stream_that_cannot_keep_up_is_dropped() {
        let t0 = Instant::now();
        let mut hub = hub(8);
        let (a, _) = hub.join("a".into(), t0).unwrap();
        let (replay, mut rx, _) = hub.open_stream(&a, 0).unwrap();
        assert!(replay.is_empty());
        let visitor = hub.get_mut(&a).unwrap();
        for _ in 0..STREAM_BACKLOG + 1 {
            visitor.show(&PageEvent::Delivered { id: "x" });
        }
        assert_eq!(visitor.streams(), 0);
        assert!(rx.try_recv().is_ok(), "what fitted was sent");
        assert_eq!(visitor.log.last(), STREAM_BACKLOG as u64 + 1, "all kept");
    }

    #[test]
    fn retries_and_seen_are_reported_once() {
        let t0 = Instant::now();
        let mut hub = hub(8);
        let (a, _) = hub.join("a".into(), t0).unwrap();
        let v = hub.get_mut(&a).unwrap();
        assert!(v.first_time("c1"));
        assert!(!v.first_time("c1"));
        for id in ["h1", "h2"] {
            v.show(&PageEvent::Message {
                from: super::super::log::Author::Host,
                id,
                text: "t",
                time_ms: 0,
            });
        }
        assert_eq!(v.seen(1), ["h1"]);
        assert_eq!(v.seen(1), Vec::<String>::new());
        assert_eq!(v.seen(99), ["h2"]);
        assert_eq!(hub.clear(), [a]);
    }
}

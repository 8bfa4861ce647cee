//! Front ends as subscribers: each has its own event queue (with a capacity) and waker,
//! and its commands reach the core stamped with who sent them and, if it said, which
//! request they are.
//!
//! State changes (`sent`, `peer_joined`, `renamed`, …) go to every subscriber. Answers to
//! queries (`peers`, `net_status`, `history`, `search_results`) and errors caused by a
//! command go only to the subscriber that asked, carrying its `request_id` when it gave
//! one. A subscriber whose queue is over its capacity is cut off (its receiver
//! disconnects, and it is logged): a slow front end never stalls the core or the others.
//! Queues are unbounded channels checked against the capacity, so nothing is allocated
//! up front for a large one.
//!
//! This file owns the subscriber list and the command stamps; it decides nothing about
//! what an event means.

use std::sync::Arc;

use crossbeam_channel::{Receiver, SendError, Sender, unbounded};
use serde::Serialize;

use super::command::Command;
use super::event::Event;

/// Called after every event a subscriber receives, from the core thread: the window sets
/// it to `ctx.request_repaint()`, the headless front end to a no-op.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A waker that does nothing.
pub fn no_waker() -> Waker {
    Arc::new(|| {})
}

/// A subscriber's queue that is never cut off.
pub const UNBOUNDED: usize = usize::MAX;

/// An event and the request it answers, if the subscriber gave that request an id. In
/// JSON the id is one more field of the event (absent when there is none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
    /// The `request_id` of the command this answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<u64>,
}

impl From<Envelope> for Event {
    fn from(e: Envelope) -> Event {
        e.event
    }
}

impl From<Event> for Envelope {
    fn from(event: Event) -> Envelope {
        Envelope {
            event,
            request_id: None,
        }
    }
}

/// Names a subscriber for the life of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriberId(pub(super) u64);

impl SubscriberId {
    /// The node itself (its own `quit` on shutdown): answers to it go nowhere.
    pub(super) const NODE: SubscriberId = SubscriberId(0);
}

impl Origin {
    /// The node itself, asking without a request id.
    pub(super) fn node() -> Origin {
        Origin {
            subscriber: SubscriberId::NODE,
            request_id: None,
        }
    }
}

/// Who asked for a command: the subscriber, and its request id if it gave one. Answers
/// go back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The subscriber that sent the command.
    pub subscriber: SubscriberId,
    /// The id it gave the request.
    pub request_id: Option<u64>,
}

/// What front ends send the core.
pub(super) enum Inbound {
    /// A command, and who asked.
    Command {
        /// Who asked.
        origin: Origin,
        /// What.
        command: Command,
    },
    /// A new subscriber to hand events to.
    Subscribe(Subscriber),
}

/// Where a front end's commands go: the node (stamped with the subscriber's id), or a
/// channel a test holds in the node's place.
#[derive(Clone)]
pub struct Commands(To);

#[derive(Clone)]
enum To {
    Node {
        tx: Sender<Inbound>,
        subscriber: SubscriberId,
    },
    Channel(Sender<Command>),
}

impl Commands {
    pub(super) fn new(tx: Sender<Inbound>, subscriber: SubscriberId) -> Commands {
        Commands(To::Node { tx, subscriber })
    }

    /// Sends a command; its answers come back to this subscriber without a request id.
    /// Fails (handing the command back) once the node has stopped.
    pub fn send(&self, command: Command) -> Result<(), SendError<Command>> {
        self.send_as(None, command)
    }

    /// Sends a command whose answers come back carrying `request_id`.
    pub fn request(&self, request_id: u64, command: Command) -> Result<(), SendError<Command>> {
        self.send_as(Some(request_id), command)
    }

    fn send_as(&self, request_id: Option<u64>, command: Command) -> Result<(), SendError<Command>> {
        match &self.0 {
            To::Node { tx, subscriber } => {
                let origin = Origin {
                    subscriber: *subscriber,
                    request_id,
                };
                tx.send(Inbound::Command { origin, command })
                    .map_err(|SendError(inbound)| match inbound {
                        Inbound::Command { command, .. } => SendError(command),
                        Inbound::Subscribe(_) => unreachable!("only commands are sent here"),
                    })
            }
            To::Channel(tx) => tx.send(command),
        }
    }
}

impl From<Sender<Command>> for Commands {
    /// Commands to a channel a test holds in place of a node (request ids are dropped).
    fn from(tx: Sender<Command>) -> Commands {
        Commands(To::Channel(tx))
    }
}

/// A front end's two ends: commands in, events out.
pub struct Subscription<E = Envelope> {
    /// Commands to the core, answered to this subscription.
    pub commands: Commands,
    /// Events for this subscription; disconnects if it is cut off or the node stops.
    pub events: Receiver<E>,
}

/// One subscriber as the core holds it.
pub(super) struct Subscriber {
    id: SubscriberId,
    queue: Box<dyn Queue>,
    capacity: usize,
    waker: Waker,
}

impl Subscriber {
    /// A subscriber and the receiving end of its queue.
    pub(super) fn new<E>(
        id: SubscriberId,
        capacity: usize,
        waker: Waker,
    ) -> (Subscriber, Receiver<E>)
    where
        E: From<Envelope> + Send + 'static,
    {
        let (tx, rx) = unbounded::<E>();
        let s = Subscriber {
            id,
            queue: Box::new(tx),
            capacity,
            waker,
        };
        (s, rx)
    }
}

/// A subscriber's queue, whatever it carries (plain events, or envelopes).
trait Queue: Send {
    /// Events waiting in it.
    fn len(&self) -> usize;
    /// Adds one; `false` if the receiver is gone.
    fn push(&self, e: Envelope) -> bool;
}

impl<E: From<Envelope> + Send> Queue for Sender<E> {
    fn len(&self) -> usize {
        Sender::len(self)
    }

    fn push(&self, e: Envelope) -> bool {
        self.send(E::from(e)).is_ok()
    }
}

/// Every subscriber, in the order they came.
#[derive(Default)]
pub(super) struct Fanout {
    subscribers: Vec<Subscriber>,
}

impl Fanout {
    /// Adds a subscriber: it gets every event from now on.
    pub(super) fn add(&mut self, s: Subscriber) {
        tracing::debug!(subscriber = s.id.0, "subscribed");
        self.subscribers.push(s);
    }

    /// Whether anyone listens.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Hands `event` to every subscriber (the last one gets it without a copy).
    pub(super) fn emit(&mut self, event: Event) {
        let mut event = Some(event);
        let mut i = 0;
        while i < self.subscribers.len() {
            let e = if i + 1 == self.subscribers.len() {
                event.take()
            } else {
                event.clone()
            };
            if self.deliver(i, e.expect("kept for the last").into()) {
                i += 1;
            } else {
                self.subscribers.remove(i);
            }
        }
    }

    /// Hands `event` to the subscriber that asked, with its request id. An answer to the
    /// node itself, or to a subscriber since gone, is dropped.
    pub(super) fn reply(&mut self, to: Origin, event: Event) {
        let Some(i) = self.subscribers.iter().position(|s| s.id == to.subscriber) else {
            return;
        };
        let envelope = Envelope {
            event,
            request_id: to.request_id,
        };
        if !self.deliver(i, envelope) {
            self.subscribers.remove(i);
        }
    }

    /// Delivers to subscriber `i`; `false` if it must go (cut off, or gone).
    fn deliver(&self, i: usize, e: Envelope) -> bool {
        let s = &self.subscribers[i];
        let waiting = s.queue.len();
        if waiting >= s.capacity {
            tracing::warn!(
                subscriber = s.id.0,
                waiting,
                "a front end is not reading its events: cut off"
            );
            return false;
        }
        if !s.queue.push(e) {
            tracing::debug!(subscriber = s.id.0, "a front end went away");
            return false;
        }
        (s.waker)();
        true
    }
}

#[cfg(test)]
mod tests;

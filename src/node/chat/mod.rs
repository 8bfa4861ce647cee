//! Chat, a part of the core: direct messages (the outbox and its window, what to resend
//! and in which order, the answers a recipient gives and what waits because of them) and
//! Everyone shouts (their ids and sequence, duplicates dropped).
//!
//! The store is the outbox's durable half: a message is stored before `sent` is
//! reported and before it goes on a route, and leaves the in-memory outbox only when its
//! ack arrives, or a permanent `nack` (the recipient will never take it: it is marked
//! failed and the messages after it go on). An incoming message is acknowledged only
//! once it is stored, and the store recognises one that arrives again, across restarts
//! too; one that cannot be stored right now is answered "not now" (a temporary `nack`),
//! and its sender tries again by itself, a probe at a time, until it can (`hold`), so a
//! conversation never stalls behind a full disk. Those store writes are the core's,
//! between two calls into this part (their result decides what this part says);
//! everything else comes back as actions. Messages go out on a peer's route, whatever is
//! behind it.
//!
//! - `outbox`: unacknowledged messages per peer, in order, with the send window.
//! - `hold`: peers whose messages wait on a live route ("not now", or no answer), and
//!   when the next probe goes.
//! - `inbox`: which incoming chats may be stored, and which are answered at once.
//! - `answers`: acks and nacks as the sender takes them, the timers, what `net_status`
//!   shows.
//! - `seen`: shout ids recently heard.

mod answers;
pub mod hold;
pub mod inbox;
pub mod outbox;
pub mod seen;

use std::time::Instant;

use super::event::Event;
use super::fanout::Origin;
use super::out::{Out, Record, Route, Routes};
use crate::protocol::message::MAX_TEXT_LEN;
use crate::protocol::{LinkMsg, MsgId, PeerId};
use hold::Holds;
use inbox::{Admit, Inbox, Stored};
use outbox::{MAX_OUTBOX, OutMsg, Outbox, OutboxFull, WINDOW};
use seen::SeenSet;

pub use answers::{Answer, Delivery};

/// Shouts remembered to drop duplicates.
const SEEN_SHOUTS: usize = 10_000;

/// A chat as it arrived on a route, from an established peer.
#[derive(Debug)]
pub struct InChat {
    /// Where it came from (the ack goes back there).
    pub route: Route,
    /// Who sent it.
    pub peer: PeerId,
    /// Its id.
    pub msg_id: MsgId,
    /// Milliseconds since the Unix epoch at the sender.
    pub sent_at: u64,
    /// The text.
    pub text: String,
    /// The room it was said in (absent: a direct message).
    pub room: Option<String>,
    /// What the rooms part said of it (a room message from a non-member, in a room not
    /// known yet), if it is not to be stored whatever the inbox says.
    pub verdict: Option<Admit>,
}

/// One `send` of a burst, checked: the message to store and queue, or why not.
pub type Checked = (Origin, Result<OutMsg, String>);

/// Our next Everyone message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShoutOut {
    /// Its id.
    pub msg_id: MsgId,
    /// Our shout counter.
    pub seq: u64,
}

/// The chat part (see the module documentation).
pub struct Chat {
    outbox: Outbox,
    holds: Holds,
    inbox: Inbox,
    seen_shouts: SeenSet,
    shout_seq: u64,
}

impl Chat {
    /// Chat with the messages history says are still unacknowledged.
    pub fn new(outbox: Outbox) -> Self {
        Chat {
            outbox,
            holds: Holds::default(),
            inbox: Inbox::default(),
            seen_shouts: SeenSet::new(SEEN_SHOUTS),
            shout_seq: 0,
        }
    }

    /// The unacknowledged messages.
    #[cfg(test)]
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Checks a message's text before anything else about a `send`.
    pub fn check_text(text: &str) -> Result<(), String> {
        if text.is_empty() {
            return Err("the message is empty".to_owned());
        }
        if text.len() > MAX_TEXT_LEN {
            return Err(format!(
                "the message is {} bytes, the limit is {MAX_TEXT_LEN} bytes; send it as a file",
                text.len()
            ));
        }
        Ok(())
    }

    /// The message of one checked `send` to `to`, stamped `wall`, if the outbox has room
    /// for it behind the `taken` messages of the same burst ahead of it. `route_up`:
    /// whether the peer's route is up, so a message inside its window (`ahead`: this
    /// burst's messages already queued for the same peer) goes out at once and is stored
    /// as `sent` straight away (one store write instead of two), unless the peer is held.
    pub fn message(
        &self,
        to: PeerId,
        text: String,
        taken: usize,
        ahead: usize,
        route_up: bool,
        wall: u64,
    ) -> Result<OutMsg, String> {
        if self.outbox.len() + taken >= MAX_OUTBOX {
            return Err(OutboxFull.to_string());
        }
        let at_once = route_up && !self.holds.is_held(&to) && self.outbox.window_open(&to, ahead);
        Ok(OutMsg {
            msg_id: MsgId::random(),
            to,
            sent_at: wall,
            text,
            room: None,
            change: None,
            sent_on: None,
            stored_sent: at_once,
        })
    }

    /// A burst of `send`s was checked and stored (all or none): the stored ones are
    /// queued and go out on their routes first, then every `send` is answered in the
    /// order it came (`sent`, or an error to the front end that asked). Returns the
    /// peers with messages waiting and no route (to dial).
    pub fn burst_stored(
        &mut self,
        checked: Vec<Checked>,
        stored: Result<(), String>,
        routes: &dyn Routes,
        now: Instant,
        out: &mut Out,
    ) -> Vec<PeerId> {
        let mut answers = Vec::with_capacity(checked.len());
        let mut peers: Vec<PeerId> = Vec::new();
        for (origin, m) in checked {
            let answer = match (m, &stored) {
                (Err(e), _) => Err(format!("send: {e}")),
                (Ok(_), Err(e)) => Err(format!(
                    "send: the message was not sent: cannot save it: {e}"
                )),
                (Ok(m), Ok(())) => {
                    let sent = Event::Sent {
                        msg_id: m.msg_id.clone(),
                        to: m.to.clone(),
                        sent_at: m.sent_at,
                        text: m.text.clone(),
                    };
                    if !peers.contains(&m.to) {
                        peers.push(m.to.clone());
                    }
                    self.outbox
                        .push(m)
                        .map(|()| sent)
                        .map_err(|e| format!("send: {e}"))
                }
            };
            answers.push((origin, answer));
        }
        // Stored, so they may go: on the wire first, then told (the front end's wake-up
        // does not delay the frames).
        let unrouted = peers
            .into_iter()
            .filter(|p| self.pump(p, routes.route(p), now, out))
            .collect();
        for (origin, answer) in answers {
            match answer {
                Ok(sent) => out.emit(sent),
                Err(e) => out.reply(Some(origin), Event::error(e)),
            }
        }
        unrouted
    }

    /// Queues the stored entries of one room message or change (one per member) and
    /// writes them where a route is up. Returns the members with no route (to dial).
    /// The caller checked [`Chat::has_room`] before storing them.
    pub fn queue_room(
        &mut self,
        entries: Vec<OutMsg>,
        routes: &dyn Routes,
        now: Instant,
        out: &mut Out,
    ) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = Vec::with_capacity(entries.len());
        for m in entries {
            peers.push(m.to.clone());
            if let Err(e) = self.outbox.push(m) {
                tracing::warn!("a room message stays in history only until restart: {e}");
            }
        }
        peers
            .into_iter()
            .filter(|p| self.pump(p, routes.route(p), now, out))
            .collect()
    }

    /// `peer` left `room`: what waits for it there is dropped (the store marked those
    /// copies `left` already), and what waits for it elsewhere may take their place in
    /// the window. Returns the dropped ids.
    pub fn member_left(
        &mut self,
        peer: &str,
        room: &str,
        route: Option<Route>,
        now: Instant,
        out: &mut Out,
    ) -> Vec<MsgId> {
        let dropped = self.outbox.drop_room(peer, room);
        if !dropped.is_empty() {
            self.pump(peer, route, now, out);
        }
        dropped
    }

    /// Whether a message queued now for `to` would go out at once (its route is up, it is
    /// not held, its window is open), so it can be stored as `sent` straight away.
    pub fn goes_at_once(&self, to: &str, route_up: bool) -> bool {
        route_up && !self.holds.is_held(to) && self.outbox.window_open(to, 0)
    }

    /// Whether the outbox has room for `n` more entries.
    pub fn has_room(&self, n: usize) -> Result<(), String> {
        if self.outbox.len() + n > MAX_OUTBOX {
            return Err(OutboxFull.to_string());
        }
        Ok(())
    }

    /// Writes what the outbox holds for `peer` in its window to `route` (while the peer
    /// is held: one probe once its wait is over); `true` when something waits and there
    /// is no route (the core dials).
    pub fn pump(&mut self, peer: &str, route: Option<Route>, now: Instant, out: &mut Out) -> bool {
        let Some(route) = route else {
            return self.outbox.has_pending(peer);
        };
        let limit = self.holds.limit(peer, WINDOW, now);
        let idle = self.outbox.in_flight(peer) == 0;
        let mut written = Vec::new();
        let unsent = self.outbox.take_unsent(peer, route, limit);
        if idle && !unsent.is_empty() {
            self.holds.started(&PeerId::from(peer), now);
        }
        for m in unsent {
            if !m.stored_sent {
                written.push(m.msg_id.clone());
            }
            let chat = LinkMsg::Chat {
                msg_id: m.msg_id.into_string(),
                sent_at: m.sent_at,
                text: m.text,
                room: m.room,
                change: m.change,
            };
            out.send(route, chat);
        }
        if !written.is_empty() {
            out.record(Record::MarkSent {
                peer: peer.into(),
                msgs: written,
            });
        }
        false
    }

    /// What to do with chats that arrived together, in order: store them, refuse one
    /// for good, or answer "not now" without trying (see `inbox`).
    pub fn admit(&mut self, chats: &[InChat], now: Instant) -> Vec<Admit> {
        chats
            .iter()
            .map(
                |c| match self.inbox.admit(c.route, &c.msg_id, &c.text, now) {
                    Admit::Store => c.verdict.clone().unwrap_or(Admit::Store),
                    other => other,
                },
            )
            .collect()
    }

    /// The store failed for a passing reason at `now` (`cause`, the store's words): it
    /// rests a moment. Returns what the chats not stored are answered, said of us.
    pub fn store_failed(&mut self, cause: &str, now: Instant) -> String {
        self.inbox.store_failed(cause, now)
    }

    /// How the chats that arrived together fared (`stored`, one per chat, in order):
    /// each new one is shown, then each is answered on its route: an ack (duplicates
    /// too: the sender waits for one), a permanent `nack` for one refused, a temporary
    /// `nack` for one not stored now (its sender tries again; our user hears it once).
    pub fn chats_stored(
        &mut self,
        chats: Vec<InChat>,
        names: Vec<String>,
        stored: Vec<Stored>,
        out: &mut Out,
    ) {
        if let Some(Stored::NotNow(why)) = stored.iter().find(|s| matches!(s, Stored::NotNow(_)))
            && self.inbox.tell_once()
        {
            let (c, name) = chats
                .iter()
                .zip(&names)
                .zip(&stored)
                .find_map(|(cn, s)| matches!(s, Stored::NotNow(_)).then_some(cn))
                .expect("one was not stored");
            out.emit(Event::error(format!(
                "messages from {name} ({}) are not saved: this computer {why}; they are not \
                 acknowledged, and their senders send them again by themselves",
                c.peer
            )));
        }
        for ((c, from_name), how) in chats.into_iter().zip(names).zip(stored) {
            self.inbox.stored(c.route, &c.msg_id, &how);
            let answer = match how {
                Stored::New => {
                    // Shown before the ack leaves, so by the time the sender hears
                    // "delivered" the front end has the message.
                    out.emit(Event::Message {
                        room: c.room,
                        from: c.peer,
                        from_name,
                        msg_id: c.msg_id.clone(),
                        text: c.text,
                        sent_at: c.sent_at,
                    });
                    LinkMsg::Ack {
                        msg_id: c.msg_id.into_string(),
                    }
                }
                Stored::Again => LinkMsg::Ack {
                    msg_id: c.msg_id.into_string(),
                },
                Stored::Refused(reason) => {
                    tracing::info!(peer = %c.peer, msg_id = %c.msg_id, "message refused: {reason}");
                    LinkMsg::Nack {
                        msg_id: c.msg_id.into_string(),
                        permanent: true,
                        reason,
                        retry_ms: 0,
                    }
                }
                Stored::NotNow(reason) => LinkMsg::Nack {
                    msg_id: c.msg_id.into_string(),
                    permanent: false,
                    reason,
                    retry_ms: u64::try_from(inbox::STORE_RETRY.as_millis()).unwrap_or(u64::MAX),
                },
            };
            out.send(c.route, answer);
        }
    }

    /// A route went down: what it carried goes again on the next one, and what it held
    /// back on the receiving side is forgotten.
    pub fn route_down(&mut self, route: Route) {
        self.outbox.route_down(route);
        self.inbox.route_down(route);
    }

    /// Peers with messages waiting.
    pub fn waiting_peers(&self) -> impl Iterator<Item = &PeerId> {
        self.outbox.peers()
    }

    /// The id and sequence number of our next shout.
    pub fn next_shout(&mut self) -> ShoutOut {
        self.shout_seq += 1;
        ShoutOut {
            msg_id: MsgId::random(),
            seq: self.shout_seq,
        }
    }

    /// Whether a shout is heard for the first time (not on another interface, not again).
    pub fn first_shout(&mut self, from: &str, msg_id: &str) -> bool {
        self.seen_shouts.insert(&format!("{from}/{msg_id}"))
    }
}

#[cfg(test)]
mod tests;

//! Chat, a part of the core: direct messages (the outbox and its window, what to resend
//! and in which order, acks) and Everyone shouts (their ids and sequence, duplicates
//! dropped).
//!
//! The store is the outbox's durable half: a message is stored before `sent` is
//! reported and before it goes on a route, and leaves the in-memory outbox only when its
//! ack arrives. An incoming message is acknowledged only once it is stored, and the store
//! recognises one that arrives again, across restarts too. Those store writes are the
//! core's, between two calls into this part (their result decides what this part says);
//! everything else comes back as actions. Messages go out on a peer's route, whatever is
//! behind it.
//!
//! - `outbox`: unacknowledged messages per peer, in order, with the send window.
//! - `seen`: shout ids recently heard.

pub mod outbox;
pub mod seen;

use super::event::Event;
use super::fanout::Origin;
use super::out::{Out, Record, Route, Routes};
use crate::protocol::message::MAX_TEXT_LEN;
use crate::protocol::{LinkMsg, MsgId, PeerId};
use outbox::{MAX_OUTBOX, OutMsg, Outbox, OutboxFull};
use seen::SeenSet;

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
    seen_shouts: SeenSet,
    shout_seq: u64,
}

impl Chat {
    /// Chat with the messages history says are still unacknowledged.
    pub fn new(outbox: Outbox) -> Self {
        Chat {
            outbox,
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
    /// as `sent` straight away (one store write instead of two).
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
        let at_once = route_up && self.outbox.window_open(&to, ahead);
        Ok(OutMsg {
            msg_id: MsgId::random(),
            to,
            sent_at: wall,
            text,
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
            .filter(|p| self.pump(p, routes.route(p), out))
            .collect();
        for (origin, answer) in answers {
            match answer {
                Ok(sent) => out.emit(sent),
                Err(e) => out.reply(Some(origin), Event::error(e)),
            }
        }
        unrouted
    }

    /// Writes what the outbox holds for `peer` in its window to `route`; `true` when
    /// something waits and there is no route (the core dials).
    pub fn pump(&mut self, peer: &str, route: Option<Route>, out: &mut Out) -> bool {
        let Some(route) = route else {
            return self.outbox.has_pending(peer);
        };
        let mut written = Vec::new();
        for m in self.outbox.take_unsent(peer, route) {
            if !m.stored_sent {
                written.push(m.msg_id.clone());
            }
            let chat = LinkMsg::Chat {
                msg_id: m.msg_id.into_string(),
                sent_at: m.sent_at,
                text: m.text,
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

    /// Chats that arrived together were stored (`fresh`: whether each was new); each new
    /// one is shown, then every one is acknowledged (duplicates too: the sender waits for
    /// an ack). If they could not be stored none is acknowledged (the senders keep them
    /// and try again) and each is reported.
    pub fn chats_stored(
        &mut self,
        chats: Vec<InChat>,
        names: Vec<String>,
        fresh: Result<Vec<bool>, String>,
        out: &mut Out,
    ) {
        let fresh = match fresh {
            Ok(f) => f,
            Err(e) => {
                for (c, from_name) in chats.iter().zip(&names) {
                    out.emit(Event::error(format!(
                        "a message from {from_name} ({}) could not be saved and was not \
                         acknowledged; the sender will retry: {e}",
                        c.peer
                    )));
                }
                return;
            }
        };
        for ((c, from_name), new) in chats.into_iter().zip(names).zip(fresh) {
            // Shown before the ack leaves, so by the time the sender hears "delivered"
            // the front end has the message.
            if new {
                out.emit(Event::Message {
                    from: c.peer,
                    from_name,
                    msg_id: c.msg_id.clone(),
                    text: c.text,
                    sent_at: c.sent_at,
                });
            }
            let ack = LinkMsg::Ack {
                msg_id: c.msg_id.into_string(),
            };
            out.send(c.route, ack);
        }
    }

    /// Acks that arrived together, `(peer, msg_id)`: each reported `delivered`, then all
    /// recorded; returns the peers whose window they opened (the core pumps them).
    pub fn on_acks(&mut self, acks: Vec<(PeerId, MsgId)>, out: &mut Out) -> Vec<PeerId> {
        let mut acked = Vec::with_capacity(acks.len());
        for (peer, msg_id) in acks {
            if let Some(m) = self.outbox.ack(&peer, &msg_id) {
                // Told first, stored after: the ack is the receiver's word that it has
                // the message, whatever we record. If the record fails (or we crash
                // before it), the message goes out again after a restart and the
                // receiver drops the duplicate.
                out.emit(Event::Delivered {
                    msg_id: m.msg_id,
                    to: m.to,
                });
                acked.push((peer, msg_id));
            }
        }
        let mut peers: Vec<PeerId> = acked.iter().map(|(p, _)| p.clone()).collect();
        peers.dedup();
        if !acked.is_empty() {
            out.record(Record::Delivered(acked));
        }
        peers
    }

    /// A route went down: what it carried goes again on the next one.
    pub fn route_down(&mut self, route: Route) {
        self.outbox.route_down(route);
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

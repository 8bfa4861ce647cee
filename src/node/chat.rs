//! Direct messages (store → outbox → link → ack → delivered) and Everyone shouts.
//!
//! The store is the outbox's durable half: a message is written before `sent` is
//! reported and before it goes on a link, and leaves the in-memory outbox (the send
//! window) only when its ack arrives. An incoming message is acknowledged only once it is
//! stored, and the store recognises one that arrives again, across restarts too.

use super::core::{Core, now_ms};
use super::event::Event;
use super::outbox::{OutMsg, OutboxFull};
use crate::net::LinkId;
use crate::protocol::message::MAX_TEXT_LEN;
use crate::protocol::{BeaconKind, LinkMsg, MAX_DATAGRAM};
use crate::store::{Direction, EVERYONE, MsgState, NewMessage};

fn new_msg_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Core {
    pub(super) fn send_chat(&mut self, to: &str, text: String) {
        if text.is_empty() {
            return self.emit(Event::error("send: the message is empty"));
        }
        if text.len() > MAX_TEXT_LEN {
            return self.emit(Event::error(format!(
                "send: the message is {} bytes, the limit is {MAX_TEXT_LEN} bytes; send it as a file",
                text.len()
            )));
        }
        let peer = match self.peers.resolve(to) {
            Ok(p) => p.id.clone(),
            Err(e) => return self.emit(Event::error(format!("send: {e}"))),
        };
        if self.outbox.is_full() {
            return self.emit(Event::error(format!("send: {OutboxFull}")));
        }
        // A message that goes out at once (its link is up, its window open) is stored as
        // `sent` straight away: one store write per message instead of two.
        let at_once = self.active.contains_key(&peer) && self.outbox.window_open(&peer);
        let msg = OutMsg {
            msg_id: new_msg_id(),
            to: peer.clone(),
            sent_at: now_ms(),
            text,
            sent_on: None,
            stored_sent: at_once,
        };
        let sent = Event::Sent {
            msg_id: msg.msg_id.clone(),
            to: peer.clone(),
            sent_at: msg.sent_at,
            text: msg.text.clone(),
        };
        let stored = self.store.insert_message(&NewMessage {
            peer: &peer,
            msg_id: &msg.msg_id,
            dir: Direction::Out,
            from: &self.me.id,
            from_name: &self.me.name,
            text: &msg.text,
            sent_at: msg.sent_at,
            state: if at_once {
                MsgState::Sent
            } else {
                MsgState::Pending
            },
        });
        if let Err(e) = stored {
            return self.emit(Event::error(format!(
                "send: the message was not sent: cannot save it: {e}"
            )));
        }
        if let Err(e) = self.outbox.push(msg) {
            return self.emit(Event::error(format!("send: {e}")));
        }
        // Stored, so it may go: on the wire first, then told (the front end's wake-up
        // does not delay the frame).
        self.pump(&peer);
        self.emit(sent);
    }

    /// Writes what the outbox holds for `peer` to its link, or dials it.
    pub(super) fn pump(&mut self, peer: &str) {
        let Some(&link) = self.active.get(peer) else {
            self.maybe_dial(peer);
            return;
        };
        let mut written = Vec::new();
        for m in self.outbox.take_unsent(peer, link) {
            let chat = LinkMsg::Chat {
                msg_id: m.msg_id.clone(),
                sent_at: m.sent_at,
                text: m.text,
            };
            if !self.send_on(link, &chat) {
                break; // the link was dropped; the rest waits for the next one
            }
            if !m.stored_sent {
                written.push(m.msg_id);
            }
        }
        if !written.is_empty()
            && let Err(e) = self.store.mark_sent(peer, &self.me.id, &written)
        {
            // Only the shown state lags: the messages are still unacknowledged and stored.
            tracing::warn!(%peer, "cannot mark messages sent: {e}");
        }
    }

    pub(super) fn on_chat(
        &mut self,
        link: LinkId,
        peer: &str,
        msg_id: String,
        sent_at: u64,
        text: String,
    ) {
        let from_name = self
            .peers
            .get(peer)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let stored = self.store.insert_message(&NewMessage {
            peer,
            msg_id: &msg_id,
            dir: Direction::In,
            from: peer,
            from_name: &from_name,
            text: &text,
            sent_at,
            state: MsgState::Received,
        });
        let fresh = match stored {
            Ok(row) => row.is_some(),
            Err(e) => {
                // No ack: the sender keeps the message and tries again later.
                return self.emit(Event::error(format!(
                    "a message from {from_name} ({peer}) could not be saved and was not \
                     acknowledged; the sender will retry: {e}"
                )));
            }
        };
        // Shown before the ack leaves, so by the time the sender hears "delivered" the
        // front end has the message.
        if fresh {
            self.emit(Event::Message {
                from: peer.to_owned(),
                from_name,
                msg_id: msg_id.clone(),
                text,
                sent_at,
            });
        }
        // Acknowledge duplicates too: the sender is waiting for an ack.
        self.send_on(link, &LinkMsg::Ack { msg_id });
    }

    pub(super) fn on_ack(&mut self, peer: &str, msg_id: &str) {
        if let Some(m) = self.outbox.ack(peer, msg_id) {
            // Told first, stored after: the ack is the receiver's word that it has the
            // message, whatever we record. If the record fails (or we crash before it),
            // the message goes out again after a restart and the receiver drops the
            // duplicate.
            self.emit(Event::Delivered {
                msg_id: m.msg_id,
                to: m.to,
            });
            if let Err(e) = self.store.mark_delivered(peer, &self.me.id, msg_id) {
                tracing::warn!(%peer, "cannot mark message {msg_id} delivered: {e}");
            }
            self.pump(peer);
        }
    }

    pub(super) fn shout(&mut self, text: String) {
        if text.is_empty() {
            return self.emit(Event::error("shout: the message is empty"));
        }
        if self.targets.is_empty() {
            return self.emit(Event::error("shout: no network interface to broadcast on"));
        }
        self.shout_seq += 1;
        let msg_id = new_msg_id();
        let sent_at = now_ms();
        let beacon = self.beacon(BeaconKind::Shout {
            msg_id: msg_id.clone(),
            seq: self.shout_seq,
            sent_at,
            text,
        });
        let bytes = match beacon.encode_checked() {
            Ok(b) => b,
            Err(len) => {
                let BeaconKind::Shout { text, .. } = &beacon.kind else {
                    unreachable!()
                };
                let room = MAX_DATAGRAM.saturating_sub(len - text.len());
                return self.emit(Event::error(format!(
                    "shout: too long for one datagram ({} bytes of text; the limit is \
                     {MAX_DATAGRAM} bytes per datagram, about {room} bytes of text); \
                     shorten it or send it to each peer",
                    text.len()
                )));
            }
        };
        if self.broadcast(&beacon, &bytes) == 0 {
            return self.emit(Event::error("shout: the broadcast could not be sent"));
        }
        let BeaconKind::Shout { text, .. } = beacon.kind else {
            unreachable!()
        };
        // Shouts are never resent, so the store is history only: written after the send.
        let (me, my_name) = (self.me.id.clone(), self.me.name.clone());
        self.store_shout(Direction::Out, &me, &my_name, &msg_id, &text, sent_at);
        self.emit(Event::ShoutSent {
            msg_id,
            text,
            sent_at,
        });
    }

    /// An Everyone message arrived: shown once, even if heard on several interfaces or
    /// (stored) in an earlier run.
    pub(super) fn on_shout(
        &mut self,
        from: String,
        from_name: String,
        msg_id: String,
        text: String,
        sent_at: u64,
    ) {
        if !self.seen_shouts.insert(&format!("{from}/{msg_id}")) {
            return;
        }
        if self.store_shout(Direction::In, &from, &from_name, &msg_id, &text, sent_at) {
            self.emit(Event::Shout {
                from,
                from_name,
                msg_id,
                text,
                sent_at,
            });
        }
    }

    /// Writes a shout to the Everyone history. Returns `false` if it was already stored
    /// (heard before). A write error is reported and counts as new: a shout is never
    /// repeated, so showing it is better than losing it.
    fn store_shout(
        &mut self,
        dir: Direction,
        from: &str,
        from_name: &str,
        msg_id: &str,
        text: &str,
        sent_at: u64,
    ) -> bool {
        let stored = self.store.insert_message(&NewMessage {
            peer: EVERYONE,
            msg_id,
            dir,
            from,
            from_name,
            text,
            sent_at,
            state: if dir == Direction::Out {
                MsgState::Sent
            } else {
                MsgState::Received
            },
        });
        match stored {
            Ok(row) => row.is_some(),
            Err(e) => {
                self.emit(Event::error(format!(
                    "shout {msg_id} from {from_name} is not saved in history: {e}"
                )));
                true
            }
        }
    }
}

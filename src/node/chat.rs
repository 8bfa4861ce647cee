//! Direct messages (store → outbox → link → ack → delivered) and Everyone shouts.
//!
//! The store is the outbox's durable half: a message is written before `sent` is
//! reported and before it goes on a link, and leaves the in-memory outbox (the send
//! window) only when its ack arrives. An incoming message is acknowledged only once it is
//! stored, and the store recognises one that arrives again, across restarts too.

use std::collections::HashMap;

use super::core::{Core, now_ms};
use super::event::Event;
use super::outbox::{MAX_OUTBOX, OutMsg, OutboxFull};
use crate::net::LinkId;
use crate::protocol::message::MAX_TEXT_LEN;
use crate::protocol::{BeaconKind, LinkMsg, MAX_DATAGRAM};
use crate::store::{Direction, EVERYONE, MsgState, NewMessage};

/// A chat as it arrived on an established link.
pub(super) struct InChat {
    pub(super) link: LinkId,
    pub(super) peer: String,
    pub(super) msg_id: String,
    pub(super) sent_at: u64,
    pub(super) text: String,
}

fn new_msg_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Core {
    /// `send`: one message (a burst of one).
    pub(super) fn send_chat(&mut self, to: &str, text: String) {
        self.send_chat_burst(vec![(to.to_owned(), text)]);
    }

    /// `send` commands that were waiting together: each is checked on its own, the valid
    /// ones are stored in one transaction (all or none), then written to their links,
    /// then answered, each with `sent` or `error` in the order the commands came.
    pub(super) fn send_chat_burst(&mut self, sends: Vec<(String, String)>) {
        let mut answers: Vec<Result<OutMsg, String>> = Vec::with_capacity(sends.len());
        let mut queued: HashMap<String, usize> = HashMap::new();
        let mut taken = 0;
        for (to, text) in sends {
            let checked = self.check_send(&to, text, taken).map(|(peer, text)| {
                // A message that goes out at once (its link is up, its window open) is
                // stored as `sent` straight away: one store write instead of two.
                let ahead = queued.entry(peer.clone()).or_default();
                let at_once =
                    self.active.contains_key(&peer) && self.outbox.window_open(&peer, *ahead);
                *ahead += 1;
                OutMsg {
                    msg_id: new_msg_id(),
                    to: peer,
                    sent_at: now_ms(),
                    text,
                    sent_on: None,
                    stored_sent: at_once,
                }
            });
            taken += usize::from(checked.is_ok());
            answers.push(checked);
        }
        let rows: Vec<NewMessage> = answers
            .iter()
            .flatten()
            .map(|m| NewMessage {
                peer: &m.to,
                msg_id: &m.msg_id,
                dir: Direction::Out,
                from: &self.me.id,
                from_name: &self.me.name,
                text: &m.text,
                sent_at: m.sent_at,
                state: if m.stored_sent {
                    MsgState::Sent
                } else {
                    MsgState::Pending
                },
            })
            .collect();
        let stored = if rows.is_empty() {
            Ok(Vec::new())
        } else {
            self.store.insert_messages(&rows).map_err(|e| e.to_string())
        };
        drop(rows);
        let mut events = Vec::with_capacity(answers.len());
        let mut peers: Vec<String> = Vec::new();
        for answer in answers {
            let event = match (answer, &stored) {
                (Err(e), _) => Event::error(format!("send: {e}")),
                (Ok(_), Err(e)) => Event::error(format!(
                    "send: the message was not sent: cannot save it: {e}"
                )),
                (Ok(m), Ok(_)) => {
                    let sent = Event::Sent {
                        msg_id: m.msg_id.clone().into(),
                        to: m.to.clone().into(),
                        sent_at: m.sent_at,
                        text: m.text.clone(),
                    };
                    if !peers.contains(&m.to) {
                        peers.push(m.to.clone());
                    }
                    match self.outbox.push(m) {
                        Ok(()) => sent,
                        Err(e) => Event::error(format!("send: {e}")),
                    }
                }
            };
            events.push(event);
        }
        // Stored, so they may go: on the wire first, then told (the front end's wake-up
        // does not delay the frames).
        for peer in &peers {
            self.pump(peer);
        }
        for event in events {
            self.emit(event);
        }
    }

    /// Checks one `send`; `taken` messages of the same burst are ahead of it. Returns the
    /// recipient's id and the text, or why not (for `send: …`).
    fn check_send(&self, to: &str, text: String, taken: usize) -> Result<(String, String), String> {
        if text.is_empty() {
            return Err("the message is empty".to_owned());
        }
        if text.len() > MAX_TEXT_LEN {
            return Err(format!(
                "the message is {} bytes, the limit is {MAX_TEXT_LEN} bytes; send it as a file",
                text.len()
            ));
        }
        let peer = self
            .peers
            .resolve(to)
            .map_err(|e| e.to_string())?
            .id
            .clone();
        if self.outbox.len() + taken >= MAX_OUTBOX {
            return Err(OutboxFull.to_string());
        }
        Ok((peer.into(), text))
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

    /// Chats that arrived together (on any links): stored in one transaction, then
    /// shown, then acknowledged. If they cannot be stored none is acknowledged (the
    /// senders keep them and try again) and each is reported.
    pub(super) fn on_chats(&mut self, chats: Vec<InChat>) {
        let names: Vec<String> = chats
            .iter()
            .map(|c| {
                self.peers
                    .get(&c.peer)
                    .map(|p| p.name.clone())
                    .unwrap_or_default()
            })
            .collect();
        let rows: Vec<NewMessage> = chats
            .iter()
            .zip(&names)
            .map(|(c, name)| NewMessage {
                peer: &c.peer,
                msg_id: &c.msg_id,
                dir: Direction::In,
                from: &c.peer,
                from_name: name,
                text: &c.text,
                sent_at: c.sent_at,
                state: MsgState::Received,
            })
            .collect();
        let stored = self.store.insert_messages(&rows);
        drop(rows);
        let fresh = match stored {
            Ok(rows) => rows,
            Err(e) => {
                // No ack: the sender keeps the message and tries again later.
                for (c, from_name) in chats.iter().zip(&names) {
                    self.emit(Event::error(format!(
                        "a message from {from_name} ({}) could not be saved and was not \
                         acknowledged; the sender will retry: {e}",
                        c.peer
                    )));
                }
                return;
            }
        };
        for ((c, from_name), row) in chats.into_iter().zip(names).zip(fresh) {
            // Shown before the ack leaves, so by the time the sender hears "delivered"
            // the front end has the message.
            if row.is_some() {
                self.emit(Event::Message {
                    from: c.peer.into(),
                    from_name,
                    msg_id: c.msg_id.clone().into(),
                    text: c.text,
                    sent_at: c.sent_at,
                });
            }
            // Acknowledge duplicates too: the sender is waiting for an ack.
            self.send_on(c.link, &LinkMsg::Ack { msg_id: c.msg_id });
        }
    }

    /// Acks that arrived together, `(peer, msg_id)`: each reported `delivered`, then all
    /// recorded in one transaction, then what they made room for goes out.
    pub(super) fn on_acks(&mut self, acks: Vec<(String, String)>) {
        let mut acked = Vec::with_capacity(acks.len());
        for (peer, msg_id) in acks {
            if let Some(m) = self.outbox.ack(&peer, &msg_id) {
                // Told first, stored after: the ack is the receiver's word that it has
                // the message, whatever we record. If the record fails (or we crash
                // before it), the message goes out again after a restart and the
                // receiver drops the duplicate.
                self.emit(Event::Delivered {
                    msg_id: m.msg_id.into(),
                    to: m.to.into(),
                });
                acked.push((peer, msg_id));
            }
        }
        if acked.is_empty() {
            return;
        }
        if let Err(e) = self.store.mark_delivered_all(&self.me.id, &acked) {
            tracing::warn!("cannot mark {} messages delivered: {e}", acked.len());
        }
        let mut peers: Vec<String> = acked.into_iter().map(|(p, _)| p).collect();
        peers.dedup();
        for peer in peers {
            self.pump(&peer);
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
            msg_id: msg_id.into(),
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
                from: from.into(),
                from_name,
                msg_id: msg_id.into(),
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

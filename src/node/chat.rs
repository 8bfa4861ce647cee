//! Direct messages (outbox → link → ack → delivered) and Everyone shouts.

use super::core::{Core, now_ms};
use super::event::Event;
use super::outbox::OutMsg;
use super::seen::SeenSet;
use crate::net::LinkId;
use crate::protocol::message::MAX_TEXT_LEN;
use crate::protocol::{BeaconKind, LinkMsg, MAX_DATAGRAM};

/// Message ids remembered per peer for dropping duplicates.
const SEEN_PER_PEER: usize = 50_000;

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
        let msg = OutMsg {
            msg_id: new_msg_id(),
            to: peer.clone(),
            sent_at: now_ms(),
            text,
            sent_on: None,
        };
        let sent = Event::Sent {
            msg_id: msg.msg_id.clone(),
            to: peer.clone(),
            sent_at: msg.sent_at,
            text: msg.text.clone(),
        };
        if let Err(e) = self.outbox.push(msg) {
            return self.emit(Event::error(format!("send: {e}")));
        }
        self.emit(sent);
        self.pump(&peer);
    }

    /// Writes what the outbox holds for `peer` to its link, or dials it.
    pub(super) fn pump(&mut self, peer: &str) {
        let Some(&link) = self.active.get(peer) else {
            self.maybe_dial(peer);
            return;
        };
        for m in self.outbox.take_unsent(peer, link) {
            let chat = LinkMsg::Chat {
                msg_id: m.msg_id,
                sent_at: m.sent_at,
                text: m.text,
            };
            if !self.send_on(link, &chat) {
                break; // the link was dropped; the rest waits for the next one
            }
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
        // Always acknowledge, duplicates too: the sender is waiting for an ack.
        self.send_on(
            link,
            &LinkMsg::Ack {
                msg_id: msg_id.clone(),
            },
        );
        let fresh = self
            .seen_chats
            .entry(peer.to_owned())
            .or_insert_with(|| SeenSet::new(SEEN_PER_PEER))
            .insert(&msg_id);
        if fresh {
            let from_name = self
                .peers
                .get(peer)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            self.emit(Event::Message {
                from: peer.to_owned(),
                from_name,
                msg_id,
                text,
                sent_at,
            });
        }
    }

    pub(super) fn on_ack(&mut self, peer: &str, msg_id: &str) {
        if let Some(m) = self.outbox.ack(peer, msg_id) {
            self.emit(Event::Delivered {
                msg_id: m.msg_id,
                to: m.to,
            });
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
        self.emit(Event::ShoutSent {
            msg_id,
            text,
            sent_at,
        });
    }
}

//! Who among a room's members has each of our room messages: each member's `delivered`,
//! each `send_failed` of one member's copy, and a room's history page (`deliveries`),
//! folded into the message's bubble (`delivered_to`, `refused_by`). What that means
//! against the members now is `ui::rooms::progress`.

use super::{ChatState, ConvKey};
use crate::store::MemberDelivery;

impl ChatState {
    /// Member `peer` has our room message `msg_id`.
    pub(super) fn delivered_to(&mut self, conv: &ConvKey, msg_id: &str, peer: String) {
        if let Some(m) = self
            .conversations
            .get_mut(conv)
            .and_then(|c| c.find_mut(msg_id))
            && !m.delivered_to.contains(&peer)
        {
            m.delivered_to.push(peer);
        }
    }

    /// Member `peer` refused our room message `msg_id` for good (the event does not name
    /// the room: the room conversation that has it).
    pub(super) fn refused_by(&mut self, msg_id: &str, peer: String) {
        let found = self
            .conversations
            .iter_mut()
            .filter(|(k, _)| matches!(k, ConvKey::Room(_)))
            .find_map(|(_, c)| c.find_mut(msg_id));
        if let Some(m) = found
            && !m.refused_by.contains(&peer)
        {
            m.refused_by.push(peer);
        }
    }

    /// A room's history page said where each member's copy stands.
    pub(super) fn room_page(&mut self, conv: &ConvKey, deliveries: Vec<MemberDelivery>) {
        for d in deliveries {
            match d.state.as_str() {
                "delivered" => self.delivered_to(conv, &d.msg_id, d.peer),
                "failed" => {
                    if let Some(m) = self
                        .conversations
                        .get_mut(conv)
                        .and_then(|c| c.find_mut(&d.msg_id))
                        && !m.refused_by.contains(&d.peer)
                    {
                        m.refused_by.push(d.peer);
                    }
                }
                _ => {}
            }
        }
    }
}

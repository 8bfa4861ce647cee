//! Offers made for a room: `send_file` to a room is one offer per member, each
//! remembering the room (`Outgoing::room`, `transfers.room` in history); here is what a
//! member's leave does to theirs. Which room a member left, and whether that leave is
//! real, is the rooms part's and the core's; this file only ends transfers.

use super::{Ctx, TransferEnd, Transfers};
use crate::node::out::Out;
use crate::protocol::{LinkMsg, TransferId};

impl Transfers {
    /// `peer` left `room`: every transfer of ours made for the room to them ends, cancelled
    /// ("left the room"), an offer not yet answered as well as bytes moving; they are told
    /// (`file_cancel`) if they have a route. Returns how many ended. History marks them in
    /// the leave's own transaction (`Store::take_room_change`); this is the live half.
    pub fn member_left(&mut self, peer: &str, room: &str, ctx: Ctx<'_>, out: &mut Out) -> usize {
        let theirs: Vec<TransferId> = self
            .outgoing
            .iter()
            .filter(|(_, o)| o.peer == *peer && o.room.as_deref() == Some(room))
            .map(|(id, _)| id.clone())
            .collect();
        let route = ctx.routes.route(peer);
        for id in &theirs {
            if let Some(route) = route {
                let cancel = LinkMsg::FileCancel {
                    transfer_id: id.to_string(),
                    reason: "you left the room".into(),
                };
                out.send(route, cancel);
            }
            let end = TransferEnd::Cancelled {
                by: super::Party::Receiver,
                said: "left the room".into(),
            };
            self.end_outgoing(id, end, false, ctx, out);
        }
        theirs.len()
    }
}

//! Rooms in the core, the receiving side: whether a room message from a peer is taken,
//! and whether a file offer's room is kept (else it is a direct offer),
//! a change someone made (checked by the rooms part, stored with the room after it in one
//! transaction, told, acknowledged; a `leave` also drops what still waits for whoever
//! left, messages and the room's file offers, in the same transaction), where a member
//! presence does not see may be dialled (and dialling them all at start), and members'
//! addresses renewed from their links.

use std::net::Ipv4Addr;

use super::Core;
use crate::net::Port;
use crate::node::chat::InChat;
use crate::node::chat::inbox::Admit;
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::out::{Route, Routes};
use crate::node::rooms::{Applied, Take, info};
use crate::protocol::room::{ChangeOp, RoomChange, is_room_id};
use crate::protocol::{LinkMsg, PeerId};
use crate::store::{Direction, MsgState, NewMessage, StoredRoom};

/// How long a sender waits before sending again a room message or change for a room we
/// do not know yet, in milliseconds.
const NOT_YET_RETRY_MS: u64 = 2_000;

/// Most room members dialled at start (each dial is a thread for a moment).
const START_DIALS: usize = 64;

impl<P: Port> Core<P> {
    /// Whether a room chat from `peer` is taken (`None`: store it as any chat); a
    /// refusal is counted.
    pub(super) fn room_verdict(&mut self, peer: &str, room: &str) -> Option<Admit> {
        match self.rooms.take_message(room, peer) {
            Take::Yes => None,
            Take::NotYet(why) => Some(Admit::NotNow(why)),
            Take::Refuse(why) => {
                self.count_refused();
                tracing::info!(%peer, room, "room message refused: {why}");
                Some(Admit::Refuse(why))
            }
        }
    }

    /// A `file_offer`'s room is the sender's word: kept only when it is a well-formed
    /// room id, of a room we are in, whose member `peer` is. Anything else is dropped
    /// and the offer goes on as a direct one: never refused for its label, never trusted.
    pub(super) fn vet_offer_room(&self, peer: &str, msg: &mut LinkMsg) {
        let LinkMsg::FileOffer { room, .. } = msg else {
            return;
        };
        let Some(r) = room.as_deref() else {
            return;
        };
        let why = if is_room_id(r) {
            match self.rooms.take_message(r, peer) {
                Take::Yes => return,
                Take::NotYet(why) | Take::Refuse(why) => why,
            }
        } else {
            "not a room id".to_owned()
        };
        tracing::info!(%peer, "file offer's room dropped, offered directly: {why}");
        *room = None;
    }

    /// Where a room member presence does not see online may be reached: the address
    /// and link port the room carries for them (a loopback address only, where we are
    /// confined to loopback: what a room says never takes us off it).
    pub(super) fn room_addr(&self, peer: &str) -> Option<std::net::SocketAddr> {
        if self.presence.get(peer).is_some_and(|p| p.online) {
            return None;
        }
        let m = self.rooms.member(peer)?;
        let ip: Ipv4Addr = m.addr.parse().ok()?;
        let confined = self.presence.loopback_only() && !ip.is_loopback();
        (m.port != 0 && !ip.is_unspecified() && !confined).then(|| (ip, m.port).into())
    }

    /// At start: dials the members of our rooms (at most [`START_DIALS`]) where the rooms
    /// carry them, unless presence finds them first. A member who kept messages for us
    /// while we were away may have no other way to us (another subnet, or our link port
    /// changed with the restart): our link is its way, and our `hello` renews our address in
    /// its rooms.
    pub(super) fn rooms_start(&mut self, now: Now) {
        for peer in self.rooms.all_members(START_DIALS) {
            let peer = PeerId::from(peer);
            if routes!(self).route(&peer).is_none() {
                self.dial(&peer, now);
            }
        }
        self.carry_out(now);
    }

    /// `peer` said hello on a link from `addr`, listening on link port `port`: its entries
    /// in our rooms are brought up to date (`rooms::seen_at`: filled in where empty, the
    /// port renewed after a restart) and stored. Only `peer`'s own entries change, and
    /// only from a link its key was proved on.
    pub(super) fn room_member_seen(&mut self, peer: &str, addr: Ipv4Addr, port: u16) {
        let renewed = self.rooms.seen_at(peer, addr, port);
        if renewed.is_empty() {
            return;
        }
        let on_loopback = self
            .port
            .sockets()
            .link
            .is_some_and(|a| a.ip().is_loopback());
        if !crate::node::rooms::worth_keeping(addr, on_loopback) {
            return;
        }
        for room in renewed {
            match self.store.update_room(&room) {
                Ok(()) => self.rooms.commit(room),
                Err(e) => {
                    tracing::warn!(%peer, room = %room.id, "cannot store a member's address: {e}")
                }
            }
        }
    }

    /// After a change of `room`: the entries of the members we have a link with are
    /// brought up to date from their links (the change may have brought an entry with
    /// no address, as a member bound to 0.0.0.0 writes itself).
    fn room_members_linked(&mut self, room: &StoredRoom) {
        for m in &room.members {
            let Some(Route::Link(link)) = self.links.route(&m.id) else {
                continue;
            };
            let Some(std::net::SocketAddr::V4(remote)) = self.links.remote(link) else {
                continue;
            };
            let port = self.presence.get(&m.id).map_or(0, |p| p.port);
            self.room_member_seen(&m.id, *remote.ip(), port);
        }
    }

    fn count_refused(&mut self) {
        *self
            .traffic
            .counters
            .dropped
            .entry("room_refused".to_owned())
            .or_default() += 1;
    }

    /// A room change `peer` sent on `route` as message `c.msg_id`: checked, stored with
    /// the room after it, told, acknowledged; refused (counted) when it is not signed
    /// by a member.
    pub(super) fn on_room_change(
        &mut self,
        route: Route,
        peer: PeerId,
        chat: InChat,
        c: RoomChange,
        now: Now,
    ) {
        let nack = |permanent: bool, reason: String| LinkMsg::Nack {
            msg_id: chat.msg_id.to_string(),
            permanent,
            reason,
            retry_ms: if permanent { 0 } else { NOT_YET_RETRY_MS },
        };
        let ack = LinkMsg::Ack {
            msg_id: chat.msg_id.to_string(),
        };
        let room = c.room.clone();
        if matches!(self.store.message(&room, &peer, &chat.msg_id), Ok(Some(_))) {
            return self.out.send(route, ack); // stored before: a resend
        }
        let applied = if c.msg_id == chat.msg_id.as_str() {
            self.rooms.check_change(&peer, &c)
        } else {
            Err(Take::Refuse(
                "a room change under another message id".to_owned(),
            ))
        };
        let applied = match applied {
            Ok(a) => a,
            Err(Take::NotYet(why)) => return self.out.send(route, nack(false, why)),
            Err(other) => {
                let why = match other {
                    Take::Refuse(why) => why,
                    _ => "refused".to_owned(),
                };
                self.count_refused();
                tracing::warn!(%peer, room, "room change {} refused: {why}", why_of(&c));
                return self.out.send(route, nack(true, why));
            }
        };
        let author_name = c.author_entry().map_or("", |m| m.name.as_str());
        let name = self
            .presence
            .get(&peer)
            .map_or(author_name, |p| p.name.as_str())
            .to_owned();
        let text = crate::protocol::beacon::clean_name(&chat.text);
        let row = NewMessage {
            peer: &room,
            msg_id: &chat.msg_id,
            dir: Direction::In,
            from: &peer,
            from_name: &name,
            text: &text,
            sent_at: chat.sent_at,
            state: MsgState::Received,
        };
        // Who left: their copies still queued here are dropped with the change.
        let left = (c.op == ChangeOp::Leave && matches!(applied, Applied::Changed(_)))
            .then_some(peer.as_str());
        match self.store.take_room_change(&row, applied.room(), left) {
            Ok(true) => {
                if left.is_some() {
                    let route = routes!(self).route(&peer);
                    let dropped = self
                        .chat
                        .member_left(&peer, &room, route, now.at, &mut self.out);
                    if !dropped.is_empty() {
                        tracing::info!(%peer, room, "{} queued copies dropped: they left", dropped.len());
                    }
                    let ctx = ctx!(self, now);
                    let ended = self.transfers.member_left(&peer, &room, ctx, &mut self.out);
                    if ended > 0 {
                        tracing::info!(%peer, room, "{ended} file offers cancelled: they left");
                    }
                }
                let event = match &applied {
                    Applied::Joined(r) => Event::RoomJoined { room: info(r) },
                    Applied::Changed(r) => Event::RoomChanged {
                        room: info(r),
                        by: peer.clone(),
                    },
                };
                self.rooms.commit(applied.room().clone());
                self.room_members_linked(applied.room());
                self.out.emit(event);
                self.out.send(route, ack);
            }
            Ok(false) => self.out.send(route, ack),
            Err(e) if e.is_temporary() => self.out.send(route, nack(false, e.cause())),
            Err(e) => self.out.send(route, nack(true, e.cause())),
        }
    }
}

/// What a refused change was, for the log.
fn why_of(c: &RoomChange) -> String {
    format!("{:?} of {} by {}", c.op, c.room, c.author)
}

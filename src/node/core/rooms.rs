//! Rooms in the core, the sending side: the room commands, a `send` (or `send_file`) to a
//! room; what others send is `rooms_in`'s.
//!
//! A room message or change of ours is stored once (the room's history) and once per
//! member (the room outbox) in one transaction, then queued in chat's outbox one entry
//! per member: from there on it is a message like any other (sent on the member's route,
//! acknowledged, resent, held, reloaded after a restart). A change someone made is
//! checked and stored in `rooms_in`.

use super::Core;
use crate::net::Port;
use crate::node::chat::Chat;
use crate::node::chat::outbox::OutMsg;
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::out::Routes;
use crate::node::peer::Protocol;
use crate::node::rooms::info;
use crate::protocol::room::{ChangeOp, Member, RoomChange, new_room_id};
use crate::protocol::{MsgId, PeerId};
use crate::store::{Direction, MsgState, NewMessage, RoomDelivery, StoredRoom};

impl<P: Port> Core<P> {
    /// `room_create`: a room of us and `members`, told to each.
    pub(super) fn room_create(&mut self, origin: Origin, name: &str, members: &[String], now: Now) {
        let made = self.members(members).and_then(|ms| {
            let me = self.me_member();
            self.rooms.create(new_room_id(), name, me, ms)
        });
        let what = |r: &StoredRoom| format!("made the room “{}”", r.name);
        match made.and_then(|r| {
            let text = what(&r);
            self.publish(ChangeOp::Create, r, text, now)
        }) {
            Ok(room) => self.out.emit(Event::RoomCreated { room: info(&room) }),
            Err(e) => self
                .out
                .reply(Some(origin), Event::error(format!("room_create: {e}"))),
        }
        self.carry_out(now);
    }

    /// `room_add`, `room_rename`, `room_leave`: the change, told to the members.
    pub(super) fn room_change(&mut self, origin: Origin, cmd: RoomCmd, now: Now) {
        let (label, result) = match cmd {
            RoomCmd::Add(room, members) => (
                "room_add",
                self.members(&members)
                    .and_then(|ms| self.rooms.added(&room, ms))
                    .and_then(|r| {
                        let text = "added people to the room".to_owned();
                        self.publish(ChangeOp::Add, r, text, now)
                    }),
            ),
            RoomCmd::Rename(room, name) => (
                "room_rename",
                self.rooms.renamed(&room, &name).and_then(|r| {
                    let text = format!("renamed the room “{}”", r.name);
                    self.publish(ChangeOp::Rename, r, text, now)
                }),
            ),
            RoomCmd::Leave(room) => (
                "room_leave",
                self.rooms.joined(&room).cloned().and_then(|r| {
                    let text = "left the room".to_owned();
                    self.publish(ChangeOp::Leave, r, text, now)
                }),
            ),
        };
        match result {
            Ok(room) if !room.joined => self.out.emit(Event::RoomLeft { room: room.id }),
            Ok(room) => {
                let by = self.presence.me().id.clone();
                self.out.emit(Event::RoomChanged {
                    room: info(&room),
                    by,
                });
            }
            Err(e) => self
                .out
                .reply(Some(origin), Event::error(format!("{label}: {e}"))),
        }
        self.carry_out(now);
    }

    /// A `send` to a room: stored, one outbox entry per member, then `sent`.
    pub(super) fn room_send(&mut self, origin: Origin, room: &str, text: String, now: Now) {
        let sent = Chat::check_text(&text)
            .and_then(|()| self.rooms.joined(room).cloned())
            .and_then(|r| self.fan_out(&r, None, text.clone(), now));
        match sent {
            Ok(msg_id) => self.out.emit(Event::Sent {
                msg_id,
                to: room.into(),
                sent_at: now.wall,
                text,
            }),
            Err(e) => self
                .out
                .reply(Some(origin), Event::error(format!("send: {e}"))),
        }
        self.carry_out(now);
    }

    /// `send_file` to a room: one offer to each member (transfers' own send, per member;
    /// each answers, accepts or declines its own), each made for the room, so a member's
    /// leave cancels theirs (`rooms_in`).
    pub(super) fn room_send_file(
        &mut self,
        origin: Origin,
        room: &str,
        path: &std::path::Path,
        now: Now,
    ) {
        let members = match self.rooms.joined(room) {
            Ok(r) => self.rooms.recipients(r),
            Err(e) => {
                let e = Event::error(format!("send_file: {e}"));
                return self.out.reply(Some(origin), e);
            }
        };
        for member in members {
            let peer = PeerId::from(member);
            let ctx = ctx!(self, now);
            let for_room = (peer.clone(), Some(room));
            if self
                .transfers
                .send_file_for(origin, for_room, path, ctx, &mut self.out)
            {
                self.dial(&peer, now);
            }
        }
    }

    /// Signs our change `op` of a room (`room` as it is after it; for `leave`, as it was)
    /// and sends it to the members. Returns the room as it is now.
    fn publish(
        &mut self,
        op: ChangeOp,
        room: StoredRoom,
        text: String,
        now: Now,
    ) -> Result<StoredRoom, String> {
        let msg_id = MsgId::random();
        let change = self.rooms.change(op, &room, &msg_id, now.wall);
        let after = self.rooms.after_own(&change, room.clone());
        self.send_to_members(&room, &after, Some(change), text, msg_id, now)?;
        self.rooms.commit(after.clone());
        Ok(after)
    }

    /// Stores and queues a message (or `change`) for the members of `room`.
    fn fan_out(
        &mut self,
        room: &StoredRoom,
        change: Option<RoomChange>,
        text: String,
        now: Now,
    ) -> Result<MsgId, String> {
        let msg_id = MsgId::random();
        self.send_to_members(room, room, change, text, msg_id.clone(), now)?;
        Ok(msg_id)
    }

    /// One history row, one delivery per member of `to` (but us), and `after` as the
    /// room is now when a change goes, in one transaction; then each queued.
    fn send_to_members(
        &mut self,
        to: &StoredRoom,
        after: &StoredRoom,
        change: Option<RoomChange>,
        text: String,
        msg_id: MsgId,
        now: Now,
    ) -> Result<(), String> {
        let members = self.rooms.recipients(to);
        self.chat.has_room(members.len())?;
        let change = change.map(Box::new);
        // Stored as `sent` where it goes out at once: one store write, not two.
        let deliveries: Vec<RoomDelivery> = members
            .iter()
            .map(|m| RoomDelivery {
                member: m.clone(),
                msg_id: msg_id.to_string(),
                room: to.id.clone(),
                sent_at: now.wall,
                text: text.clone(),
                change: change.clone(),
                sent: self.chat.goes_at_once(m, routes!(self).route(m).is_some()),
            })
            .collect();
        let me = self.presence.me();
        let row = NewMessage {
            peer: &to.id,
            msg_id: &msg_id,
            dir: Direction::Out,
            from: &me.id,
            from_name: &me.name,
            text: &text,
            sent_at: now.wall,
            state: MsgState::Sent,
        };
        let is_change = change.is_some();
        self.store
            .send_room(&row, &deliveries, is_change.then_some(after))
            .map_err(|e| format!("not sent: cannot save it: {e}"))?;
        let entries = deliveries
            .into_iter()
            .map(|d| OutMsg {
                msg_id: msg_id.clone(),
                to: d.member.into(),
                sent_at: d.sent_at,
                text: d.text,
                room: Some(d.room),
                change: d.change,
                sent_on: None,
                stored_sent: d.sent,
            })
            .collect();
        let unrouted = self
            .chat
            .queue_room(entries, &routes!(self), now.at, &mut self.out);
        for peer in unrouted {
            self.dial(&peer, now);
        }
        Ok(())
    }

    /// The members named in a command, as the room carries them: known lanchat peers
    /// with a key.
    fn members(&self, names: &[String]) -> Result<Vec<Member>, String> {
        names
            .iter()
            .map(|n| {
                let p = self
                    .presence
                    .table()
                    .resolve(n)
                    .map_err(|e| e.to_string())?;
                let key = self
                    .presence
                    .table()
                    .key(&p.id)
                    .filter(|_| p.protocol == Protocol::Lanchat)
                    .ok_or_else(|| format!("{} ({}) has no key to join a room", p.name, p.id))?;
                Ok(Member {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    key: key.to_base64(),
                    addr: p.addr.to_string(),
                    port: p.port,
                })
            })
            .collect()
    }

    /// Us as a room carries us.
    fn me_member(&self) -> Member {
        let me = self.presence.me();
        let addr = self
            .port
            .sockets()
            .link
            .map(|a| a.ip())
            .filter(|ip| !ip.is_unspecified())
            .map_or_else(String::new, |ip| ip.to_string());
        Member {
            id: me.id.to_string(),
            name: me.name.clone(),
            key: self.presence.key().to_base64(),
            addr,
            port: me.port,
        }
    }
}

/// A room command that changes a room.
pub(in crate::node) enum RoomCmd {
    /// Add people (room, who).
    Add(String, Vec<String>),
    /// Rename (room, name).
    Rename(String, String),
    /// Leave (room).
    Leave(String),
}

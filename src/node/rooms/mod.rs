//! Rooms, a part of the core: the rooms we are in (id, name, members with what each needs
//! to be reached), the signed changes we make, and which changes and room messages from
//! others we take.
//!
//! It owns no delivery of its own: a room message or change is one entry per member in
//! chat's outbox (stored, acknowledged, resent, held like a direct message), and the core
//! stores, queues and answers. This part decides: who a room message goes to (the members
//! but us), whether a change is signed by a member (see `protocol::room`), what a room is
//! after a change, whether a room message comes from a member, and members' addresses
//! renewed from their links (`addrs`). Rooms we left stay known (so late messages in them
//! are refused, not taken for a room not met yet).
//!
//! It must not: touch the store, a socket or a clock, or queue anything itself.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use serde::Serialize;

use crate::protocol::room::{ChangeOp, MAX_MEMBERS, MAX_ROOM_NAME, Member, RoomChange};
use crate::store::StoredRoom;
use crate::trust::KeyPair;

mod addrs;
pub mod order;
pub use addrs::{seen_at, worth_keeping};

/// A member as front ends see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomPerson {
    /// Peer id.
    pub id: String,
    /// Name when they were added.
    pub name: String,
}

/// A room as front ends see it (`room_created`, `room_joined`, `rooms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    /// The room id (`room-` and 32 hex digits).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Member peer ids, us included.
    pub members: Vec<String>,
    /// The members with their names, in the same order.
    pub people: Vec<RoomPerson>,
}

/// How a room message from a peer is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// From a member of a room we are in: store it.
    Yes,
    /// Refused for good (a permanent `nack`), with why.
    Refuse(String),
    /// Not now (a temporary `nack`): we do not know the room yet; its change may be on
    /// its way from another member.
    NotYet(String),
}

/// What a change from a peer did, once stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// We are in a room we were not in.
    Joined(StoredRoom),
    /// A room we are in changed.
    Changed(StoredRoom),
}

impl Applied {
    /// The room after the change.
    pub fn room(&self) -> &StoredRoom {
        match self {
            Applied::Joined(r) | Applied::Changed(r) => r,
        }
    }
}

/// Most rooms known at once (in them or left): a peer cannot grow our memory by making
/// rooms with us in them.
pub const MAX_ROOMS: usize = 1000;

/// The rooms part (see the module documentation).
pub struct Rooms {
    keys: Arc<KeyPair>,
    rooms: HashMap<String, StoredRoom>,
}

impl Rooms {
    /// The rooms history remembers, signing as `keys`.
    pub fn new(keys: Arc<KeyPair>, stored: Vec<StoredRoom>) -> Self {
        let rooms = stored.into_iter().map(|r| (r.id.clone(), r)).collect();
        Rooms { keys, rooms }
    }

    /// Our peer id.
    fn me(&self) -> String {
        self.keys.peer_id()
    }

    /// A room we are in.
    pub fn get(&self, id: &str) -> Option<&StoredRoom> {
        self.rooms.get(id).filter(|r| r.joined)
    }

    /// Whether `id` is a room we know (in it or left).
    pub fn knows(&self, id: &str) -> bool {
        self.rooms.contains_key(id)
    }

    /// The rooms we are in, for `rooms`, by name.
    pub fn list(&self) -> Vec<RoomInfo> {
        let mut v: Vec<RoomInfo> = self.rooms.values().filter(|r| r.joined).map(info).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        v
    }

    /// A member's entry in any room we are in (to reach someone presence does not know).
    pub fn member(&self, peer: &str) -> Option<&Member> {
        self.rooms
            .values()
            .filter(|r| r.joined)
            .find_map(|r| r.members.iter().find(|m| m.id == peer))
    }

    /// The members of the rooms we are in, us aside, each once, at most `limit`: whom to
    /// dial at start (see `Core::rooms_start`).
    pub fn all_members(&self, limit: usize) -> Vec<String> {
        let me = self.me();
        let mut seen = std::collections::HashSet::new();
        let mut ids: Vec<&StoredRoom> = self.rooms.values().filter(|r| r.joined).collect();
        ids.sort_by(|a, b| a.id.cmp(&b.id));
        ids.iter()
            .flat_map(|r| r.members.iter())
            .filter(|m| m.id != me && seen.insert(m.id.as_str()))
            .take(limit)
            .map(|m| m.id.clone())
            .collect()
    }

    /// Our rooms with `peer`'s entry brought up to date with where an authenticated link
    /// just showed it (see [`addrs::renewed`]): the rooms that changed, to store, then
    /// commit.
    pub fn seen_at(&self, peer: &str, addr: Ipv4Addr, port: u16) -> Vec<StoredRoom> {
        let mut changed = Vec::new();
        for r in self.rooms.values().filter(|r| r.joined) {
            let Some(i) = r.members.iter().position(|m| m.id == peer) else {
                continue;
            };
            if let Some(m) = addrs::renewed(&r.members[i], addr, port) {
                let mut r = r.clone();
                r.members[i] = m;
                changed.push(r);
            }
        }
        changed
    }

    /// Who a message or change in `room` goes to: its members but us.
    pub fn recipients(&self, room: &StoredRoom) -> Vec<String> {
        let me = self.me();
        room.members
            .iter()
            .filter(|m| m.id != me)
            .map(|m| m.id.clone())
            .collect()
    }

    /// Our change of a room (`room` as it is after it, or before for `leave`), signed;
    /// it travels as message `msg_id`. An `add` names whom it adds: those of `room` the
    /// room as we hold it (not yet committed) lacks, and carries when the name was set.
    /// Its `at` is `now`, or past the marks it follows if our clock is behind them
    /// ([`order::own_at`]).
    pub fn change(&self, op: ChangeOp, room: &StoredRoom, msg_id: &str, now: u64) -> RoomChange {
        let before = self.rooms.get(&room.id);
        let added: Vec<String> = match (op, before) {
            (ChangeOp::Add, Some(before)) => room
                .members
                .iter()
                .filter(|m| !before.members.iter().any(|b| b.id == m.id))
                .map(|m| m.id.clone())
                .collect(),
            _ => Vec::new(),
        };
        let me = self.me();
        let (name_at, name_by) = match (op, before) {
            (ChangeOp::Add, Some(b)) => (b.name_mark.at, b.name_mark.by.clone()),
            _ => (0, String::new()),
        };
        let mut c = RoomChange {
            room: room.id.clone(),
            op,
            name: room.name.clone(),
            members: room.members.clone(),
            author: me.clone(),
            at: order::own_at(before, op, &added, &me, now),
            msg_id: msg_id.to_owned(),
            added,
            name_at,
            name_by,
            sig: String::new(),
        };
        if op == ChangeOp::Leave {
            c.members.retain(|m| m.id != me);
        }
        c.sign(&self.keys);
        c
    }

    /// The room after our change `c` (made by [`Rooms::change`] from `room`): the same
    /// rules as a member applies to it, so our copy and theirs agree; after a leave, the
    /// room we left.
    pub fn after_own(&self, c: &RoomChange, room: StoredRoom) -> StoredRoom {
        match (c.op, self.rooms.get(&c.room)) {
            (ChangeOp::Leave, _) => StoredRoom {
                joined: false,
                ..room
            },
            // Our own name was checked when the change was made.
            (_, Some(before)) => apply(before, c, Member::clone).unwrap_or(room),
            (_, None) => {
                let (name_mark, marks) = order::first(c);
                StoredRoom {
                    name_mark,
                    marks,
                    ..room
                }
            }
        }
    }

    /// A new room named `name` of `me` and `members`; `id` is chosen by the caller.
    pub fn create(
        &self,
        id: String,
        name: &str,
        me: Member,
        members: Vec<Member>,
    ) -> Result<StoredRoom, String> {
        if self.rooms.len() >= MAX_ROOMS {
            return Err(format!("you are in {MAX_ROOMS} rooms already"));
        }
        let name = room_name(name)?;
        let mut all = vec![me];
        for m in members {
            if !all.iter().any(|a| a.id == m.id) {
                all.push(m);
            }
        }
        if all.len() > MAX_MEMBERS {
            return Err(format!("a room has at most {MAX_MEMBERS} members"));
        }
        Ok(StoredRoom {
            id,
            name,
            joined: true,
            members: all,
            ..StoredRoom::default()
        })
    }

    /// `room` with `members` added (those already in it are left as they are).
    pub fn added(&self, room: &str, members: Vec<Member>) -> Result<StoredRoom, String> {
        let mut r = self.joined(room)?.clone();
        for m in members {
            if !r.members.iter().any(|a| a.id == m.id) {
                r.members.push(m);
            }
        }
        if r.members.len() > MAX_MEMBERS {
            return Err(format!("a room has at most {MAX_MEMBERS} members"));
        }
        Ok(r)
    }

    /// `room` called `name`.
    pub fn renamed(&self, room: &str, name: &str) -> Result<StoredRoom, String> {
        let mut r = self.joined(room)?.clone();
        r.name = room_name(name)?;
        Ok(r)
    }

    /// A room we are in, or why not.
    pub fn joined(&self, room: &str) -> Result<&StoredRoom, String> {
        match self.rooms.get(room) {
            Some(r) if r.joined => Ok(r),
            Some(_) => Err(format!("you left the room {room}")),
            None => Err(format!("no room {room}")),
        }
    }

    /// The room as it is now (stored): ours to keep.
    pub fn commit(&mut self, room: StoredRoom) {
        self.rooms.insert(room.id.clone(), room);
    }

    /// Whether a room message from `from` in `room` is taken.
    pub fn take_message(&self, room: &str, from: &str) -> Take {
        match self.rooms.get(room) {
            None => Take::NotYet(format!("does not know the room {room} yet")),
            Some(r) if !r.joined => Take::Refuse(format!("has left the room {room}")),
            Some(r) if r.members.iter().any(|m| m.id == from) => Take::Yes,
            Some(_) => Take::Refuse(format!("{from} is not a member of the room {room}")),
        }
    }

    /// Checks a change that came from `from` on its link: signed by its author, who is
    /// `from` and a member (of our copy of the room, or of a new room that has us);
    /// returns the room as it would be after it (stored by the core, then committed).
    pub fn check_change(&self, from: &str, c: &RoomChange) -> Result<Applied, Take> {
        let refuse = |why: String| Err(Take::Refuse(why));
        if c.author != from {
            return refuse(format!("a change by {} sent by {from}", c.author));
        }
        // Only being added again brings us back into a room we left: an add that names us
        // (or, from before adds named whom they add, one that lists us).
        let me = self.me();
        let left = self.rooms.get(&c.room).is_some_and(|r| !r.joined);
        let adds_us = c.op == ChangeOp::Add && (c.added.is_empty() || c.added.contains(&me));
        if left && !adds_us {
            return refuse(format!("has left the room {}", c.room));
        }
        let known = self.rooms.get(&c.room).filter(|r| r.joined);
        let known_key = known
            .and_then(|r| r.members.iter().find(|m| m.id == c.author))
            .map(|m| m.key.as_str());
        if known.is_some() && known_key.is_none() && c.op == ChangeOp::Leave {
            // Their leave may pass the add that brought them in, on its way from another
            // member (it cannot be checked before: their key comes with it): not now, so
            // it is taken once that add is (see `order`).
            return Err(Take::NotYet(format!(
                "{from} is not a member of the room {} yet",
                c.room
            )));
        }
        if let Err(e) = c.verify(known_key) {
            return refuse(format!("room change refused: {e}"));
        }
        let Some(room) = known else {
            return match c.op {
                ChangeOp::Create | ChangeOp::Add
                    if self.rooms.len() >= MAX_ROOMS && !self.rooms.contains_key(&c.room) =>
                {
                    refuse(format!("in {MAX_ROOMS} rooms already"))
                }
                ChangeOp::Create | ChangeOp::Add if c.members.iter().any(|m| m.id == me) => {
                    let (name_mark, marks) = order::first(c);
                    Ok(Applied::Joined(StoredRoom {
                        id: c.room.clone(),
                        name: room_name(&c.name).unwrap_or_else(|_| "room".to_owned()),
                        joined: true,
                        members: c.members.iter().map(tidy).collect(),
                        name_mark,
                        marks,
                    }))
                }
                ChangeOp::Create | ChangeOp::Add => {
                    refuse(format!("a room change for {} without us", c.room))
                }
                _ => Err(Take::NotYet(format!(
                    "does not know the room {} yet",
                    c.room
                ))),
            };
        };
        if known_key.is_none() {
            return refuse(format!("{from} is not a member of the room {}", c.room));
        }
        apply(room, c, tidy)
            .map(Applied::Changed)
            .map_err(Take::Refuse)
    }
}

/// `room` after change `c`, by `order`'s rules (members it adds made safe by `tidy`): the
/// same for a change someone made and for our own, so our copy and theirs agree. Only
/// whom an add names, each only if the add is newer than what last took them out: anyone
/// else its list holds that we lack may have left since (every add reaches every member
/// by itself, so nobody is missed).
fn apply(
    room: &StoredRoom,
    c: &RoomChange,
    tidy: impl Fn(&Member) -> Member,
) -> Result<StoredRoom, String> {
    let mut after = room.clone();
    match c.op {
        ChangeOp::Create | ChangeOp::Add => order::add(&mut after, c, tidy),
        ChangeOp::Rename => order::rename(&mut after, c, room_name(&c.name)?),
        ChangeOp::Leave => order::leave(&mut after, c),
    }
    Ok(after)
}

/// A room as front ends see it.
pub fn info(r: &StoredRoom) -> RoomInfo {
    RoomInfo {
        id: r.id.clone(),
        name: r.name.clone(),
        members: r.members.iter().map(|m| m.id.clone()).collect(),
        people: r
            .members
            .iter()
            .map(|m| RoomPerson {
                id: m.id.clone(),
                name: m.name.clone(),
            })
            .collect(),
    }
}

/// A member as another peer described them, made safe to keep and show: a clean name of
/// at most [`MAX_ROOM_NAME`] characters, an address only if it is an IPv4 address.
fn tidy(m: &Member) -> Member {
    let name: String = crate::protocol::beacon::clean_name(&m.name)
        .chars()
        .take(MAX_ROOM_NAME)
        .collect();
    let addr = m
        .addr
        .parse::<Ipv4Addr>()
        .map_or_else(|_| String::new(), |a| a.to_string());
    Member {
        id: m.id.clone(),
        name,
        key: m.key.clone(),
        addr,
        port: m.port,
    }
}

/// A room name, trimmed, not empty, at most [`MAX_ROOM_NAME`] characters.
fn room_name(name: &str) -> Result<String, String> {
    let name = crate::protocol::beacon::clean_name(name.trim());
    if name.is_empty() {
        return Err("the room name is empty".to_owned());
    }
    if name.chars().count() > MAX_ROOM_NAME {
        return Err(format!(
            "the room name is longer than {MAX_ROOM_NAME} characters"
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests;

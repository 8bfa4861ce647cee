//! Rooms through the whole core over a port that binds nothing: the fan-out to members,
//! per-member `delivered`, duplicates, a forged change and a non-member refused, a member
//! who left stops receiving (messages, and the room's file offers), and an absent member who gets a room message once when back,
//! also after a restart. Times are made up.

use std::net::{Ipv4Addr, SocketAddr};

use crossbeam_channel::{Receiver, unbounded};

use super::fake::{FakePort, ME, TempDir, core_in};
use super::*;
use crate::net::{LinkId, NetInput};
use crate::node::command::Command;
use crate::protocol::room::{ChangeOp, RoomChange};
use crate::protocol::{LinkMsg, PROTOCOL_VERSION};
use crate::store::StoredRoom;
use crate::trust::keys::test_pair;

pub(super) fn feed(core: &mut Core<FakePort>, input: NetInput<&'static str>, now: Now) {
    let (_tx, none): (_, Receiver<NetInput<&'static str>>) = unbounded();
    core.handle_input(input, &none, now);
}

/// A peer with keys `keys` connects to us and says hello: it is known, with its key,
/// and link `link` is its route.
pub(super) fn linked(
    core: &mut Core<FakePort>,
    keys: &KeyPair,
    name: &str,
    link: LinkId,
    now: Now,
) {
    let accepted = NetInput::Accepted {
        conn: Box::new("a conn"),
        remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 50_000 + link as u16)),
        key: keys.public(),
        first: LinkMsg::Hello {
            id: keys.peer_id(),
            name: name.into(),
            version: PROTOCOL_VERSION,
            instance: format!("{name}-1"),
            port: 4000 + link as u16,
        },
    };
    feed(core, accepted, now);
    assert_eq!(
        core.links.route(&keys.peer_id()),
        Some(Route::Link(link)),
        "{name} linked"
    );
}

pub(super) fn frame(core: &mut Core<FakePort>, link: LinkId, msg: LinkMsg, now: Now) {
    feed(
        core,
        NetInput::Frame {
            link,
            len: 100,
            msg,
        },
        now,
    );
}

/// What was written on `link` since the last call (then forgotten).
pub(super) fn take_written(core: &mut Core<FakePort>, link: LinkId) -> Vec<LinkMsg> {
    let (mine, rest) = std::mem::take(&mut core.port.written)
        .into_iter()
        .partition(|(l, _)| *l == link);
    core.port.written = rest;
    mine.into_iter().map(|(_, m)| m).collect()
}

fn ack(msg: &LinkMsg) -> LinkMsg {
    let LinkMsg::Chat { msg_id, .. } = msg else {
        panic!("a chat: {msg:?}")
    };
    LinkMsg::Ack {
        msg_id: msg_id.clone(),
    }
}

fn room_of(events: &Receiver<Event>) -> String {
    events
        .try_iter()
        .find_map(|e| match e {
            Event::RoomCreated { room } => Some(room.id),
            _ => None,
        })
        .expect("room_created")
}

/// A room "team" of us, bob (on link 1) and carol (on link 2), made and acknowledged
/// by both; then carol's link goes down. Its id and the room as we hold it.
pub(super) fn team_with_carol_away(
    core: &mut Core<FakePort>,
    events: &Receiver<Event>,
    bob: &KeyPair,
    carol: &KeyPair,
    t0: Now,
) -> (String, StoredRoom) {
    core.announce_start(t0);
    linked(core, bob, "bob", 1, t0);
    linked(core, carol, "carol", 2, t0);
    core.port.written.clear();
    let create = Command::RoomCreate {
        name: "team".into(),
        members: vec![bob.peer_id(), carol.peer_id()],
    };
    core.handle_command(ME, create, t0);
    let room = room_of(events);
    let stored = core.rooms.get(&room).expect("ours").clone();
    for link in [1, 2] {
        let w = take_written(core, link);
        frame(core, link, ack(&w[0]), t0);
    }
    let down = NetInput::LinkDown {
        link: 2,
        reason: "carol went away".into(),
    };
    feed(core, down, t0);
    (room, stored)
}

static NEXT_AT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A change of `room` signed by `keys` (the author), carried as a chat.
pub(super) fn change_by(keys: &KeyPair, room: &StoredRoom, op: ChangeOp, msg_id: &str) -> LinkMsg {
    let mut c = RoomChange {
        room: room.id.clone(),
        op,
        name: room.name.clone(),
        members: room.members.clone(),
        author: keys.peer_id(),
        // Later at each call, as a member's changes are made one after another.
        at: Now::read().wall + NEXT_AT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        msg_id: msg_id.into(),
        added: Vec::new(),
        name_at: 0,
        name_by: String::new(),
        sig: String::new(),
    };
    if op == ChangeOp::Leave {
        c.members.retain(|m| m.id != keys.peer_id());
    }
    c.sign(keys);
    LinkMsg::Chat {
        msg_id: msg_id.into(),
        sent_at: 1,
        text: "changed".into(),
        room: Some(room.id.clone()),
        change: Some(Box::new(c)),
    }
}

fn said(room: &str, msg_id: &str, text: &str) -> LinkMsg {
    LinkMsg::Chat {
        msg_id: msg_id.into(),
        sent_at: 1,
        text: text.into(),
        room: Some(room.into()),
        change: None,
    }
}

fn is_nack(m: &LinkMsg, perm: bool) -> bool {
    matches!(m, LinkMsg::Nack { permanent, .. } if *permanent == perm)
}

#[test]
fn a_room_fans_out_to_members_and_refuses_forgeries_and_strangers() {
    let dir = TempDir::new("core-room");
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    let (bob, carol, dave) = (test_pair(0xb1), test_pair(0xc1), test_pair(0xd1));
    linked(&mut core, &bob, "bob", 1, t0);
    linked(&mut core, &carol, "carol", 2, t0);
    linked(&mut core, &dave, "dave", 3, t0);
    events.try_iter().for_each(drop);
    core.port.written.clear();

    let create = Command::RoomCreate {
        name: "team".into(),
        members: vec![bob.peer_id(), carol.peer_id()],
    };
    core.handle_command(ME, create, t0);
    let room = room_of(&events);
    let stored = core.rooms.get(&room).expect("ours").clone();
    assert_eq!(stored.members.len(), 3);
    for link in [1, 2] {
        let w = take_written(&mut core, link);
        assert!(
            matches!(&w[..], [LinkMsg::Chat { change: Some(c), room: Some(r), .. }]
                if *r == room && c.op == ChangeOp::Create && c.verify(None).is_ok()),
            "a signed create to each member: {w:?}"
        );
        frame(&mut core, link, ack(&w[0]), t0);
    }
    assert!(take_written(&mut core, 3).is_empty(), "dave is not in it");

    // One message: one entry per member, one `delivered` per member.
    let send = Command::Send {
        to: room.clone(),
        text: "hello".into(),
    };
    core.handle_command(ME, send, t0);
    let Some(Event::Sent { msg_id, to, .. }) =
        events.try_iter().find(|e| matches!(e, Event::Sent { .. }))
    else {
        panic!("sent")
    };
    assert_eq!(*to, room);
    for (link, who) in [(1, &bob), (2, &carol)] {
        let w = take_written(&mut core, link);
        assert!(
            matches!(&w[..], [LinkMsg::Chat { room: Some(r), text, .. }] if *r == room && text == "hello")
        );
        frame(&mut core, link, ack(&w[0]), t0);
        let delivered = events.try_iter().find_map(|e| match e {
            Event::Delivered {
                msg_id: m,
                to,
                peer,
            } if m == msg_id => Some((to, peer)),
            _ => None,
        });
        assert_eq!(
            delivered,
            Some((room.as_str().into(), Some(who.peer_id().into())))
        );
    }
    assert!(core.chat.outbox().is_empty());

    // Bob says something, twice (a lost ack): shown once, acknowledged both times.
    for _ in 0..2 {
        frame(&mut core, 1, said(&room, "b1", "from bob"), t0);
        assert!(
            matches!(&take_written(&mut core, 1)[..], [LinkMsg::Ack { msg_id }] if msg_id == "b1")
        );
    }
    let shown: Vec<Event> = events
        .try_iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .collect();
    assert!(
        matches!(&shown[..], [Event::Message { room: Some(r), from, .. }] if *r == room && **from == bob.peer_id()),
        "{shown:?}"
    );

    // A change in bob's name signed by dave, and dave's message in the room: refused.
    let mut forged = change_by(&dave, &stored, ChangeOp::Rename, "f1");
    if let LinkMsg::Chat {
        change: Some(c), ..
    } = &mut forged
    {
        c.author = bob.peer_id();
        c.name = "pwned".into();
    }
    frame(&mut core, 1, forged, t0);
    assert!(is_nack(&take_written(&mut core, 1)[0], true));
    frame(
        &mut core,
        3,
        change_by(&dave, &stored, ChangeOp::Rename, "f2"),
        t0,
    );
    assert!(
        is_nack(&take_written(&mut core, 3)[0], true),
        "dave is no member"
    );
    frame(&mut core, 3, said(&room, "d1", "let me in"), t0);
    assert!(is_nack(&take_written(&mut core, 3)[0], true));
    assert_eq!(core.rooms.get(&room).unwrap().name, "team");
    assert_eq!(core.traffic.counters.dropped.get("room_refused"), Some(&3));
    assert!(
        !events
            .try_iter()
            .any(|e| matches!(e, Event::Message { .. } | Event::RoomChanged { .. }))
    );

    // Bob leaves (signed): he gets nothing more, carol does.
    frame(
        &mut core,
        1,
        change_by(&bob, &stored, ChangeOp::Leave, "l1"),
        t0,
    );
    assert!(matches!(
        &take_written(&mut core, 1)[..],
        [LinkMsg::Ack { .. }]
    ));
    assert!(
        events
            .try_iter()
            .any(|e| matches!(e, Event::RoomChanged { by, .. } if *by == bob.peer_id()))
    );
    let send = Command::Send {
        to: room.clone(),
        text: "after bob".into(),
    };
    core.handle_command(ME, send, t0);
    assert!(take_written(&mut core, 1).is_empty(), "bob left");
    assert_eq!(take_written(&mut core, 2).len(), 1);
    frame(&mut core, 1, said(&room, "b2", "still here"), t0);
    assert!(
        is_nack(&take_written(&mut core, 1)[0], true),
        "no longer a member"
    );
}

#[test]
fn an_absent_member_gets_a_room_message_once_when_back_also_after_a_restart() {
    let dir = TempDir::new("core-room-away");
    let t0 = Now::read();
    let (bob, carol) = (test_pair(0xb2), test_pair(0xc2));
    let (room, msg_id) = {
        let (mut core, events) = core_in(&dir.0, t0);
        core.announce_start(t0);
        linked(&mut core, &bob, "bob", 1, t0);
        linked(&mut core, &carol, "carol", 2, t0);
        feed(
            &mut core,
            NetInput::LinkDown {
                link: 2,
                reason: "carol went away".into(),
            },
            t0,
        );
        events.try_iter().for_each(drop);
        let create = Command::RoomCreate {
            name: "team".into(),
            members: vec![bob.peer_id(), carol.peer_id()],
        };
        core.handle_command(ME, create, t0);
        let room = room_of(&events);
        let send = Command::Send {
            to: room.clone(),
            text: "while away".into(),
        };
        core.handle_command(ME, send, t0);
        let w: Vec<LinkMsg> = take_written(&mut core, 1)
            .into_iter()
            .filter(|m| m.kind() == "chat")
            .collect();
        assert_eq!(w.len(), 2, "bob gets the create and the message");
        for m in &w {
            frame(&mut core, 1, ack(m), t0);
        }
        assert_eq!(core.chat.outbox().len(), 2, "both wait for carol");
        let msg_id = events
            .try_iter()
            .find_map(|e| match e {
                Event::Sent { msg_id, .. } => Some(msg_id),
                _ => None,
            })
            .expect("sent");
        (room, msg_id)
    };
    // We restart: what carol has not acknowledged is reloaded, and goes once she is back.
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    assert_eq!(core.chat.outbox().len(), 2);
    assert_eq!(core.rooms.get(&room).unwrap().members.len(), 3);
    linked(&mut core, &carol, "carol", 1, t0);
    let w = take_written(&mut core, 1);
    let chats: Vec<&LinkMsg> = w.iter().filter(|m| m.kind() == "chat").collect();
    assert!(
        matches!(&chats[..], [LinkMsg::Chat { change: Some(_), .. }, LinkMsg::Chat { text, change: None, .. }] if text == "while away"),
        "the create, then the message, once each: {w:?}"
    );
    for m in chats {
        frame(&mut core, 1, ack(m), t0);
    }
    assert!(events.try_iter().any(
        |e| matches!(e, Event::Delivered { msg_id: m, peer: Some(p), .. }
        if m == msg_id && *p == carol.peer_id())
    ));
    assert!(core.chat.outbox().is_empty());
    drop(core);
    let (core, _events) = core_in(&dir.0, t0);
    assert!(core.chat.outbox().is_empty(), "delivered is delivered");
}

mod files;
mod leave;

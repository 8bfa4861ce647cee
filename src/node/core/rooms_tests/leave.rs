//! A member who leaves stops receiving: what waits for them is dropped when their leave
//! arrives (also from the store, so not sent after a restart), and only their own signed
//! leave on their own link does that; our own leave lets what we said before it go and
//! nothing after; in a room we left nothing more is taken.

use super::*;
use crate::protocol::room::Member;

/// A room `keys`' owner made, of them and `members` (to sign its changes with).
fn room_with(keys: &KeyPair, members: Vec<Member>) -> StoredRoom {
    let mut all = vec![Member {
        id: keys.peer_id(),
        name: "author".into(),
        key: keys.public().to_base64(),
        addr: "127.0.0.1".into(),
        port: 4000,
    }];
    all.extend(members);
    StoredRoom {
        id: crate::protocol::room::new_room_id(),
        name: "team".into(),
        joined: true,
        members: all,
        ..StoredRoom::default()
    }
}

fn chats(w: Vec<LinkMsg>) -> Vec<LinkMsg> {
    w.into_iter().filter(|m| m.kind() == "chat").collect()
}

fn sent_id(events: &Receiver<Event>) -> String {
    events
        .try_iter()
        .find_map(|e| match e {
            Event::Sent { msg_id, .. } => Some(msg_id.to_string()),
            _ => None,
        })
        .expect("sent")
}

#[test]
fn a_members_queued_copies_are_dropped_when_their_leave_arrives_also_after_a_restart() {
    let dir = TempDir::new("core-room-leave");
    let t0 = Now::read();
    let (bob, carol) = (test_pair(0xb3), test_pair(0xc3));
    let room = {
        let (mut core, events) = core_in(&dir.0, t0);
        // Carol goes away; three messages wait for her, and bob has not answered yet.
        let (room, stored) = team_with_carol_away(&mut core, &events, &bob, &carol, t0);
        for text in ["one", "two", "three"] {
            let send = Command::Send {
                to: room.clone(),
                text: text.into(),
            };
            core.handle_command(ME, send, t0);
        }
        let said: Vec<String> = (0..3).map(|_| sent_id(&events)).collect();
        assert_eq!(chats(take_written(&mut core, 1)).len(), 3, "bob's go");
        assert_eq!(core.chat.outbox().queued(&carol.peer_id()), 3);
        // She is back on another link: her copies go out at once, then her leave
        // arrives (made before she saw them). They are dropped, not sent again.
        linked(&mut core, &carol, "carol", 3, t0);
        assert_eq!(chats(take_written(&mut core, 3)).len(), 3);
        events.try_iter().for_each(drop);
        let leave = change_by(&carol, &stored, ChangeOp::Leave, "cl");
        frame(&mut core, 3, leave, t0);
        assert!(matches!(
            &take_written(&mut core, 3)[..],
            [LinkMsg::Ack { msg_id }] if msg_id == "cl"
        ));
        assert_eq!(core.chat.outbox().queued(&carol.peer_id()), 0);
        assert_eq!(core.chat.outbox().queued(&bob.peer_id()), 3, "bob's stay");
        for id in &said {
            assert_eq!(
                core.store.room_states(id).unwrap(),
                [
                    (bob.peer_id(), "sent".to_owned()),
                    (carol.peer_id(), "left".to_owned())
                ]
            );
        }
        // `history` of the room says so, member by member.
        let history = Command::History {
            peer: room.clone(),
            limit: 10,
            before: None,
            after: None,
        };
        core.handle_command(ME, history, t0);
        let Some(Event::History { deliveries, .. }) = events
            .try_iter()
            .find(|e| matches!(e, Event::History { .. }))
        else {
            panic!("history")
        };
        let of_one: Vec<(&str, &str)> = deliveries
            .iter()
            .filter(|d| d.msg_id == said[0])
            .map(|d| (d.peer.as_str(), d.state.as_str()))
            .collect();
        assert_eq!(
            of_one,
            [
                (bob.peer_id().as_str(), "sent"),
                (carol.peer_id().as_str(), "left")
            ]
        );
        // Her link drops and comes back: nothing of the room goes to her.
        let down = NetInput::LinkDown {
            link: 3,
            reason: "again".into(),
        };
        feed(&mut core, down, t0);
        linked(&mut core, &carol, "carol", 4, t0);
        assert!(chats(take_written(&mut core, 4)).is_empty());
        // A late ack of one of them is taken as a duplicate: no `delivered` to her.
        let late = LinkMsg::Ack {
            msg_id: said[0].clone(),
        };
        frame(&mut core, 4, late, t0);
        assert!(
            !events
                .try_iter()
                .any(|e| matches!(e, Event::Delivered { .. }))
        );
        room
    };
    // After a restart too: only bob's copies are reloaded, and they go to him.
    let (mut core, _events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    assert_eq!(core.chat.outbox().len(), 3);
    assert_eq!(core.rooms.get(&room).unwrap().members.len(), 2);
    linked(&mut core, &carol, "carol", 1, t0);
    assert!(chats(take_written(&mut core, 1)).is_empty());
    linked(&mut core, &bob, "bob", 2, t0);
    let w = chats(take_written(&mut core, 2));
    assert!(
        matches!(&w[..], [LinkMsg::Chat { text: a, .. }, LinkMsg::Chat { text: b, .. }, LinkMsg::Chat { text: c, .. }]
            if (a.as_str(), b.as_str(), c.as_str()) == ("one", "two", "three")),
        "{w:?}"
    );
}

#[test]
fn when_we_leave_what_we_said_before_still_goes_and_nothing_after() {
    let dir = TempDir::new("core-room-we-leave");
    let t0 = Now::read();
    let bob = test_pair(0xb4);
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    linked(&mut core, &bob, "bob", 1, t0);
    core.port.written.clear();
    let create = Command::RoomCreate {
        name: "team".into(),
        members: vec![bob.peer_id()],
    };
    core.handle_command(ME, create, t0);
    let room = room_of(&events);
    let w = take_written(&mut core, 1);
    frame(&mut core, 1, ack(&w[0]), t0);
    let down = NetInput::LinkDown {
        link: 1,
        reason: "bob went away".into(),
    };
    feed(&mut core, down, t0);
    let send = |text: &str| Command::Send {
        to: room.clone(),
        text: text.into(),
    };
    core.handle_command(ME, send("before"), t0);
    let leave = Command::RoomLeave { room: room.clone() };
    core.handle_command(ME, leave, t0);
    assert!(
        events
            .try_iter()
            .any(|e| matches!(e, Event::RoomLeft { .. }))
    );
    core.handle_command(ME, send("after"), t0);
    assert!(
        events
            .try_iter()
            .any(|e| matches!(e, Event::Error { message } if message.contains("left"))),
        "nothing is said in a room we left"
    );
    linked(&mut core, &bob, "bob", 2, t0);
    let w = chats(take_written(&mut core, 2));
    assert!(
        matches!(&w[..], [LinkMsg::Chat { text, change: None, .. }, LinkMsg::Chat { change: Some(c), .. }]
            if text == "before" && c.op == ChangeOp::Leave),
        "what we said as a member, then our leave: {w:?}"
    );
}

#[test]
fn in_a_room_we_left_nothing_more_is_taken() {
    let dir = TempDir::new("core-room-we-left");
    let t0 = Now::read();
    let bob = test_pair(0xb5);
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    linked(&mut core, &bob, "bob", 1, t0);
    let me = Member {
        id: core.presence.me().id.to_string(),
        name: "me".into(),
        key: core.presence.key().to_base64(),
        addr: String::new(),
        port: 0,
    };
    let stored = room_with(&bob, vec![me]);
    frame(
        &mut core,
        1,
        change_by(&bob, &stored, ChangeOp::Create, "bc"),
        t0,
    );
    assert!(
        events
            .try_iter()
            .any(|e| matches!(e, Event::RoomJoined { .. }))
    );
    take_written(&mut core, 1);
    let leave = Command::RoomLeave {
        room: stored.id.clone(),
    };
    core.handle_command(ME, leave, t0);
    take_written(&mut core, 1);
    events.try_iter().for_each(drop);

    let before = core.store.history(&stored.id, None, 100).unwrap().len();
    frame(&mut core, 1, said(&stored.id, "b9", "still there?"), t0);
    frame(
        &mut core,
        1,
        change_by(&bob, &stored, ChangeOp::Rename, "br"),
        t0,
    );
    let w = take_written(&mut core, 1);
    assert!(
        w.len() == 2 && w.iter().all(|m| is_nack(m, true)),
        "refused for good: {w:?}"
    );
    assert_eq!(core.traffic.counters.dropped.get("room_refused"), Some(&2));
    assert_eq!(
        core.store.history(&stored.id, None, 100).unwrap().len(),
        before,
        "nothing of them is stored"
    );
    assert!(
        !events
            .try_iter()
            .any(|e| matches!(e, Event::Message { .. } | Event::RoomChanged { .. }))
    );
}

#[test]
fn nobody_but_the_member_can_make_us_drop_what_waits_for_them() {
    let dir = TempDir::new("core-room-forged-leave");
    let t0 = Now::read();
    let (bob, carol, dave) = (test_pair(0xb6), test_pair(0xc6), test_pair(0xd6));
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    linked(&mut core, &bob, "bob", 1, t0);
    linked(&mut core, &carol, "carol", 2, t0);
    linked(&mut core, &dave, "dave", 3, t0);
    core.port.written.clear();
    let create = Command::RoomCreate {
        name: "team".into(),
        members: vec![bob.peer_id(), carol.peer_id()],
    };
    core.handle_command(ME, create, t0);
    let room = room_of(&events);
    let stored = core.rooms.get(&room).expect("ours").clone();
    let down = NetInput::LinkDown {
        link: 2,
        reason: "carol went away".into(),
    };
    feed(&mut core, down, t0);
    let send = Command::Send {
        to: room.clone(),
        text: "for carol too".into(),
    };
    core.handle_command(ME, send, t0);
    let waiting = core.chat.outbox().queued(&carol.peer_id());
    assert_eq!(waiting, 2, "the create and the message");
    core.port.written.clear();

    // Dave forges carol's leave under his own key, then passes on one she really
    // signed; bob, a member, cannot leave for her either.
    let mut forged = change_by(&dave, &stored, ChangeOp::Leave, "f1");
    if let LinkMsg::Chat {
        change: Some(c), ..
    } = &mut forged
    {
        c.author = carol.peer_id();
    }
    frame(&mut core, 3, forged, t0);
    frame(
        &mut core,
        3,
        change_by(&carol, &stored, ChangeOp::Leave, "f2"),
        t0,
    );
    let hers = change_by(&carol, &stored, ChangeOp::Leave, "f3");
    frame(&mut core, 1, hers, t0);
    let refusals: Vec<LinkMsg> = [3, 1]
        .into_iter()
        .flat_map(|l| take_written(&mut core, l))
        .collect();
    assert!(
        refusals.len() == 3 && refusals.iter().all(|m| is_nack(m, true)),
        "{refusals:?}"
    );
    assert_eq!(core.chat.outbox().queued(&carol.peer_id()), waiting);
    assert_eq!(core.rooms.get(&room).unwrap().members.len(), 3);
    assert!(
        core.store
            .room_unacked(10)
            .unwrap()
            .iter()
            .any(|d| d.member == carol.peer_id()),
        "her copies are still stored to send"
    );
}

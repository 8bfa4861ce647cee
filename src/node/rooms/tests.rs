//! The rooms part alone: who may change a room, and what a room is after a change.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::*;
use crate::trust::keys::test_pair;

fn member(k: &KeyPair, name: &str) -> Member {
    Member {
        id: k.peer_id(),
        name: name.into(),
        key: k.public().to_base64(),
        addr: "127.0.0.1".into(),
        port: 4000,
    }
}

/// Bob's part, and a room alice made of alice and bob (not yet known to bob).
fn setup() -> (Rooms, KeyPair, KeyPair, StoredRoom) {
    let (alice, bob) = (test_pair(1), test_pair(2));
    let rooms = Rooms::new(Arc::new(test_pair(2)), Vec::new());
    let alices = Rooms::new(Arc::new(test_pair(1)), Vec::new());
    let room = alices
        .create(
            crate::protocol::room::new_room_id(),
            "team",
            member(&alice, "alice"),
            vec![member(&bob, "bob")],
        )
        .unwrap();
    (rooms, alice, bob, room)
}

/// `setup` with bob in the room: alice's create taken.
fn in_alices_room() -> (Rooms, KeyPair, KeyPair, StoredRoom) {
    let (mut rooms, alice, bob, room) = setup();
    let c = signed(&alice, &room, ChangeOp::Create);
    let Ok(a) = rooms.check_change(&alice.peer_id(), &c) else {
        panic!("joined")
    };
    rooms.commit(a.room().clone());
    (rooms, alice, bob, room)
}

fn signed(by: &KeyPair, room: &StoredRoom, op: ChangeOp) -> RoomChange {
    Rooms::new(
        Arc::new(KeyPair::from_secrets(
            &by.ed25519_seed(),
            by.x25519_secret(),
        )),
        Vec::new(),
    )
    .change(op, room, "m1", next_at())
}

/// A later time at each call: a test's changes are made one after another, as a member
/// makes them (changes made at the same moment are `order`'s tests).
fn next_at() -> u64 {
    static AT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    AT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[test]
fn a_create_with_us_joins_and_one_without_us_is_refused() {
    let (mut rooms, alice, _bob, room) = setup();
    let c = signed(&alice, &room, ChangeOp::Create);
    let Ok(Applied::Joined(r)) = rooms.check_change(&alice.peer_id(), &c) else {
        panic!("joined")
    };
    assert_eq!((r.name.as_str(), r.members.len()), ("team", 2));
    rooms.commit(r);
    assert_eq!(rooms.take_message(&room.id, &alice.peer_id()), Take::Yes);

    let mut other = room.clone();
    other.id = crate::protocol::room::new_room_id();
    other.members.truncate(1);
    let c = signed(&alice, &other, ChangeOp::Create);
    assert!(matches!(
        rooms.check_change(&alice.peer_id(), &c),
        Err(Take::Refuse(_))
    ));
}

#[test]
fn changes_for_a_room_not_known_yet_wait_and_relayed_ones_are_refused() {
    let (rooms, alice, bob, room) = setup();
    let c = signed(&alice, &room, ChangeOp::Rename);
    assert!(matches!(
        rooms.check_change(&alice.peer_id(), &c),
        Err(Take::NotYet(_))
    ));
    assert!(matches!(
        rooms.take_message(&room.id, &alice.peer_id()),
        Take::NotYet(_)
    ));
    // Alice's change sent by someone else.
    let c = signed(&alice, &room, ChangeOp::Create);
    assert!(matches!(
        rooms.check_change(&bob.peer_id(), &c),
        Err(Take::Refuse(_))
    ));
}

#[test]
fn a_member_who_left_is_gone_and_cannot_speak() {
    let (mut rooms, alice, bob, room) = setup();
    let carol = test_pair(3);
    let mut with_carol = room.clone();
    with_carol.members.push(member(&carol, "carol"));
    let c = signed(&alice, &with_carol, ChangeOp::Create);
    let Ok(a) = rooms.check_change(&alice.peer_id(), &c) else {
        panic!("joined")
    };
    rooms.commit(a.room().clone());
    let c = signed(&carol, &with_carol, ChangeOp::Leave);
    let Ok(Applied::Changed(after)) = rooms.check_change(&carol.peer_id(), &c) else {
        panic!("changed")
    };
    rooms.commit(after);
    assert!(matches!(
        rooms.take_message(&room.id, &carol.peer_id()),
        Take::Refuse(_)
    ));
    let r = rooms.get(&room.id).unwrap();
    assert_eq!(
        rooms.recipients(r),
        [alice.peer_id()],
        "not to us, not to carol"
    );
    // Carol's second leave (or any change by her) is refused now.
    assert!(rooms.check_change(&carol.peer_id(), &c).is_err());
    let _ = bob;
}

/// An add its author wrote before a leave reached them still lists whoever left: it
/// brings in only whom it names, so the one who left stays out; naming them brings
/// them back.
#[test]
fn a_stale_add_does_not_bring_back_someone_who_left() {
    let (mut rooms, alice, _bob, room) = setup();
    let (carol, dave) = (test_pair(3), test_pair(4));
    let mut with_carol = room.clone();
    with_carol.members.push(member(&carol, "carol"));
    let c = signed(&alice, &with_carol, ChangeOp::Create);
    let Ok(a) = rooms.check_change(&alice.peer_id(), &c) else {
        panic!("joined")
    };
    rooms.commit(a.room().clone());
    let leave = signed(&carol, &with_carol, ChangeOp::Leave);
    let Ok(after) = rooms.check_change(&carol.peer_id(), &leave) else {
        panic!("left")
    };
    rooms.commit(after.room().clone());

    // Alice adds dave from her list that still holds carol (her leave had not reached
    // alice): the add names dave.
    let mut stale = with_carol.clone();
    stale.members.push(member(&dave, "dave"));
    let add_by_alice = |added: Vec<String>| {
        let mut c = signed(&alice, &stale, ChangeOp::Add);
        c.added = added;
        c.sign(&alice);
        c
    };
    let c = add_by_alice(vec![dave.peer_id()]);
    let Ok(Applied::Changed(r)) = rooms.check_change(&alice.peer_id(), &c) else {
        panic!("changed")
    };
    let ids: Vec<&str> = r.members.iter().map(|m| m.id.as_str()).collect();
    assert!(ids.contains(&dave.peer_id().as_str()), "dave is added");
    assert!(
        !ids.contains(&carol.peer_id().as_str()),
        "carol, who left, is not brought back by a list that still held her"
    );
    rooms.commit(r);

    // Adding carol again, by name, is taken.
    let c = add_by_alice(vec![carol.peer_id()]);
    let Ok(Applied::Changed(r)) = rooms.check_change(&alice.peer_id(), &c) else {
        panic!("changed")
    };
    assert!(r.members.iter().any(|m| m.id == carol.peer_id()));

    // An add naming someone it does not list is not well formed.
    let c = add_by_alice(vec![test_pair(9).peer_id()]);
    assert!(matches!(
        rooms.check_change(&alice.peer_id(), &c),
        Err(Take::Refuse(why)) if why.contains("not listed")
    ));
}

/// Our own add names whom it adds: the members the room as we hold it lacks.
#[test]
fn our_add_names_whom_it_adds() {
    let (_bobs, _alice, bob, room) = setup();
    let mut alices = Rooms::new(Arc::new(test_pair(1)), Vec::new());
    alices.commit(room.clone());
    let dave = test_pair(4);
    let after = alices
        .added(&room.id, vec![member(&dave, "dave"), member(&bob, "bob")])
        .unwrap();
    let c = alices.change(ChangeOp::Add, &after, "m2", 2);
    assert_eq!(c.added, [dave.peer_id()], "bob was in it already");
    assert!(c.verify(None).is_ok(), "signed with the names in it");
    assert!(
        alices
            .change(ChangeOp::Rename, &after, "m3", 3)
            .added
            .is_empty()
    );
}

#[test]
fn what_a_peer_says_of_members_is_tidied() {
    let (rooms, alice, bob, mut room) = setup();
    room.members[1].name = format!("bo\u{7}b{}", "x".repeat(500));
    room.members[1].addr = "not an address".into();
    let c = signed(&alice, &room, ChangeOp::Create);
    let Ok(Applied::Joined(r)) = rooms.check_change(&alice.peer_id(), &c) else {
        panic!("joined")
    };
    let b = r.members.iter().find(|m| m.id == bob.peer_id()).unwrap();
    assert!(b.name.starts_with("bob") && b.name.chars().count() == MAX_ROOM_NAME);
    assert_eq!(b.addr, "");
}

#[test]
fn our_own_commands_check_names_and_membership() {
    let (mut rooms, _alice, _bob, room) = setup();
    assert!(rooms.renamed(&room.id, "x").is_err(), "not in it");
    rooms.commit(room.clone());
    assert!(rooms.renamed(&room.id, "  ").is_err());
    assert!(
        rooms
            .renamed(&room.id, &"x".repeat(MAX_ROOM_NAME + 1))
            .is_err()
    );
    assert_eq!(rooms.renamed(&room.id, " crew ").unwrap().name, "crew");
    let mut left = room.clone();
    left.joined = false;
    rooms.commit(left);
    assert!(rooms.joined(&room.id).unwrap_err().contains("left"));
    assert!(rooms.list().is_empty());
}

#[test]
fn after_we_left_only_being_added_again_is_taken() {
    let (mut rooms, alice, _bob, room) = setup();
    let mut left = room.clone();
    left.joined = false;
    rooms.commit(left);
    assert!(
        matches!(rooms.take_message(&room.id, &alice.peer_id()), Take::Refuse(why) if why.contains("left")),
        "a message in it: refused for good, not 'not yet'"
    );
    for op in [ChangeOp::Create, ChangeOp::Rename, ChangeOp::Leave] {
        let c = signed(&alice, &room, op);
        assert!(
            matches!(rooms.check_change(&alice.peer_id(), &c), Err(Take::Refuse(why)) if why.contains("left")),
            "{op:?} of a room we left"
        );
    }
    let c = signed(&alice, &room, ChangeOp::Add);
    assert!(matches!(
        rooms.check_change(&alice.peer_id(), &c),
        Ok(Applied::Joined(_))
    ));
    // An add that names whom it adds brings us back only if it names us: one that
    // still lists us from before we left is refused.
    let mut c = signed(&alice, &room, ChangeOp::Add);
    c.added = vec![alice.peer_id()];
    c.sign(&alice);
    assert!(
        matches!(rooms.check_change(&alice.peer_id(), &c), Err(Take::Refuse(why)) if why.contains("left")),
        "an add naming someone else"
    );
    c.added = vec![test_pair(2).peer_id()];
    c.sign(&alice);
    assert!(matches!(
        rooms.check_change(&alice.peer_id(), &c),
        Ok(Applied::Joined(_))
    ));
}

#[test]
fn a_members_address_is_filled_in_where_empty_and_its_port_renewed_at_the_same_address() {
    let (_rooms, alice, bob, mut room) = setup();
    let (a, b) = (alice.peer_id(), bob.peer_id());
    let at = |room: &StoredRoom, id: &str| {
        let m = room.members.iter().find(|m| m.id == id).expect("a member");
        (m.addr.clone(), m.port)
    };
    let there: Ipv4Addr = "10.78.1.10".parse().unwrap();

    // Written with no address, or the unspecified one (bound to 0.0.0.0): filled in.
    for empty in ["", "0.0.0.0", "not an address"] {
        room.members[0].addr = empty.into();
        assert!(seen_at(&mut room, &a, there, 41_000), "{empty:?}");
        assert_eq!(at(&room, &a), ("10.78.1.10".into(), 41_000));
    }
    // The same address, another port (a restart): the port renewed; the same port again:
    // nothing to store; no port said: the one known kept.
    assert!(seen_at(&mut room, &a, there, 42_000));
    assert_eq!(at(&room, &a).1, 42_000);
    assert!(!seen_at(&mut room, &a, there, 42_000));
    room.members[0].addr = String::new();
    assert!(seen_at(&mut room, &a, there, 0));
    assert_eq!(at(&room, &a), ("10.78.1.10".into(), 42_000));

    // Another usable address is how whoever wrote it reaches them: kept.
    assert!(!seen_at(&mut room, &b, there, 43_000));
    assert_eq!(at(&room, &b), ("127.0.0.1".into(), 4000));
    // Not a member: nothing.
    assert!(!seen_at(&mut room, &test_pair(9).peer_id(), there, 1));
}

#[test]
fn only_the_rooms_we_are_in_are_renewed_and_everyone_is_dialled_once_but_us() {
    let (mut rooms, alice, bob, mut room) = setup();
    let carol = test_pair(3);
    room.members[0].addr = String::new();
    rooms.commit(room.clone());
    let mut other = room.clone();
    other.id = crate::protocol::room::new_room_id();
    other.members.push(member(&carol, "carol"));
    rooms.commit(other.clone());
    let mut left = room.clone();
    left.id = crate::protocol::room::new_room_id();
    left.joined = false;
    rooms.commit(left);

    let there: Ipv4Addr = "10.0.0.7".parse().unwrap();
    let mut renewed: Vec<String> = rooms
        .seen_at(&alice.peer_id(), there, 4100)
        .into_iter()
        .map(|r| r.id)
        .collect();
    renewed.sort();
    let mut want = vec![room.id.clone(), other.id.clone()];
    want.sort();
    assert_eq!(renewed, want, "both rooms we are in, not the one we left");

    let all = rooms.all_members(10);
    assert_eq!(all.len(), 2, "alice and carol, once each, not us: {all:?}");
    assert!(all.contains(&alice.peer_id()) && all.contains(&carol.peer_id()));
    assert!(!all.contains(&bob.peer_id()));
    assert_eq!(rooms.all_members(1).len(), 1);
}

#[test]
fn where_a_link_came_from_is_kept_unless_it_says_nothing_or_this_host_to_others() {
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    assert!(worth_keeping(ip("10.78.1.10"), false));
    assert!(
        worth_keeping(ip("127.0.0.1"), true),
        "all of us on loopback"
    );
    assert!(
        !worth_keeping(ip("127.0.0.1"), false),
        "this host, to others"
    );
    for nothing in ["0.0.0.0", "255.255.255.255", "224.0.0.1"] {
        assert!(!worth_keeping(ip(nothing), true), "{nothing}");
    }
}

/// A rename made at the same moment as another, or reaching us after a later one, is
/// ordered by its signed time (then author): every member keeps the later name. Ours is
/// made past the name it replaces even when our clock is behind.
#[test]
fn renames_are_ordered_by_when_they_were_made_and_ours_by_what_it_replaces() {
    let (mut rooms, alice, bob, room) = in_alices_room();
    let alices = Rooms::new(Arc::new(test_pair(1)), Vec::new());
    let rename = |name: &str, at: u64| {
        let mut r = room.clone();
        r.name = name.into();
        alices.change(ChangeOp::Rename, &r, &format!("r{at}"), at)
    };
    let apply = |rooms: &mut Rooms, c: &RoomChange| {
        let Ok(Applied::Changed(r)) = rooms.check_change(&alice.peer_id(), c) else {
            panic!("taken")
        };
        rooms.commit(r);
    };
    apply(&mut rooms, &rename("later", 9_000));
    apply(&mut rooms, &rename("earlier", 5_000));
    assert_eq!(
        rooms.get(&room.id).unwrap().name,
        "later",
        "the older rename lost"
    );

    // Bob (us) renames with a clock at 100: made at 9 001, so it wins everywhere.
    let mine = rooms.renamed(&room.id, "ours").unwrap();
    let c = rooms.change(ChangeOp::Rename, &mine, "r-ours", 100);
    assert_eq!(c.at, 9_001);
    let after = rooms.after_own(&c, mine);
    assert_eq!((after.name.as_str(), after.name_mark.at), ("ours", 9_001));
    assert_eq!(after.name_mark.by, bob.peer_id());
}

/// A leave can pass the add that brought its author in (they come by different links):
/// not now, and taken once the add is.
#[test]
fn a_leave_that_passes_the_add_of_its_author_waits_for_it() {
    let (mut rooms, alice, _bob, room) = in_alices_room();
    let carol = test_pair(3);
    let mut alices = Rooms::new(Arc::new(test_pair(1)), Vec::new());
    alices.commit(room.clone());
    let with_carol = alices
        .added(&room.id, vec![member(&carol, "carol")])
        .unwrap();
    let add = alices.change(ChangeOp::Add, &with_carol, "m2", 10);
    let carols = Rooms::new(Arc::new(test_pair(3)), Vec::new());
    let leave = carols.change(ChangeOp::Leave, &with_carol, "m3", 20);

    assert!(matches!(
        rooms.check_change(&carol.peer_id(), &leave),
        Err(Take::NotYet(why)) if why.contains("yet")
    ));
    let Ok(Applied::Changed(r)) = rooms.check_change(&alice.peer_id(), &add) else {
        panic!("added")
    };
    rooms.commit(r);
    let Ok(Applied::Changed(r)) = rooms.check_change(&carol.peer_id(), &leave) else {
        panic!("the leave, again")
    };
    assert!(!r.members.iter().any(|m| m.id == carol.peer_id()));
    assert_eq!(r.marks[&carol.peer_id()].at, 20);
}

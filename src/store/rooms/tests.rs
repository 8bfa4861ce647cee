//! The rooms schema step and the room outbox.

use super::*;
use crate::store::{Direction, MsgState};

fn temp_store(tag: &str) -> (std::path::PathBuf, Store) {
    let dir = std::env::temp_dir().join(format!("lanchat-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join(crate::store::HISTORY_FILE)).unwrap();
    (dir, store)
}

fn room() -> StoredRoom {
    StoredRoom {
        id: "room-0123456789abcdef0123456789abcdef".into(),
        name: "team".into(),
        joined: true,
        members: ["me", "bob", "carol"]
            .map(|id| Member {
                id: id.into(),
                name: id.to_uppercase(),
                key: format!("key-{id}"),
                addr: "10.0.0.1".into(),
                port: 4000,
            })
            .into(),
        ..StoredRoom::default()
    }
}

fn delivery(member: &str, msg_id: &str) -> RoomDelivery {
    RoomDelivery {
        member: member.into(),
        msg_id: msg_id.into(),
        room: room().id,
        sent_at: 5,
        text: "hi".into(),
        change: None,
        sent: false,
    }
}

#[test]
fn a_room_message_is_one_row_and_one_delivery_per_member() {
    let (dir, mut s) = temp_store("rooms");
    let r = room();
    let row = NewMessage {
        peer: &r.id,
        msg_id: "m1",
        dir: Direction::Out,
        from: "me",
        from_name: "ME",
        text: "hi",
        sent_at: 5,
        state: MsgState::Sent,
    };
    s.send_room(
        &row,
        &[delivery("bob", "m1"), delivery("carol", "m1")],
        Some(&r),
    )
    .unwrap();
    assert_eq!(s.rooms().unwrap(), std::slice::from_ref(&r));
    assert_eq!(s.history(&r.id, None, 10).unwrap().len(), 1);
    assert!(s.unacked(10).unwrap().is_empty(), "not a direct message");
    assert_eq!(s.room_unacked(10).unwrap().len(), 2);
    // Chat's records fall through to the room outbox.
    s.mark_sent("bob", "me", &["m1"]).unwrap();
    s.mark_delivered_all("me", &[("carol", "m1")]).unwrap();
    let left = s.room_unacked(10).unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].member == "bob" && left[0].sent);
    assert!(s.mark_failed("bob", "me", "m1", "no").unwrap());
    assert!(s.room_unacked(10).unwrap().is_empty());
    assert_eq!(
        s.room_states("m1").unwrap(),
        [
            ("bob".into(), "failed".into()),
            ("carol".into(), "delivered".into())
        ]
    );
    let bodies: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM room_bodies", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bodies, 0, "answered by all: nothing left to send again");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_change_is_taken_once_with_the_room_after_it() {
    let (dir, mut s) = temp_store("rooms-change");
    let mut r = room();
    let row = NewMessage {
        peer: &r.id,
        msg_id: "c1",
        dir: Direction::In,
        from: "bob",
        from_name: "BOB",
        text: "renamed",
        sent_at: 5,
        state: MsgState::Received,
    };
    r.name = "crew".into();
    assert!(s.take_room_change(&row, &r, None).unwrap());
    r.name = "other".into();
    assert!(
        !s.take_room_change(&row, &r, None).unwrap(),
        "a resend changes nothing"
    );
    assert_eq!(s.rooms().unwrap()[0].name, "crew");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_4_with_messages_migrates_to_rooms() {
    let dir = std::env::temp_dir().join(format!("lanchat-mig5-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(crate::store::HISTORY_FILE);
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        crate::store::migrations::migrate_to(&mut conn, 4).unwrap();
        conn.execute_batch(
            "INSERT INTO messages (id, peer, msg_id, dir, author, author_name, sent_at, text, state)
             VALUES (3, 'p', 'm1', 'out', 'me', 'Me', 1, 'pending one', 'pending');",
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.unacked(10).unwrap()[0].msg_id, "m1");
    assert!(s.rooms().unwrap().is_empty());
    assert!(s.room_unacked(10).unwrap().is_empty());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_leave_makes_the_copies_waiting_for_whoever_left_left_and_no_others() {
    let (dir, mut s) = temp_store("rooms-leave");
    let r = room();
    let mut other = room();
    other.id = "room-ffffffffffffffffffffffffffffffff".into();
    fn out<'a>(room: &'a str, id: &'a str) -> NewMessage<'a> {
        NewMessage {
            peer: room,
            msg_id: id,
            dir: Direction::Out,
            from: "me",
            from_name: "ME",
            text: "hi",
            sent_at: 5,
            state: MsgState::Sent,
        }
    }
    for id in ["m1", "m2"] {
        let ds = [delivery("bob", id), delivery("carol", id)];
        s.send_room(&out(&r.id, id), &ds, None).unwrap();
    }
    let mut elsewhere = delivery("carol", "o1");
    elsewhere.room = other.id.clone();
    s.send_room(&out(&other.id, "o1"), &[elsewhere], Some(&other))
        .unwrap();
    s.mark_delivered_all("me", &[("carol", "m1")]).unwrap();

    // Carol's leave arrives: her copies of m2 (waiting) go; m1 she has; o1 is another room.
    let leave = NewMessage {
        peer: &r.id,
        msg_id: "c1",
        dir: Direction::In,
        from: "carol",
        from_name: "CAROL",
        text: "left the room",
        sent_at: 6,
        state: MsgState::Received,
    };
    let mut after = r.clone();
    after.members.retain(|m| m.id != "carol");
    assert!(s.take_room_change(&leave, &after, Some("carol")).unwrap());
    let waiting: Vec<(String, String)> = s
        .room_unacked(10)
        .unwrap()
        .into_iter()
        .map(|d| (d.member, d.msg_id))
        .collect();
    assert_eq!(
        waiting,
        [
            ("bob".into(), "m1".into()),
            ("bob".into(), "m2".into()),
            ("carol".into(), "o1".into())
        ]
    );
    assert_eq!(
        s.room_states("m2").unwrap(),
        [
            ("bob".into(), "pending".into()),
            ("carol".into(), "left".into())
        ]
    );
    assert_eq!(s.room_states("m1").unwrap()[1].1, "delivered", "kept");
    let bodies: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM room_bodies", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bodies, 3, "one body a message, not one a member");
    // Bob has m1 now: no copy of it waits, its body goes (its text is in history).
    s.mark_delivered_all("me", &[("bob", "m1")]).unwrap();
    let bodies: Vec<String> = s
        .conn
        .prepare("SELECT msg_id FROM room_bodies ORDER BY msg_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(bodies, ["m2", "o1"]);
    assert_eq!(s.history(&r.id, None, 10).unwrap()[0].text, "hi");
    // A late ack from her changes nothing.
    s.mark_delivered_all("me", &[("carol", "m2")]).unwrap();
    assert_eq!(s.room_states("m2").unwrap()[1].1, "left");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_6_room_outbox_migrates_keeping_its_rows() {
    let dir = std::env::temp_dir().join(format!("lanchat-mig7-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(crate::store::HISTORY_FILE);
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        crate::store::migrations::migrate_to(&mut conn, 6).unwrap();
        conn.execute_batch(
            "INSERT INTO room_outbox (id, member, msg_id, room, sent_at, text, change, state)
             VALUES (4, 'bob', 'm1', 'room-x', 5, 'hi', NULL, 'sent'),
                    (9, 'carol', 'm1', 'room-x', 5, 'hi', NULL, 'delivered');",
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    let waiting = s.room_unacked(10).unwrap();
    assert!(waiting.len() == 1 && waiting[0].member == "bob" && waiting[0].sent);
    assert_eq!((waiting[0].text.as_str(), waiting[0].sent_at), ("hi", 5));
    assert_eq!(
        s.room_states("m1").unwrap(),
        [
            ("bob".into(), "sent".into()),
            ("carol".into(), "delivered".into())
        ]
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rooms_marks_are_kept_and_replaced_with_it() {
    let (dir, mut s) = temp_store("marks");
    let mut r = room();
    let mark = |at: u64, by: &str| Mark { at, by: by.into() };
    r.name_mark = mark(7, "bob");
    r.marks.insert("bob".into(), mark(3, "me"));
    r.marks.insert("dave".into(), mark(9, "dave"));
    s.update_room(&r).unwrap();
    assert_eq!(s.rooms().unwrap(), std::slice::from_ref(&r));
    // A later write replaces them (dave's mark goes with the room's).
    r.marks.remove("dave");
    r.name_mark = mark(u64::MAX, "carol");
    s.update_room(&r).unwrap();
    let back = s.rooms().unwrap();
    assert_eq!(back[0].marks.len(), 1);
    assert_eq!(
        back[0].name_mark.at,
        i64::MAX as u64,
        "clamped, not wrapped"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_8_rooms_migrate_with_no_marks() {
    let dir = std::env::temp_dir().join(format!("lanchat-mig9-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(crate::store::HISTORY_FILE);
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        crate::store::migrations::migrate_to(&mut conn, 8).unwrap();
        conn.execute_batch(
            "INSERT INTO rooms (id, name, joined) VALUES ('room-x', '项目组', 1);
             INSERT INTO room_members (room, peer, name, key, addr, port, pos)
             VALUES ('room-x', 'bob', 'Bob', 'k', '', 0, 0);",
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    let rooms = s.rooms().unwrap();
    assert_eq!(
        (rooms[0].name.as_str(), rooms[0].members.len()),
        ("项目组", 1)
    );
    assert_eq!(rooms[0].name_mark, Mark::default());
    assert!(rooms[0].marks.is_empty());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

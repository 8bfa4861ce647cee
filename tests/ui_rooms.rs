//! Rooms in the window (issue 14 item 4), through the real widgets with a fake core: the
//! room sits between Everyone and the people with its unread count, "New room…" makes
//! one, its header adds people, renames and leaves, and the composer sends to it.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use lanchat::node::rooms::{RoomInfo, RoomPerson};
use lanchat::node::{Command, Event};
use ui_common::{peer, window};

const ROOM: &str = "room-0123456789abcdef0123456789abcdef";

fn keyed_peer(id: &str, name: &str) -> lanchat::node::PeerInfo {
    let mut p = peer(id, name);
    p.trust.fingerprint = Some("12345 67890 12345 67890 12345 67890".into());
    p
}

fn room(name: &str) -> RoomInfo {
    let people = [("me", "我"), ("a1", "张三")].map(|(id, name)| RoomPerson {
        id: id.into(),
        name: name.into(),
    });
    RoomInfo {
        id: ROOM.into(),
        name: name.into(),
        members: people.iter().map(|p| p.id.clone()).collect(),
        people: people.into(),
    }
}

#[test]
fn new_room_asks_a_name_and_people_and_makes_it() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: keyed_peer("a1", "张三"),
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "＋ New room…")
        .click();
    harness.run();
    let name = harness.get_by_role_and_label(Role::TextInput, "Name");
    name.focus();
    name.type_text("项目组");
    harness.run();
    harness
        .get_by_role_and_label(Role::CheckBox, "张三")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Make the room")
        .click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::RoomCreate {
            name: "项目组".into(),
            members: vec!["a1".into()],
        }
    );
}

#[test]
fn a_room_shows_unread_then_sends_renames_and_leaves_from_its_header() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: keyed_peer("a1", "张三"),
    });
    fake.feed(Event::RoomJoined { room: room("team") });
    fake.feed(Event::Message {
        room: Some(ROOM.into()),
        from: "a1".into(),
        from_name: "张三".into(),
        msg_id: "m1".into(),
        text: "hello room".into(),
        sent_at: 1_790_000_000_000,
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "👥 team, 1 unread")
        .click();
    harness.run();
    harness.get_by_label("hello room");
    // Several people speak in a room: the bubble says who (the peer's row and the room
    // header name them too).
    assert_eq!(harness.query_all_by_label("张三").count(), 3);
    harness.get_by_label("我, 张三");

    let field = harness.get_by_role_and_label(Role::MultilineTextInput, "Message to team");
    field.focus();
    field.type_text("hi all");
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::Send {
            to: ROOM.into(),
            text: "hi all".into()
        }
    );

    harness
        .get_by_role_and_label(Role::Button, "Rename…")
        .click();
    harness.run();
    let name = harness.get_by_role_and_label(Role::TextInput, "Name");
    name.focus();
    harness.run();
    harness.key_press(egui::Key::Backspace);
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Name")
        .type_text("s2");
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Rename")
        .click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::RoomRename {
            room: ROOM.into(),
            name: "teas2".into()
        }
    );

    harness.get_by_role_and_label(Role::Button, "Leave").click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::RoomLeave { room: ROOM.into() }
    );
    fake.feed(Event::RoomLeft { room: ROOM.into() });
    harness.run();
    assert!(
        harness.query_by_label("👥 team").is_none(),
        "the room is gone from the list"
    );
}

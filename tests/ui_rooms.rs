//! Rooms in the window (issue 14 item 4), through the real widgets with a fake core: the
//! room sits between Everyone and the people with its unread count, "New room…" makes
//! one, its header adds people, renames and leaves, and the composer sends to it; a file
//! a member offers in the room is a card in the room, live and from history.
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

/// Us and three others, as the core tells the window.
fn room_of_four() -> RoomInfo {
    let people = [
        ("me0000000000", "林晓"),
        ("a1", "张三"),
        ("a2", "李四"),
        ("a3", "王五"),
    ]
    .map(|(id, name)| RoomPerson {
        id: id.into(),
        name: name.into(),
    });
    RoomInfo {
        id: ROOM.into(),
        name: "team".into(),
        members: people.iter().map(|p| p.id.clone()).collect(),
        people: people.into(),
    }
}

fn delivered(msg_id: &str, peer: &str) -> Event {
    Event::Delivered {
        msg_id: msg_id.into(),
        to: ROOM.into(),
        peer: Some(peer.into()),
    }
}

#[test]
fn our_room_message_counts_who_has_it_and_names_who_is_waited_for() {
    let (mut harness, fake) = window();
    fake.feed(Event::RoomCreated {
        room: room_of_four(),
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "👥 team")
        .click();
    harness.run();
    fake.feed(Event::Sent {
        msg_id: "s1".into(),
        to: ROOM.into(),
        sent_at: 1_790_000_000_000,
        text: "hi all".into(),
    });
    fake.feed(delivered("s1", "a1"));
    harness.run();
    harness.get_by_label("1/3");
    harness.get_by_label_contains("delivered to 1 of 3: 张三; waiting for 李四, 王五");

    // The same member again changes nothing; another one counts.
    fake.feed(delivered("s1", "a1"));
    fake.feed(delivered("s1", "a2"));
    harness.run();
    harness.get_by_label("2/3");
    harness.get_by_label_contains("delivered to 2 of 3: 张三, 李四; waiting for 王五");

    // 王五 leaves: he is waited for no more, and everyone left has it.
    let mut after = room_of_four();
    after.members.pop();
    after.people.pop();
    fake.feed(Event::RoomChanged {
        room: after,
        by: "a3".into(),
    });
    harness.run();
    assert!(harness.query_by_label("2/3").is_none(), "no count now");
    harness.get_by_label_contains("delivered to everyone at");
    harness.get_by_label_contains(": 张三, 李四");
}

#[test]
fn a_room_page_from_history_shows_each_messages_members() {
    let (mut harness, fake) = window();
    fake.feed(Event::RoomCreated {
        room: room_of_four(),
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "👥 team")
        .click();
    harness.run();
    let ours = |id: i64, msg_id: &str| lanchat::store::StoredMessage {
        peer: ROOM.into(),
        msg_id: msg_id.into(),
        dir: lanchat::store::Direction::Out,
        from: "me0000000000".into(),
        from_name: "林晓".into(),
        state: lanchat::store::MsgState::Sent,
        ..ui_common::stored(id)
    };
    let state = |msg_id: &str, peer: &str, state: &str| lanchat::store::MemberDelivery {
        msg_id: msg_id.into(),
        peer: peer.into(),
        state: state.into(),
    };
    fake.feed(Event::History {
        peer: ROOM.into(),
        messages: vec![ours(1, "h1"), ours(2, "h2"), ours(3, "h3")],
        transfers: Vec::new(),
        deliveries: vec![
            state("h1", "a1", "delivered"),
            state("h1", "a2", "delivered"),
            state("h1", "a3", "delivered"),
            state("h2", "a1", "delivered"),
            state("h2", "a2", "sent"),
            state("h2", "a3", "pending"),
            state("h3", "a1", "delivered"),
            state("h3", "a2", "failed"),
            state("h3", "a3", "delivered"),
        ],
        before: None,
        after: None,
    });
    harness.run();
    harness.get_by_label_contains("delivered to everyone at");
    harness.get_by_label("1/3");
    harness.get_by_label_contains("waiting for 李四, 王五");
    harness.get_by_label("2/3");
    harness.get_by_label_contains("delivered to 2 of 3: 张三, 王五; refused by 李四");
}

#[test]
fn a_member_who_refused_our_room_message_is_named_and_not_waited_for() {
    let (mut harness, fake) = window();
    fake.feed(Event::RoomCreated {
        room: room_of_four(),
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "👥 team")
        .click();
    harness.run();
    fake.feed(Event::Sent {
        msg_id: "s1".into(),
        to: ROOM.into(),
        sent_at: 1_790_000_000_000,
        text: "a long one".into(),
    });
    fake.feed(delivered("s1", "a1"));
    fake.feed(Event::SendFailed {
        msg_id: "s1".into(),
        to: "a2".into(),
        reason: "too long for me".into(),
    });
    harness.run();
    harness.get_by_label_contains("delivered to 1 of 3: 张三; waiting for 王五; refused by 李四");
    fake.feed(delivered("s1", "a3"));
    harness.run();
    harness.get_by_label("2/3");
    harness.get_by_label_contains("delivered to 2 of 3: 张三, 王五; refused by 李四");
}

#[test]
fn a_file_offered_in_a_room_is_a_card_in_the_room_naming_who_offered_it() {
    let (mut harness, fake) = window();
    fake.feed(Event::RoomJoined {
        room: room_of_four(),
    });
    // 李四 is no peer we know yet: the room names them.
    fake.feed(Event::FileOffer {
        verified: false,
        transfer_id: "t1".into(),
        from: "a2".into(),
        name: "报告.pdf".into(),
        size: 2_000_000,
        mime: "application/pdf".into(),
        folder: None,
        room: Some(ROOM.into()),
    });
    harness.run();
    assert!(
        harness.query_by_label_contains("李四, 1 unread").is_none(),
        "not a direct conversation"
    );
    harness
        .get_by_role_and_label(Role::Button, "👥 team, 1 unread")
        .click();
    harness.run();
    harness.get_by_label("报告.pdf");
    assert!(
        harness.query_all_by_label("李四").count() >= 1,
        "the card says who offered it"
    );
    harness
        .get_by_role_and_label(Role::Button, "Accept")
        .click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Accept {
            transfer_id: "t1".into()
        }]
    );
}

#[test]
fn a_file_offered_in_a_room_comes_back_from_history_in_the_room() {
    let (mut harness, fake) = window();
    fake.feed(Event::RoomCreated {
        room: room_of_four(),
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "👥 team")
        .click();
    harness.run();
    let mut t = lanchat::store::Transfer::offered(
        ("t9", "a3", lanchat::store::Direction::In),
        ("纪要.txt", 12, "text/plain"),
        "/tmp/纪要.txt".into(),
        1_790_000_000_000,
    );
    t.state = lanchat::store::TransferState::Done;
    t.room = Some(ROOM.into());
    fake.feed(Event::History {
        peer: ROOM.into(),
        messages: Vec::new(),
        transfers: vec![t],
        deliveries: Vec::new(),
        before: None,
        after: None,
    });
    harness.run();
    harness.get_by_label("纪要.txt");
    harness.get_by_label_contains("Saved in /tmp");
    assert!(
        harness.query_all_by_label("王五").count() >= 1,
        "named by who offered it, not by the room"
    );
}

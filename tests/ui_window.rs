//! The window driven through its real widgets (egui_kittest, by role and label), with the
//! core replaced by channels the test holds: what the user does must come out as
//! Commands, and the Events fed in must show up on screen.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use lanchat::node::status::{Counters, LinkInfo, NetStatus, SocketInfo, WireRecord};
use lanchat::node::{Command, Event};
use ui_common::{message, peer, window};

#[test]
fn typing_and_enter_sends_to_the_open_conversation() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();

    let field = harness.get_by_role_and_label(Role::MultilineTextInput, "Message to 张三");
    field.focus();
    field.type_text("你好 lanchat 👋");
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();

    assert_eq!(
        fake.next_command(),
        Command::Send {
            to: "a1".into(),
            text: "你好 lanchat 👋".into()
        }
    );
    assert_eq!(
        harness
            .get_by_role_and_label(Role::MultilineTextInput, "Message to 张三")
            .value()
            .as_deref(),
        Some(""),
        "the composer is cleared after sending"
    );
}

#[test]
fn shift_enter_is_a_new_line_and_the_send_button_shouts() {
    let (mut harness, fake) = window();
    harness.run();
    let field = harness.get_by_role_and_label(Role::MultilineTextInput, "Message to Everyone");
    field.focus();
    field.type_text("line one");
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
    harness.run();
    harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message to Everyone")
        .type_text("line two");
    harness.run();
    assert!(fake.sent_nothing(), "nothing sent yet");
    harness.get_by_role_and_label(Role::Button, "Send").click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::Shout {
            text: "line one\nline two".into()
        }
    );
}

#[test]
fn a_shout_too_long_for_one_datagram_is_explained_and_not_sent() {
    let (mut harness, fake) = window();
    harness.run();
    let field = harness.get_by_role_and_label(Role::MultilineTextInput, "Message to Everyone");
    field.focus();
    field.type_text(&"长".repeat(500));
    harness.run();
    harness.get_by_label_contains("Too long for Everyone");
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert!(fake.sent_nothing(), "nothing sent");
}

#[test]
fn messages_show_and_unread_counts_rise_and_clear() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    fake.feed(message("a1", "m1", "今天下午开会"));
    fake.feed(message("a1", "m2", "Room 301"));
    harness.run();
    // Everyone is open, so the two messages are unread.
    harness.get_by_role_and_label(Role::Button, "张三, 2 unread");
    assert!(
        harness.query_by_label("今天下午开会").is_none(),
        "not open yet"
    );

    harness
        .get_by_role_and_label(Role::Button, "张三, 2 unread")
        .click();
    harness.run();
    harness.get_by_label("今天下午开会");
    harness.get_by_label("Room 301");
    harness.get_by_role_and_label(Role::Button, "张三");
    assert_eq!(harness.state().state.unread_total(), 0);
}

#[test]
fn our_message_gets_its_delivered_mark() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    fake.feed(Event::Sent {
        msg_id: "m9".into(),
        to: "a1".into(),
        sent_at: 1_790_000_000_000,
        text: "See you at three".into(),
    });
    harness.run();
    harness.get_by_label("See you at three");
    harness.get_by_label_contains("not yet confirmed by their computer");
    assert!(harness.query_by_label_contains("delivered at").is_none());

    fake.feed(Event::Delivered {
        msg_id: "m9".into(),
        to: "a1".into(),
        peer: None,
    });
    harness.run();
    harness.get_by_label_contains("delivered at");
    assert!(
        harness
            .query_by_label_contains("not yet confirmed")
            .is_none()
    );
}

#[test]
fn network_panel_lists_what_it_was_fed_and_polls_only_while_open() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    assert!(fake.sent_nothing(), "closed: no polling");

    harness.get_by_label("🖧 Network").click();
    harness.step(); // the click opens the panel
    harness.step(); // the open panel asks
    assert_eq!(
        fake.next_command(),
        Command::NetStatus,
        "opening asks at once"
    );
    fake.feed(Event::NetStatus(NetStatus {
        interfaces: vec![],
        broadcast_targets: vec!["127.255.255.255:47474".into()],
        unicast: vec![],
        sockets: vec![SocketInfo {
            role: "discovery listener (UDP)".into(),
            local: "0.0.0.0:47474".into(),
        }],
        links: vec![LinkInfo {
            link: 1,
            peer: Some("a1".into()),
            local: "127.0.0.1:40001".into(),
            remote: "127.0.0.1:51234".into(),
            fd: 17,
            outbound: true,
            active: true,
        }],
        counters: Counters {
            beacons_sent: 12,
            beacons_received: 34,
            dropped: [("version".to_owned(), 2)].into(),
            connections_accepted: 70,
            connections_refused: [("evicted".to_owned(), 5)].into(),
            ..Counters::default()
        },
        delivery: vec![],
        recent: vec![WireRecord {
            at: 1_790_000_000_000,
            dir: "in",
            proto: "udp",
            peer: "127.0.0.1:50000".into(),
            len: 171,
            summary: "here from 张三 (port 40002)".into(),
        }],
        ipmsg: Default::default(),
    }));
    harness.step();
    harness.step();
    harness.get_by_label("127.255.255.255:47474");
    harness.get_by_label("0.0.0.0:47474");
    harness.get_by_label("127.0.0.1:51234");
    harness.get_by_label("17");
    harness.get_by_label("34");
    harness.get_by_label("dropped: version");
    harness.get_by_label("connections refused: evicted");
    harness.get_by_label("70");
    harness.get_by_label_contains("here from 张三 (port 40002)");
    harness.get_by_label_contains("heard 34 beacons");
    harness.get_by_label_contains("from a lanchat of another protocol version");
}

#[test]
fn scrolled_up_a_new_message_shows_a_pill_that_leads_back_down() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    for i in 0..60 {
        fake.feed(message("a1", &format!("m{i}"), &format!("line {i}")));
    }
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三, 60 unread")
        .click();
    harness.run();
    assert!(harness.query_by_label_contains("new message").is_none());

    ui_common::wheel(&mut harness, 2000.0);
    assert!(harness.query_by_label("line 59").is_none(), "scrolled up");
    fake.feed(message("a1", "m60", "the newest line"));
    harness.run();
    harness.get_by_label_contains("1 new message").click();
    harness.run();
    harness.run();
    assert!(
        harness.query_by_label_contains("new message").is_none(),
        "back at the bottom, the pill is gone"
    );
}

#[test]
fn unfocused_window_counts_messages_to_the_open_chat_as_unread() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    harness.input_mut().focused = false;
    fake.feed(message("a1", "m1", "are you there?"));
    harness.run();
    assert_eq!(harness.state().state.unread_total(), 1);
    harness.input_mut().focused = true;
    harness.run();
    assert_eq!(harness.state().state.unread_total(), 0, "seen once focused");
}

#[test]
fn stored_history_is_asked_for_once_and_shown_before_live_messages() {
    use lanchat::store::{Direction, MsgState, StoredMessage};
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    let asked: Vec<Command> = fake.commands.try_iter().collect();
    assert!(
        asked.contains(&Command::History {
            peer: "a1".into(),
            limit: 200,
            before: None,
            after: None
        }),
        "opening a chat asks for its history: {asked:?}"
    );
    fake.feed(Event::History {
        peer: "a1".into(),
        messages: vec![StoredMessage {
            id: 1,
            peer: "a1".into(),
            msg_id: "old1".into(),
            dir: Direction::Out,
            from: "me0000000000".into(),
            from_name: "林晓".into(),
            text: "昨天的消息".into(),
            sent_at: 1_789_900_000_000,
            state: MsgState::Delivered,
            reason: None,
        }],
        transfers: vec![],
        deliveries: Vec::new(),
        before: None,
        after: None,
    });
    harness.run();
    harness.get_by_label("昨天的消息");
    harness.get_by_label_contains("delivered at");
    harness
        .get_by_role_and_label(Role::Button, "Everyone")
        .click();
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    assert!(
        fake.commands
            .try_iter()
            .all(|c| !matches!(c, Command::History { ref peer, .. } if peer == "a1")),
        "asked once"
    );
}

#[test]
fn a_short_conversation_sits_at_the_bottom_next_to_the_composer() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    fake.feed(message("a1", "m1", "第一条"));
    fake.feed(message("a1", "m2", "the latest"));
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三, 2 unread")
        .click();
    harness.run();
    let composer = harness.get_by_label("Message to 张三").rect();
    let first = harness.get_by_label("第一条").rect();
    let latest = harness.get_by_label("the latest").rect();
    assert!(
        first.bottom() < latest.top() && latest.bottom() <= composer.top(),
        "in order, above the composer: {first:?} {latest:?} {composer:?}"
    );
    assert!(
        composer.top() - latest.bottom() < 80.0,
        "the newest message is next to the composer, not at the top of an empty view: \
         {latest:?} vs {composer:?}"
    );
}

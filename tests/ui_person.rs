//! The window as a person meets it (issue 17), driven through its real widgets: status
//! icons, live search in the left panel, the composer focused on opening a chat, a
//! small window, last seen, characters left for a shout, the file chooser when the
//! desktop has none, and links in messages.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT as _, Queryable};
use lanchat::node::{Command, Event, LeftReason, PeerInfo, Protocol};
use lanchat::store::{Direction, MsgState, StoredMessage};
use ui_common::{Fake, message, peer, window};

fn with_status(id: &str, name: &str, online: bool, status: &str) -> PeerInfo {
    PeerInfo {
        online,
        status: status.into(),
        ..peer(id, name)
    }
}

/// A window with 张三 (online) open.
fn chat_with_zhang() -> (egui_kittest::Harness<'static, lanchat::ui::App>, Fake) {
    chat_with_zhang_checked(true)
}

fn chat_with_zhang_checked(
    accessibility: bool,
) -> (egui_kittest::Harness<'static, lanchat::ui::App>, Fake) {
    let (mut harness, fake) = ui_common::window_checked(accessibility);
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    (harness, fake)
}

#[test]
fn each_presence_has_its_own_icon_and_the_header_says_the_status() {
    let (mut harness, fake) = window();
    for p in [
        with_status("a1", "Alice", true, "online"),
        with_status("b2", "Bob", true, "away"),
        with_status("c3", "Carol", true, "in a meeting"),
        with_status("d4", "Dan", false, "online"),
    ] {
        fake.feed(Event::PeerJoined { peer: p });
    }
    fake.feed(Event::StatusChanged {
        status: "busy".into(),
    });
    harness.run();
    let icons: Vec<String> = harness
        .query_all_by_role(Role::Image)
        .filter_map(|n| n.accesskit_node().label())
        .collect();
    for word in ["online", "away", "offline"] {
        assert!(icons.iter().any(|l| l == word), "an {word} icon: {icons:?}");
    }
    // Ours (busy) and Carol's (in a meeting) are both busy, never the offline ring.
    assert_eq!(
        icons.iter().filter(|l| *l == "busy").count(),
        2,
        "{icons:?}"
    );
    assert_eq!(
        icons.iter().filter(|l| *l == "offline").count(),
        1,
        "{icons:?}"
    );

    harness.get_by_role_and_label(Role::Button, "Carol").click();
    harness.run();
    harness.get_by_label("in a meeting");
}

#[test]
fn search_shows_results_as_you_type_beside_the_list_and_a_hit_closes_it() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    let list_row = harness
        .get_by_role_and_label(Role::Button, "Everyone")
        .rect();
    // The clock stands still while typing.
    harness.input_mut().time = Some(1000.0);
    let field = harness.get_by_role_and_label(Role::TextInput, "Search messages");
    field.focus();
    field.type_text("开会");
    harness.run();
    assert!(fake.sent_nothing(), "not while typing");
    harness.input_mut().time = Some(1000.3); // the typing paused
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Search {
            query: "开会".into(),
            limit: 200
        }]
    );
    harness.get_by_label("Searching…");
    fake.feed(Event::SearchResults {
        query: "开会".into(),
        hits: vec![StoredMessage {
            id: 7,
            peer: "a1".into(),
            msg_id: "h7".into(),
            dir: Direction::In,
            from: "a1".into(),
            from_name: "张三".into(),
            text: "明天下午的会议改到四点了，记得带电脑，开会前发一下报告。好吗？".into(),
            sent_at: 1_790_000_000_000,
            state: MsgState::Received,
            reason: None,
        }],
    });
    harness.run();
    harness.get_by_label("1 message");
    // The results are in the left panel: the name and the conversation stay in view.
    let hit = harness
        .get_by_role_and_label(
            Role::Button,
            "张三: 明天下午的会议改到四点了，记得带电脑，开会前发一下报告。好吗？",
        )
        .rect();
    assert!(
        hit.right() <= list_row.right() + 0.5,
        "a long hit wraps; the panel does not grow: {hit:?} vs {list_row:?}"
    );
    let name = harness.get_by_label("林晓").rect();
    let composer = harness.get_by_label("Message to Everyone").rect();
    assert!(
        hit.left() < composer.left() && hit.top() > name.bottom(),
        "{hit:?}"
    );
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "张三")
            .is_none(),
        "the list makes way for the results"
    );

    harness
        .get_by_role_and_label(
            Role::Button,
            "张三: 明天下午的会议改到四点了，记得带电脑，开会前发一下报告。好吗？",
        )
        .click();
    harness.run();
    assert_eq!(
        harness.state().state.selected,
        lanchat::ui::state::ConvKey::Peer("a1".into())
    );
    assert_eq!(
        harness
            .get_by_role_and_label(Role::TextInput, "Search messages")
            .value()
            .as_deref(),
        Some(""),
        "closing clears the query"
    );
    harness.get_by_role_and_label(Role::Button, "张三");
}

#[test]
fn escape_closes_the_search() {
    let (mut harness, fake) = window();
    harness.run();
    let field = harness.get_by_role_and_label(Role::TextInput, "Search messages");
    field.focus();
    field.type_text("lunch");
    harness.run();
    harness.run();
    fake.user_commands();
    harness.get_by_role_and_label(Role::Button, "Close the search");
    harness.key_press(egui::Key::Escape);
    harness.run();
    assert!(harness.query_by_label("Searching…").is_none());
    assert!(!harness.state().view.search.active());
    harness.get_by_role_and_label(Role::Button, "Everyone");
}

#[test]
fn opening_a_conversation_puts_the_cursor_in_the_message_box() {
    let (mut harness, fake) = chat_with_zhang();
    // Typed straight away, with no click in the field.
    harness.event(egui::Event::Text("马上到".into()));
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::Send {
            to: "a1".into(),
            text: "马上到".into()
        }
    );
}

/// Whether `rect` lies inside a window of `size`.
fn inside(rect: egui::Rect, size: egui::Vec2) -> bool {
    rect.min.x >= 0.0
        && rect.min.y >= 0.0
        && rect.max.x <= size.x + 0.5
        && rect.max.y <= size.y + 0.5
}

#[test]
fn a_small_window_keeps_the_conversation_and_send_in_view() {
    for (size, network) in [
        (egui::vec2(640.0, 420.0), false),
        (egui::vec2(640.0, 420.0), true),
        (egui::vec2(520.0, 380.0), false),
        (egui::vec2(1000.0, 700.0), true),
        (egui::vec2(1300.0, 760.0), true),
    ] {
        let (mut harness, fake) = window();
        harness.set_size(size);
        fake.feed(Event::PeerJoined {
            peer: peer("a1", "张三"),
        });
        fake.feed(message("a1", "m1", "会议室换到了 301"));
        harness.run();
        harness
            .get_by_role_and_label(Role::Button, "张三, 1 unread")
            .click();
        harness.run();
        let send = harness.get_by_role_and_label(Role::Button, "Send").rect();
        let field = harness.get_by_label("Message to 张三").rect();
        if network {
            harness.get_by_label("🖧 Network").click();
            harness.run();
            fake.feed(wide_net_status());
            harness.run();
            let left = harness.get_by_label("Network").rect();
            let close = harness
                .get_by_role_and_label(Role::Button, "Close the network panel")
                .rect();
            let panel = left.union(close);
            let field = harness.get_by_label("Message to 张三").rect();
            assert!(
                panel.right() <= field.left() || field.right() <= panel.left(),
                "the network panel beside the conversation, not over it, at {size:?}: \
                 {panel:?} {field:?}"
            );
        }
        let text = harness.get_by_label("会议室换到了 301").rect();
        for (what, r) in [
            ("Send", send),
            ("the message box", field),
            ("the message", text),
        ] {
            assert!(
                inside(r, size),
                "{what} in a {size:?} window (network {network}): {r:?}"
            );
        }
        assert!(field.width() > 150.0, "room to type: {field:?}");
    }
}

#[test]
fn last_seen_is_when_the_peer_was_last_heard() {
    let (mut harness, fake) = window();
    let joined = 1_790_000_000_000; // long ago
    fake.feed(Event::PeerJoined {
        peer: PeerInfo {
            last_seen: joined,
            ..peer("a1", "张三")
        },
    });
    harness.run();
    fake.commands.try_iter().count();
    fake.feed(Event::PeerLeft {
        id: "a1".into(),
        reason: LeftReason::Timeout,
        name: "张三".into(),
        protocol: Protocol::Lanchat,
    });
    harness.run();
    assert!(
        fake.commands.try_iter().any(|c| c == Command::Peers),
        "the window asks the core, whose table knows when it was last heard"
    );
    let heard = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
        - 15_000;
    fake.feed(Event::Peers {
        peers: vec![PeerInfo {
            online: false,
            last_seen: heard,
            ..peer("a1", "张三")
        }],
    });
    harness.run();
    harness.get_by_label_contains("last seen today at");
}

#[test]
fn a_shout_counts_characters_left_and_too_long_goes_to_each_person() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    fake.feed(Event::PeerJoined {
        peer: peer("b2", "Bob"),
    });
    harness.run();
    let field = harness.get_by_role_and_label(Role::MultilineTextInput, "Message to Everyone");
    field.focus();
    field.type_text(&"长".repeat(300));
    harness.run();
    harness.get_by_label_contains("characters left");
    harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message to Everyone")
        .type_text(&"长".repeat(120));
    harness.run();
    harness.get_by_label_contains("Too long for Everyone: remove");
    assert!(
        harness.query_by_label_contains("bytes").is_none(),
        "no bytes"
    );
    harness
        .get_by_role_and_label(Role::Button, "Send to each of the 2 people online")
        .click();
    harness.run();
    let mut sent: Vec<String> = fake
        .user_commands()
        .into_iter()
        .map(|c| match c {
            Command::Send { to, text } if text == "长".repeat(420) => to,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    sent.sort();
    assert_eq!(sent, ["a1", "b2"]);
}

#[test]
fn the_paperclip_opens_lanchats_own_chooser_where_the_desktop_has_none() {
    // egui_file's own fields have no accessible names.
    let (mut harness, _fake) = chat_with_zhang_checked(false);
    harness
        .get_by_role_and_label(Role::Button, "Attach a file")
        .click();
    harness.run();
    harness.get_by_label_contains("This desktop has no file chooser lanchat can use");
    harness.get_by_label_contains("Send files to 张三");
}

#[test]
fn the_folder_button_opens_lanchats_own_folder_chooser_where_the_desktop_has_none() {
    let (mut harness, _fake) = chat_with_zhang_checked(false);
    harness
        .get_by_role_and_label(Role::Button, "Send a folder")
        .click();
    harness.run();
    harness.get_by_label_contains("drop files and folders on the window");
    harness.get_by_label_contains("Send a folder to 张三");
}

#[test]
fn a_link_in_a_message_opens_in_the_browser() {
    let (mut harness, fake) = chat_with_zhang();
    fake.feed(message("a1", "m1", "https://example.com/报告 是新的"));
    harness.run();
    let label = harness.get_by_label("https://example.com/报告 是新的");
    let r = label.rect();
    click_at(&mut harness, egui::pos2(r.left() + 12.0, r.center().y));
    assert_eq!(harness.state().view.opened, ["https://example.com/"]);
    // The words after it are not the link.
    click_at(&mut harness, egui::pos2(r.right() - 4.0, r.center().y));
    assert_eq!(harness.state().view.opened.len(), 1);
}

fn click_at(harness: &mut egui_kittest::Harness<'static, lanchat::ui::App>, pos: egui::Pos2) {
    harness.hover_at(pos);
    harness.run();
    harness.drag_at(pos);
    harness.drop_at(pos);
    harness.run();
}

#[test]
fn a_message_sent_to_an_offline_peer_shows_at_once_with_a_clock() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: PeerInfo {
            online: false,
            ..peer("a1", "张三")
        },
    });
    for i in 0..30 {
        fake.feed(message("a1", &format!("m{i}"), &format!("line {i}")));
    }
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三, 30 unread")
        .click();
    harness.run();
    harness.get_by_label_contains("张三 is offline: your message waits here");
    // The only event a message to an offline peer brings: no delivery report follows,
    // so the frame it wakes must show it.
    fake.feed(Event::Sent {
        msg_id: "s1".into(),
        to: "a1".into(),
        sent_at: 1_790_000_000_000,
        text: "call me when you are back".into(),
    });
    harness.step();
    let bubble = harness.get_by_label("call me when you are back").rect();
    let composer = harness.get_by_label("Message to 张三").rect();
    assert!(
        bubble.bottom() <= composer.top(),
        "{bubble:?} above {composer:?}"
    );
    assert!(
        bubble.bottom() > composer.top() - 120.0,
        "at the bottom: {bubble:?}"
    );
    harness.get_by_label_contains("waiting: it goes out when they are back online");
}

/// A network snapshot whose tables are as wide as a real one's.
fn wide_net_status() -> Event {
    use lanchat::node::status::{Counters, NetStatus, SocketInfo};
    let socket = |role: &str, local: &str| SocketInfo {
        role: role.into(),
        local: local.into(),
    };
    Event::NetStatus(NetStatus {
        interfaces: vec![],
        broadcast_targets: vec!["127.255.255.255:47911".into()],
        unicast: vec![],
        sockets: vec![
            socket("discovery listener (UDP)", "127.255.255.255:47911"),
            socket("discovery sender (UDP)", "127.0.0.1:58500"),
            socket("link listener (TCP)", "127.0.0.1:37683"),
        ],
        links: vec![],
        counters: Counters::default(),
        delivery: vec![],
        recent: vec![],
        ipmsg: Default::default(),
    })
}

#[test]
fn the_first_run_says_what_is_true_about_who_can_appear() {
    let (mut harness, fake) = window(); // bound to 127.0.0.1
    harness.run();
    harness.get_by_label("Nobody here yet");
    harness.get_by_label_contains("lanchat is confined to this computer");
    harness.get_by_label("This computer: lab-01");
    fake.feed(Event::Ready {
        id: "me0000000000".into(),
        fingerprint: "12345 67890 12345 67890 12345 67890".into(),
        name: "林晓".into(),
        host: "lab-01".into(),
        addr: "0.0.0.0".into(),
        port: 40001,
        discovery_port: 47474,
        data_dir: "/nonexistent".into(),
    });
    harness.run();
    harness.get_by_label_contains("People on your network who run lanchat appear here");
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    assert!(harness.query_by_label("Nobody here yet").is_none());
}

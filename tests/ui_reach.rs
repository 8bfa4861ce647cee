//! "Add by address…" driven through its real widgets (egui_kittest): a mistake is said
//! before anything is sent, a good address becomes `add_peer`, the list follows
//! `peer_added`/`peer_removed` with each address's state from `net_status`, and "Remove"
//! becomes `remove_peer`.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use lanchat::node::status::{Counters, NetStatus};
use lanchat::node::{Command, Event, UnicastInfo, UnicastOrigin};
use ui_common::window;

#[test]
fn add_by_address_checks_adds_lists_and_removes() {
    let (mut harness, fake) = window();
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "🔗 Add by address…")
        .click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::NetStatus,
        "each address's state"
    );
    harness.get_by_label("No address added yet.");

    // This window's node is confined to loopback: another address is refused at once.
    let field = harness.get_by_role_and_label(Role::TextInput, "Their address");
    field.focus();
    field.type_text("10.0.2.7");
    harness.run();
    harness.get_by_label_contains("10.0.2.7:47474: not a loopback address");
    assert!(fake.sent_nothing(), "nothing asked of the core");

    // A bad port, said as the core would.
    clear(&mut harness);
    harness
        .get_by_role_and_label(Role::TextInput, "Their address")
        .type_text("127.0.0.2:0");
    harness.run();
    harness.get_by_label_contains("the port must be 1 to 65535");

    clear(&mut harness);
    harness
        .get_by_role_and_label(Role::TextInput, "Their address")
        .type_text("127.0.0.2");
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Add").click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::AddPeer {
            addr: "127.0.0.2:47474".into()
        }
    );

    // The core says it is on the list, and what became of it.
    fake.feed(Event::PeerAdded {
        addr: "127.0.0.2:47474".into(),
    });
    let mut status = empty_status();
    status.unicast = vec![UnicastInfo {
        addr: "127.0.0.2:47474".into(),
        origin: UnicastOrigin::Added,
        state: "unreachable",
        resolved: None,
        last_heard: None,
        error: Some("no answer for 4 intervals".into()),
    }];
    fake.feed(Event::NetStatus(status));
    harness.run();
    harness.get_by_label("127.0.0.2:47474");
    harness.get_by_label("unreachable: no answer for 4 intervals");

    harness
        .get_by_role_and_label(Role::Button, "Remove")
        .click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::RemovePeer {
            addr: "127.0.0.2:47474".into()
        }
    );
    fake.feed(Event::PeerRemoved {
        addr: "127.0.0.2:47474".into(),
    });
    harness.run();
    harness.get_by_label("No address added yet.");

    harness.get_by_role_and_label(Role::Button, "Done").click();
    harness.run();
    assert!(harness.query_by_label("No address added yet.").is_none());
    assert!(fake.sent_nothing(), "closing sends nothing");

    // The title bar's ✕ closes it too.
    harness
        .get_by_role_and_label(Role::Button, "🔗 Add by address…")
        .click();
    harness.run();
    harness.get_by_label("No address added yet.");
    harness
        .get_by_role_and_label(Role::Button, "Close window")
        .click();
    harness.run();
    assert!(harness.query_by_label("No address added yet.").is_none());
}

/// Empties the address field (select all, delete).
fn clear(harness: &mut egui_kittest::Harness<'static, lanchat::ui::App>) {
    let field = harness.get_by_role_and_label(Role::TextInput, "Their address");
    field.focus();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    harness.run();
}

fn empty_status() -> NetStatus {
    NetStatus {
        interfaces: vec![],
        broadcast_targets: vec![],
        unicast: vec![],
        sockets: vec![],
        links: vec![],
        counters: Counters::default(),
        delivery: vec![],
        recent: vec![],
        ipmsg: Default::default(),
    }
}

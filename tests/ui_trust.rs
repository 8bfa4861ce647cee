//! Trust in the window (issue 11), driven through its real widgets: the verified / not
//! verified badge on every peer row and conversation header, the "Verify…" window with
//! the safety code as digits and as a QR code and the commands its buttons send, the
//! warning for a key changed under a verified name, the public note on Everyone, and the
//! setting for files from strangers.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use lanchat::config::AutoAccept;
use lanchat::node::{Command, Event, PeerInfo, PeerTrust, Protocol};
use ui_common::{Fake, peer, window};

/// Twelve groups of five digits, as the core says a safety code.
const CODE: &str = "11111 22222 33333 44444 55555 66666 77777 88888 99999 12345 67890 13579";

/// A lanchat v2 peer, its key known, not verified.
fn unverified(id: &str, name: &str) -> PeerInfo {
    PeerInfo {
        trust: PeerTrust {
            fingerprint: Some("12345 12345 12345 12345 12345 12345".into()),
            verified: false,
            key_changed_from: None,
            encrypted: true,
        },
        ..peer(id, name)
    }
}

fn verified(id: &str, name: &str) -> PeerInfo {
    let mut p = unverified(id, name);
    p.trust.verified = true;
    p
}

/// The window with 张三 (`a1`, as given) known and their conversation open.
fn open_chat(p: PeerInfo) -> (egui_kittest::Harness<'static, lanchat::ui::App>, Fake) {
    let (mut harness, fake) = window();
    let name = p.name.clone();
    fake.feed(Event::PeerJoined { peer: p });
    harness.run();
    harness.get_by_role_and_label(Role::Button, &name).click();
    harness.run();
    (harness, fake)
}

#[test]
fn every_row_and_the_header_say_whether_the_peer_is_verified() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: verified("a1", "张三"),
    });
    fake.feed(Event::PeerJoined {
        peer: unverified("b2", "李四"),
    });
    fake.feed(Event::PeerJoined {
        peer: PeerInfo {
            protocol: Protocol::Ipmsg,
            ..peer("ipmsg-c", "王五")
        },
    });
    harness.run();
    assert_eq!(harness.query_all_by_label("✔ verified").count(), 1);
    assert_eq!(harness.query_all_by_label("not verified").count(), 1);
    assert!(
        harness
            .query_by_label_contains("IPMsg, not encrypted")
            .is_some(),
        "the IPMsg peer says it is not encrypted, as before"
    );

    harness.get_by_role_and_label(Role::Button, "李四").click();
    harness.run();
    assert_eq!(
        harness.query_all_by_label("not verified").count(),
        2,
        "the row and the header"
    );
    harness
        .query_all_by_label("not verified")
        .last()
        .expect("the header's badge")
        .hover();
    harness.run();
    harness.get_by_label_contains("you have not compared safety codes with 李四");

    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    assert_eq!(harness.query_all_by_label("✔ verified").count(), 2);
    assert!(fake.sent_nothing(), "looking sends nothing");
}

#[test]
fn the_verify_window_shows_the_code_as_digits_and_qr_and_marks_verified() {
    let (mut harness, fake) = open_chat(unverified("a1", "张三"));
    harness
        .get_by_role_and_label(Role::Button, "Verify…")
        .click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::SafetyCode { peer: "a1".into() }
    );
    harness.get_by_label("Asking for the safety code…");

    fake.feed(Event::SafetyCode {
        peer: "a1".into(),
        name: "张三".into(),
        code: CODE.into(),
        verified: false,
    });
    harness.run();
    for group in CODE.split(' ') {
        harness.get_by_label(group);
    }
    harness.get_by_role_and_label(Role::Image, lanchat::ui::verify::QR_LABEL);
    harness.get_by_label_contains("what 张三's screen shows");
    harness
        .get_by_role_and_label(Role::Button, "They match — mark verified")
        .click();
    harness.run();
    assert_eq!(fake.next_command(), Command::Verify { peer: "a1".into() });
    assert!(
        harness.query_by_label("11111").is_none(),
        "the window closes after deciding"
    );
}

#[test]
fn not_now_sends_nothing_and_a_verified_peer_can_be_unverified_from_its_menu() {
    let (mut harness, fake) = open_chat(unverified("a1", "张三"));
    harness
        .get_by_role_and_label(Role::Button, "Verify…")
        .click();
    harness.run();
    fake.feed(Event::SafetyCode {
        peer: "a1".into(),
        name: "张三".into(),
        code: CODE.into(),
        verified: false,
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Not now")
        .click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::SafetyCode { peer: "a1".into() }],
        "only the code was asked for"
    );

    fake.feed(Event::PeerChanged {
        peer: verified("a1", "张三"),
    });
    harness.run();
    // The row's menu (a right click) offers "Verify…" too.
    harness
        .get_all_by_role_and_label(Role::Button, "张三")
        .next()
        .expect("the row")
        .click_secondary();
    harness.run();
    let items: Vec<_> = harness
        .query_all_by_role_and_label(Role::Button, "Verify…")
        .collect();
    assert_eq!(items.len(), 2, "the header's button and the menu's item");
    items.last().expect("the menu item").click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::SafetyCode { peer: "a1".into() }
    );
    fake.feed(Event::SafetyCode {
        peer: "a1".into(),
        name: "张三".into(),
        code: CODE.into(),
        verified: true,
    });
    harness.run();
    assert!(
        harness
            .query_by_label("They match — mark verified")
            .is_none()
    );
    harness
        .get_by_role_and_label(Role::Button, "Unverify")
        .click();
    harness.run();
    assert_eq!(fake.next_command(), Command::Unverify { peer: "a1".into() });
}

#[test]
fn a_key_changed_under_a_verified_name_is_a_separate_peer_with_a_warning() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: verified("a1", "张三"),
    });
    let other = PeerInfo {
        trust: PeerTrust {
            key_changed_from: Some("a1".into()),
            encrypted: true,
            ..PeerTrust::default()
        },
        ..peer("b2", "张三")
    };
    fake.feed(Event::KeyChanged {
        peer: other,
        name: "张三".into(),
        verified_peer: "a1".into(),
    });
    harness.run();
    let rows = harness
        .query_all_by_role_and_label(Role::Button, "张三")
        .count();
    assert_eq!(rows, 2, "never merged: two rows under one name");
    harness.get_by_label("⚠ key changed");
    harness.get_by_label("✔ verified");
    // The error banner tells it wherever the user is.
    harness.get_by_label_contains("has a different key from the 张三 you verified");

    // The conversation with the other key warns until it is verified (a click on the
    // badge is a click on its row).
    harness.get_by_label("⚠ key changed").click();
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Dismiss")
        .click();
    harness.run();
    harness.get_by_label_contains("Not the 张三 you verified");
    assert_eq!(harness.query_all_by_label("⚠ key changed").count(), 2);
    assert!(fake.sent_nothing());
}

#[test]
fn everyone_says_shouts_are_public() {
    let (mut harness, _fake) = window();
    harness.run();
    harness.get_by_label_contains("public: signed, not encrypted");
}

#[test]
fn files_from_strangers_can_wait_while_verified_peers_send_at_once() {
    let (mut harness, fake) = window();
    harness.run();
    harness.get_by_label("⚙ Settings").click();
    harness.run();
    harness
        .get_by_role_and_label(Role::RadioButton, "Accept at once from verified peers only")
        .click();
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Apply").click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::SetAutoAccept {
            from: AutoAccept::Verified
        }]
    );
}

#[test]
fn an_offer_from_a_peer_never_verified_says_so() {
    let (mut harness, fake) = window();
    fake.feed(Event::PeerJoined {
        peer: unverified("b2", "李四"),
    });
    fake.feed(Event::PeerJoined {
        peer: verified("a1", "张三"),
    });
    for (id, from) in [("t-stranger", "b2"), ("t-friend", "a1")] {
        fake.feed(Event::FileOffer {
            transfer_id: id.into(),
            from: from.into(),
            verified: from == "a1",
            name: format!("{id}.pdf"),
            size: 1000,
            mime: "application/pdf".into(),
            folder: None,
            room: None,
        });
    }
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "李四, 1 unread")
        .click();
    harness.run();
    harness.get_by_label("t-stranger.pdf");
    harness.get_by_label("From someone you have not verified");
    harness
        .get_by_role_and_label(Role::Button, "张三, 1 unread")
        .click();
    harness.run();
    harness.get_by_label("t-friend.pdf");
    assert!(
        harness
            .query_by_label("From someone you have not verified")
            .is_none()
    );
}

#[test]
fn a_peer_whose_key_was_never_heard_cannot_be_verified_yet_and_is_told_why() {
    let (mut harness, fake) = open_chat(PeerInfo {
        online: false,
        ..peer("a1", "张三")
    });
    harness
        .get_by_role_and_label(Role::Button, "Verify…")
        .click();
    harness.run();
    assert_eq!(
        fake.next_command(),
        Command::SafetyCode { peer: "a1".into() }
    );
    fake.feed(Event::Error {
        message: "张三 has no key known yet".into(),
    });
    harness.run();
    harness.get_by_label(lanchat::ui::verify::NO_KEY_YET);
    assert!(
        harness
            .query_by_label("They match — mark verified")
            .is_none()
    );
    harness.get_by_role_and_label(Role::Button, "Close").click();
    harness.run();
    assert!(
        harness
            .query_by_label(lanchat::ui::verify::NO_KEY_YET)
            .is_none()
    );
    assert!(fake.sent_nothing());
}

#[test]
fn the_network_panel_explains_forged_presence_and_failed_handshakes() {
    use lanchat::node::status::{Counters, NetStatus};
    let (mut harness, fake) = window();
    harness.run();
    harness.get_by_label("🖧 Network").click();
    harness.step();
    harness.step();
    assert_eq!(fake.next_command(), Command::NetStatus);
    fake.feed(Event::NetStatus(NetStatus {
        interfaces: vec![],
        broadcast_targets: vec![],
        sockets: vec![],
        links: vec![],
        counters: Counters {
            dropped: [("tampered".to_owned(), 3), ("replayed".to_owned(), 9)].into(),
            handshakes_failed: [("wrong_peer".to_owned(), 1)].into(),
            ..Counters::default()
        },
        delivery: vec![],
        recent: vec![],
        ipmsg: Default::default(),
        unicast: vec![],
    }));
    harness.step();
    harness.step();
    harness.get_by_label("dropped: replayed");
    harness.get_by_label("handshakes failed: wrong_peer");
    // Tall enough that the counters are on screen, where a pointer can rest on them.
    harness.set_size(egui::vec2(1100.0, 1600.0));
    harness.step();
    harness.get_by_label("dropped: tampered").hover();
    harness.run_steps(8); // tooltips wait for the pointer to rest
    harness.get_by_label_contains("changed on the way");
}

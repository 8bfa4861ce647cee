//! "Let a browser join…" driven through its real widgets (egui_kittest): it starts the page
//! for browsers, shows the link and its QR code once the core says `web_ready`, counts the
//! browser visitors, makes a new link, stops, and closes.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use lanchat::node::{Command, Event, Protocol};
use ui_common::{peer, window};

const URL: &str = "http://127.0.0.1:43210/t/0123456789abcdef0123456789abcdef/";

#[test]
fn let_a_browser_join_starts_shows_the_link_and_stops() {
    let (mut harness, fake) = window();
    harness.run();
    assert!(
        harness
            .query_by_label("Start the page for browsers")
            .is_none()
    );
    harness
        .get_by_role_and_label(Role::Button, "🌐 Let a browser join…")
        .click();
    harness.run();

    // Off: it says what it is, and that it is not encrypted, then starts on any port.
    harness.get_by_label_contains("Not encrypted");
    harness
        .get_by_role_and_label(Role::Button, "Start the page for browsers")
        .click();
    harness.run();
    assert_eq!(fake.next_command(), Command::WebStart { port: 0 });

    // On: the link as text and as a QR code, and who is here.
    fake.feed(Event::WebReady {
        url: URL.into(),
        links: vec![URL.into()],
        port: 43210,
    });
    harness.run();
    harness.get_by_label(URL);
    harness.get_by_role_and_label(Role::Image, "QR code of the link");
    harness.get_by_label("No browser visitors yet.");
    assert!(
        harness
            .query_by_label("Start the page for browsers")
            .is_none()
    );
    let mut visitor = peer("web-0001", "小红");
    visitor.protocol = Protocol::Web;
    fake.feed(Event::PeerJoined { peer: visitor });
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_label("1 browser visitor is here.");

    // A new link, then stop: the page is off again.
    harness
        .get_by_role_and_label(Role::Button, "New link")
        .click();
    harness.run();
    assert_eq!(fake.next_command(), Command::WebNewLink);
    harness.get_by_role_and_label(Role::Button, "Stop").click();
    harness.run();
    assert_eq!(fake.next_command(), Command::WebStop);
    fake.feed(Event::WebStopped);
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Start the page for browsers");
    assert!(harness.query_by_label(URL).is_none(), "no link while off");

    // Closing the window leaves the page as it is.
    harness
        .get_by_role_and_label(Role::Button, "Close window")
        .click();
    harness.run();
    assert!(
        harness
            .query_by_label("Start the page for browsers")
            .is_none()
    );
    assert!(fake.sent_nothing(), "closing sends nothing");
}

#[test]
fn the_page_started_from_the_command_line_shows_its_link_when_opened() {
    let (mut harness, fake) = window();
    fake.feed(Event::WebReady {
        url: URL.into(),
        links: vec![URL.into(), "http://192.168.1.20:43210/t/0123/".into()],
        port: 43210,
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "🌐 Let a browser join…")
        .click();
    harness.run();
    harness.get_by_label(URL);
    harness.get_by_label("http://192.168.1.20:43210/t/0123/");
    harness.get_by_role_and_label(Role::Button, "Close").click();
    harness.run();
    assert!(harness.query_by_label(URL).is_none());
    assert!(fake.sent_nothing());
}

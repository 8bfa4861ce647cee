//! The window over a real core on loopback, against a second node acting as the other
//! peer: a message typed in the window arrives at the node, and the node's reply shows
//! in the window. Nothing leaves 127.0.0.1.
#![cfg(feature = "gui")]

mod common;
mod ui_common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{TempDir, free_udp_port};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lanchat::config::Config;
use lanchat::node::{self, Command, Event, NodeHandle};
use lanchat::ui::{App, Backend};

const DEADLINE: Duration = Duration::from_secs(15);

fn named(dir: PathBuf, port: u16, name: &str) -> Config {
    Config {
        name: Some(name.to_owned()),
        ..Config::loopback(dir, port)
    }
}

/// A second node, Bob, and the window over a core of its own, both on loopback; returns
/// once the window lists Bob, with the moment the test started.
fn window_beside_bob(dir: &TempDir) -> (Harness<'static, App>, NodeHandle, Instant) {
    let port = free_udp_port();
    let bob = node::spawn(named(dir.join("bob"), port, "Bob"), node::no_waker())
        .expect("start the other peer on loopback");
    let backend = Backend::spawn(named(dir.join("me"), port, "林晓"), node::no_waker())
        .expect("start the window's core on loopback");
    let mut harness = ui_common::harness(App::new(backend).without_notifications());
    // Both cores say hello on start; the window lists Bob once it has heard him.
    let start = Instant::now();
    while harness
        .query_by_role_and_label(Role::Button, "Bob")
        .is_none()
    {
        assert!(start.elapsed() < DEADLINE, "the window never listed Bob");
        let _ = bob.events.recv_timeout(Duration::from_millis(20));
        harness.step();
    }
    (harness, bob, start)
}

#[test]
fn a_typed_message_reaches_a_node_and_its_reply_shows() {
    let dir = TempDir::new("ui-loopback");
    let (mut harness, bob, start) = window_beside_bob(&dir);
    harness.get_by_role_and_label(Role::Button, "Bob").click();
    harness.run();
    let field = harness.get_by_role_and_label(Role::MultilineTextInput, "Message to Bob");
    field.focus();
    field.type_text("你好 Bob, lunch at noon?");
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();

    let me = loop {
        assert!(start.elapsed() < DEADLINE, "Bob never got the message");
        harness.step();
        if let Ok(Event::Message { from, text, .. }) =
            bob.events.recv_timeout(Duration::from_millis(50))
        {
            assert_eq!(text, "你好 Bob, lunch at noon?");
            break from;
        }
    };
    bob.commands
        .send(Command::Send {
            to: me.into(),
            text: "Sure 👍 see you there".into(),
        })
        .expect("Bob's core is running");

    while harness.query_by_label("Sure 👍 see you there").is_none()
        || harness.query_by_label_contains("delivered at").is_none()
    {
        assert!(
            start.elapsed() < DEADLINE,
            "the reply or the delivered mark never showed in the window"
        );
        let _ = bob.events.recv_timeout(Duration::from_millis(20));
        harness.step();
    }
}

#[test]
fn changing_interfaces_in_settings_restarts_the_node_and_peers_come_back() {
    let dir = TempDir::new("ui-loopback");
    let (mut harness, bob, _) = window_beside_bob(&dir);

    harness.get_by_label("⚙ Settings").click();
    harness.run();
    let field = harness.get_by_role_and_label(Role::TextInput, "Never use interfaces");
    field.focus();
    field.type_text("docker0");
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Apply").click();
    harness.run();
    let config = harness.state().backend().config().expect("a real core");
    assert_eq!(config.interfaces.exclude, ["docker0"]);
    assert!(
        config.bind.is_some_and(|b| b.is_loopback()),
        "still confined to loopback"
    );

    // The new node says hello; Bob answers and is listed again.
    let start = Instant::now();
    while harness
        .query_by_role_and_label(Role::Button, "Bob")
        .is_none()
    {
        assert!(
            start.elapsed() < DEADLINE,
            "Bob never came back after the restart"
        );
        let _ = bob.events.recv_timeout(Duration::from_millis(20));
        harness.step();
    }
}

#[test]
fn a_file_accepted_in_the_window_lands_in_the_folder_chosen_in_settings() {
    let dir = TempDir::new("ui-dldir");
    let (mut harness, bob, start) = window_beside_bob(&dir);
    let inbox = dir.join("收件箱");
    harness.get_by_label("⚙ Settings").click();
    harness.run();
    let field = harness.get_by_role_and_label(Role::TextInput, "Download folder");
    field.focus();
    field.type_text(inbox.to_str().expect("UTF-8 temp path"));
    harness.run();
    harness.get_by_role_and_label(Role::Button, "Apply").click();
    harness.run();

    let me = harness.state().state.me.as_ref().expect("ready").id.clone();
    let src = dir.join("report.txt");
    std::fs::write(&src, "季度报告").unwrap();
    bob.commands
        .send(Command::SendFile { to: me, path: src })
        .expect("Bob's core is running");
    while harness
        .query_by_role_and_label(Role::Button, "Bob, 1 unread")
        .is_none()
    {
        assert!(start.elapsed() < DEADLINE, "the offer never showed");
        let _ = bob.events.recv_timeout(Duration::from_millis(20));
        harness.step();
    }
    harness
        .get_by_role_and_label(Role::Button, "Bob, 1 unread")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Accept")
        .click();
    harness.run();
    loop {
        assert!(start.elapsed() < DEADLINE, "the file never arrived");
        match bob.events.recv_timeout(Duration::from_millis(20)) {
            Ok(Event::TransferDone { .. }) => break,
            Ok(Event::TransferFailed { end, .. }) => panic!("the transfer failed: {end}"),
            _ => harness.step(),
        }
    }
    assert_eq!(
        std::fs::read_to_string(inbox.join("report.txt")).unwrap(),
        "季度报告"
    );
}

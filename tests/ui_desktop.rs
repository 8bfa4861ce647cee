//! The window as a desktop citizen, through its real widgets (egui_kittest) with the core
//! replaced by channels and the desktop (tray, notifications, autostart) by a fake:
//! closing hides to the tray (and says where, once) or quits where there is no tray
//! (after saying why, once); the tray's menu, a click on a notification and a second
//! start bring the window back; a hidden window still counts and notifies.
#![cfg(feature = "gui")]

mod ui_common;

use std::sync::{Arc, Mutex};

use crossbeam_channel::{Sender, unbounded};
use egui::accesskit::Role;
use egui::{ViewportCommand, ViewportEvent, ViewportId};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use lanchat::desktop::{Request, Requests, TrayState};
use lanchat::node::{Command, Event};
use lanchat::ui::shell::{Desktop, Shell};
use lanchat::ui::state::ConvKey;
use lanchat::ui::{App, Backend};
use ui_common::{Fake, harness, message, peer};

/// What the fake desktop was asked to do.
#[derive(Debug, Default)]
struct Seen {
    notes: Vec<(u64, String, String)>,
    tray: TrayState,
    autostart: bool,
}

struct FakeDesktop {
    tray: bool,
    seen: Arc<Mutex<Seen>>,
}

impl Desktop for FakeDesktop {
    fn has_tray(&self) -> bool {
        self.tray
    }
    fn show_in_tray(&mut self, state: &TrayState) {
        self.seen.lock().unwrap().tray = state.clone();
    }
    fn notify(&mut self, id: u64, summary: &str, body: &str) {
        let note = (id, summary.to_owned(), body.to_owned());
        self.seen.lock().unwrap().notes.push(note);
    }
    fn autostart(&self) -> bool {
        self.seen.lock().unwrap().autostart
    }
    fn set_autostart(&mut self, on: bool) -> Result<(), String> {
        self.seen.lock().unwrap().autostart = on;
        Ok(())
    }
}

struct Window {
    harness: Harness<'static, App>,
    core: Fake,
    desktop: Sender<Request>,
    seen: Arc<Mutex<Seen>>,
}

/// The window over fake channels and a fake desktop with or without a tray.
fn window(tray: bool) -> Window {
    let (cmd_tx, cmd_rx) = unbounded();
    let (ev_tx, ev_rx) = unbounded();
    let (req_tx, req_rx) = unbounded();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let desktop = FakeDesktop {
        tray,
        seen: seen.clone(),
    };
    let shell = Shell::new(Box::new(desktop), req_rx, false);
    let app = App::new(Backend::channels(cmd_tx, ev_rx)).with_shell(shell);
    let core = Fake {
        commands: cmd_rx,
        events: ev_tx,
    };
    core.feed(Event::Ready {
        id: "me0000000000".into(),
        fingerprint: "12345 67890 12345 67890 12345 67890".into(),
        name: "林晓".into(),
        host: "lab-01".into(),
        addr: "127.0.0.1".into(),
        port: 40001,
        discovery_port: 47474,
        data_dir: "/nonexistent".into(),
    });
    let mut harness = harness(app);
    harness.run();
    Window {
        harness,
        core,
        desktop: req_tx,
        seen,
    }
}

impl Window {
    /// The user closes the window (its title bar's ✖); one frame runs.
    fn close(&mut self) -> Vec<ViewportCommand> {
        self.harness
            .input_mut()
            .viewports
            .entry(ViewportId::ROOT)
            .or_default()
            .events
            .push(ViewportEvent::Close);
        self.harness.step();
        self.commands()
    }

    /// The desktop asks for something; one frame runs.
    fn request(&mut self, request: Request) -> Vec<ViewportCommand> {
        self.desktop
            .send(request)
            .expect("the window holds the receiver");
        self.harness.step();
        self.commands()
    }

    /// What the last frame asked of the window itself.
    fn commands(&self) -> Vec<ViewportCommand> {
        self.harness
            .output()
            .viewport_output
            .get(&ViewportId::ROOT)
            .map(|v| v.commands.clone())
            .unwrap_or_default()
    }

    fn notes(&self) -> Vec<(u64, String, String)> {
        self.seen.lock().unwrap().notes.clone()
    }
}

fn hides(commands: &[ViewportCommand]) -> bool {
    commands.contains(&ViewportCommand::CancelClose)
        && commands.contains(&ViewportCommand::Visible(false))
}

fn shows(commands: &[ViewportCommand]) -> bool {
    commands.contains(&ViewportCommand::Visible(true)) && commands.contains(&ViewportCommand::Focus)
}

#[test]
fn with_a_tray_closing_hides_the_window_and_says_where_it_went_once() {
    let mut w = window(true);
    let first = w.close();
    assert!(hides(&first), "hidden, not closed: {first:?}");
    let notes = w.notes();
    assert_eq!(notes.len(), 1, "the first time it says where it went");
    assert_eq!(notes[0].1, "lanchat is still running");
    assert!(notes[0].2.contains("tray"), "{}", notes[0].2);
    assert!(w.harness.state().view.prefs.desktop.told_hidden);

    // Back from the tray, closed again: hidden again, and not told again.
    assert!(shows(&w.request(Request::Show)));
    assert!(hides(&w.close()));
    assert_eq!(w.notes().len(), 1);
    assert!(w.core.sent_nothing(), "the core is not stopped");
}

#[test]
fn a_hidden_window_counts_notifies_and_the_click_opens_the_conversation() {
    let mut w = window(true);
    w.core.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    w.harness.run();
    assert!(hides(&w.close()));
    let told = w.notes().len();

    w.core.feed(message("a1", "m1", "还在吗？"));
    w.harness.run();
    let notes = w.notes();
    assert_eq!(notes.len(), told + 1, "a message while hidden notifies");
    let (id, summary, body) = notes.last().unwrap().clone();
    assert_eq!((summary.as_str(), body.as_str()), ("张三", "还在吗？"));
    assert_eq!(w.seen.lock().unwrap().tray.unread, 1, "the tray shows it");
    assert_eq!(w.harness.state().state.unread_total(), 1);

    let commands = w.request(Request::OpenNote(id));
    assert!(shows(&commands), "{commands:?}");
    w.harness.run();
    assert_eq!(w.harness.state().state.selected, ConvKey::Peer("a1".into()));
    w.harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message to 张三");
    assert_eq!(w.harness.state().state.unread_total(), 0, "read once shown");
    assert_eq!(w.seen.lock().unwrap().tray.unread, 0);
}

#[test]
fn the_tray_menu_sets_the_status_and_quits() {
    let mut w = window(true);
    w.request(Request::SetStatus("busy".into()));
    assert_eq!(
        w.core.next_command(),
        Command::SetStatus {
            status: "busy".into()
        }
    );
    w.core.feed(Event::StatusChanged {
        status: "busy".into(),
    });
    w.harness.run();
    assert_eq!(w.seen.lock().unwrap().tray.status, "busy");

    let quit = w.request(Request::Quit);
    assert!(quit.contains(&ViewportCommand::Close), "{quit:?}");
    let closing = w.close();
    assert!(
        !closing.contains(&ViewportCommand::CancelClose),
        "a quit asked for is not turned into hiding: {closing:?}"
    );
}

#[test]
fn a_second_start_brings_the_hidden_window_back() {
    let dir = std::env::temp_dir().join(format!("lanchat-ui-desktop-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut w = window(true);
    let requests = Requests::new(w.desktop.clone(), lanchat::node::no_waker());
    let server = lanchat::desktop::instance::InstanceServer::start(&dir, requests).unwrap();
    assert!(hides(&w.close()));

    // What `lanchat` started again with the same data directory does first.
    assert_eq!(
        lanchat::desktop::instance::ask_to_show(&dir),
        lanchat::desktop::instance::Answer::Shown
    );
    // The window's listener sends the request before it answers, so it is waiting in
    // the channel: one frame takes it.
    w.harness.step();
    let commands = w.commands();
    assert!(shows(&commands), "{commands:?}");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_a_tray_the_first_close_says_why_it_quits_and_later_ones_quit() {
    let mut w = window(false);
    let first = w.close();
    assert!(first.contains(&ViewportCommand::CancelClose), "{first:?}");
    assert!(
        !first.contains(&ViewportCommand::Visible(false)),
        "never hidden"
    );
    w.harness.run();
    w.harness
        .get_by_label_contains("This desktop has no system tray");
    w.harness
        .get_by_role_and_label(Role::Button, "Keep the window open")
        .click();
    w.harness.run();
    assert!(
        w.harness
            .query_by_label_contains("This desktop has no system tray")
            .is_none()
    );
    assert!(w.harness.state().view.prefs.desktop.told_no_tray);

    let second = w.close();
    assert!(
        !second.contains(&ViewportCommand::CancelClose),
        "told once, closing now quits: {second:?}"
    );
}

#[test]
fn without_a_tray_the_explanation_can_quit() {
    let mut w = window(false);
    w.close();
    w.harness.run();
    w.harness
        .get_by_role_and_label(Role::Button, "Quit lanchat")
        .click();
    w.harness.step();
    assert!(w.commands().contains(&ViewportCommand::Close));
    assert!(!w.close().contains(&ViewportCommand::CancelClose));
}

#[test]
fn a_tray_that_goes_away_brings_the_hidden_window_back() {
    let mut w = window(true);
    assert!(hides(&w.close()));
    assert!(shows(&w.request(Request::TrayAvailable(false))));
    let next = w.close();
    assert!(!next.contains(&ViewportCommand::Visible(false)), "{next:?}");
}

#[test]
fn settings_keep_in_tray_and_start_with_the_session() {
    let mut w = window(true);
    w.harness
        .get_by_role_and_label(Role::Button, "⚙ Settings")
        .click();
    w.harness.run();
    w.harness
        .get_by_role_and_label(Role::CheckBox, "Keep lanchat running in the tray")
        .click();
    w.harness
        .get_by_role_and_label(Role::CheckBox, "Start lanchat when I log in (in the tray)")
        .click();
    w.harness.run();
    w.harness
        .get_by_role_and_label(Role::Button, "Apply")
        .click();
    w.harness.run();
    assert!(w.seen.lock().unwrap().autostart, "the entry was written");
    assert!(!w.harness.state().view.prefs.desktop.keep_in_tray);
    assert!(
        !w.close().contains(&ViewportCommand::CancelClose),
        "with the setting off, closing quits"
    );
}

#[test]
fn settings_say_when_there_is_no_tray() {
    let mut w = window(false);
    w.harness
        .get_by_role_and_label(Role::Button, "⚙ Settings")
        .click();
    w.harness.run();
    w.harness
        .get_by_label_contains("No system tray on this desktop: closing the window quits lanchat.");
    assert!(
        w.harness
            .get_by_role_and_label(Role::CheckBox, "Keep lanchat running in the tray")
            .accesskit_node()
            .is_disabled()
    );
}

//! The window under egui_kittest with the core replaced by channels the test holds:
//! shared by the `ui_*` test files.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::Ipv4Addr;

use crossbeam_channel::{Receiver, Sender, unbounded};
use egui_kittest::Harness;
use lanchat::node::{Command, Event, PeerInfo};
use lanchat::ui::{App, Backend};

pub fn is_query(c: &Command) -> bool {
    matches!(c, Command::Peers | Command::Rooms | Command::History { .. })
}

pub struct Fake {
    pub commands: Receiver<Command>,
    pub events: Sender<Event>,
}

impl Fake {
    /// The next command other than the queries the window makes by itself (`peers` on
    /// start, `history` when a conversation is first shown).
    pub fn next_command(&self) -> Command {
        loop {
            let cmd = self
                .commands
                .try_recv()
                .expect("the window should have sent a command");
            if !is_query(&cmd) {
                return cmd;
            }
        }
    }

    /// Whether the window sent nothing but its own queries.
    pub fn sent_nothing(&self) -> bool {
        self.commands.try_iter().all(|c| is_query(&c))
    }

    pub fn feed(&self, event: Event) {
        self.events
            .send(event)
            .expect("the window holds the receiver");
    }
}

/// The real window around `app`, large enough for every panel, with the CJK fonts.
pub fn harness(app: App) -> Harness<'static, App> {
    harness_checked(app, true)
}

/// [`harness`], with or without kittest's check that every input has a name (off only
/// where a third-party widget lacks them: egui_file's chooser).
pub fn harness_checked(app: App, accessibility: bool) -> Harness<'static, App> {
    Harness::builder()
        .with_accessibility_check(accessibility)
        .with_size(egui::vec2(1100.0, 700.0))
        // A turn of the mouse wheel scrolls smoothly over a few frames.
        .with_max_steps(16)
        .with_context_setup(lanchat::ui::install_fonts)
        .build_ui_state(|ui, app: &mut App| app.show(ui), app)
}

pub fn window() -> (Harness<'static, App>, Fake) {
    window_checked(true)
}

/// [`window`], with or without the accessibility check (see [`harness_checked`]).
pub fn window_checked(accessibility: bool) -> (Harness<'static, App>, Fake) {
    let (cmd_tx, cmd_rx) = unbounded();
    let (ev_tx, ev_rx) = unbounded();
    let app = App::new(Backend::channels(cmd_tx, ev_rx)).without_desktop();
    let harness = harness_checked(app, accessibility);
    let fake = Fake {
        commands: cmd_rx,
        events: ev_tx,
    };
    fake.feed(Event::Ready {
        id: "me0000000000".into(),
        fingerprint: "12345 67890 12345 67890 12345 67890".into(),
        name: "林晓".into(),
        host: "lab-01".into(),
        addr: "127.0.0.1".into(),
        port: 40001,
        discovery_port: 47474,
        data_dir: "/nonexistent".into(),
    });
    (harness, fake)
}

pub fn peer(id: &str, name: &str) -> PeerInfo {
    PeerInfo {
        id: id.into(),
        name: name.into(),
        host: "lab-07".into(),
        group: String::new(),
        addr: Ipv4Addr::LOCALHOST,
        port: 40002,
        online: true,
        status: "online".into(),
        last_seen: 1_790_000_000_000,
        protocol: Default::default(),
        trust: Default::default(),
    }
}

pub fn message(from: &str, msg_id: &str, text: &str) -> Event {
    Event::Message {
        room: None,
        from: from.into(),
        from_name: "张三".into(),
        msg_id: msg_id.into(),
        text: text.into(),
        sent_at: 1_790_000_000_000,
    }
}

impl Fake {
    /// Every command the user caused so far, without the window's own queries.
    pub fn user_commands(&self) -> Vec<Command> {
        self.commands.try_iter().filter(|c| !is_query(c)).collect()
    }
}

/// A stored message `m{id}` from `a1` (张三) with the text `message {id}`.
pub fn stored(id: i64) -> lanchat::store::StoredMessage {
    lanchat::store::StoredMessage {
        id,
        peer: "a1".into(),
        msg_id: format!("m{id}"),
        dir: lanchat::store::Direction::In,
        from: "a1".into(),
        from_name: "张三".into(),
        text: format!("message {id}"),
        sent_at: 1_790_000_000_000 + id as u64,
        state: lanchat::store::MsgState::Received,
        reason: None,
    }
}

/// The page of stored messages `rows` of `a1`, answering a `history` request.
pub fn page(rows: std::ops::RangeInclusive<i64>, before: Option<i64>, after: Option<i64>) -> Event {
    Event::History {
        peer: "a1".into(),
        messages: rows.map(stored).collect(),
        transfers: vec![],
        deliveries: Vec::new(),
        before,
        after,
    }
}

/// Turns the mouse wheel over the conversation by `dy` points (positive: towards older
/// messages) and lets the window settle.
pub fn wheel(harness: &mut Harness<'static, App>, dy: f32) {
    harness.hover_at(egui::pos2(650.0, 400.0));
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, dy),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
    harness.run();
}

/// Types `query` in the search box, presses Enter, and answers with `hits` as the core
/// would.
pub fn search(
    harness: &mut Harness<'static, App>,
    fake: &Fake,
    query: &str,
    hits: Vec<lanchat::store::StoredMessage>,
) {
    use egui_kittest::kittest::Queryable;
    let field = harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Search messages");
    field.focus();
    field.type_text(query);
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    fake.feed(Event::SearchResults {
        query: query.into(),
        hits,
    });
    harness.run();
}

//! The window's top level: drains core events into [`ChatState`], lays out the panels,
//! and carries out the [`Action`]s they collected.
//!
//! Each frame: fold every waiting [`Event`] in, draw (panels only read state and push
//! actions), then run the actions: commands to the core, selection, settings. The window
//! repaints when the core's waker fires, when the user acts, or once a second while the
//! network panel is open; an idle window does not repaint at all.

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use super::backend::Backend;
use super::chooser::{self, Chooser};
use super::picker::{FilePicker, Picked};
use super::settings::{Prefs, SettingsDraft, Theme};
use super::shell::Shell;
use super::state::{ChatState, ConvKey};
use super::thumbs::Thumbs;
use super::tour::Tour;
pub use super::view::{Action, View};
use super::{
    chat_view, composer, header, network_panel, peers_panel, reach_dialog, settings, verify,
    web_join,
};
use crate::node::{Command, Event};

/// How often the open network panel asks for a fresh snapshot.
const NET_POLL: Duration = Duration::from_secs(1);
/// The narrowest the conversation gets beside the network panel.
const CONVERSATION_MIN: f32 = 460.0;
/// The narrowest the network panel is beside the conversation; with less room it takes
/// the people list's place instead.
const NETWORK_MIN: f32 = 340.0;

/// The window.
pub struct App {
    /// The chat model.
    pub state: ChatState,
    /// View state.
    pub view: View,
    backend: Backend,
    shell: Shell,
    title: String,
    next_net_poll: Option<Instant>,
    tour: Option<Tour>,
    theme_applied: Option<Theme>,
    thumbs: Thumbs,
    picker: FilePicker,
    /// Links and files are opened with the desktop's programs (off in tests: recorded in
    /// `View::opened` only).
    desktop: bool,
}

impl App {
    /// A window over `backend`, with no desktop around it (no tray, no notifications,
    /// closing quits): see [`App::with_shell`].
    pub fn new(backend: Backend) -> App {
        let prefs = backend
            .config()
            .map(|c| Prefs::load(&c.data_dir))
            .unwrap_or_default();
        let _ = backend.commands.send(Command::Peers);
        let _ = backend.commands.send(Command::Rooms);
        if let Some(c) = backend.config() {
            let cmds = [
                prefs.download_dir_command(None, c),
                prefs.auto_accept_command(c),
            ];
            for cmd in cmds.into_iter().flatten() {
                let _ = backend.commands.send(cmd);
            }
        }
        App {
            state: ChatState::default(),
            view: View {
                prefs,
                ..View::default()
            },
            backend,
            shell: Shell::inert(),
            title: String::new(),
            next_net_poll: None,
            tour: None,
            theme_applied: None,
            thumbs: Thumbs::default(),
            picker: FilePicker::default(),
            desktop: true,
        }
    }

    /// Where commands go and events come from.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Never shows desktop notifications, has no tray (tests).
    pub fn without_notifications(mut self) -> App {
        self.shell = Shell::inert();
        self
    }

    /// The desktop around the window: tray, notifications, closing to the tray.
    pub fn with_shell(mut self, shell: Shell) -> App {
        self.shell = shell;
        self
    }

    /// Leaves the desktop alone (tests): no notifications, lanchat's own file chooser
    /// instead of the system's, and links and files recorded in `View::opened` instead
    /// of opened.
    pub fn without_desktop(mut self) -> App {
        self.shell = Shell::inert();
        self.picker = FilePicker::in_app_only();
        self.desktop = false;
        self
    }

    /// Runs the screenshot tour described in `docs/GUI.md`.
    pub fn with_tour(mut self, tour: Option<Tour>) -> App {
        if tour.is_some() {
            self.shell = Shell::inert();
        }
        self.tour = tour;
        self
    }

    /// Draws the whole window into `ui` and carries out what the user did.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        // One line per frame at trace level: `scripts/idle.sh` counts them.
        tracing::trace!(target: "lanchat::ui::frame", "frame");
        self.apply_theme(&ctx);
        let focused = ctx.input(|i| i.focused) && !self.shell.hidden();
        self.drain_events(&ctx, focused);
        self.desktop_tick(&ctx);
        if self.state.me.is_some() {
            let conv = self.state.selected.clone();
            if let Some(cmd) = self.state.ask_newest(&conv) {
                self.backend.send(cmd);
            }
        }
        if focused {
            self.state.mark_read();
        }
        self.thumbs.poll(&ctx);
        self.update_title(&ctx);
        self.poll_network(&ctx);
        self.take_dropped_files(&ctx);
        self.take_picked();

        let mut actions = Vec::new();
        super::search::tick(&ctx, &mut self.view.search, &mut actions);
        // The room the network panel would have beside the people list (as wide as it
        // was last frame) and the conversation; too little, and it takes the list's place.
        let window = ctx.content_rect().width();
        let sidebar = match self.view.sidebar_width {
            _ if self.view.sidebar_hidden => 0.0,
            0.0 => peers_panel::default_width(window),
            w => w,
        };
        let room = window - sidebar - CONVERSATION_MIN;
        let network_left = self.view.show_network && room < NETWORK_MIN;
        if network_left {
            network_panel::show(ui, &self.state, self.backend.config(), None, &mut actions);
        } else if !self.view.sidebar_hidden {
            let width = peers_panel::show(ui, &self.state, &mut self.view, &mut actions);
            self.view.sidebar_width = width;
        }
        if self.view.show_network && !network_left {
            let room = Some(room);
            network_panel::show(ui, &self.state, self.backend.config(), room, &mut actions);
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            header::show(ui, &self.state, &self.view, &mut actions);
            composer::show(ui, &self.state, &mut self.view, &mut actions);
            chat_view::show(ui, &self.state, &mut self.view, &self.thumbs, &mut actions);
        });
        settings::window(&ctx, &mut self.view, &mut actions);
        web_join::window(&ctx, &self.state, &self.view, &mut actions);
        reach_dialog::window(&ctx, &self.state, &mut self.view, &mut actions);
        verify::window(&ctx, &self.state, &self.view, &mut actions);
        super::rooms::window(&ctx, &self.state, &mut self.view, &mut actions);
        self.shell.ui(&ctx);
        if let Some(c) = &mut self.view.chooser
            && !chooser::show(&ctx, c, &mut actions)
        {
            self.view.chooser = None;
        }
        if let Some(tour) = &mut self.tour {
            tour.step(&ctx, &mut self.state, &mut self.view, &mut actions);
        }
        for action in actions {
            self.run(action, &ctx);
        }
    }

    fn drain_events(&mut self, ctx: &egui::Context, focused: bool) {
        while let Ok(event) = self.backend.events.try_recv() {
            let picture = match &event {
                Event::TransferDone { transfer_id, path } => self
                    .state
                    .transfers
                    .get(transfer_id.as_str())
                    .filter(|t| t.is_picture())
                    .map(|_| path.clone()),
                _ => None,
            };
            if let Some(path) = picture {
                self.thumbs.request(ctx, &path);
            }
            // The core's table knows when a peer that left was last heard; the event
            // does not say.
            let left = matches!(event, Event::PeerLeft { .. });
            let arrival = self.state.apply(event, focused);
            if left {
                self.backend.send(Command::Peers);
            }
            if let Some(arrival) = arrival
                && !focused
            {
                let summary = match arrival.conv {
                    ConvKey::Everyone => format!("{} (to Everyone)", arrival.from_name),
                    ConvKey::Peer(_) => arrival.from_name,
                    ConvKey::Room(_) => {
                        format!(
                            "{} in {}",
                            arrival.from_name,
                            self.state.title(&arrival.conv)
                        )
                    }
                };
                self.shell
                    .notify(Some(arrival.conv), &summary, &arrival.text);
            }
        }
    }

    /// Files dropped on the window go to the open conversation's peer.
    fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if dropped.is_empty() {
            return;
        }
        let (ConvKey::Peer(to) | ConvKey::Room(to)) = self.state.selected.clone() else {
            self.state.error = Some(
                "files go to a person or a room: open a conversation with them, then drop it"
                    .into(),
            );
            return;
        };
        for path in dropped {
            self.backend.send(Command::SendFile {
                to: to.clone(),
                path,
            });
        }
    }

    /// Files chosen in the system dialog go to their peer; no system dialog opens
    /// lanchat's own chooser.
    fn take_picked(&mut self) {
        for picked in self.picker.poll() {
            match picked {
                Picked::Files(to, paths) => {
                    for path in paths {
                        let to = to.clone();
                        self.backend.send(Command::SendFile { to, path });
                    }
                }
                Picked::Unavailable(peer, why, folder) => {
                    let name = self.state.title(&ConvKey::Peer(peer.clone()));
                    let chooser = Chooser::open(peer, &name, why, (None, folder));
                    self.view.chooser = Some(chooser);
                }
            }
        }
    }

    /// Opens a file, folder or link with the desktop's program (only records it in tests).
    fn open(&mut self, target: String) {
        if self.desktop
            && let Err(e) = open::that_detached(&target)
        {
            self.state.error = Some(format!("cannot open {target}: {e}"));
        }
        self.view.opened.push(target);
    }

    /// The desktop's requests and a request to close; runs while hidden too (`logic`).
    fn desktop_tick(&mut self, ctx: &egui::Context) {
        let out = self
            .shell
            .tick(ctx, &self.state, &mut self.view.prefs.desktop);
        if out.save_prefs
            && let Some(config) = self.backend.config()
            && let Err(e) = self.view.prefs.save(&config.data_dir)
        {
            tracing::warn!("{e}");
        }
        for action in out.actions {
            self.run(action, ctx);
        }
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let name = self.state.me.as_ref().map_or("", |m| m.name.as_str());
        let title = match (self.state.unread_total(), name) {
            (0, "") => "lanchat".to_owned(),
            (0, name) => format!("lanchat — {name}"),
            (n, name) => format!("({n}) lanchat — {name}"),
        };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// Asks for a network snapshot once a second while the panel is open, and only then.
    fn poll_network(&mut self, ctx: &egui::Context) {
        if !self.view.show_network {
            self.next_net_poll = None;
            return;
        }
        let now = Instant::now();
        if self.next_net_poll.is_none_or(|t| now >= t) {
            self.backend.send(Command::NetStatus);
            self.next_net_poll = Some(now + NET_POLL);
        }
        let wait = self
            .next_net_poll
            .map_or(NET_POLL, |t| t.saturating_duration_since(now));
        ctx.request_repaint_after(wait);
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        let theme = self.view.prefs.theme;
        if self.theme_applied != Some(theme) {
            ctx.set_theme(theme.preference());
            // A blinking cursor would repaint an idle window twice a second.
            ctx.style_mut_of(egui::Theme::Dark, |s| {
                s.visuals.widgets.noninteractive.fg_stroke.color = egui::Color32::from_gray(190);
            });
            ctx.all_styles_mut(|s| {
                s.visuals.text_cursor.blink = false;
                use egui::{FontId, TextStyle};
                for (style, size) in [
                    (TextStyle::Body, 14.0),
                    (TextStyle::Button, 14.0),
                    (TextStyle::Small, 11.0),
                    (TextStyle::Heading, 20.0),
                    (TextStyle::Monospace, 12.5),
                ] {
                    let family = s.text_styles.get(&style).map(|f| f.family.clone());
                    let family = family.unwrap_or(egui::FontFamily::Proportional);
                    s.text_styles.insert(style, FontId::new(size, family));
                }
            });
            self.theme_applied = Some(theme);
        }
    }
}

impl eframe::App for App {
    /// While the window is hidden in the tray, eframe calls only this: events are still
    /// folded (unread counts, notifications) and the tray can bring the window back.
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.shell.hidden() {
            self.drain_events(ctx, false);
            self.desktop_tick(ctx);
            self.update_title(ctx);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

mod run;

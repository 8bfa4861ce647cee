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
use super::notify::Notifier;
use super::picker::FilePicker;
use super::settings::{Prefs, SettingsDraft, Theme};
use super::state::{ChatState, ConvKey};
use super::thumbs::Thumbs;
use super::tour::Tour;
pub use super::view::{Action, View};
use super::{chat_view, composer, network_panel, peers_panel, search, settings};
use crate::node::{Command, Event};

/// How often the open network panel asks for a fresh snapshot.
const NET_POLL: Duration = Duration::from_secs(1);

/// The window.
pub struct App {
    /// The chat model.
    pub state: ChatState,
    /// View state.
    pub view: View,
    backend: Backend,
    notifier: Notifier,
    title: String,
    next_net_poll: Option<Instant>,
    tour: Option<Tour>,
    theme_applied: Option<Theme>,
    thumbs: Thumbs,
    picker: FilePicker,
}

impl App {
    /// A window over `backend`. Notifications are on; see [`App::without_notifications`].
    pub fn new(backend: Backend) -> App {
        let prefs = backend
            .config()
            .map(|c| Prefs::load(&c.data_dir))
            .unwrap_or_default();
        let _ = backend.commands.send(Command::Peers);
        if let Some(cmd) = backend
            .config()
            .and_then(|c| prefs.download_dir_command(None, c))
        {
            let _ = backend.commands.send(cmd);
        }
        App {
            state: ChatState::default(),
            view: View {
                prefs,
                ..View::default()
            },
            backend,
            notifier: Notifier::default(),
            title: String::new(),
            next_net_poll: None,
            tour: None,
            theme_applied: None,
            thumbs: Thumbs::default(),
            picker: FilePicker::default(),
        }
    }

    /// Where commands go and events come from.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Never shows desktop notifications (tests).
    pub fn without_notifications(mut self) -> App {
        self.notifier = Notifier::disabled();
        self
    }

    /// Runs the screenshot tour described in `docs/GUI.md`.
    pub fn with_tour(mut self, tour: Option<Tour>) -> App {
        if tour.is_some() {
            self.notifier = Notifier::disabled();
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
        let focused = ctx.input(|i| i.focused);
        self.drain_events(&ctx, focused);
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
        for (to, path) in self.picker.poll() {
            self.backend.send(Command::SendFile { to, path });
        }

        let mut actions = Vec::new();
        peers_panel::show(ui, &self.state, &mut self.view, &mut actions);
        if self.view.show_network {
            network_panel::show(ui, &self.state, self.backend.config(), &mut actions);
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            chat_view::header(ui, &self.state, &self.view, &mut actions);
            composer::show(ui, &self.state, &mut self.view, &mut actions);
            chat_view::show(ui, &self.state, &mut self.view, &self.thumbs, &mut actions);
        });
        search::results_window(&ctx, &self.state, &mut actions);
        settings::window(&ctx, &mut self.view, &mut actions);
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
            if let Some(arrival) = self.state.apply(event, focused)
                && !focused
            {
                let summary = match arrival.conv {
                    ConvKey::Everyone => format!("{} (to Everyone)", arrival.from_name),
                    ConvKey::Peer(_) => arrival.from_name,
                };
                self.notifier.notify(&summary, &arrival.text);
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
        let ConvKey::Peer(to) = self.state.selected.clone() else {
            self.state.error =
                Some("files go to one peer: open a conversation with them, then drop it".into());
            return;
        };
        for path in dropped {
            self.backend.send(Command::SendFile {
                to: to.clone(),
                path,
            });
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

    fn run(&mut self, action: Action, ctx: &egui::Context) {
        match action {
            Action::Core(cmd) => self.backend.send(cmd),
            Action::Select(conv) => {
                if let Some(cmd) = self.state.ask_newest(&conv) {
                    self.backend.send(cmd);
                }
                self.state.select(conv);
                self.view.scroll_to_bottom = true;
            }
            Action::ToggleNetwork => self.view.show_network = !self.view.show_network,
            Action::OpenSettings => {
                self.view.settings = Some(SettingsDraft::new(
                    &self.state,
                    self.backend.config(),
                    &self.view.prefs,
                ));
            }
            Action::CloseSettings => self.view.settings = None,
            Action::ApplySettings(draft) => self.apply_settings(*draft),
            Action::DismissError => self.state.error = None,
            Action::ScrollToBottom => {
                let conv = self.state.selected.clone();
                self.state.back_to_newest(&conv);
                self.view.highlight = None;
                self.view.scroll_to_bottom = true;
            }
            Action::Open(path) => {
                if let Err(e) = open::that_detached(&path) {
                    self.state.error = Some(format!("cannot open {}: {e}", path.display()));
                }
            }
            Action::Jump(conv, msg_id, row) => {
                for cmd in self.state.jump(conv, &msg_id, row) {
                    self.backend.send(cmd);
                }
                self.view.highlight = Some(msg_id.clone());
                self.view.jump_to = Some(msg_id);
            }
            Action::Older(conv) => {
                if let Some(cmd) = self.state.ask_older(&conv) {
                    self.backend.send(cmd);
                }
            }
            Action::Newer(conv) => {
                if let Some(cmd) = self.state.ask_newer(&conv) {
                    self.backend.send(cmd);
                }
            }
            Action::CloseSearch => self.state.search = None,
            Action::PickFiles(peer) => self.picker.pick(ctx, peer),
        }
        ctx.request_repaint();
    }

    fn apply_settings(&mut self, draft: SettingsDraft) {
        self.view.settings = None;
        if let Some(cmd) = self
            .backend
            .config()
            .and_then(|c| draft.prefs.download_dir_command(Some(&self.view.prefs), c))
        {
            self.backend.send(cmd);
        }
        self.view.prefs = draft.prefs.clone();
        if let Some(config) = self.backend.config()
            && let Err(e) = self.view.prefs.save(&config.data_dir)
        {
            self.state.error = Some(e.to_string());
        }
        let my_name = self.state.me.as_ref().map(|m| m.name.clone());
        if my_name.as_deref() != Some(draft.name.trim()) && !draft.name.trim().is_empty() {
            self.backend.send(Command::Rename {
                name: draft.name.trim().to_owned(),
            });
        }
        let Some(current) = self.backend.config() else {
            return;
        };
        let Some(config) = draft.network_config(current) else {
            return;
        };
        tracing::info!("network settings changed; restarting the node");
        // Peers and delivery marks start afresh with the new node; conversations stay.
        self.state.peers.clear();
        if let Err(e) = self.backend.restart(config) {
            self.state.error = Some(format!("cannot apply the network settings: {e}"));
        }
        self.backend.send(Command::Peers);
        // The new core starts with the command line's folder; the saved one goes again.
        if let Some(cmd) = self
            .backend
            .config()
            .and_then(|c| self.view.prefs.download_dir_command(None, c))
        {
            self.backend.send(cmd);
        }
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

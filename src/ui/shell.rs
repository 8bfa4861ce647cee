//! The window's side of the desktop: closing to the tray, coming back to the front, the
//! tray's menu, notifications that open their conversation, and the desktop settings.
//!
//! The desktop itself (tray icon, notification server, autostart entry) is behind the
//! small [`Desktop`] trait, and what it asks for arrives as [`Request`]s on a channel,
//! so kittest drives all of this with a fake. [`Shell::tick`] runs every frame, and
//! also while the window is hidden (eframe's `App::logic`), because a hidden window must
//! still fold events, notify, and come back when asked. It never draws; the one thing
//! it draws, the no-tray explanation, is [`Shell::ui`].

mod system;

use std::collections::VecDeque;

use crossbeam_channel::{Receiver, unbounded};
use serde::{Deserialize, Serialize};

pub use self::system::SystemDesktop;
use super::state::{ChatState, ConvKey};
use super::view::Action;
use crate::desktop::close::{CloseState, OnClose};
use crate::desktop::instance::InstanceServer;
use crate::desktop::{Request, TrayState};
use crate::node::Command;

/// How many recent notifications still open their conversation when clicked.
const NOTES_KEPT: usize = 64;

/// The desktop around the window, as the window needs it. The real one is
/// [`SystemDesktop`]; tests use a fake.
pub trait Desktop {
    /// Whether a tray showed lanchat's icon when the window started.
    fn has_tray(&self) -> bool;
    /// Shows the unread count and status in the tray, if there is one.
    fn show_in_tray(&mut self, state: &TrayState);
    /// Shows a notification; a click on it comes back as [`Request::OpenNote`]`(id)`.
    fn notify(&mut self, id: u64, summary: &str, body: &str);
    /// Whether lanchat starts with the session.
    fn autostart(&self) -> bool;
    /// Makes lanchat start with the session, or not.
    fn set_autostart(&mut self, on: bool) -> Result<(), String>;
}

/// The desktop preferences kept in `ui.json` beside the window's others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DesktopPrefs {
    /// Closing the window leaves lanchat running in the tray (where there is one).
    pub keep_in_tray: bool,
    /// The user was told where a closed window goes.
    pub told_hidden: bool,
    /// The user was told that this desktop has no tray, so closing quits.
    pub told_no_tray: bool,
}

impl Default for DesktopPrefs {
    fn default() -> Self {
        DesktopPrefs {
            keep_in_tray: true,
            told_hidden: false,
            told_no_tray: false,
        }
    }
}

/// The desktop part of the settings being edited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesktopDraft {
    /// A tray is there (the keep-in-tray setting only means something then).
    pub tray: bool,
    /// Start lanchat with the session.
    pub autostart: bool,
}

/// What a tick asks of the app.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Actions to run, as if a panel had pushed them.
    pub actions: Vec<Action>,
    /// `DesktopPrefs` changed and should be saved.
    pub save_prefs: bool,
}

/// The window's desktop glue. See the module docs.
pub struct Shell {
    desktop: Box<dyn Desktop>,
    requests: Receiver<Request>,
    tray: bool,
    hidden: bool,
    quitting: bool,
    /// Decide what closing does; off for tests and the screenshot tour.
    intercept_close: bool,
    start_hidden: bool,
    explain_no_tray: bool,
    notes: VecDeque<(u64, Option<ConvKey>)>,
    next_note: u64,
    _server: Option<InstanceServer>,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("tray", &self.tray)
            .field("hidden", &self.hidden)
            .finish_non_exhaustive()
    }
}

/// The desktop that is not there: no tray, no notifications, closing quits.
struct NoDesktop;

impl Desktop for NoDesktop {
    fn has_tray(&self) -> bool {
        false
    }
    fn show_in_tray(&mut self, _state: &TrayState) {}
    fn notify(&mut self, _id: u64, _summary: &str, _body: &str) {}
    fn autostart(&self) -> bool {
        false
    }
    fn set_autostart(&mut self, _on: bool) -> Result<(), String> {
        Err("starting with the session is not available here".into())
    }
}

impl Default for Shell {
    fn default() -> Self {
        Shell::inert()
    }
}

impl Shell {
    /// No desktop at all: closing quits at once, nothing is shown outside the window
    /// (tests, the screenshot tour).
    pub fn inert() -> Shell {
        let (_tx, rx) = unbounded();
        let mut shell = Shell::new(Box::new(NoDesktop), rx, false);
        shell.intercept_close = false;
        shell
    }

    /// Glue around `desktop`, whose requests arrive on `requests`. `start_hidden`: go
    /// straight to the tray (`--hidden`, a session start), if there is one.
    pub fn new(
        desktop: Box<dyn Desktop>,
        requests: Receiver<Request>,
        start_hidden: bool,
    ) -> Shell {
        Shell {
            tray: desktop.has_tray(),
            desktop,
            requests,
            hidden: false,
            quitting: false,
            intercept_close: true,
            start_hidden,
            explain_no_tray: false,
            notes: VecDeque::new(),
            next_note: 1,
            _server: None,
        }
    }

    /// Keeps the listener for second starts alive as long as the window.
    pub fn with_instance_server(mut self, server: Option<InstanceServer>) -> Shell {
        self._server = server;
        self
    }

    /// Whether the window is hidden in the tray.
    pub fn hidden(&self) -> bool {
        self.hidden
    }

    /// Shows a notification for a message in `conv`; a click opens it.
    pub fn notify(&mut self, conv: Option<ConvKey>, summary: &str, body: &str) {
        let id = self.next_note;
        self.next_note += 1;
        self.notes.push_back((id, conv));
        if self.notes.len() > NOTES_KEPT {
            self.notes.pop_front();
        }
        self.desktop.notify(id, summary, body);
    }

    /// Handles what the desktop asked for and a request to close the window. Runs every
    /// frame, and while hidden too; never draws.
    pub fn tick(
        &mut self,
        ctx: &egui::Context,
        state: &ChatState,
        prefs: &mut DesktopPrefs,
    ) -> Outcome {
        let mut out = Outcome::default();
        if std::mem::take(&mut self.start_hidden) && self.tray && prefs.keep_in_tray {
            self.hide(ctx);
        }
        while let Ok(request) = self.requests.try_recv() {
            self.handle(ctx, request, &mut out);
        }
        if self.intercept_close && ctx.input(|i| i.viewport().close_requested()) {
            self.on_close(ctx, prefs, &mut out);
        }
        let status = state
            .me
            .as_ref()
            .map(|m| m.status.clone())
            .unwrap_or_default();
        self.desktop.show_in_tray(&TrayState {
            unread: state.unread_total(),
            status,
        });
        out
    }

    fn handle(&mut self, ctx: &egui::Context, request: Request, out: &mut Outcome) {
        match request {
            Request::Show => self.show(ctx),
            Request::OpenNote(id) => {
                let conv = self
                    .notes
                    .iter()
                    .find(|(n, _)| *n == id)
                    .and_then(|(_, c)| c.clone());
                if let Some(conv) = conv {
                    out.actions.push(Action::Select(conv));
                }
                self.show(ctx);
            }
            Request::SetStatus(status) => out
                .actions
                .push(Action::Core(Command::SetStatus { status })),
            Request::Quit => {
                self.quitting = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Request::TrayAvailable(there) => {
                self.tray = there;
                if !there && self.hidden {
                    self.show(ctx); // nothing else is left to bring it back with
                }
            }
        }
    }

    fn on_close(&mut self, ctx: &egui::Context, prefs: &mut DesktopPrefs, out: &mut Outcome) {
        let rule = CloseState {
            keep_in_tray: prefs.keep_in_tray,
            tray: self.tray,
            told_hidden: prefs.told_hidden,
            told_no_tray: prefs.told_no_tray,
            quitting: self.quitting,
        };
        match rule.on_close() {
            OnClose::Quit => {}
            OnClose::Hide { tell } => {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.hide(ctx);
                if tell {
                    self.notify(
                        None,
                        "lanchat is still running",
                        "It is in the system tray: click its icon to open the window again, \
                         or choose Quit in its menu. Messages still arrive and are shown here.",
                    );
                    prefs.told_hidden = true;
                    out.save_prefs = true;
                }
            }
            OnClose::ExplainNoTray => {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.explain_no_tray = true;
                prefs.told_no_tray = true;
                out.save_prefs = true;
            }
        }
    }

    fn hide(&mut self, ctx: &egui::Context) {
        self.hidden = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(false));
    }

    fn show(&mut self, ctx: &egui::Context) {
        self.hidden = false;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
        ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        ctx.request_repaint();
    }

    /// Draws the explanation shown at the first close where there is no tray.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if !self.explain_no_tray {
            return;
        }
        let mut quit = false;
        let mut keep = false;
        egui::Window::new("No system tray here")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.label(NO_TRAY_TEXT);
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    quit = ui.button("Quit lanchat").clicked();
                    keep = ui.button("Keep the window open").clicked();
                });
            });
        if quit {
            self.quitting = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if quit || keep {
            self.explain_no_tray = false;
        }
    }

    /// The desktop part of a new settings draft.
    pub fn draft(&self) -> DesktopDraft {
        DesktopDraft {
            tray: self.tray,
            autostart: self.desktop.autostart(),
        }
    }

    /// Applies the desktop part of the settings; an error to show if it failed.
    pub fn apply(&mut self, draft: &DesktopDraft) -> Option<String> {
        if draft.autostart == self.desktop.autostart() {
            return None;
        }
        self.desktop
            .set_autostart(draft.autostart)
            .err()
            .map(|e| format!("cannot change starting with the session: {e}"))
    }
}

/// What the window says when it cannot go to a tray.
pub const NO_TRAY_TEXT: &str = "This desktop has no system tray, so lanchat cannot keep \
running once its window is closed: closing the window quits lanchat, and messages sent \
to you wait with their senders until you start it again.";

/// The desktop rows of the settings form.
pub fn settings_rows(ui: &mut egui::Ui, prefs: &mut DesktopPrefs, draft: &mut DesktopDraft) {
    ui.label("Closing the window");
    ui.vertical(|ui| {
        ui.add_enabled(
            draft.tray,
            egui::Checkbox::new(&mut prefs.keep_in_tray, "Keep lanchat running in the tray"),
        );
        if !draft.tray {
            ui.label(
                egui::RichText::new(
                    "No system tray on this desktop: closing the window quits lanchat.",
                )
                .small()
                .weak(),
            );
        }
    });
    ui.end_row();

    ui.label("Session");
    ui.checkbox(
        &mut draft.autostart,
        "Start lanchat when I log in (in the tray)",
    );
    ui.end_row();
}

#[cfg(test)]
mod tests;

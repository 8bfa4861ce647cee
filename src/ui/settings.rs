//! The settings window, and the window's own preferences (`ui.json` in the data directory).
//!
//! Name changes go to the core as `rename`. Ports and interfaces are the core's
//! [`Config`]: changing them restarts the node for this session (command-line flags
//! remain how a network setup is made permanent). Theme and download folder are kept in
//! `ui.json`; the download folder is handed to the core (`set_download_dir`) at start and
//! when it changes, unless `--download-dir` chose one, which wins. Whose files are
//! accepted without asking (nobody's, verified peers', anyone's) is kept there too and
//! handed to the core (`set_auto_accept`) the same way, unless `--auto-accept` was given.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::app::{Action, View};
use super::shell::{self, DesktopDraft, DesktopPrefs};
use super::state::ChatState;
use crate::config::{AutoAccept, Config};
use crate::node::Command;

const PREFS_FILE: &str = "ui.json";

/// Colour scheme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follow the desktop.
    #[default]
    System,
    /// Dark.
    Dark,
    /// Light.
    Light,
}

impl Theme {
    /// The egui preference for this theme.
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Theme::System => egui::ThemePreference::System,
            Theme::Dark => egui::ThemePreference::Dark,
            Theme::Light => egui::ThemePreference::Light,
        }
    }
}

/// Preferences of the window itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Colour scheme.
    pub theme: Theme,
    /// Where received files go (used by file transfers); empty = the Downloads folder.
    pub download_dir: String,
    /// Tray and closing.
    #[serde(flatten)]
    pub desktop: DesktopPrefs,
    /// Whose file offers are accepted without asking; `None` until the user chose (the
    /// core's default: nobody's).
    pub auto_accept: Option<AutoAccept>,
}

/// Failure to keep preferences.
#[derive(Debug, thiserror::Error)]
#[error("cannot save window preferences to {path}: {source}")]
pub struct PrefsError {
    path: PathBuf,
    source: std::io::Error,
}

impl Prefs {
    /// The command that gives the core this download folder: at start (`before` is
    /// `None`) if one is saved, later if it changed from `before` (cleared: back to the
    /// folder the core started with). `None` when `--download-dir` chose the folder.
    pub fn download_dir_command(&self, before: Option<&Prefs>, config: &Config) -> Option<Command> {
        let dir = self.download_dir.trim();
        let unchanged = match before {
            Some(b) => b.download_dir.trim() == dir,
            None => dir.is_empty(),
        };
        if config.download_dir_pinned || unchanged {
            return None;
        }
        let path = match dir.strip_prefix("~/") {
            _ if dir.is_empty() => config.download_dir.clone(),
            Some(rest) => directories::BaseDirs::new()
                .map_or_else(|| PathBuf::from(dir), |b| b.home_dir().join(rest)),
            None => PathBuf::from(dir),
        };
        Some(Command::SetDownloadDir { path })
    }

    /// The command that gives the core the saved choice of whose files are accepted
    /// without asking, at start. `None` when nothing was chosen, or `--auto-accept` on the
    /// command line accepts everyone's (it wins, as scripts expect).
    pub fn auto_accept_command(&self, config: &Config) -> Option<Command> {
        let from = self.auto_accept.filter(|_| !config.auto_accept)?;
        Some(Command::SetAutoAccept { from })
    }

    /// Reads `ui.json` in `dir`; defaults if it is missing or unreadable.
    pub fn load(dir: &Path) -> Prefs {
        std::fs::read(dir.join(PREFS_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes `ui.json` in `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), PrefsError> {
        let path = dir.join(PREFS_FILE);
        let body = serde_json::to_vec_pretty(self).expect("prefs serialise");
        std::fs::write(&path, body).map_err(|source| PrefsError { path, source })
    }
}

/// The settings being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsDraft {
    /// Display name.
    pub name: String,
    /// TCP link port (0 = any).
    pub port: u16,
    /// UDP discovery port.
    pub discovery_port: u16,
    /// Interfaces to use only, comma-separated (empty = all).
    pub include: String,
    /// Interfaces never to use, comma-separated.
    pub exclude: String,
    /// Theme and download folder.
    pub prefs: Prefs,
    /// The folder `--download-dir` chose, shown instead of the editable field.
    pub pinned_download_dir: Option<String>,
    /// Tray availability and starting with the session.
    pub desktop: DesktopDraft,
    /// The folder received files go to now (the core's word, else the one it started
    /// with), whatever the field says.
    pub download_dir_now: String,
    /// Whose file offers are accepted without asking, as the core does now.
    pub auto_accept: AutoAccept,
}

fn split_names(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

impl SettingsDraft {
    /// The current settings.
    pub fn new(state: &ChatState, config: Option<&Config>, prefs: &Prefs) -> SettingsDraft {
        let me = state.me.as_ref();
        SettingsDraft {
            name: me.map(|m| m.name.clone()).unwrap_or_default(),
            port: config.map_or(0, |c| c.port),
            discovery_port: config
                .map(|c| c.discovery_port)
                .or(me.map(|m| m.discovery_port))
                .unwrap_or(crate::config::DEFAULT_DISCOVERY_PORT),
            include: config.map_or(String::new(), |c| c.interfaces.include.join(", ")),
            exclude: config.map_or(String::new(), |c| c.interfaces.exclude.join(", ")),
            prefs: prefs.clone(),
            pinned_download_dir: config
                .filter(|c| c.download_dir_pinned)
                .map(|c| c.download_dir.display().to_string()),
            desktop: DesktopDraft::default(),
            download_dir_now: state
                .download_dir
                .clone()
                .or_else(|| config.map(|c| c.download_dir.display().to_string()))
                .unwrap_or_default(),
            auto_accept: state
                .auto_accept
                .or(prefs.auto_accept)
                .or(config.map(AutoAccept::of))
                .unwrap_or_default(),
        }
    }

    /// The core configuration these settings ask for, if it differs from `current`.
    pub fn network_config(&self, current: &Config) -> Option<Config> {
        let mut next = current.clone();
        next.port = self.port;
        next.discovery_port = self.discovery_port;
        next.interfaces.include = split_names(&self.include);
        next.interfaces.exclude = split_names(&self.exclude);
        let changed = next.port != current.port
            || next.discovery_port != current.discovery_port
            || next.interfaces != current.interfaces;
        changed.then(|| {
            next.name = None; // the name is the core's business now (rename)
            next
        })
    }
}

/// Draws the settings window while it is open.
pub fn window(ctx: &egui::Context, view: &mut View, actions: &mut Vec<Action>) {
    let Some(draft) = &mut view.settings else {
        return;
    };
    let mut open = true;
    egui::Window::new("Settings")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .frame(egui::Frame::window(&ctx.global_style()).inner_margin(16))
        .show(ctx, |ui| {
            egui::Grid::new("settings-grid")
                .num_columns(2)
                .spacing([16.0, 10.0])
                .show(ui, |ui| form(ui, draft));
            ui.add_space(8.0);
            ui.label(
                egui::RichText::new(
                    "Changing ports or interfaces restarts lanchat's networking for this \
                     session; use the command-line flags to keep them.",
                )
                .small()
                .weak(),
            );
            ui.separator();
            ui.horizontal(|ui| {
                if ui.button("Apply").clicked() {
                    actions.push(Action::ApplySettings(Box::new(draft.clone())));
                }
                if ui.button("Cancel").clicked() {
                    actions.push(Action::CloseSettings);
                }
            });
        });
    if !open {
        actions.push(Action::CloseSettings);
    }
}

fn form(ui: &mut egui::Ui, d: &mut SettingsDraft) {
    let label = ui.label("Name");
    ui.add(egui::TextEdit::singleline(&mut d.name).desired_width(240.0))
        .labelled_by(label.id);
    ui.end_row();

    ui.label("Theme");
    ui.horizontal(|ui| {
        ui.radio_value(&mut d.prefs.theme, Theme::Dark, "Dark");
        ui.radio_value(&mut d.prefs.theme, Theme::Light, "Light");
        ui.radio_value(&mut d.prefs.theme, Theme::System, "Follow system");
    });
    ui.end_row();

    let label = ui.label("TCP port");
    ui.horizontal(|ui| {
        ui.add(egui::DragValue::new(&mut d.port).range(0..=65535))
            .labelled_by(label.id);
        ui.label(egui::RichText::new("0 = any free port").weak());
    });
    ui.end_row();

    let label = ui.label("Discovery port (UDP)");
    ui.add(egui::DragValue::new(&mut d.discovery_port).range(1..=65535))
        .labelled_by(label.id);
    ui.end_row();

    let label = ui.label("Use only interfaces");
    ui.add(
        egui::TextEdit::singleline(&mut d.include)
            .hint_text("all, e.g. eth0, wlan0")
            .desired_width(240.0),
    )
    .labelled_by(label.id);
    ui.end_row();

    let label = ui.label("Never use interfaces");
    ui.add(
        egui::TextEdit::singleline(&mut d.exclude)
            .hint_text("e.g. docker0, tun0")
            .desired_width(240.0),
    )
    .labelled_by(label.id);
    ui.end_row();

    let label = ui.label("Download folder");
    ui.vertical(|ui| {
        let now = super::file_card::short_path(Path::new(&d.download_dir_now));
        match &d.pinned_download_dir {
            Some(_) => {
                ui.label(format!("{now} (set by --download-dir)"))
                    .labelled_by(label.id);
            }
            None => {
                ui.label(format!("Files are saved in {now}"));
                ui.add(
                    egui::TextEdit::singleline(&mut d.prefs.download_dir)
                        .hint_text("another folder")
                        .desired_width(240.0),
                )
                .labelled_by(label.id)
                .on_hover_text("Empty: the folder lanchat started with");
            }
        }
    });
    ui.end_row();

    ui.label("Files from others");
    ui.vertical(|ui| {
        ui.radio_value(&mut d.auto_accept, AutoAccept::Nobody, "Ask me every time");
        ui.radio_value(
            &mut d.auto_accept,
            AutoAccept::Verified,
            "Accept at once from verified peers only",
        )
        .on_hover_text(
            "Peers whose safety code you compared (✔ verified); files from anyone else wait \
             for you to accept them",
        );
        ui.radio_value(
            &mut d.auto_accept,
            AutoAccept::Everyone,
            "Accept at once from anyone",
        )
        .on_hover_text("Anyone on the network can fill your download folder");
    });
    ui.end_row();

    shell::settings_rows(ui, &mut d.prefs.desktop, &mut d.desktop);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_changes_restart() {
        let current = Config::loopback("/tmp/x", 40000);
        let mut d = SettingsDraft::new(&ChatState::default(), Some(&current), &Prefs::default());
        assert!(d.network_config(&current).is_none(), "nothing changed");
        d.prefs.theme = Theme::Light;
        d.name = "new".into();
        assert!(d.network_config(&current).is_none());
        d.exclude = "docker0, tun0".into();
        let next = d
            .network_config(&current)
            .expect("an interface change restarts");
        assert_eq!(next.interfaces.exclude, ["docker0", "tun0"]);
        assert_eq!(next.bind, current.bind, "loopback confinement is kept");
    }

    #[test]
    fn the_saved_file_rule_goes_to_the_core_unless_auto_accept_was_given() {
        let mut config = Config::loopback("/tmp/x", 40000);
        let mut prefs = Prefs::default();
        assert_eq!(prefs.auto_accept_command(&config), None, "nothing chosen");
        prefs.auto_accept = Some(AutoAccept::Verified);
        assert_eq!(
            prefs.auto_accept_command(&config),
            Some(Command::SetAutoAccept {
                from: AutoAccept::Verified
            })
        );
        let saved: Prefs = serde_json::from_slice(&serde_json::to_vec(&prefs).unwrap()).unwrap();
        assert_eq!(saved, prefs, "kept in ui.json");
        config.auto_accept = true;
        assert_eq!(
            prefs.auto_accept_command(&config),
            None,
            "--auto-accept wins"
        );
    }

    #[test]
    fn the_download_folder_goes_to_the_core_unless_the_command_line_chose_one() {
        let mut config = Config::loopback("/tmp/x", 40000);
        let none = Prefs::default();
        let chosen = Prefs {
            download_dir: "/srv/inbox".into(),
            ..Prefs::default()
        };
        let set = |p: &str| Some(Command::SetDownloadDir { path: p.into() });
        assert_eq!(
            none.download_dir_command(None, &config),
            None,
            "nothing saved"
        );
        assert_eq!(
            chosen.download_dir_command(None, &config),
            set("/srv/inbox")
        );
        assert_eq!(chosen.download_dir_command(Some(&chosen), &config), None);
        assert_eq!(
            chosen.download_dir_command(Some(&none), &config),
            set("/srv/inbox")
        );
        // Cleared: back to the folder the core started with.
        assert_eq!(
            none.download_dir_command(Some(&chosen), &config),
            set("/tmp/x/downloads")
        );
        config.download_dir_pinned = true;
        assert_eq!(chosen.download_dir_command(None, &config), None);
        assert_eq!(chosen.download_dir_command(Some(&none), &config), None);
    }
}

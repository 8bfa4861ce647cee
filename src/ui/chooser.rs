//! lanchat's own file chooser (`egui_file`), for desktops with no system one (no file
//! chooser portal): it opens in the window when the 📎 button's system dialog is not
//! there, says why, and gives the files chosen to the conversation's peer.

use std::path::PathBuf;

use egui::RichText;

use super::app::Action;
use crate::node::Command;

/// The dialog's size.
const DIALOG: egui::Vec2 = egui::vec2(560.0, 380.0);
/// Room kept above the dialog for the note that says why it is lanchat's own.
const NOTE_ROOM: f32 = 64.0;

/// The chooser while it is open: for whom, and why the system one was not used.
pub struct Chooser {
    /// The peer the files go to.
    pub peer: String,
    /// Why there is no system chooser, in the log's words (shown on hover).
    pub why: String,
    dialog: egui_file::FileDialog,
}

impl std::fmt::Debug for Chooser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chooser")
            .field("peer", &self.peer)
            .field("why", &self.why)
            .finish_non_exhaustive()
    }
}

impl Chooser {
    /// Opens at the home folder (else the working directory), for files (or with
    /// `folder`, one folder) to `peer`, titled with the peer's `name`. Folders selected
    /// among files are sent too, each as one transfer.
    pub fn open(
        peer: String,
        name: &str,
        why: String,
        (start, folder): (Option<PathBuf>, bool),
    ) -> Chooser {
        let start = start
            .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
            .unwrap_or_default();
        let (dialog, title) = match folder {
            true => (
                egui_file::FileDialog::select_folder(),
                format!("Send a folder to {name}"),
            ),
            false => (
                egui_file::FileDialog::open_file().multi_select(true),
                format!("Send files to {name}"),
            ),
        };
        let mut dialog = dialog
            .initial_path(start)
            .title(&title)
            .open_button_text("Send".into())
            .show_rename(false)
            .show_new_folder(false)
            .default_size(DIALOG)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, NOTE_ROOM / 2.0])
            .id(egui::Id::unique("lanchat-chooser"));
        dialog.open();
        Chooser { peer, why, dialog }
    }
}

/// Draws the chooser while it is open; the files chosen go to its peer. Returns whether
/// it is still open.
pub fn show(ctx: &egui::Context, chooser: &mut Chooser, actions: &mut Vec<Action>) -> bool {
    // Right above the dialog (centred, moved down by half the note's room).
    let above = -DIALOG.y / 2.0 + NOTE_ROOM / 2.0 - 8.0;
    egui::Area::new(egui::Id::unique("lanchat-chooser-note"))
        .pivot(egui::Align2::CENTER_BOTTOM)
        .fixed_pos(ctx.content_rect().center() + egui::vec2(0.0, above))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(520.0);
                ui.label(
                    RichText::new(
                        "This desktop has no file chooser lanchat can use, so here is \
                         lanchat's own. You can also drop files and folders on the window.",
                    )
                    .strong(),
                )
                .on_hover_text(&chooser.why);
            });
        });
    let dialog = &mut chooser.dialog;
    dialog.show(ctx);
    if dialog.selected() {
        let mut files: Vec<PathBuf> = dialog.selection().into_iter().map(PathBuf::from).collect();
        if files.is_empty() {
            files.extend(dialog.path().map(PathBuf::from));
        }
        for path in files.into_iter().filter(|p| p.is_file() || p.is_dir()) {
            actions.push(Action::Core(Command::SendFile {
                to: chooser.peer.clone(),
                path,
            }));
        }
        return false;
    }
    dialog.visible()
}

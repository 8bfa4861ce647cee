//! A file inside a bubble: name, size, a progress bar with rate and time left, and the
//! buttons that fit where the transfer stands (Accept/Decline, Cancel, Retry, Show in
//! folder). An offer from a peer you have not verified says so. A folder sent as one
//! transfer is one card too: its files and folders counted, and files done beside the
//! bytes.
//! Pictures that arrived show as a thumbnail, decoded off the UI thread (`thumbs`).

use std::path::PathBuf;
use std::time::Instant;

use egui::RichText;

use super::app::Action;
use super::thumbs::Thumbs;
use super::transfers::{FileTransfer, TransferStage, human_eta, human_size};
use crate::node::Command;

/// Widest a thumbnail is drawn.
const THUMB_WIDTH: f32 = 240.0;

/// What a card needs besides its transfer.
pub struct Card<'a> {
    /// Pictures' thumbnails.
    pub thumbs: &'a Thumbs,
    /// Whether a finished file was checked against the sender's hash (lanchat peers);
    /// IPMsg peers send none, so their files are "not verified".
    pub verified: bool,
    /// The sender is not a peer you verified: its offer says so.
    pub stranger: bool,
}

/// Draws the card for `t` at most `width` wide.
pub fn show(
    ui: &mut egui::Ui,
    t: &FileTransfer,
    card: &Card,
    width: f32,
    actions: &mut Vec<Action>,
) {
    let icon = match () {
        _ if t.is_folder() => "📁",
        _ if t.is_picture() => "🖼",
        _ => "📄",
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(icon).size(22.0));
        ui.vertical(|ui| {
            ui.label(RichText::new(&t.name).strong());
            ui.label(RichText::new(subtitle(t)).small().weak());
        });
    });
    let id = t.id.clone();
    let core = |cmd| Action::Core(cmd);
    match &t.stage {
        TransferStage::Offered if t.mine => {
            ui.label(RichText::new("Waiting for them to accept…").small().weak());
            if ui.small_button("Cancel").clicked() {
                actions.push(core(Command::Cancel {
                    transfer_id: id.into(),
                }));
            }
        }
        TransferStage::Offered => {
            if card.stranger {
                ui.label(
                    RichText::new("From someone you have not verified")
                        .small()
                        .weak(),
                )
                .on_hover_text(
                    "You have not compared safety codes with the sender, so you cannot be \
                         sure who they are: accept only a file you expect.",
                );
            }
            ui.horizontal(|ui| {
                if ui.button("Accept").clicked() {
                    actions.push(core(Command::Accept {
                        transfer_id: id.clone().into(),
                    }));
                }
                if ui.button("Decline").clicked() {
                    actions.push(core(Command::Decline {
                        transfer_id: id.into(),
                    }));
                }
            });
        }
        TransferStage::Moving { bytes, .. } => {
            let files = t
                .folder
                .map(|f| format!("{} of {} files · ", f.done, f.files))
                .unwrap_or_default();
            let line = match t.rate_and_eta(Instant::now()) {
                Some((rate, eta)) => format!(
                    "{files}{} of {} · {}/s · {} left",
                    human_size(*bytes),
                    human_size(t.size),
                    human_size(rate as u64),
                    human_eta(eta)
                ),
                None => format!("{files}{} of {}", human_size(*bytes), human_size(t.size)),
            };
            ui.add(egui::ProgressBar::new(t.fraction()).desired_width(width.min(320.0)));
            ui.horizontal(|ui| {
                ui.label(RichText::new(line).small().weak());
                if ui.small_button("Cancel").clicked() {
                    actions.push(core(Command::Cancel {
                        transfer_id: id.into(),
                    }));
                }
            });
        }
        TransferStage::Done { path } => {
            if t.is_picture() {
                if let Some(texture) = card.thumbs.get(path) {
                    let size = texture.size_vec2();
                    let scale = (THUMB_WIDTH / size.x).min(1.0);
                    let r = ui.add(
                        egui::Image::new(texture)
                            .fit_to_exact_size(size * scale)
                            .sense(egui::Sense::click()),
                    );
                    if r.on_hover_text("Open").clicked() {
                        actions.push(Action::Open(PathBuf::from(path)));
                    }
                } else {
                    ui.label(RichText::new("loading picture…").small().weak());
                }
            }
            let folder = PathBuf::from(path)
                .parent()
                .map(PathBuf::from)
                .unwrap_or_default();
            let mut what = if t.mine {
                "✔ Delivered".to_owned()
            } else {
                format!("✔ Saved in {}", short_path(&folder))
            };
            let how = if card.verified {
                "Its checksum matched: the file arrived complete and unchanged."
            } else {
                what.push_str(" · not verified");
                "Not verified: IPMsg sends no checksum, so only the size was checked."
            };
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(what).small().weak())
                    .on_hover_text(format!("{path}\n{how}"));
                if ui.small_button("Show in folder").clicked() {
                    actions.push(Action::Open(folder));
                }
            });
        }
        TransferStage::Interrupted {
            reason,
            automatic,
            attempt,
        } => {
            let next = if *automatic {
                format!("trying again by itself (try {attempt})")
            } else {
                "waiting for the sender to offer it again".to_owned()
            };
            ui.label(
                RichText::new(format!("⏸ Interrupted: {reason}"))
                    .small()
                    .color(ui.visuals().warn_fg_color),
            );
            ui.horizontal(|ui| {
                ui.label(RichText::new(next).small().weak());
                retry_and_cancel(ui, &id, "Retry now", actions);
            });
        }
        TransferStage::Retrying => {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Trying again…").small().weak());
                if ui.small_button("Cancel").clicked() {
                    actions.push(core(Command::Cancel {
                        transfer_id: id.into(),
                    }));
                }
            });
        }
        TransferStage::Failed { reason, .. } => {
            ui.label(
                RichText::new(format!("⚠ {}", failure_words(t.mine, reason)))
                    .small()
                    .color(ui.visuals().warn_fg_color),
            )
            .on_hover_text(reason);
            if t.can_retry() {
                ui.horizontal(|ui| {
                    let what = "Resumes from the bytes that already arrived.";
                    ui.label(RichText::new(what).small().weak());
                    retry_and_cancel(ui, &id, "Retry", actions);
                });
            }
        }
    }
}

/// What is under a card's name: size and type, or a folder's counts and size.
fn subtitle(t: &FileTransfer) -> String {
    let plural = |n: u64, one: &str, many: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    match t.folder {
        Some(f) => format!(
            "Folder · {}, {} · {}",
            plural(f.files, "file", "files"),
            plural(f.folders, "folder", "folders"),
            human_size(t.size)
        ),
        None if t.is_folder() => format!("Folder · {}", human_size(t.size)),
        None => format!("{} · {}", human_size(t.size), t.mime),
    }
}

/// Why a transfer ended, in a person's words: who declined or cancelled it, with the
/// other side's reason when it gave one (the core's exact words are in the tooltip).
pub fn failure_words(mine: bool, reason: &str) -> String {
    let said = |rest: &str| {
        let rest = rest.trim();
        if rest.is_empty() || rest == "declined" || rest == "cancelled" {
            String::new()
        } else {
            let short: String = rest.chars().take(80).collect();
            format!(": “{short}”")
        }
    };
    if let Some(rest) = reason.strip_prefix("declined") {
        let rest = rest.trim_start_matches(':');
        if mine {
            format!("They declined the file{}", said(rest))
        } else {
            "You declined the file".to_owned()
        }
    } else if let Some(rest) = reason.strip_prefix("cancelled by the sender") {
        let rest = rest.trim_start_matches(':');
        format!("The sender cancelled it{}", said(rest))
    } else if reason == "cancelled" {
        "Cancelled".to_owned()
    } else {
        let mut words = reason.to_owned();
        if let Some(first) = words.get(..1) {
            words.replace_range(..1, &first.to_uppercase());
        }
        words
    }
}

/// A folder as people read it: under the home folder as `~/…`.
pub fn short_path(path: &std::path::Path) -> String {
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    match home.and_then(|h| path.strip_prefix(&h).ok().map(std::path::Path::to_path_buf)) {
        Some(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

/// A Retry button (labelled `label`) and a Cancel that gives the transfer up for good
/// (the receiver deletes what it kept).
fn retry_and_cancel(ui: &mut egui::Ui, id: &str, label: &str, actions: &mut Vec<Action>) {
    let transfer_id = id.to_owned();
    if ui.small_button(label).clicked() {
        actions.push(Action::Core(Command::Retry {
            transfer_id: transfer_id.clone().into(),
        }));
    }
    if ui.small_button("Cancel").clicked() {
        actions.push(Action::Core(Command::Cancel {
            transfer_id: transfer_id.into(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::failure_words;

    #[test]
    fn endings_are_told_in_words() {
        assert_eq!(
            failure_words(true, "declined: declined"),
            "They declined the file"
        );
        assert_eq!(
            failure_words(true, "declined: too big"),
            "They declined the file: “too big”"
        );
        assert_eq!(failure_words(false, "declined"), "You declined the file");
        assert_eq!(
            failure_words(false, "cancelled by the sender: cancelled"),
            "The sender cancelled it"
        );
        assert_eq!(failure_words(true, "cancelled"), "Cancelled");
        assert_eq!(
            failure_words(
                true,
                "the receiver closed the connection; gave up after 8 tries"
            ),
            "The receiver closed the connection; gave up after 8 tries"
        );
    }
}

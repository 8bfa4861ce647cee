//! The composer: a multi-line field where Enter sends and Shift+Enter starts a new line,
//! 📎 and Send at its right (laid out first, so a narrow window never pushes them out of
//! sight), and above it a line saying why a message cannot go before the user tries, or
//! how many characters are left near a shout's limit. A shout too long for one datagram
//! can go to each online person instead, with one click.

use egui::{Key, KeyboardShortcut, Modifiers, RichText};

use super::app::{Action, View};
use super::send_check::{Blocked, characters};
use super::state::{ChatState, ConvKey};
use crate::node::Command;

/// Shout characters left below which the count is shown.
const SHOW_LEFT: usize = 120;

/// Draws the composer at the bottom of `ui`.
pub fn show(ui: &mut egui::Ui, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    let conv = state.selected.clone();
    let id = ui.make_persistent_id(("composer", &conv));
    let focus = std::mem::take(&mut view.focus_composer);
    egui::Panel::bottom("composer")
        .show_separator_line(true)
        .frame(egui::Frame::new().inner_margin(egui::Margin::symmetric(0, 8)))
        .show(ui, |ui| {
            let draft = view.drafts.entry(conv.clone()).or_default();
            let verdict = state.check_send(&conv, draft);
            advice(ui, state, &conv, draft, &verdict, actions);
            let enter = ui.memory(|m| m.has_focus(id)) && ui.input(plain_enter);
            let to = state.title(&conv);
            let label = ui.label(RichText::new(format!("Message to {to}")).small().weak());
            let mut send = false;
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let button = ui
                    .add_enabled(
                        verdict.is_ok(),
                        egui::Button::new(RichText::new("Send").strong())
                            .min_size(egui::vec2(64.0, 36.0)),
                    )
                    .on_disabled_hover_text(match &verdict {
                        Err(Blocked::Empty) => "Type a message first".to_owned(),
                        _ => verdict_text(&verdict),
                    });
                if let ConvKey::Peer(peer) | ConvKey::Room(peer) = &conv {
                    let folder = ui
                        .add(egui::Button::new("📁").min_size(egui::vec2(36.0, 36.0)))
                        .on_hover_text("Send a whole folder (or drop it on the window)");
                    folder.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, "Send a folder")
                    });
                    if folder.clicked() {
                        actions.push(Action::PickFolder(peer.clone()));
                    }
                    let attach = ui
                        .add(egui::Button::new("📎").min_size(egui::vec2(36.0, 36.0)))
                        .on_hover_text("Send a file or a picture (or drop it on the window)");
                    attach.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, "Attach a file")
                    });
                    if attach.clicked() {
                        actions.push(Action::PickFiles(peer.clone()));
                    }
                }
                let field = egui::TextEdit::multiline(draft)
                    .id(id)
                    .desired_rows(2)
                    .desired_width(ui.available_width())
                    .hint_text("Enter sends · Shift+Enter for a new line")
                    .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter));
                let r = ui.add(field).labelled_by(label.id);
                send = button.clicked() || (enter && r.has_focus());
                let nothing_focused = ui.memory(|m| m.focused().is_none());
                if state.me.is_some() && (focus || nothing_focused) {
                    r.request_focus();
                }
            });
            if send && verdict.is_ok() {
                let text = draft.trim_end().trim_start_matches(['\n', '\r']).to_owned();
                draft.clear();
                actions.push(Action::Core(match &conv {
                    ConvKey::Everyone => Command::Shout { text },
                    ConvKey::Peer(to) | ConvKey::Room(to) => Command::Send {
                        to: to.clone(),
                        text,
                    },
                }));
                actions.push(Action::ScrollToBottom);
            }
        });
}

/// The line above the field: why the message cannot go, that it will wait, or how many
/// characters a shout has left.
fn advice(
    ui: &mut egui::Ui,
    state: &ChatState,
    conv: &ConvKey,
    draft: &mut String,
    verdict: &Result<(), Blocked>,
    actions: &mut Vec<Action>,
) {
    match (verdict, conv) {
        (Err(Blocked::ShoutTooLong { .. }), _) => {
            let online = state.peers.values().filter(|p| p.online).count();
            ui.horizontal_wrapped(|ui| {
                hint(ui, &verdict_text(verdict), true).on_hover_text(
                    "A message to Everyone is one broadcast datagram, and a datagram holds \
                     about 1,400 bytes: some 1,300 Latin letters or 400 Chinese characters.",
                );
                if online > 0 {
                    let label = match online {
                        1 => "Send to the 1 person online".to_owned(),
                        n => format!("Send to each of the {n} people online"),
                    };
                    let b = ui.small_button(label).on_hover_text(
                        "One direct message to each person online now: delivered, with receipts",
                    );
                    if b.clicked() {
                        let text = draft.trim_end().trim_start_matches(['\n', '\r']).to_owned();
                        draft.clear();
                        actions.push(Action::SendToEach(text));
                    }
                }
            });
        }
        (Err(Blocked::Empty) | Ok(()), ConvKey::Peer(pid)) => {
            if let Some(p) = state.peers.get(pid).filter(|p| !p.online) {
                let text = format!(
                    "{} is offline: your message waits here and goes out when they are back.",
                    p.name
                );
                hint(ui, &text, false);
            }
        }
        (Err(Blocked::Empty), _) | (Ok(()), ConvKey::Room(_)) => {}
        (Err(_), _) => {
            hint(ui, &verdict_text(verdict), true);
        }
        (Ok(()), ConvKey::Everyone) => {
            if let Some(left) = state.shout_left(draft).filter(|n| *n < SHOW_LEFT) {
                hint(ui, &format!("{} left", characters(left)), false);
            }
        }
    }
}

fn verdict_text(verdict: &Result<(), Blocked>) -> String {
    verdict
        .as_ref()
        .err()
        .map(Blocked::to_string)
        .unwrap_or_default()
}

/// Enter without Shift, Ctrl or Alt, pressed this frame.
fn plain_enter(i: &egui::InputState) -> bool {
    i.events.iter().any(|e| {
        matches!(e, egui::Event::Key { key: Key::Enter, pressed: true, modifiers, .. }
            if !modifiers.shift && !modifiers.alt && !modifiers.command && !modifiers.ctrl)
    })
}

fn hint(ui: &mut egui::Ui, text: &str, error: bool) -> egui::Response {
    let colour = if error {
        ui.visuals().warn_fg_color
    } else {
        ui.visuals().weak_text_color()
    };
    ui.label(RichText::new(text).small().color(colour))
}

//! The composer: a multi-line field where Enter sends and Shift+Enter starts a new line,
//! a Send button, and a line saying why a message cannot go (too long for one shout
//! datagram, peer unknown) before the user tries.

use egui::{Key, KeyboardShortcut, Modifiers, RichText};

use super::app::{Action, View};
use super::send_check::Blocked;
use super::state::{ChatState, ConvKey};
use crate::node::Command;

/// Draws the composer at the bottom of `ui`.
pub fn show(ui: &mut egui::Ui, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    let conv = state.selected.clone();
    let id = ui.make_persistent_id(("composer", &conv));
    egui::Panel::bottom("composer")
        .show_separator_line(true)
        .frame(egui::Frame::new().inner_margin(egui::Margin::symmetric(0, 8)))
        .show(ui, |ui| {
            let draft = view.drafts.entry(conv.clone()).or_default();
            let verdict = state.check_send(&conv, draft);
            match &verdict {
                Err(Blocked::Empty) | Ok(()) => {
                    if let (ConvKey::Peer(pid), Ok(())) = (&conv, &verdict)
                        && state.peers.get(pid).is_some_and(|p| !p.online)
                    {
                        hint(
                            ui,
                            "Offline: the message waits here and goes out when they are back.",
                            false,
                        );
                    }
                }
                Err(reason) => hint(ui, &reason.to_string(), true),
            }
            let enter = ui.memory(|m| m.has_focus(id)) && ui.input(plain_enter);
            let to = state.title(&conv);
            let label = ui.label(RichText::new(format!("Message to {to}")).small().weak());
            let mut send = false;
            ui.horizontal(|ui| {
                let button_width = 72.0;
                let attach_width = if matches!(conv, ConvKey::Peer(_)) {
                    44.0
                } else {
                    0.0
                };
                let field = egui::TextEdit::multiline(draft)
                    .id(id)
                    .desired_rows(2)
                    .desired_width(ui.available_width() - button_width - attach_width - 8.0)
                    .hint_text("Enter sends · Shift+Enter for a new line")
                    .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter));
                let r = ui.add(field).labelled_by(label.id);
                if let ConvKey::Peer(peer) = &conv {
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
                let button = ui.add_enabled(
                    verdict.is_ok(),
                    egui::Button::new(RichText::new("Send").strong())
                        .min_size(egui::vec2(button_width, 36.0)),
                );
                send = button.clicked() || (enter && r.has_focus());
                if state.me.is_some() && !ui.memory(|m| m.focused().is_some()) {
                    r.request_focus();
                }
            });
            if send && verdict.is_ok() {
                let text = draft.trim_end().trim_start_matches(['\n', '\r']).to_owned();
                draft.clear();
                actions.push(Action::Core(match &conv {
                    ConvKey::Everyone => Command::Shout { text },
                    ConvKey::Peer(to) => Command::Send {
                        to: to.clone(),
                        text,
                    },
                }));
                actions.push(Action::ScrollToBottom);
            }
        });
}

/// Enter without Shift, Ctrl or Alt, pressed this frame.
fn plain_enter(i: &egui::InputState) -> bool {
    i.events.iter().any(|e| {
        matches!(e, egui::Event::Key { key: Key::Enter, pressed: true, modifiers, .. }
            if !modifiers.shift && !modifiers.alt && !modifiers.command && !modifiers.ctrl)
    })
}

fn hint(ui: &mut egui::Ui, text: &str, error: bool) {
    let colour = if error {
        ui.visuals().warn_fg_color
    } else {
        ui.visuals().weak_text_color()
    };
    ui.label(RichText::new(text).small().color(colour));
}

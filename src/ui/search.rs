//! Full-text search over history: a box in the left panel, and a window of hits where a
//! click opens the conversation scrolled to the message.

use egui::RichText;

use super::app::{Action, View};
use super::state::{ChatState, ConvKey};
use super::timefmt;
use crate::node::Command;

/// Most hits asked for.
const HITS: usize = 200;

/// The search box: Enter asks the core.
pub fn search_box(ui: &mut egui::Ui, view: &mut View, actions: &mut Vec<Action>) {
    let label = ui.label(RichText::new("Search history").small().weak());
    let r = ui
        .add(
            egui::TextEdit::singleline(&mut view.search_query)
                .hint_text("🔍 words, 中文…")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        let query = view.search_query.trim().to_owned();
        if !query.is_empty() {
            actions.push(Action::Core(Command::Search { query, limit: HITS }));
        }
    }
}

/// The hits of the last search, while there is one.
pub fn results_window(ctx: &egui::Context, state: &ChatState, actions: &mut Vec<Action>) {
    let Some((query, hits)) = &state.search else {
        return;
    };
    let mut open = true;
    egui::Window::new(format!("Search: {query}"))
        .id(egui::Id::unique("search-results"))
        .open(&mut open)
        .collapsible(false)
        .default_width(420.0)
        .default_height(360.0)
        .show(ctx, |ui| {
            if hits.is_empty() {
                ui.label(RichText::new("No messages match.").weak());
                return;
            }
            ui.label(
                RichText::new(format!("{} found, newest first", hits.len()))
                    .small()
                    .weak(),
            );
            egui::ScrollArea::vertical().show(ui, |ui| {
                let now = timefmt::now_ms();
                for hit in hits {
                    let conv = if hit.peer == crate::store::EVERYONE {
                        ConvKey::Everyone
                    } else {
                        ConvKey::Peer(hit.peer.clone())
                    };
                    let place = state.title(&conv);
                    let when = timefmt::day_label(hit.sent_at, now);
                    let r = ui.add(
                        egui::Button::new(RichText::new(format!(
                            "{place} · {} · {when} {}\n{}",
                            hit.from_name,
                            timefmt::clock(hit.sent_at),
                            hit.text
                        )))
                        .wrap()
                        .frame(false),
                    );
                    if r.clicked() {
                        actions.push(Action::Jump(conv, hit.msg_id.clone(), hit.id));
                    }
                    ui.separator();
                }
            });
        });
    if !open {
        actions.push(Action::CloseSearch);
    }
}

//! The conversation's title bar: the ☰ that shows or hides the people list, who the
//! conversation is with, their presence and status (or when they were last heard), and
//! whether they are verified, below it the warning when their key changed, why messages
//! to them wait, if they do, and the error banner.

use egui::{Align, Layout, RichText};

use super::app::{Action, View};
use super::presence::{self, Presence};
use super::state::{ChatState, ConvKey};
use super::{timefmt, verify};

/// The conversation's title bar (who, their presence and status, the ☰ that shows or
/// hides the left panel) and the error banner.
pub fn show(ui: &mut egui::Ui, state: &ChatState, view: &View, actions: &mut Vec<Action>) {
    let conv = &state.selected;
    ui.horizontal(|ui| {
        let menu = super::icons::menu(
            ui,
            if view.sidebar_hidden {
                "Show the list of people"
            } else {
                "Hide the list of people"
            },
        );
        if menu.clicked() {
            actions.push(Action::ToggleSidebar);
        }
        ui.add(egui::Label::new(RichText::new(state.title(conv)).heading()).truncate());
        match conv {
            ConvKey::Everyone => {
                let online = state.peers.values().filter(|p| p.online).count();
                let who = match online {
                    0 => "nobody else is online".to_owned(),
                    1 => "reaches the 1 person online".to_owned(),
                    n => format!("reaches the {n} people online"),
                };
                let words = format!("{who} · public: signed, not encrypted · no delivery receipts");
                ui.add(egui::Label::new(RichText::new(words).weak()).truncate())
                    .on_hover_text(
                        "A message to Everyone is one broadcast on the local network: whoever \
                         is online now gets it, nobody confirms it arrived, and it is not kept \
                         for people who are offline. It is public: anyone on the network can \
                         read it. It is signed, so nobody can send one under your name.",
                    );
            }
            ConvKey::Room(id) => super::rooms::header(ui, state, id, actions),
            ConvKey::Peer(id) => match state.peers.get(id) {
                Some(p) => {
                    let presence = Presence::of(p.online, &p.status);
                    presence::icon(ui, presence);
                    let words = if p.online {
                        presence::status_words(true, &p.status)
                    } else {
                        let seen = timefmt::seen(p.last_seen, timefmt::now_ms());
                        format!("offline, last seen {seen}")
                    };
                    let words = match presence::protocol_label(p) {
                        Some(label) => format!("{words} · {label}"),
                        None => words,
                    };
                    ui.add(egui::Label::new(RichText::new(words).weak()).truncate())
                        .on_hover_text(presence::peer_hover(p));
                    verify::badge(ui, p);
                    verify::verify_button(ui, p, actions);
                }
                None => {
                    ui.label(RichText::new("not heard on the network").weak());
                }
            },
        }
    });
    if let ConvKey::Peer(id) = conv
        && let Some(p) = state.peers.get(id)
    {
        verify::key_changed_banner(ui, p, actions);
    }
    if let ConvKey::Peer(id) = conv
        && let Some(why) = state.waiting.get(id)
    {
        let name = state.title(conv);
        let colour = ui.visuals().warn_fg_color;
        ui.add(egui::Label::new(RichText::new(format!("{name} {why}")).color(colour)).truncate())
            .on_hover_text(
                "Your messages wait on your computer; they go out by themselves, in order, as \
             soon as their computer can take them.",
            );
    }
    if let Some(err) = &state.error {
        egui::Frame::new()
            .fill(ui.visuals().error_fg_color.gamma_multiply(0.15))
            .corner_radius(6)
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(err).color(ui.visuals().error_fg_color));
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        if super::icons::close(ui, "Dismiss").clicked() {
                            actions.push(Action::DismissError);
                        }
                    });
                });
            });
    }
    ui.separator();
}

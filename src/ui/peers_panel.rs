//! The left panel: you (name editable in place, status), the Everyone room, then peers,
//! online first, each with its unread count, or when it was last seen if offline.

use egui::{Color32, RichText};

use super::app::{Action, View};
use super::state::{ChatState, ConvKey, short_id};
use super::timefmt;
use crate::node::Command;

/// Statuses offered in the status menu.
const STATUSES: &[&str] = &["online", "away", "busy", "in a meeting"];

/// Online dot colour.
pub const ONLINE: Color32 = Color32::from_rgb(0x3c, 0xb3, 0x71);

/// A presence dot: filled green when online, a grey ring when not. Painted, so it does
/// not depend on a font having U+25CF.
pub fn presence_dot(ui: &mut egui::Ui, online: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    let c = rect.center();
    if online {
        ui.painter().circle_filled(c, 4.0, ONLINE);
    } else {
        let grey = ui.visuals().weak_text_color();
        ui.painter()
            .circle_stroke(c, 3.5, egui::Stroke::new(1.2, grey));
    }
}

/// Draws the panel.
pub fn show(ui: &mut egui::Ui, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    egui::Panel::left("peers")
        .resizable(true)
        .default_size(250.0)
        .size_range(200.0..=420.0)
        .show(ui, |ui| {
            ui.add_space(8.0);
            me(ui, state, view, actions);
            ui.add_space(6.0);
            super::search::search_box(ui, view, actions);
            ui.add_space(4.0);
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| list(ui, state, actions));
        });
}

fn me(ui: &mut egui::Ui, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    let Some(me) = &state.me else {
        ui.label(RichText::new("Starting…").weak());
        return;
    };
    if let Some(edit) = &mut view.name_edit {
        let label = ui.label(RichText::new("Your name").small().weak());
        let r = ui
            .add(egui::TextEdit::singleline(edit).desired_width(f32::INFINITY))
            .labelled_by(label.id);
        r.request_focus();
        let (enter, escape) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::Enter),
                i.key_pressed(egui::Key::Escape),
            )
        });
        if escape {
            view.name_edit = None;
        } else if enter || r.lost_focus() {
            let name = edit.trim().to_owned();
            if !name.is_empty() && name != me.name {
                actions.push(Action::Core(Command::Rename { name }));
            }
            view.name_edit = None;
        }
    } else {
        ui.horizontal(|ui| {
            let name = ui
                .add(
                    egui::Label::new(RichText::new(&me.name).heading().strong())
                        .truncate()
                        .sense(egui::Sense::click()),
                )
                .on_hover_text("Click to change your name");
            if name.clicked() {
                view.name_edit = Some(me.name.clone());
            }
        });
    }
    ui.horizontal(|ui| {
        presence_dot(ui, me.status == "online");
        let label = ui.label(RichText::new("Status").small().weak());
        egui::ComboBox::from_id_salt("my-status")
            .selected_text(&me.status)
            .width(110.0)
            .show_ui(ui, |ui| {
                for s in STATUSES {
                    if ui.selectable_label(me.status == *s, *s).clicked() && me.status != *s {
                        actions.push(Action::Core(Command::SetStatus {
                            status: (*s).to_owned(),
                        }));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        ui.label(RichText::new(&me.host).small().weak());
    });
    ui.horizontal(|ui| {
        if ui.button("⚙ Settings").clicked() {
            actions.push(Action::OpenSettings);
        }
        if ui
            .selectable_label(view.show_network, "🖧 Network")
            .on_hover_text("Interfaces, sockets, traffic; why can't I see someone?")
            .clicked()
        {
            actions.push(Action::ToggleNetwork);
        }
    });
}

fn list(ui: &mut egui::Ui, state: &ChatState, actions: &mut Vec<Action>) {
    let now = timefmt::now_ms();
    let online = state.peers.values().filter(|p| p.online).count();
    row(
        ui,
        state,
        &ConvKey::Everyone,
        None,
        "Everyone",
        RichText::new("📢 Everyone").strong(),
        &format!("{online} online · best-effort broadcast"),
        actions,
    );
    ui.add_space(4.0);
    let peers = state.peers_sorted();
    if peers.is_empty() {
        ui.add_space(12.0);
        ui.label(RichText::new("Nobody here yet.").weak());
        ui.label(
            RichText::new(
                "Peers on your subnet appear within seconds. Open Network to see why not.",
            )
            .small()
            .weak(),
        );
    }
    for p in peers {
        let mut name = RichText::new(&p.name);
        if !p.online {
            name = name.weak();
        }
        let detail = if p.online && p.status != "online" {
            format!("{} · {} · {}", p.status, p.host, p.addr)
        } else if p.online {
            format!("{} · {}", p.host, p.addr)
        } else {
            format!("last seen {}", timefmt::ago(p.last_seen, now))
        };
        let conv = ConvKey::Peer(p.id.clone().into());
        row(
            ui,
            state,
            &conv,
            Some(p.online),
            &p.name,
            name,
            &detail,
            actions,
        );
    }
    for (id, name) in state.strangers() {
        let title = if name.is_empty() { short_id(id) } else { name };
        let conv = ConvKey::Peer(id.to_owned());
        let text = RichText::new(title).weak();
        row(ui, state, &conv, None, title, text, "unknown peer", actions);
    }
}

/// One selectable row: presence, title, detail line, unread badge.
#[allow(clippy::too_many_arguments)]
fn row(
    ui: &mut egui::Ui,
    state: &ChatState,
    conv: &ConvKey,
    presence: Option<bool>,
    name: &str,
    title: impl Into<egui::WidgetText>,
    detail: &str,
    actions: &mut Vec<Action>,
) {
    let selected = state.selected == *conv;
    let unread = state.unread(conv);
    let accessible = format!("{name}{}", unread_suffix(unread));
    let r = egui::Frame::new()
        .inner_margin(egui::Margin::symmetric(8, 6))
        .corner_radius(6)
        .fill(if selected {
            ui.visuals().selection.bg_fill.gamma_multiply(0.35)
        } else {
            Color32::TRANSPARENT
        })
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing.x = 5.0;
                        if let Some(online) = presence {
                            presence_dot(ui, online);
                        }
                        ui.add(egui::Label::new(title).truncate().selectable(false));
                    });
                    ui.add(
                        egui::Label::new(RichText::new(detail).small().weak())
                            .truncate()
                            .selectable(false),
                    );
                });
                if unread > 0 {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        badge(ui, unread);
                    });
                }
            });
        })
        .response
        .interact(egui::Sense::click());
    r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, selected, &accessible));
    if r.hovered() && !selected {
        ui.painter().rect_stroke(
            r.rect,
            6,
            ui.visuals().widgets.hovered.bg_stroke,
            egui::StrokeKind::Inside,
        );
    }
    if r.clicked() {
        actions.push(Action::Select(conv.clone()));
    }
}

fn unread_suffix(unread: usize) -> String {
    match unread {
        0 => String::new(),
        1 => ", 1 unread".to_owned(),
        n => format!(", {n} unread"),
    }
}

/// A round count badge.
pub fn badge(ui: &mut egui::Ui, n: usize) {
    let text = if n > 99 {
        "99+".to_owned()
    } else {
        n.to_string()
    };
    egui::Frame::new()
        .fill(Color32::from_rgb(0xe0, 0x4f, 0x4f))
        .corner_radius(9)
        .inner_margin(egui::Margin::symmetric(6, 1))
        .show(ui, |ui| {
            ui.add(
                egui::Label::new(RichText::new(text).small().strong().color(Color32::WHITE))
                    .selectable(false),
            );
        });
}

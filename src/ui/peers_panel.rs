//! The left panel: you (name editable in place, status, this computer's name), Settings,
//! Network, "Let a browser join…" and "Add by address…", the search box, then the
//! Everyone room, the rooms (and "New room…"), and the people, online first, each with
//! their presence, whether they are verified (a menu on the row offers "Verify…") and
//! unread count, or when they were last heard if offline. While a search is open, its
//! results take the place of the list.

use egui::{Color32, RichText};

use super::app::{Action, View};
use super::presence::{self, Presence};
use super::state::{ChatState, ConvKey, short_id};
use super::timefmt;
use crate::node::{Command, PeerInfo};

/// Statuses offered in the status menu (the tray's too).
use crate::desktop::STATUSES;
/// Height of the name row, the same while it is edited (so nothing below it moves).
const NAME_ROW: f32 = 30.0;

/// The panel's width for a window `width` points wide: a third of it, within bounds.
pub fn default_width(width: f32) -> f32 {
    (width * 0.28).clamp(190.0, 280.0)
}

/// The widest the panel may be dragged, leaving the conversation room.
pub fn max_width(width: f32) -> f32 {
    (width - 400.0).clamp(170.0, 420.0)
}

/// Draws the panel; returns its width.
pub fn show(
    ui: &mut egui::Ui,
    state: &ChatState,
    view: &mut View,
    actions: &mut Vec<Action>,
) -> f32 {
    let width = ui.ctx().content_rect().width();
    egui::Panel::left("peers")
        .resizable(true)
        .default_size(default_width(width))
        .size_range(170.0..=max_width(width))
        .show(ui, |ui| {
            ui.add_space(8.0);
            me(ui, state, view, actions);
            ui.add_space(6.0);
            super::search::search_box(ui, view, actions);
            ui.add_space(4.0);
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    if view.search.active() {
                        super::search::results(ui, state, &view.search, actions);
                    } else {
                        list(ui, state, actions);
                    }
                });
        })
        .response
        .rect
        .width()
}

fn me(ui: &mut egui::Ui, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    let Some(me) = &state.me else {
        ui.label(RichText::new("Starting…").weak());
        return;
    };
    let row = egui::vec2(ui.available_width(), NAME_ROW);
    let layout = egui::Layout::left_to_right(egui::Align::Center);
    ui.allocate_ui_with_layout(row, layout, |ui| {
        ui.set_min_size(row);
        if let Some(edit) = &mut view.name_edit {
            let r = ui
                .add(
                    egui::TextEdit::singleline(edit)
                        .font(egui::TextStyle::Heading)
                        .hint_text("Your name")
                        .desired_width(f32::INFINITY),
                )
                .on_hover_text("Enter keeps the new name, Escape cancels");
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
            let name = ui
                .add(
                    egui::Label::new(RichText::new(&me.name).heading().strong())
                        .truncate()
                        .sense(egui::Sense::click()),
                )
                .on_hover_text("Your name, as others see it. Click to change it");
            if name.clicked() {
                view.name_edit = Some(me.name.clone());
            }
        }
    });
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        presence::icon(ui, Presence::of(true, &me.status));
        egui::ComboBox::from_id_salt("my-status")
            .selected_text(&me.status)
            .width(ui.available_width().min(150.0))
            .show_ui(ui, |ui| {
                for s in STATUSES {
                    let picked = ui
                        .horizontal(|ui| {
                            ui.spacing_mut().item_spacing.x = 6.0;
                            presence::icon(ui, Presence::of(true, s));
                            ui.selectable_label(me.status == *s, *s)
                        })
                        .inner;
                    if picked.clicked() && me.status != *s {
                        actions.push(Action::Core(Command::SetStatus {
                            status: (*s).to_owned(),
                        }));
                    }
                }
            })
            .response
            .on_hover_text("Your status: others see it beside your name");
    });
    ui.add(
        egui::Label::new(
            RichText::new(format!("This computer: {}", me.host))
                .small()
                .weak(),
        )
        .truncate(),
    )
    .on_hover_text("Others see this computer's name beside yours");
    ui.add_space(2.0);
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
    if ui
        .button("🌐 Let a browser join…")
        .on_hover_text("Someone without lanchat chats with you from a phone's browser")
        .clicked()
    {
        actions.push(Action::ShowWebJoin(true));
    }
    if ui
        .button("🔗 Add by address…")
        .on_hover_text("Reach someone on another subnet, behind a router")
        .clicked()
    {
        actions.push(Action::ShowReach(true));
    }
}

fn list(ui: &mut egui::Ui, state: &ChatState, actions: &mut Vec<Action>) {
    let now = timefmt::now_ms();
    let online = state.peers.values().filter(|p| p.online).count();
    let everyone = match online {
        0 => "nobody else online".to_owned(),
        1 => "1 person online".to_owned(),
        n => format!("{n} people online"),
    };
    row(
        ui,
        state,
        &ConvKey::Everyone,
        None,
        ("Everyone", RichText::new("📢 Everyone").strong().into()),
        &everyone,
        actions,
    );
    super::rooms::list(ui, state, actions, |ui, conv, title, detail, actions| {
        row(
            ui,
            state,
            conv,
            None,
            (title, RichText::new(title).into()),
            detail,
            actions,
        );
    });
    ui.add_space(4.0);
    let peers = state.peers_sorted();
    if peers.is_empty() {
        empty_state(ui, state);
    }
    for p in peers {
        let mut name = RichText::new(&p.name);
        if !p.online {
            name = name.weak();
        }
        let mut detail = if p.online {
            format!("{} · {}", presence::status_words(true, &p.status), p.host)
        } else {
            format!("last seen {}", timefmt::seen(p.last_seen, now))
        };
        if let Some(label) = presence::protocol_label(p) {
            detail = format!("{detail} · {label}");
        }
        let conv = ConvKey::Peer(p.id.clone().into());
        let r = row(
            ui,
            state,
            &conv,
            Some(p),
            (&p.name, name.into()),
            &detail,
            actions,
        )
        .on_hover_text(presence::peer_hover(p));
        if p.protocol == crate::node::Protocol::Lanchat {
            r.context_menu(|ui| {
                if ui.button("Verify…").clicked() {
                    actions.push(Action::Verify(p.id.to_string()));
                    ui.close();
                }
            });
        }
    }
    for (id, name) in state.strangers() {
        let title = if name.is_empty() { short_id(id) } else { name };
        let conv = ConvKey::Peer(id.to_owned());
        let text = RichText::new(title).weak();
        row(
            ui,
            state,
            &conv,
            None,
            (title, text.into()),
            "not heard on the network",
            actions,
        );
    }
}

/// What the list says while nobody is there: true to how lanchat is set up.
fn empty_state(ui: &mut egui::Ui, state: &ChatState) {
    let loopback = state
        .me
        .as_ref()
        .is_some_and(|m| m.addr.starts_with("127."));
    ui.add_space(12.0);
    ui.label(RichText::new("Nobody here yet").strong());
    ui.add_space(2.0);
    let text = if loopback {
        "lanchat is confined to this computer (it was started with --bind 127.0.0.1): \
         only other lanchats on this computer can appear here."
    } else {
        "People on your network who run lanchat appear here by themselves, usually within \
         a few seconds. Nobody after a minute? Open Network to see why."
    };
    ui.add(egui::Label::new(RichText::new(text).small().weak()).wrap());
}

/// One selectable row: presence and verified badge (of `peer`, for a peer's row), title,
/// detail line, unread badge. `title` is the name for the accessible label and the text
/// shown.
fn row(
    ui: &mut egui::Ui,
    state: &ChatState,
    conv: &ConvKey,
    peer: Option<&PeerInfo>,
    title: (&str, egui::WidgetText),
    detail: &str,
    actions: &mut Vec<Action>,
) -> egui::Response {
    let selected = state.selected == *conv;
    let unread = state.unread(conv);
    let accessible = format!("{}{}", title.0, unread_suffix(unread));
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
                let badge_room = if unread > 0 { 34.0 } else { 0.0 };
                ui.vertical(|ui| {
                    ui.set_max_width(ui.available_width() - badge_room);
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing.x = 6.0;
                        if let Some(p) = peer {
                            presence::icon(ui, Presence::of(p.online, &p.status));
                        }
                        ui.add(egui::Label::new(title.1).truncate().selectable(false));
                        if let Some(p) = peer {
                            super::verify::badge(ui, p);
                        }
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
    r
}

fn unread_suffix(unread: usize) -> String {
    match unread {
        0 => String::new(),
        1 => ", 1 unread".to_owned(),
        n => format!(", {n} unread"),
    }
}

/// An unread count: a round red badge (a pill for two digits or more) with the number
/// in bold white at a size that reads.
pub fn badge(ui: &mut egui::Ui, n: usize) {
    let text = if n > 99 {
        "99+".to_owned()
    } else {
        n.to_string()
    };
    let font = egui::FontId::proportional(12.0);
    let galley = ui.painter().layout_no_wrap(text, font, Color32::WHITE);
    let height = 20.0;
    let width = (galley.size().x + 12.0).max(height);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, height / 2.0, presence::BUSY);
    let at = rect.center() - galley.size() / 2.0;
    painter.galley(at, galley.clone(), Color32::WHITE);
    // Twice, a hair apart: bold from a regular face.
    painter.galley(at + egui::vec2(0.4, 0.0), galley, Color32::WHITE);
}

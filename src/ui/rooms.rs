//! Rooms in the window: their rows in the left panel (between Everyone and the people),
//! the room's header (who is in it, "Add people…", "Rename…", "Leave"), the room
//! dialog ("New room…", adding people, renaming), and who among the members has each of
//! our messages (`progress`, for the bubble's mark). It reads `ChatState::rooms` and asks
//! through commands (`room_create`, `room_add`, `room_rename`, `room_leave`); what a room
//! is stays the core's.

use std::collections::BTreeSet;

use egui::RichText;

use super::app::{Action, View};
use super::state::{ChatMessage, ChatState, ConvKey};
use crate::node::Command;

/// The room dialog, while open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomDialog {
    /// "New room…": its name and the people chosen.
    New {
        /// The name typed.
        name: String,
        /// Peer ids ticked.
        chosen: BTreeSet<String>,
    },
    /// "Add people…" to a room.
    Add {
        /// The room id.
        room: String,
        /// Peer ids ticked.
        chosen: BTreeSet<String>,
    },
    /// "Rename…" a room.
    Rename {
        /// The room id.
        room: String,
        /// The name typed.
        name: String,
    },
}

/// The rooms' rows, by name, and "New room…"; `row` draws one selectable row.
pub fn list(
    ui: &mut egui::Ui,
    state: &ChatState,
    actions: &mut Vec<Action>,
    mut row: impl FnMut(&mut egui::Ui, &ConvKey, &str, &str, &mut Vec<Action>),
) {
    let mut rooms: Vec<_> = state.rooms.values().collect();
    rooms.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    for r in rooms {
        let detail = match r.members.len() {
            1 => "only you".to_owned(),
            n => format!("{n} people"),
        };
        let title = format!("👥 {}", r.name);
        row(ui, &ConvKey::Room(r.id.clone()), &title, &detail, actions);
    }
    if ui
        .small_button("＋ New room…")
        .on_hover_text("A group of people you choose: everyone in it gets every message")
        .clicked()
    {
        actions.push(Action::RoomDialog(Some(RoomDialog::New {
            name: String::new(),
            chosen: BTreeSet::new(),
        })));
    }
}

/// The room's header line: who is in it, and what one can do.
pub fn header(ui: &mut egui::Ui, state: &ChatState, id: &str, actions: &mut Vec<Action>) {
    let Some(room) = state.rooms.get(id) else {
        ui.label(RichText::new("you left this room").weak());
        return;
    };
    let me = state.me.as_ref().map(|m| m.id.as_str());
    let names: Vec<&str> = room
        .people
        .iter()
        .map(|p| {
            if Some(p.id.as_str()) == me {
                "you"
            } else {
                p.name.as_str()
            }
        })
        .collect();
    ui.add(egui::Label::new(RichText::new(names.join(", ")).weak()).truncate())
        .on_hover_text(
            "Everyone in the room gets each message, also those offline now, when they are back",
        );
    if ui.small_button("Add people…").clicked() {
        actions.push(Action::RoomDialog(Some(RoomDialog::Add {
            room: id.to_owned(),
            chosen: BTreeSet::new(),
        })));
    }
    if ui.small_button("Rename…").clicked() {
        actions.push(Action::RoomDialog(Some(RoomDialog::Rename {
            room: id.to_owned(),
            name: room.name.clone(),
        })));
    }
    if ui
        .small_button("Leave")
        .on_hover_text("The others are told; you get nothing more from this room")
        .clicked()
    {
        actions.push(Action::Core(Command::RoomLeave {
            room: id.to_owned(),
        }));
    }
}

/// Draws the room dialog while it is open (`View::room_dialog`).
pub fn window(ctx: &egui::Context, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    let Some(dialog) = &mut view.room_dialog else {
        return;
    };
    let title = match dialog {
        RoomDialog::New { .. } => "New room",
        RoomDialog::Add { .. } => "Add people",
        RoomDialog::Rename { .. } => "Rename the room",
    };
    let mut open = true;
    let mut done = None;
    egui::Window::new(title)
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .frame(egui::Frame::window(&ctx.global_style()).inner_margin(16))
        .show(ctx, |ui| {
            ui.set_max_width(360.0);
            done = match dialog {
                RoomDialog::New { name, chosen } => {
                    name_field(ui, name);
                    people(ui, state, None, chosen);
                    let ok = !name.trim().is_empty() && !chosen.is_empty();
                    button(ui, "Make the room", ok).then(|| Command::RoomCreate {
                        name: name.trim().to_owned(),
                        members: chosen.iter().cloned().collect(),
                    })
                }
                RoomDialog::Add { room, chosen } => {
                    people(ui, state, state.rooms.get(room.as_str()), chosen);
                    button(ui, "Add them", !chosen.is_empty()).then(|| Command::RoomAdd {
                        room: room.clone(),
                        members: chosen.iter().cloned().collect(),
                    })
                }
                RoomDialog::Rename { room, name } => {
                    name_field(ui, name);
                    button(ui, "Rename", !name.trim().is_empty()).then(|| Command::RoomRename {
                        room: room.clone(),
                        name: name.trim().to_owned(),
                    })
                }
            };
        });
    if let Some(cmd) = done {
        actions.push(Action::Core(cmd));
        actions.push(Action::RoomDialog(None));
    } else if !open {
        actions.push(Action::RoomDialog(None));
    }
}

fn name_field(ui: &mut egui::Ui, name: &mut String) {
    let label = ui.label("Name");
    ui.add(
        egui::TextEdit::singleline(name)
            .hint_text("A name for the room")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    ui.add_space(6.0);
}

/// Ticks for the people who can be in a room (lanchat peers with a key), but those in
/// `room` already.
fn people(
    ui: &mut egui::Ui,
    state: &ChatState,
    room: Option<&crate::node::rooms::RoomInfo>,
    chosen: &mut BTreeSet<String>,
) {
    ui.label("People");
    let mut any = false;
    for p in state.peers_sorted() {
        let id = p.id.to_string();
        if p.protocol != crate::node::Protocol::Lanchat
            || p.trust.fingerprint.is_none()
            || room.is_some_and(|r| r.members.contains(&id))
        {
            continue;
        }
        any = true;
        let mut on = chosen.contains(&id);
        if ui.checkbox(&mut on, &p.name).changed() {
            if on {
                chosen.insert(id);
            } else {
                chosen.remove(&id);
            }
        }
    }
    if !any {
        ui.label(RichText::new("Nobody else to choose yet").weak());
    }
    ui.add_space(6.0);
}

fn button(ui: &mut egui::Ui, label: &str, enabled: bool) -> bool {
    ui.add_enabled(enabled, egui::Button::new(RichText::new(label).strong()))
        .clicked()
}

/// Who has one of our room messages, who refused it and whom it still waits for, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Members who acknowledged it.
    pub have: Vec<String>,
    /// Members who refused it for good.
    pub refused: Vec<String>,
    /// Members it waits for.
    pub waiting: Vec<String>,
}

impl Progress {
    /// Members it went to, now.
    fn total(&self) -> usize {
        self.have.len() + self.refused.len() + self.waiting.len()
    }

    /// Whether every member has it.
    pub fn all(&self) -> bool {
        self.have.len() == self.total()
    }

    /// "1/3": how many of the members have it.
    pub fn count(&self) -> String {
        format!("{}/{}", self.have.len(), self.total())
    }

    /// In words, for the tooltip and the accessible label.
    pub fn words(&self, time: &str) -> String {
        if self.all() {
            return format!("delivered to everyone at {time}: {}", self.have.join(", "));
        }
        let have = if self.have.is_empty() {
            "nobody yet".to_owned()
        } else {
            self.have.join(", ")
        };
        let mut words = format!(
            "sent at {time}, delivered to {} of {}: {have}",
            self.have.len(),
            self.total()
        );
        if !self.waiting.is_empty() {
            words += &format!("; waiting for {}", self.waiting.join(", "));
        }
        if !self.refused.is_empty() {
            words += &format!("; refused by {}", self.refused.join(", "));
        }
        words
    }
}

/// Where our message `m` in room `id` stands among the room's members now, us aside (one
/// who left is neither waited for nor counted); `None` for a room we left, or one with
/// nobody else in it.
pub fn progress(state: &ChatState, id: &str, m: &ChatMessage) -> Option<Progress> {
    let room = state.rooms.get(id)?;
    let me = state.me.as_ref().map(|m| m.id.as_str());
    let mut p = Progress {
        have: Vec::new(),
        refused: Vec::new(),
        waiting: Vec::new(),
    };
    for person in room.people.iter().filter(|p| Some(p.id.as_str()) != me) {
        let to = if m.delivered_to.contains(&person.id) {
            &mut p.have
        } else if m.refused_by.contains(&person.id) {
            &mut p.refused
        } else {
            &mut p.waiting
        };
        to.push(person.name.clone());
    }
    (p.total() > 0).then_some(p)
}

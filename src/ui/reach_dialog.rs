//! "Add by address…": the window where the user gives the address of a lanchat beyond
//! the router (another subnet, a VLAN, a VPN) and sees the addresses added, each with
//! what became of it and a "Remove" button. It checks what is typed as the core would
//! (`PeerAddr::parse`), so a mistake is said before anything is sent, and asks through
//! `add_peer` and `remove_peer`; the list is the core's (`peer_added`, `peer_removed`,
//! and `net_status`'s `unicast` for each address's state).

use egui::RichText;

use super::app::{Action, View};
use super::state::ChatState;
use crate::node::{Command, Host, NetStatus, PeerAddr, check_ip};

/// Draws the window while it is open (`View::reach` holds what is typed).
pub fn window(ctx: &egui::Context, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    let Some(typed) = &mut view.reach else {
        return;
    };
    let mut open = true;
    egui::Window::new("Add by address")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .frame(egui::Frame::window(&ctx.global_style()).inner_margin(16))
        .show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.label(
                "Someone on another subnet (behind a router, a VLAN or a VPN) does not hear \
                 your broadcasts. Give the address of their computer: lanchat sends its \
                 presence there directly, they answer, and you see each other. Both sides \
                 remember it until you remove it.",
            );
            ui.add_space(8.0);
            form(ui, state, typed, actions);
            ui.add_space(10.0);
            list(ui, state, actions);
            ui.add_space(10.0);
            if ui.button("Done").clicked() {
                actions.push(Action::ShowReach(false));
            }
        });
    if !open {
        actions.push(Action::ShowReach(false));
    }
}

fn form(ui: &mut egui::Ui, state: &ChatState, typed: &mut String, actions: &mut Vec<Action>) {
    let checked = check(state, typed);
    let mut add = false;
    let label = ui.label("Their address");
    ui.horizontal(|ui| {
        let field = egui::TextEdit::singleline(typed)
            .hint_text("10.0.2.7 or lab-07:47474")
            .desired_width(260.0);
        let response = ui.add(field).labelled_by(label.id);
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let button = ui.add_enabled(checked.is_ok(), egui::Button::new("Add"));
        add = (button.clicked() || entered) && checked.is_ok();
    });
    match &checked {
        Err(why) if !typed.trim().is_empty() => {
            ui.label(RichText::new(why).color(ui.visuals().error_fg_color));
        }
        _ => {
            let port = discovery_port(state);
            ui.label(
                RichText::new(format!(
                    "An IPv4 address or a host name; add :PORT if their discovery port \
                     is not {port}."
                ))
                .small()
                .weak(),
            );
        }
    }
    if add && let Ok(addr) = checked {
        actions.push(Action::Core(Command::AddPeer { addr }));
        typed.clear();
    }
}

fn list(ui: &mut egui::Ui, state: &ChatState, actions: &mut Vec<Action>) {
    if state.reach.is_empty() {
        ui.label(RichText::new("No address added yet.").weak());
        return;
    }
    ui.label(RichText::new("Added").strong());
    egui::Grid::new("reach-list")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for addr in &state.reach {
                ui.monospace(addr);
                ui.label(how(state.net_status.as_ref(), addr));
                if ui
                    .button("Remove")
                    .on_hover_text(format!("Stop reaching {addr}"))
                    .clicked()
                {
                    let addr = addr.clone();
                    actions.push(Action::Core(Command::RemovePeer { addr }));
                }
                ui.end_row();
            }
        });
}

/// What became of `addr`, as the last network snapshot says (asked for while the
/// network panel is open).
fn how(net: Option<&NetStatus>, addr: &str) -> String {
    let Some(entry) = net.and_then(|n| n.unicast.iter().find(|u| u.addr == addr)) else {
        return "added".to_owned();
    };
    match &entry.error {
        Some(why) => format!("{}: {why}", entry.state),
        None => entry.state.to_owned(),
    }
}

fn discovery_port(state: &ChatState) -> u16 {
    state
        .me
        .as_ref()
        .map_or(crate::config::DEFAULT_DISCOVERY_PORT, |m| m.discovery_port)
}

/// What is typed, normalised, or why it cannot be added (as the core would say it).
fn check(state: &ChatState, typed: &str) -> Result<String, String> {
    let addr = PeerAddr::parse(typed, discovery_port(state)).map_err(|e| e.to_string())?;
    if let Host::Ip(ip) = addr.host {
        let loopback = state.me.as_ref().is_some_and(|m| {
            m.addr
                .parse()
                .is_ok_and(|a: std::net::Ipv4Addr| a.is_loopback())
        });
        check_ip(ip, loopback, &addr.to_string()).map_err(|e| e.to_string())?;
    }
    Ok(addr.to_string())
}

/// Lines for "Why can't I see someone?": what reach by address can do, and each added
/// address not reached, with why.
pub fn help(net: &NetStatus) -> Vec<String> {
    let mut out = vec![
        "Another subnet: broadcasts stop at routers. Use \"Add by address…\" with the other \
         computer's address; it answers, and you see each other."
            .to_owned(),
    ];
    for u in net.unicast.iter().filter(|u| u.state != "reached") {
        let why = u.error.as_deref().unwrap_or("no answer yet");
        out.push(format!(
            "{} ({}): {} — {why}",
            u.addr,
            u.origin.label(),
            u.state
        ));
    }
    out
}

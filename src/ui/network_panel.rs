//! The network panel: what lanchat sees of the network, from the core's `net_status`
//! snapshot. Interfaces with address, prefix and broadcast address; our sockets
//! (`getsockname`); each link's peer (`getpeername`) and descriptor; counters, with
//! drops by reason; the latest datagrams and frames, newest first; and a "why can't I see
//! someone?" checklist filled in with those facts.

use egui::{Grid, RichText};

use super::app::Action;
use super::state::{ChatState, short_id};
use super::timefmt;
use crate::config::Config;
use crate::node::{IpmsgNetStatus, NetStatus};

/// Interface names that usually belong to VPNs, containers or virtual machines.
const VIRTUAL_PREFIXES: &[&str] = &[
    "tun",
    "tap",
    "wg",
    "docker",
    "br-",
    "veth",
    "virbr",
    "vboxnet",
    "vmnet",
    "zt",
    "tailscale",
    "utun",
    "ppp",
];

/// Draws the panel: on the right beside the conversation, at most `room` wide, or with
/// no `room` on the left in the people list's place (a window too narrow for both).
pub fn show(
    ui: &mut egui::Ui,
    state: &ChatState,
    config: Option<&Config>,
    room: Option<f32>,
    actions: &mut Vec<Action>,
) {
    let width = ui.ctx().content_rect().width();
    let panel = match room {
        None => egui::Panel::left("network-left")
            .default_size((width * 0.5).clamp(220.0, 420.0))
            .size_range(200.0..=(width - 300.0).max(200.0)),
        Some(room) => egui::Panel::right("network")
            .default_size(room.min(420.0))
            .size_range(room.min(300.0)..=room.min(760.0)),
    };
    panel.resizable(true).show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            ui.heading("Network");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if super::icons::close(ui, "Close the network panel").clicked() {
                    actions.push(Action::ToggleNetwork);
                }
                if ui.button("Add by address…").clicked() {
                    actions.push(Action::ShowReach(true));
                }
            });
        });
        let Some(net) = &state.net_status else {
            ui.label(RichText::new("Asking the core…").weak());
            return;
        };
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| body(ui, state, net, config));
    });
}

fn body(ui: &mut egui::Ui, state: &ChatState, net: &NetStatus, config: Option<&Config>) {
    egui::CollapsingHeader::new(RichText::new("Why can't I see someone?").strong())
        .default_open(true)
        .show(ui, |ui| {
            for line in help(net, config) {
                ui.horizontal_top(|ui| {
                    ui.label("•");
                    ui.add(egui::Label::new(line).wrap());
                });
            }
        });
    section(ui, "Interfaces", |ui| {
        if net.interfaces.is_empty() {
            ui.label(RichText::new("none: confined to loopback (127.0.0.1)").weak());
        } else {
            Grid::new("ifaces")
                .striped(true)
                .num_columns(3)
                .show(ui, |ui| {
                    for h in ["name", "address", "broadcast"] {
                        ui.label(RichText::new(h).small().weak());
                    }
                    ui.end_row();
                    for i in &net.interfaces {
                        ui.label(&i.name);
                        ui.monospace(format!("{}/{}", i.addr, i.prefix));
                        ui.monospace(i.broadcast.to_string());
                        ui.end_row();
                    }
                });
        }
        ui.label(RichText::new("Beacons go to").small().weak());
        for t in &net.broadcast_targets {
            ui.monospace(t);
        }
    });
    section(ui, "Sockets (getsockname)", |ui| {
        Grid::new("sockets")
            .striped(true)
            .num_columns(2)
            .show(ui, |ui| {
                for s in &net.sockets {
                    ui.label(&s.role);
                    ui.monospace(&s.local);
                    ui.end_row();
                }
            });
    });
    section(ui, "Links (getpeername)", |ui| {
        if net.links.is_empty() {
            ui.label(RichText::new("no open links").weak());
        }
        Grid::new("links")
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                for h in ["peer", "remote", "fd", ""] {
                    ui.label(RichText::new(h).small().weak());
                }
                ui.end_row();
                for l in &net.links {
                    let who = l.peer.as_deref().map_or_else(
                        || "(handshake)".to_owned(),
                        |id| {
                            state
                                .peers
                                .get(id)
                                .map_or_else(|| short_id(id).to_owned(), |p| p.name.clone())
                        },
                    );
                    ui.label(who);
                    ui.monospace(&l.remote)
                        .on_hover_text(format!("local {}", l.local));
                    ui.monospace(l.fd.to_string());
                    let how = match (l.outbound, l.active) {
                        (true, true) => "dialed",
                        (false, true) => "accepted",
                        (_, false) => "spare",
                    };
                    ui.label(RichText::new(how).small().weak());
                    ui.end_row();
                }
            });
    });
    section(ui, "Counters", |ui| {
        let c = &net.counters;
        Grid::new("counters").num_columns(2).show(ui, |ui| {
            let rows = [
                ("beacons sent", c.beacons_sent),
                ("beacons received", c.beacons_received),
                ("own beacons heard back", c.own_beacons),
                ("frames sent", c.frames_sent),
                ("frames received", c.frames_received),
                ("links dropped", c.links_dropped),
                ("connections accepted", c.connections_accepted),
            ];
            for (k, v) in rows {
                ui.label(k);
                ui.monospace(v.to_string());
                ui.end_row();
            }
            for (reason, n) in &c.dropped {
                let r = ui.label(format!("dropped: {reason}"));
                if let Some(hint) = super::verify::drop_hint(reason) {
                    r.on_hover_text(hint);
                }
                ui.monospace(n.to_string());
                ui.end_row();
            }
            for (reason, n) in &c.handshakes_failed {
                ui.label(format!("handshakes failed: {reason}"))
                    .on_hover_text(super::verify::handshake_hint(reason));
                ui.monospace(n.to_string());
                ui.end_row();
            }
            for (reason, n) in &c.connections_refused {
                ui.label(format!("connections refused: {reason}"))
                    .on_hover_text(refusal_hint(reason));
                ui.monospace(n.to_string());
                ui.end_row();
            }
        });
    });
    section(ui, "IPMsg (iptux, FeiQ)", |ui| ipmsg(ui, &net.ipmsg));
    section(ui, "Recent traffic (newest first)", |ui| {
        for r in &net.recent {
            let arrow = if r.dir == "in" { "←" } else { "→" };
            let line = format!(
                "{} {arrow} {} {:<21} {:>4} B  {}",
                timefmt::clock_secs(r.at),
                r.proto,
                r.peer,
                r.len,
                r.summary
            );
            ui.add(egui::Label::new(RichText::new(line).monospace().size(11.5)).truncate());
        }
    });
}

/// IPMsg's sockets, where its broadcasts go, and its counters (or why it is off).
fn ipmsg(ui: &mut egui::Ui, s: &IpmsgNetStatus) {
    match (&s.local, &s.problem) {
        (Some(local), _) => {
            ui.horizontal(|ui| {
                ui.label("UDP and TCP");
                ui.monospace(local);
            });
        }
        (None, Some(problem)) => {
            ui.label(RichText::new(format!("off: {problem}")).color(ui.visuals().warn_fg_color));
        }
        (None, None) => {
            ui.label(RichText::new("off (--no-ipmsg)").weak());
        }
    }
    if !s.on {
        return;
    }
    ui.label(RichText::new("Entries go to").small().weak());
    for t in &s.broadcast_targets {
        ui.monospace(t);
    }
    let c = &s.counters;
    Grid::new("ipmsg-counters").num_columns(2).show(ui, |ui| {
        let rows = [
            ("IPMsg peers online", s.peers_online as u64),
            ("packets received", c.packets_received),
            ("packets sent", c.packets_sent),
            ("own packets heard back", c.own),
            ("from other lanchats", c.from_lanchat),
            ("connections accepted", c.connections_accepted),
        ];
        for (k, v) in rows {
            ui.label(k);
            ui.monospace(v.to_string());
            ui.end_row();
        }
        let by_reason = [
            ("dropped", &c.dropped),
            ("file requests refused", &c.requests_refused),
            ("connections refused", &c.connections_refused),
        ];
        for (what, counts) in by_reason {
            for (reason, n) in counts {
                ui.label(format!("{what}: {reason}"));
                ui.monospace(n.to_string());
                ui.end_row();
            }
        }
    });
}

fn section(ui: &mut egui::Ui, title: &str, add: impl FnOnce(&mut egui::Ui)) {
    egui::CollapsingHeader::new(RichText::new(title).strong())
        .default_open(true)
        .show(ui, add);
}

/// The checklist, with what lanchat sees filled in.
pub fn help(net: &NetStatus, config: Option<&Config>) -> Vec<String> {
    let mut out = Vec::new();
    let discovery = net
        .sockets
        .iter()
        .find(|s| s.role.contains("discovery"))
        .and_then(|s| s.local.rsplit(':').next())
        .map_or_else(|| "47474".to_owned(), str::to_owned);
    let link_port = net
        .sockets
        .iter()
        .find(|s| s.role.contains("link") || s.role.contains("tcp"))
        .and_then(|s| s.local.rsplit(':').next())
        .unwrap_or("?");
    let loopback = config.is_some_and(|c| c.bind.is_some_and(|b| b.is_loopback()))
        || (net.interfaces.is_empty()
            && net.broadcast_targets.iter().any(|t| t.starts_with("127.")));
    if loopback {
        out.push(
            "lanchat is confined to this computer (bound to 127.0.0.1): only other instances \
             on this host can see you. Start it without --bind to reach the network."
                .to_owned(),
        );
    } else if net.interfaces.is_empty() {
        out.push(
            "No usable network interface: lanchat has nowhere to announce itself. Check the \
             cable or Wi-Fi, and the interface lists in Settings."
                .to_owned(),
        );
    } else {
        let nets: Vec<String> = net
            .interfaces
            .iter()
            .map(|i| {
                format!(
                    "{} {}/{} (broadcast {})",
                    i.name, i.addr, i.prefix, i.broadcast
                )
            })
            .collect();
        out.push(format!(
            "Same subnet: you announce on {}. The other computer needs an address in the same \
             subnet; routers do not forward broadcasts.",
            nets.join(", ")
        ));
    }
    out.push(format!(
        "Same discovery port: you listen on UDP {discovery}; the other side must use the same \
         one (--discovery-port)."
    ));
    out.push(format!(
        "Firewall: allow UDP {discovery} and TCP {link_port} in, on both computers."
    ));
    out.push(
        "Windows: when Windows Firewall asks, allow lanchat on the network's profile; a school \
         or office network is often \"Public\", which blocks it until allowed there too. \
         macOS: allow lanchat under System Settings > Privacy & Security > Local Network, or \
         it hears no one."
            .to_owned(),
    );
    let heard = net.counters.beacons_received;
    out.push(if heard == 0 {
        "You have heard no beacon from anyone yet. On Wi-Fi, guest networks and \"client \
         isolation\" (AP isolation) block traffic between devices: try a cable or another network."
            .to_owned()
    } else {
        format!("You have heard {heard} beacons from others, so discovery works on this network.")
    });
    out.extend(super::reach_dialog::help(net));
    let virtuals: Vec<&str> = net
        .interfaces
        .iter()
        .map(|i| i.name.as_str())
        .filter(|n| VIRTUAL_PREFIXES.iter().any(|p| n.starts_with(p)))
        .collect();
    if virtuals.is_empty() {
        out.push("VPN or virtual adapters: none in use.".to_owned());
    } else {
        out.push(format!(
            "VPN or virtual adapters in use: {}. If they are not your LAN, exclude them in Settings.",
            virtuals.join(", ")
        ));
    }
    for (reason, n) in &net.counters.dropped {
        let why = match reason.as_str() {
            "version" => "from a lanchat of another protocol version: update both",
            "foreign" => "from another program on the same port",
            "oversized" | "not_json" | "malformed" => "that were not valid lanchat beacons",
            _ => continue,
        };
        out.push(format!("{n} datagrams dropped {why}."));
    }
    out
}

/// What a refusal reason in `connections_refused` means, for its tooltip.
fn refusal_hint(reason: &str) -> &'static str {
    match reason {
        "evicted" => {
            "its place was needed by a newer connection (too many silent ones from one address)"
        }
        "timeout" => "it sent no complete first frame within 10 s",
        "closed" => "the other side closed it before its first frame",
        "invalid" => "its first bytes were not a lanchat frame",
        _ => "it failed on this side before its first frame",
    }
}

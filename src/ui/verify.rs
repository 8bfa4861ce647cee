//! Trust as the window shows it: the verified / not verified badge beside a peer (in the
//! list and the conversation header), the warning when someone uses the name of a peer
//! you verified with another key, the "Verify…" window that shows the safety code as
//! digits and as a QR code, and what the network panel says about forged presence and
//! failed handshakes.
//!
//! It only reads [`ChatState`] and pushes [`Action`]s: asking the core for the code,
//! marking verified and unverifying are commands (`safety_code`, `verify`, `unverify`);
//! whether a peer is verified is always the core's word (`peer_changed`), never decided
//! here.

use egui::{Color32, RichText};

use super::app::{Action, View};
use super::state::ChatState;
use crate::node::{Command, PeerInfo, Protocol};

/// Verified: green.
const VERIFIED: Color32 = Color32::from_rgb(0x2e, 0x9e, 0x5b);
/// Pixels per QR module in the window.
const QR_MODULE: f32 = 5.0;
/// The light border a QR code needs around it, in modules.
const QR_QUIET: usize = 4;

/// Where a peer stands, as its badge says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// You compared safety codes and marked its key verified.
    Verified,
    /// Encrypted, but nobody compared codes yet.
    NotVerified,
    /// It goes by the name of a peer you verified, with another key.
    KeyChanged,
    /// IPMsg or a browser: nothing is encrypted, there is no key to verify.
    NotEncrypted,
}

impl Standing {
    /// Where `p` stands.
    pub fn of(p: &PeerInfo) -> Standing {
        match p.protocol {
            Protocol::Ipmsg | Protocol::Web => Standing::NotEncrypted,
            Protocol::Lanchat if p.trust.key_changed_from.is_some() => Standing::KeyChanged,
            Protocol::Lanchat if p.trust.verified => Standing::Verified,
            Protocol::Lanchat => Standing::NotVerified,
        }
    }

    /// The badge's words.
    pub fn words(self) -> &'static str {
        match self {
            Standing::Verified => "✔ verified",
            Standing::NotVerified => "not verified",
            Standing::KeyChanged => "⚠ key changed",
            Standing::NotEncrypted => "not encrypted",
        }
    }

    /// What the badge means, for its tooltip.
    pub fn meaning(self, name: &str) -> String {
        match self {
            Standing::Verified => format!(
                "You compared safety codes with {name}: messages and files are encrypted, and \
                 only the computer whose key you checked can read them."
            ),
            Standing::NotVerified => format!(
                "Messages and files are encrypted, but you have not compared safety codes \
                 with {name} yet, so you cannot be sure this is really them. Choose \
                 \"Verify…\" and compare the code with what {name}'s screen shows."
            ),
            Standing::KeyChanged => format!(
                "This is not the {name} you verified: it uses that name with a different key \
                 (a reinstalled computer, or someone else). It is kept apart and is not \
                 verified."
            ),
            Standing::NotEncrypted => format!(
                "{name} uses IPMsg or a browser: messages and files travel unencrypted, and \
                 there is no key to verify."
            ),
        }
    }
}

/// The small badge for a lanchat peer (IPMsg and browser peers say "not encrypted" in
/// their protocol label instead, and get no badge). Hover it for what it means.
pub fn badge(ui: &mut egui::Ui, p: &PeerInfo) -> Option<egui::Response> {
    let standing = Standing::of(p);
    let colour = match standing {
        Standing::NotEncrypted => return None,
        Standing::Verified => VERIFIED,
        Standing::NotVerified => ui.visuals().weak_text_color(),
        Standing::KeyChanged => ui.visuals().error_fg_color,
    };
    let text = RichText::new(standing.words()).small().color(colour);
    let r = ui
        .add(
            egui::Label::new(text)
                .selectable(false)
                .sense(egui::Sense::hover()),
        )
        .on_hover_text(standing.meaning(&p.name));
    Some(r)
}

/// The warning over a conversation with a peer that uses a verified peer's name with
/// another key. Never dismissed by itself: it lasts as long as the peer is not verified.
pub fn key_changed_banner(ui: &mut egui::Ui, p: &PeerInfo, actions: &mut Vec<Action>) {
    if Standing::of(p) != Standing::KeyChanged {
        return;
    }
    let colour = ui.visuals().error_fg_color;
    egui::Frame::new()
        .fill(colour.gamma_multiply(0.15))
        .corner_radius(6)
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                let text = format!(
                    "⚠ Not the {} you verified: this peer uses the name with a different key. \
                     It may be their reinstalled computer, or someone else. Compare safety \
                     codes before you trust it.",
                    p.name
                );
                ui.label(RichText::new(text).color(colour));
                if ui.button("Verify…").clicked() {
                    actions.push(Action::Verify(p.id.to_string()));
                }
            });
        });
}

/// The "Verify…" button for a lanchat peer's header and menu.
pub fn verify_button(ui: &mut egui::Ui, p: &PeerInfo, actions: &mut Vec<Action>) {
    if p.protocol != Protocol::Lanchat {
        return;
    }
    let hover = format!(
        "Compare a safety code with {} to be sure it is them",
        p.name
    );
    if ui.button("Verify…").on_hover_text(hover).clicked() {
        actions.push(Action::Verify(p.id.to_string()));
    }
}

/// Draws the "Verify…" window while it is open: the code once the core gave it, as
/// twelve groups of digits and as a QR code, and the buttons that decide.
pub fn window(ctx: &egui::Context, state: &ChatState, view: &View, actions: &mut Vec<Action>) {
    let Some(peer) = &view.verify else {
        return;
    };
    let name = state.title(&super::state::ConvKey::Peer(peer.clone()));
    let code = state.safety.as_ref().filter(|s| s.peer == *peer);
    let known = state.peers.get(peer);
    let verified = known
        .map(|p| p.trust.verified)
        .or(code.map(|c| c.verified))
        .unwrap_or(false);
    // A peer last heard before protocol v2 has no key to compare yet (the core answers
    // `error`, shown in the banner).
    let keyless = known.is_some_and(|p| p.trust.fingerprint.is_none());
    let mut open = true;
    egui::Window::new(format!("Verify {name}"))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .frame(egui::Frame::window(&ctx.global_style()).inner_margin(16))
        .show(ctx, |ui| {
            let Some(code) = code else {
                if keyless {
                    ui.label(NO_KEY_YET);
                    if ui.button("Close").clicked() {
                        actions.push(Action::CloseVerify);
                    }
                } else {
                    ui.label(RichText::new("Asking for the safety code…").weak());
                }
                return;
            };
            ui.label(format!(
                "Compare this code with what {name}'s screen shows (read it aloud, or scan \
                 one screen's QR code with the other's phone). The same sixty digits on \
                 both screens mean nobody is in between."
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                digits(ui, &code.code);
                ui.add_space(16.0);
                qr(ui, &code.code);
            });
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if verified {
                    ui.label(RichText::new(Standing::Verified.words()).color(VERIFIED));
                    if ui
                        .button("Unverify")
                        .on_hover_text("Take back that you checked this key")
                        .clicked()
                    {
                        actions.push(Action::Core(Command::Unverify { peer: peer.clone() }));
                        actions.push(Action::CloseVerify);
                    }
                    if ui.button("Close").clicked() {
                        actions.push(Action::CloseVerify);
                    }
                } else {
                    if ui.button("They match — mark verified").clicked() {
                        actions.push(Action::Core(Command::Verify { peer: peer.clone() }));
                        actions.push(Action::CloseVerify);
                    }
                    if ui.button("Not now").clicked() {
                        actions.push(Action::CloseVerify);
                    }
                }
            });
            ui.label(
                RichText::new(
                    "Codes that differ: do not mark verified; someone may be in between.",
                )
                .small()
                .weak(),
            );
        });
    if !open {
        actions.push(Action::CloseVerify);
    }
}

/// The code as twelve groups of five digits, four to a line, in a monospace grid.
fn digits(ui: &mut egui::Ui, code: &str) {
    let groups: Vec<&str> = code.split_whitespace().collect();
    egui::Grid::new("safety-digits")
        .spacing([14.0, 8.0])
        .show(ui, |ui| {
            for line in groups.chunks(4) {
                for g in line {
                    ui.label(RichText::new(*g).monospace().size(18.0));
                }
                ui.end_row();
            }
        });
}

/// The code as a QR code, painted module by module on white (dark modules in black,
/// whatever the theme: scanners want dark on light).
fn qr(ui: &mut egui::Ui, code: &str) {
    let Some((width, dark)) = crate::trust::safety::qr_modules_of(code) else {
        return;
    };
    let side = (width + 2 * QR_QUIET) as f32 * QR_MODULE;
    let (rect, r) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::WHITE);
    let origin = rect.min + egui::Vec2::splat(QR_QUIET as f32 * QR_MODULE);
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = ((i % width) as f32, (i / width) as f32);
        let min = origin + egui::vec2(x, y) * QR_MODULE;
        let module = egui::Rect::from_min_size(min, egui::Vec2::splat(QR_MODULE));
        painter.rect_filled(module, 0.0, Color32::BLACK);
    }
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, QR_LABEL));
}

/// What a datagram dropped for what its signature or freshness said means, for the
/// network panel's tooltip (`None` for the other reasons).
pub fn drop_hint(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "forged" => "its signature did not verify, under a key never heard from: made up",
        "tampered" => "its signature did not verify under a key heard from: changed on the way",
        "id_mismatch" => "it claimed an id that is not its key's: someone posing as another",
        "stale" => "it was too old (or from a clock far off): a recording played back",
        "replayed" => "it was already heard: a copy sent again, by someone or by the network",
        "over_budget" => "more signatures to check from its address than it may cost: a flood",
        _ => return None,
    })
}

/// What a failed handshake label means, for the network panel's tooltip.
pub fn handshake_hint(reason: &str) -> &'static str {
    match reason {
        "timeout" => "the other side did not finish the handshake in time",
        "closed" => "the other side closed the connection during the handshake",
        "malformed" | "decrypt" => "its handshake messages were not lanchat's, or were changed",
        "version" => "an older lanchat (protocol version 1): update both",
        "proof" => "its key proof did not verify",
        "wrong_peer" => {
            "someone else answered at the address of the peer we called: nothing was sent"
        }
        "own_key" => "a connection that claimed to be this lanchat itself",
        _ => "the handshake failed",
    }
}

/// What the window says for a peer whose key lanchat has not heard yet.
pub const NO_KEY_YET: &str = "lanchat has not heard this person's key yet (they were last \
seen with an older lanchat). Verify them once they are online with this version.";

/// The accessible name of the QR code.
pub const QR_LABEL: &str = "QR code of the safety code";

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(protocol: Protocol) -> PeerInfo {
        PeerInfo {
            id: "a1".into(),
            name: "张三".into(),
            host: "h".into(),
            group: String::new(),
            addr: [10, 0, 0, 2].into(),
            port: 1,
            online: true,
            status: "online".into(),
            last_seen: 1,
            protocol,
            trust: Default::default(),
        }
    }

    #[test]
    fn a_changed_key_outweighs_verified_and_plain_protocols_have_no_key() {
        let mut p = peer(Protocol::Lanchat);
        assert_eq!(Standing::of(&p), Standing::NotVerified);
        p.trust.verified = true;
        assert_eq!(Standing::of(&p), Standing::Verified);
        p.trust.key_changed_from = Some("b2".into());
        assert_eq!(Standing::of(&p), Standing::KeyChanged);
        assert!(
            Standing::KeyChanged
                .meaning("张三")
                .contains("not the 张三")
        );
        assert_eq!(Standing::of(&peer(Protocol::Ipmsg)), Standing::NotEncrypted);
        assert_eq!(Standing::of(&peer(Protocol::Web)), Standing::NotEncrypted);
    }
}

//! Presence as people read it: one [`Presence`] per person (online, away, busy, offline)
//! from whether the core hears them and the status they announce, and the painted icon
//! for each, the same in the peer list, beside our own status menu and in the
//! conversation header. Painted, so no font decides what a status looks like.
//!
//! A status is free text on the wire (`set_status` takes any short phrase), so the kind is
//! read from its words: "away", "be right back", "lunch" are away; "busy", "in a
//! meeting", "do not disturb" are busy; anything else from a peer we hear is online.

use egui::{Color32, Stroke};

use crate::node::{PeerInfo, Protocol};

/// Online: green.
pub const ONLINE: Color32 = Color32::from_rgb(0x3c, 0xb3, 0x71);
/// Away: amber.
pub const AWAY: Color32 = Color32::from_rgb(0xf0, 0xa8, 0x30);
/// Busy: red.
pub const BUSY: Color32 = Color32::from_rgb(0xe0, 0x4f, 0x4f);

/// What a person's icon says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Heard, and available.
    Online,
    /// Heard, but away from the keyboard.
    Away,
    /// Heard, but asks not to be disturbed.
    Busy,
    /// Not heard any more.
    Offline,
}

impl Presence {
    /// The presence of someone `online` (heard) who announces `status`.
    pub fn of(online: bool, status: &str) -> Presence {
        if !online {
            return Presence::Offline;
        }
        let s = status.to_lowercase();
        let words: Vec<&str> = s.split(|c: char| !c.is_alphanumeric()).collect();
        // Whole words for Latin (so "about" is not "out"), any substring for phrases and
        // Chinese, which has no spaces between words.
        let said = |whole: &[&str], part: &[&str]| {
            whole.iter().any(|w| words.contains(w)) || part.iter().any(|p| s.contains(p))
        };
        let busy = ["busy", "meeting", "dnd", "focus", "focusing"];
        let busy_phrases = [
            "do not disturb",
            "on a call",
            "on the phone",
            "忙",
            "会议",
            "开会",
            "勿扰",
        ];
        let away = ["away", "idle", "brb", "afk", "lunch", "out"];
        let away_phrases = ["be right back", "离开", "暂离", "午饭"];
        if said(&busy, &busy_phrases) {
            Presence::Busy
        } else if said(&away, &away_phrases) {
            Presence::Away
        } else {
            Presence::Online
        }
    }

    /// The word for it, for tooltips and the accessible name.
    pub fn word(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Away => "away",
            Presence::Busy => "busy",
            Presence::Offline => "offline",
        }
    }
}

/// What a person's status line says: their own words when they chose some ("in a
/// meeting"), else the presence's word.
pub fn status_words(online: bool, status: &str) -> String {
    let p = Presence::of(online, status);
    if p == Presence::Offline || status.trim().is_empty() {
        p.word().to_owned()
    } else {
        status.trim().to_owned()
    }
}

/// Paints the icon for `p` in a 12-point square and returns its response (hover it for
/// the word): a green dot; an amber dot with a clock hand; a red dot with a white bar;
/// a grey ring.
pub fn icon(ui: &mut egui::Ui, p: Presence) -> egui::Response {
    let (rect, r) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
    let c = rect.center();
    let painter = ui.painter();
    let white = Stroke::new(1.3, Color32::WHITE);
    match p {
        Presence::Online => {
            painter.circle_filled(c, 5.0, ONLINE);
        }
        Presence::Away => {
            painter.circle_filled(c, 5.0, AWAY);
            painter.line_segment([c + egui::vec2(0.0, -3.0), c], white);
            painter.line_segment([c, c + egui::vec2(2.2, 1.5)], white);
        }
        Presence::Busy => {
            painter.circle_filled(c, 5.0, BUSY);
            painter.line_segment([c - egui::vec2(2.8, 0.0), c + egui::vec2(2.8, 0.0)], white);
        }
        Presence::Offline => {
            let grey = ui.visuals().weak_text_color();
            painter.circle_stroke(c, 4.3, Stroke::new(1.4, grey));
        }
    }
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, p.word()));
    r
}

/// How the window labels a peer's protocol, when it is not lanchat's own (whose links
/// are the default and need no word): IPMsg peers and browser visitors talk in plain
/// text.
pub fn protocol_label(p: &PeerInfo) -> Option<&'static str> {
    match p.protocol {
        Protocol::Lanchat => None,
        Protocol::Ipmsg => Some("IPMsg, not encrypted"),
        Protocol::Web => Some("in a browser, not encrypted"),
    }
}

/// The hover text over a peer's name: who, where, and how it is known.
pub fn peer_hover(p: &PeerInfo) -> String {
    let place = format!("{} on {} ({}:{})", p.name, p.host, p.addr, p.port);
    match p.protocol {
        Protocol::Lanchat => place,
        Protocol::Ipmsg => format!(
            "{place}\nAn IPMsg client (iptux, FeiQ, IP Messenger{group}): messages and files \
             travel unencrypted, and files are not verified by a hash.",
            group = if p.group.is_empty() {
                String::new()
            } else {
                format!("; group {}", p.group)
            }
        ),
        Protocol::Web => format!(
            "{} in a browser at {}\nA visitor on the page for browsers (plain HTTP on the \
             LAN): messages and files travel unencrypted.",
            p.name, p.addr
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_people_mean_them() {
        assert_eq!(Presence::of(true, "online"), Presence::Online);
        assert_eq!(Presence::of(true, ""), Presence::Online);
        assert_eq!(Presence::of(true, "away"), Presence::Away);
        assert_eq!(Presence::of(true, "Out for lunch"), Presence::Away);
        assert_eq!(Presence::of(true, "busy"), Presence::Busy);
        assert_eq!(Presence::of(true, "in a meeting"), Presence::Busy);
        assert_eq!(Presence::of(true, "Do not disturb"), Presence::Busy);
        assert_eq!(Presence::of(true, "working on the demo"), Presence::Online);
        assert_eq!(Presence::of(true, "thinking about it"), Presence::Online);
        assert_eq!(Presence::of(true, "开会中"), Presence::Busy);
        assert_eq!(Presence::of(true, "会议中"), Presence::Busy);
        assert_eq!(Presence::of(true, "暂离"), Presence::Away);
        assert_eq!(Presence::of(false, "busy"), Presence::Offline);
        assert_eq!(status_words(false, "busy"), "offline");
        assert_eq!(status_words(true, "in a meeting"), "in a meeting");
        assert_eq!(status_words(true, " "), "online");
    }

    #[test]
    fn ipmsg_peers_are_labelled_unencrypted_and_lanchat_peers_are_not() {
        let mut p = PeerInfo {
            id: "ipmsg-1".into(),
            name: "李雷".into(),
            host: "li-host".into(),
            group: "二班".into(),
            trust: Default::default(),
            addr: [10, 0, 0, 2].into(),
            port: 0,
            online: true,
            status: "online".into(),
            last_seen: 1,
            protocol: Protocol::Ipmsg,
        };
        assert_eq!(protocol_label(&p), Some("IPMsg, not encrypted"));
        let hover = peer_hover(&p);
        assert!(
            hover.contains("unencrypted") && hover.contains("group 二班"),
            "{hover}"
        );
        p.protocol = Protocol::Lanchat;
        assert_eq!(protocol_label(&p), None);
        assert_eq!(peer_hover(&p), "李雷 on li-host (10.0.0.2:0)");
    }
}

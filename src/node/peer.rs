//! A peer as front ends see it, how it is known and what its key says: part of the
//! contract (the `peer_joined`, `peer_changed` and `peers` events), kept by presence.

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::protocol::PeerId;

/// How a peer is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// lanchat's own beacons and links.
    #[default]
    Lanchat,
    /// IPMsg (iptux, FeiQ, IP Messenger) on UDP and TCP 2425: plain text on the wire,
    /// never encrypted, files with no checksum.
    Ipmsg,
    /// A visitor with only a browser, on the page for browsers: not encrypted (plain
    /// HTTP on the LAN), here while their page is open.
    Web,
}

impl Protocol {
    /// Its name in JSON and in history (`lanchat`, `ipmsg`, `web`).
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Lanchat => "lanchat",
            Protocol::Ipmsg => "ipmsg",
            Protocol::Web => "web",
        }
    }

    /// The protocol named `label` (anything unknown is lanchat's).
    pub fn from_label(label: &str) -> Protocol {
        match label {
            "ipmsg" => Protocol::Ipmsg,
            "web" => Protocol::Web,
            _ => Protocol::Lanchat,
        }
    }
}

/// What a peer's key says about it, as front ends see it: flattened into [`PeerInfo`]'s
/// JSON (`fingerprint`, `verified`, `key_changed_from`, `encrypted`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeerTrust {
    /// The fingerprint of its identity key: six groups of five digits a person can read
    /// aloud. `None` while its key is not known (a peer met before protocol v2).
    pub fingerprint: Option<String>,
    /// Whether you verified this key (compared safety codes). Stored per key, not per
    /// name: another peer using the same name is not verified.
    pub verified: bool,
    /// A peer you verified goes by this peer's name, with another key: that peer's id.
    /// This one is *not* it (a reinstall, or someone using the name); never merged.
    pub key_changed_from: Option<PeerId>,
    /// Whether what you send it is encrypted end to end (lanchat v2 links and files).
    pub encrypted: bool,
}

/// A peer as front ends see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    /// Stable peer id.
    pub id: PeerId,
    /// Display name.
    pub name: String,
    /// Host name of the peer's machine.
    pub host: String,
    /// The group it announced (IPMsg's work group; empty for lanchat peers).
    pub group: String,
    /// IPv4 address it was last heard from.
    pub addr: Ipv4Addr,
    /// Its TCP link port (0 if unknown).
    pub port: u16,
    /// Whether it is online now.
    pub online: bool,
    /// Presence status it announced.
    pub status: String,
    /// When it was last heard, in milliseconds since the Unix epoch.
    pub last_seen: u64,
    /// How we know it (`lanchat`; `ipmsg` or `web` for a visitor in a browser: not
    /// encrypted).
    pub protocol: Protocol,
    /// Its key's fingerprint, whether you verified it, and what to warn about.
    #[serde(flatten)]
    pub trust: PeerTrust,
}

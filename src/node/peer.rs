//! A peer as front ends see it, and how it is known: part of the contract (the
//! `peer_joined`, `peer_changed` and `peers` events), kept by presence.

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
}

impl Protocol {
    /// Its name in JSON and in history (`lanchat`, `ipmsg`).
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Lanchat => "lanchat",
            Protocol::Ipmsg => "ipmsg",
        }
    }

    /// The protocol named `label` (anything unknown is lanchat's).
    pub fn from_label(label: &str) -> Protocol {
        match label {
            "ipmsg" => Protocol::Ipmsg,
            _ => Protocol::Lanchat,
        }
    }
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
    /// How we know it (`lanchat`, or `ipmsg`: not encrypted).
    pub protocol: Protocol,
}

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
    /// A visitor with only a browser, on the page for browsers: not encrypted (plain
    /// HTTP on the LAN), here while their page is open.
    Web,
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
    /// How we know it: `lanchat`, or `web` for a visitor in a browser.
    pub protocol: Protocol,
}

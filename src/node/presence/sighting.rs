//! A sighting: one protocol-neutral report that a peer is out there (who, how we know
//! it, where, how to reach it, for how long to believe it). Every discovery protocol
//! turns what it hears into a [`Sighting`] and hands it to presence; presence never asks
//! which protocol it was.
//!
//! This file also turns a lanchat beacon into one; IPMsg's entries become sightings in
//! `node::ipmsg` (protocol [`Protocol::Ipmsg`], no timeout: IPMsg does not re-announce).

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::node::peer::Protocol;
use crate::protocol::{Beacon, BeaconKind};
use crate::trust::PeerKey;

/// A peer heard from, whatever the protocol.
#[derive(Debug, Clone)]
pub struct Sighting<'a> {
    /// Stable peer id.
    pub id: &'a str,
    /// The protocol that heard it.
    pub protocol: Protocol,
    /// Its identity key, proven (a verified signature, a handshake); `None` for a
    /// protocol without keys.
    pub key: Option<PeerKey>,
    /// Random per start of the peer (empty if the protocol has none): a new one means
    /// it restarted, and routes to the old one are stale.
    pub instance: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Host name (empty: keep the one known).
    pub host: &'a str,
    /// The group it announced (IPMsg's work group; empty for lanchat).
    pub group: &'a str,
    /// Source address.
    pub addr: Ipv4Addr,
    /// How to reach it: lanchat's link port (0 = unknown, keep the old one).
    pub port: u16,
    /// Presence status.
    pub status: &'a str,
    /// Offline when unheard this long; `None` for a protocol without periodic beacons
    /// (only a bye takes such a peer offline).
    pub timeout: Option<Duration>,
}

/// What a lanchat beacon, signed by `key`, says about its sender (`timeout`: three of
/// its intervals, as presence worked it out).
pub fn from_beacon(b: &Beacon, key: PeerKey, from: Ipv4Addr, timeout: Duration) -> Sighting<'_> {
    Sighting {
        id: &b.id,
        protocol: Protocol::Lanchat,
        key: Some(key),
        instance: &b.instance,
        name: &b.name,
        host: &b.host,
        group: "",
        addr: from,
        port: b.port,
        status: &b.status,
        timeout: Some(timeout),
    }
}

/// The kind of a beacon, for logs.
pub fn kind_name(kind: &BeaconKind) -> &'static str {
    match kind {
        BeaconKind::Hello => "hello",
        BeaconKind::Here => "here",
        BeaconKind::Bye => "bye",
        BeaconKind::Shout { .. } => "shout",
    }
}

/// A beacon in a few words, for the network panel.
pub fn describe(b: &Beacon) -> String {
    match &b.kind {
        BeaconKind::Shout { msg_id, text, .. } => {
            format!("shout {msg_id} from {} ({} bytes)", b.name, text.len())
        }
        kind => format!("{} from {} (port {})", kind_name(kind), b.name, b.port),
    }
}

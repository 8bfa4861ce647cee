//! The peer table: who is out there, where, and since when. Pure: time is a parameter.
//!
//! A peer is keyed by its stable id (since protocol v2 derived from its key, so one id
//! is one key). A sighting of a new instance of a known id (a restart) replaces address,
//! port and name. A peer unheard for its timeout goes offline but stays known (last
//! seen); a peer whose protocol has no periodic beacons has no timeout and stays until it
//! says bye. The table is capped: past [`MAX_PEERS`] the longest-offline peer is
//! forgotten, and if every peer is online a newcomer is refused.
//!
//! Where to dial a peer: the address last *heard* (a datagram's source, which anyone can
//! replay from elsewhere) is kept apart from the last address that *proved* the peer in
//! a handshake. A dial goes to the proven one; only when that fails is the heard one
//! tried, and it replaces the proven one only once a link to it comes up. So a replayed
//! beacon can at most delay a conversation, never divert it.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::sighting::Sighting;
use crate::node::peer::{PeerInfo, PeerTrust};
use crate::protocol::PeerId;
use crate::trust::PeerKey;

/// Most peers remembered at once.
pub const MAX_PEERS: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    info: PeerInfo,
    instance: String,
    heard: Instant,
    /// Offline when unheard this long; `None`: only a bye takes it offline.
    timeout: Option<Duration>,
    /// Its identity key, once a signed datagram or a handshake showed it.
    key: Option<PeerKey>,
    /// The last link address (IP and link port) a handshake proved to be this peer.
    proven: Option<SocketAddrV4>,
    /// The last address a dial to this peer failed at (the next dial tries another).
    failed: Option<SocketAddrV4>,
}

impl Entry {
    fn new(info: PeerInfo, instance: String, now: Instant, timeout: Option<Duration>) -> Entry {
        Entry {
            info,
            instance,
            heard: now,
            timeout,
            key: None,
            proven: None,
            failed: None,
        }
    }

    fn set_key(&mut self, key: PeerKey) {
        self.key = Some(key);
        self.info.trust.fingerprint = Some(key.fingerprint().to_string());
        self.info.trust.encrypted = true;
    }
}

/// What one observation changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// First heard, or back after being offline.
    Joined,
    /// Still here, but name, address, port, status or instance changed.
    Changed {
        /// A new process (restart): links to the old one are stale.
        restarted: bool,
    },
    /// Nothing new.
    Same,
    /// The table is full of online peers.
    Refused,
}

/// All known peers.
#[derive(Debug, Default)]
pub struct PeerTable {
    peers: HashMap<PeerId, Entry>,
}

impl PeerTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a sighting at `now` (`wall` = the same moment in Unix milliseconds).
    pub fn observe(&mut self, s: &Sighting<'_>, now: Instant, wall: u64) -> Observed {
        if let Some(e) = self.peers.get_mut(s.id) {
            let was_online = e.info.online;
            let restarted = !s.instance.is_empty() && e.instance != s.instance;
            let port = if s.port == 0 { e.info.port } else { s.port };
            let host = if s.host.is_empty() {
                e.info.host.clone()
            } else {
                s.host.to_owned()
            };
            let changed = restarted
                || e.info.protocol != s.protocol
                || e.info.group != s.group
                || e.info.name != s.name
                || e.info.addr != s.addr
                || e.info.port != port
                || e.info.status != s.status
                || e.info.host != host;
            e.info.name = s.name.to_owned();
            e.info.host = host;
            s.group.clone_into(&mut e.info.group);
            e.info.addr = s.addr;
            e.info.port = port;
            e.info.status = s.status.to_owned();
            e.info.protocol = s.protocol;
            e.info.online = true;
            e.info.last_seen = wall;
            if !s.instance.is_empty() {
                e.instance = s.instance.to_owned();
            }
            e.heard = now;
            e.timeout = s.timeout;
            if let Some(key) = s.key {
                e.set_key(key);
            }
            return if !was_online {
                Observed::Joined
            } else if changed {
                Observed::Changed { restarted }
            } else {
                Observed::Same
            };
        }
        if self.peers.len() >= MAX_PEERS && !self.evict_one_offline() {
            return Observed::Refused;
        }
        let info = PeerInfo {
            id: s.id.to_owned().into(),
            name: s.name.to_owned(),
            host: s.host.to_owned(),
            group: s.group.to_owned(),
            addr: s.addr,
            port: s.port,
            online: true,
            status: s.status.to_owned(),
            last_seen: wall,
            protocol: s.protocol,
            trust: PeerTrust::default(),
        };
        let mut entry = Entry::new(info, s.instance.to_owned(), now, s.timeout);
        if let Some(key) = s.key {
            entry.set_key(key);
        }
        self.peers.insert(PeerId::from(s.id), entry);
        Observed::Joined
    }

    fn evict_one_offline(&mut self) -> bool {
        let oldest = self
            .peers
            .values()
            .filter(|e| !e.info.online)
            .min_by_key(|e| e.heard)
            .map(|e| e.info.id.clone());
        match oldest {
            Some(id) => {
                self.peers.remove(&id);
                true
            }
            None => false,
        }
    }

    /// Adds a peer known from history as offline (with its key, if it was known),
    /// unless it is already known.
    pub fn remember(&mut self, info: PeerInfo, key: Option<PeerKey>, now: Instant) {
        if self.peers.len() >= MAX_PEERS || self.peers.contains_key(&info.id) {
            return;
        }
        let info = PeerInfo {
            online: false,
            ..info
        };
        let mut entry = Entry::new(info, String::new(), now, None);
        // A stored key is only believed if it is the one the id derives from.
        if let Some(key) = key.filter(|k| k.peer_id() == *entry.info.id) {
            entry.set_key(key);
        }
        self.peers.insert(entry.info.id.clone(), entry);
    }

    /// A peer's identity key, if known.
    pub fn key(&self, id: &str) -> Option<PeerKey> {
        self.peers.get(id).and_then(|e| e.key)
    }

    /// Sets what the user's trust says of peer `id`; `true` if that changed anything.
    pub fn set_trust(
        &mut self,
        id: &str,
        verified: bool,
        key_changed_from: Option<PeerId>,
    ) -> bool {
        let Some(e) = self.peers.get_mut(id) else {
            return false;
        };
        let trust = &mut e.info.trust;
        let changed = trust.verified != verified || trust.key_changed_from != key_changed_from;
        trust.verified = verified;
        trust.key_changed_from = key_changed_from;
        changed
    }

    /// Where to dial peer `id` now: the address that last proved it, unless the last
    /// dial failed there; else the address last heard. `None` for an unknown peer or one
    /// whose link port is unknown.
    pub fn dial_addr(&self, id: &str) -> Option<SocketAddr> {
        let e = self.peers.get(id)?;
        let heard = (e.info.port != 0).then(|| SocketAddrV4::new(e.info.addr, e.info.port));
        let chosen = match (e.proven, heard) {
            (Some(p), Some(h)) if e.failed == Some(p) && h != p => h,
            (Some(p), _) => p,
            (None, h) => h?,
        };
        Some(SocketAddr::V4(chosen))
    }

    /// A link to peer `id` came up, proven by its handshake, at `addr` (its IP and link
    /// port): dials go there from now on.
    pub fn proven(&mut self, id: &str, addr: SocketAddrV4) {
        if let Some(e) = self.peers.get_mut(id) {
            e.proven = Some(addr);
            e.failed = None;
        }
    }

    /// A dial to peer `id` at `addr` failed (nothing answered, or someone who could not
    /// prove to be it): the next dial tries the other address, if there is one.
    pub fn dial_failed(&mut self, id: &str, addr: SocketAddr) {
        if let (Some(e), SocketAddr::V4(addr)) = (self.peers.get_mut(id), addr) {
            e.failed = Some(addr);
        }
    }

    /// Marks a peer offline (it said bye). Returns whether it was online.
    pub fn set_offline(&mut self, id: &str) -> bool {
        match self.peers.get_mut(id) {
            Some(e) if e.info.online => {
                e.info.online = false;
                true
            }
            _ => false,
        }
    }

    /// A frame arrived on the peer's link: it is alive, as if a beacon had been heard.
    /// `timeout` replaces its expiry when the frame says the peer's interval (a
    /// keepalive). Returns whether the peer came back online; unknown ids are ignored.
    pub fn touch(&mut self, id: &str, now: Instant, wall: u64, timeout: Option<Duration>) -> bool {
        let Some(e) = self.peers.get_mut(id) else {
            return false;
        };
        e.heard = now;
        e.info.last_seen = wall;
        if let Some(t) = timeout {
            e.timeout = Some(t);
        }
        !std::mem::replace(&mut e.info.online, true)
    }

    /// Marks offline every online peer unheard for its timeout; returns their ids.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let mut gone = Vec::new();
        for e in self.peers.values_mut() {
            let silent = now.saturating_duration_since(e.heard);
            if e.info.online && e.timeout.is_some_and(|t| silent >= t) {
                e.info.online = false;
                gone.push(e.info.id.clone());
            }
        }
        gone.sort();
        gone
    }

    /// A peer by id.
    pub fn get(&self, id: &str) -> Option<&PeerInfo> {
        self.peers.get(id).map(|e| &e.info)
    }

    /// All peers: online first, then by name.
    pub fn list(&self) -> Vec<PeerInfo> {
        let mut v: Vec<PeerInfo> = self.peers.values().map(|e| e.info.clone()).collect();
        v.sort_by(|a, b| (!a.online, &a.name, &a.id).cmp(&(!b.online, &b.name, &b.id)));
        v
    }

    /// Every known peer, in no order.
    pub fn infos(&self) -> impl Iterator<Item = &PeerInfo> {
        self.peers.values().map(|e| &e.info)
    }

    /// Number of peers known.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.peers.len()
    }
}

/// A sighting from 10.0.0.1 with a 15 s timeout, for tests here and in `resolve`.
#[cfg(test)]
pub(super) fn test_sighting<'a>(
    id: &'a str,
    instance: &'a str,
    name: &'a str,
    port: u16,
) -> Sighting<'a> {
    Sighting {
        id,
        protocol: crate::node::peer::Protocol::Lanchat,
        key: None,
        instance,
        name,
        host: "h",
        group: "",
        addr: std::net::Ipv4Addr::new(10, 0, 0, 1),
        port,
        status: "online",
        timeout: Some(Duration::from_secs(15)),
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;

//! The peer table: who is out there, where, and since when. Pure: time is a parameter.
//!
//! A peer is keyed by its stable id. A sighting of a new instance of a known id (a
//! restart) replaces address, port and name. A peer unheard for its timeout goes offline
//! but stays known (last seen); a peer whose protocol has no periodic beacons has no
//! timeout and stays until it says bye. The table is capped: past [`MAX_PEERS`] the
//! longest-offline peer is forgotten, and if every peer is online a newcomer is refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::sighting::Sighting;
use crate::node::peer::PeerInfo;
use crate::protocol::PeerId;

/// Most peers remembered at once.
pub const MAX_PEERS: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    info: PeerInfo,
    instance: String,
    heard: Instant,
    /// Offline when unheard this long; `None`: only a bye takes it offline.
    timeout: Option<Duration>,
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
        self.peers.insert(
            PeerId::from(s.id),
            Entry {
                info: PeerInfo {
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
                },
                instance: s.instance.to_owned(),
                heard: now,
                timeout: s.timeout,
            },
        );
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

    /// Adds a peer known from history as offline, unless it is already known.
    pub fn remember(&mut self, info: PeerInfo, now: Instant) {
        if self.peers.len() >= MAX_PEERS || self.peers.contains_key(&info.id) {
            return;
        }
        let info = PeerInfo {
            online: false,
            ..info
        };
        self.peers.insert(
            info.id.clone(),
            Entry {
                info,
                instance: String::new(),
                heard: now,
                timeout: None,
            },
        );
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
mod tests {
    use super::test_sighting as s;
    use super::*;

    #[test]
    fn join_refresh_change_restart() {
        let t0 = Instant::now();
        let mut t = PeerTable::new();
        assert_eq!(t.observe(&s("a", "i1", "A", 1), t0, 0), Observed::Joined);
        assert_eq!(t.observe(&s("a", "i1", "A", 1), t0, 0), Observed::Same);
        assert_eq!(
            t.observe(&s("a", "i1", "Anna", 1), t0, 0),
            Observed::Changed { restarted: false }
        );
        assert_eq!(
            t.observe(&s("a", "i2", "Anna", 2), t0, 0),
            Observed::Changed { restarted: true }
        );
        assert_eq!(t.get("a").unwrap().port, 2);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn expiry_uses_the_given_clock() {
        let t0 = Instant::now();
        let mut t = PeerTable::new();
        t.observe(&s("a", "i", "A", 1), t0, 0);
        t.observe(&s("b", "i", "B", 1), t0 + Duration::from_secs(10), 0);
        let fast = Sighting {
            timeout: Some(Duration::from_secs(3)),
            ..s("c", "i", "C", 1)
        };
        t.observe(&fast, t0, 0);
        assert!(t.expire(t0 + Duration::from_secs(2)).is_empty());
        assert_eq!(
            t.expire(t0 + Duration::from_secs(3)),
            ["c"],
            "its own interval counts"
        );
        assert!(t.expire(t0 + Duration::from_secs(14)).is_empty());
        assert_eq!(t.expire(t0 + Duration::from_secs(15)), ["a"]);
        assert!(t.expire(t0 + Duration::from_secs(16)).is_empty());
        assert!(!t.get("a").unwrap().online, "offline but still known");
        assert_eq!(t.expire(t0 + Duration::from_secs(25)), ["b"]);
        // Heard again: back online.
        assert_eq!(
            t.observe(&s("a", "i", "A", 1), t0 + Duration::from_secs(30), 0),
            Observed::Joined
        );
    }

    #[test]
    fn a_peer_without_periodic_beacons_never_times_out() {
        let t0 = Instant::now();
        let mut t = PeerTable::new();
        let quiet = Sighting {
            timeout: None,
            ..s("q", "", "Q", 0)
        };
        t.observe(&quiet, t0, 0);
        assert!(t.expire(t0 + Duration::from_secs(100_000)).is_empty());
        assert!(t.set_offline("q"), "a bye still takes it offline");
    }

    #[test]
    fn link_frames_keep_a_peer_online() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut t = PeerTable::new();
        t.observe(&s("a", "", "A", 1), t0, 0);
        assert!(!t.touch("a", t0 + secs(10), 10, None), "still online");
        assert!(
            t.expire(t0 + secs(24)).is_empty(),
            "heard at 10 s: until 25 s"
        );
        assert!(!t.touch("a", t0 + secs(20), 20, Some(secs(3))));
        assert_eq!(
            t.expire(t0 + secs(23)),
            ["a"],
            "the keepalive's interval counts"
        );
        assert!(t.touch("a", t0 + secs(30), 30, None), "back online");
        assert_eq!(t.get("a").unwrap().last_seen, 30);
        assert!(!t.touch("nobody", t0, 0, None));
    }

    #[test]
    fn bye_marks_offline_once() {
        let mut t = PeerTable::new();
        t.observe(&s("a", "i", "A", 1), Instant::now(), 0);
        assert!(t.set_offline("a"));
        assert!(!t.set_offline("a"));
        assert!(!t.set_offline("nobody"));
    }

    #[test]
    fn table_is_capped() {
        let now = Instant::now();
        let mut t = PeerTable::new();
        let ids: Vec<String> = (0..MAX_PEERS).map(|i| format!("p{i}")).collect();
        for id in &ids {
            assert_eq!(t.observe(&s(id, "i", "n", 1), now, 0), Observed::Joined);
        }
        assert_eq!(
            t.observe(&s("extra", "i", "n", 1), now, 0),
            Observed::Refused
        );
        t.set_offline("p7");
        assert_eq!(
            t.observe(&s("extra", "i", "n", 1), now, 0),
            Observed::Joined
        );
        assert!(t.get("p7").is_none(), "the offline peer made room");
        assert_eq!(t.len(), MAX_PEERS);
    }

    #[test]
    fn list_puts_online_first() {
        let now = Instant::now();
        let mut t = PeerTable::new();
        t.observe(&s("a", "i", "Zed", 1), now, 0);
        t.observe(&s("b", "i", "Amy", 1), now, 0);
        t.set_offline("b");
        let names: Vec<String> = t.list().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["Zed", "Amy"]);
    }
}

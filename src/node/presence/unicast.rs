//! Presence by unicast (reach by address): the addresses our beacons go to besides the
//! broadcast, and what became of each. Pure: time is a parameter, nothing is sent here.
//!
//! Two kinds of entry:
//! - **added** by the user (`--peer`, `add_peer`, the window): a beacon goes there at
//!   once and then every interval, for as long as it stays; unanswered for
//!   [`UNANSWERED`] intervals (or a send error) it shows as `unreachable`, and is still
//!   tried.
//! - **learned**: an address that reached us by unicast (a peer that added us). It is
//!   answered (within the answer limit), remembered, and tried once at each start, so
//!   both sides find each other again after a restart whoever starts first.
//!
//! Both stay until `remove_peer`; a removed address is kept in a list of its own so that
//! its unicast beacons are ignored (neither answered nor learned) until it is added
//! again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::address::{Host, PeerAddr};

/// Intervals with no word from an added address before it shows as unreachable.
pub const UNANSWERED: u32 = 3;

/// Most learned addresses kept; a newcomer replaces the one heard from longest ago.
pub const MAX_LEARNED: usize = 64;

/// How long after a failed resolution a name is tried again.
pub const RESOLVE_RETRY: Duration = Duration::from_secs(30);

/// How an address came to be on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The user added it.
    Added,
    /// It reached us by unicast.
    Learned,
}

impl Origin {
    /// As the store and the events say it.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Added => "added",
            Origin::Learned => "learned",
        }
    }
}

/// One address on the list.
#[derive(Debug, Clone)]
struct Target {
    addr: PeerAddr,
    origin: Origin,
    /// Where it resolved to (the address itself when it is an IPv4 one).
    ip: Option<Ipv4Addr>,
    /// A resolution is under way; or, when it failed, when to try again.
    resolving: bool,
    retry_resolve: Option<Instant>,
    /// When the next beacon goes (`None`: none due; a learned address after its try).
    next_send: Option<Instant>,
    /// Beacons sent since it was last heard from.
    unanswered: u32,
    heard_at: Option<Instant>,
    /// When it was last heard from, ms since the Unix epoch.
    last_heard: Option<u64>,
    error: Option<String>,
}

/// An address on the list as `net_status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastInfo {
    /// The address, normalised (`host:port`).
    pub addr: String,
    /// `added` or `learned`.
    pub origin: Origin,
    /// `resolving`, `unresolved`, `trying`, `reached`, `unreachable` (added) or
    /// `silent` (learned, not heard from lately).
    pub state: &'static str,
    /// Where a name resolved to.
    pub resolved: Option<String>,
    /// When it was last heard from (ms since the Unix epoch).
    pub last_heard: Option<u64>,
    /// Why it is unreachable or unresolved.
    pub error: Option<String>,
}

/// The unicast list (see the module documentation).
#[derive(Debug)]
pub struct UnicastList {
    targets: BTreeMap<String, Target>,
    removed: BTreeSet<String>,
    interval: Duration,
}

impl UnicastList {
    /// An empty list for a node announcing every `interval`.
    pub fn new(interval: Duration) -> UnicastList {
        UnicastList {
            targets: BTreeMap::new(),
            removed: BTreeSet::new(),
            interval,
        }
    }

    /// Puts `addr` on the list (learned → added if it was learned); its first beacon is
    /// due at `now` (a learned one's only). `false` if it was already there as such.
    pub fn add(&mut self, addr: PeerAddr, origin: Origin, now: Instant) -> bool {
        let key = addr.to_string();
        self.removed.remove(&key);
        if let Some(t) = self.targets.get_mut(&key) {
            if t.origin == origin || origin == Origin::Learned {
                return false;
            }
            t.origin = Origin::Added;
            t.next_send = Some(now);
            return true;
        }
        let ip = match addr.host {
            Host::Ip(ip) => Some(ip),
            Host::Name(_) => None,
        };
        self.targets.insert(
            key,
            Target {
                addr,
                origin,
                ip,
                resolving: false,
                retry_resolve: None,
                next_send: Some(now),
                unanswered: 0,
                heard_at: None,
                last_heard: None,
                error: None,
            },
        );
        true
    }

    /// Takes `key` (a normalised address) off the list, remembering it as removed; how
    /// it was on the list and where beacons went, if it was.
    pub fn remove(&mut self, key: &str) -> Option<(Origin, Option<SocketAddrV4>)> {
        self.removed.insert(key.to_owned());
        let t = self.targets.remove(key)?;
        Some((t.origin, t.ip.map(|ip| SocketAddrV4::new(ip, t.addr.port))))
    }

    /// Marks `key` removed (from the store at start).
    pub fn forbid(&mut self, key: String) {
        self.removed.insert(key);
    }

    /// Whether unicast beacons from `listener` (an address's discovery port) are
    /// ignored: it was removed.
    pub fn is_removed(&self, listener: SocketAddrV4) -> bool {
        self.removed.contains(&listener.to_string())
    }

    /// Whether `listener` was added by the user (we beacon it anyway: no answer needed).
    pub fn is_added(&self, listener: SocketAddrV4) -> bool {
        self.targets.values().any(|t| {
            t.origin == Origin::Added
                && t.ip == Some(*listener.ip())
                && t.addr.port == listener.port()
        })
    }

    /// Names to resolve now (each once until [`UnicastList::resolved`]): `(key, name,
    /// port)`.
    pub fn names_due(&mut self, now: Instant) -> Vec<(String, String, u16)> {
        let mut out = Vec::new();
        for (key, t) in &mut self.targets {
            if let Host::Name(name) = &t.addr.host
                && !t.resolving
                && t.retry_resolve.is_none_or(|at| at <= now)
                && t.ip.is_none()
            {
                t.resolving = true;
                out.push((key.clone(), name.clone(), t.addr.port));
            }
        }
        out
    }

    /// A name resolved (or did not); its beacons go at once when it did. `true` when
    /// it failed for the first time since it was added or last resolved (worth an
    /// `error`).
    pub fn resolved(&mut self, key: &str, result: Result<Ipv4Addr, String>, now: Instant) -> bool {
        let Some(t) = self.targets.get_mut(key) else {
            return false;
        };
        t.resolving = false;
        match result {
            Ok(ip) => {
                t.ip = Some(ip);
                t.error = None;
                t.retry_resolve = None;
                t.next_send = Some(now);
                false
            }
            Err(why) => {
                let first = t.error.is_none();
                t.error = Some(why);
                t.retry_resolve = Some(now + RESOLVE_RETRY);
                first
            }
        }
    }

    /// Where beacons are due at `now`: every added address each interval, a learned one
    /// once.
    pub fn due(&mut self, now: Instant) -> Vec<SocketAddrV4> {
        let mut out = Vec::new();
        for t in self.targets.values_mut() {
            let (Some(ip), Some(at)) = (t.ip, t.next_send) else {
                continue;
            };
            if at > now {
                continue;
            }
            out.push(SocketAddrV4::new(ip, t.addr.port));
            t.unanswered = t.unanswered.saturating_add(1);
            t.next_send = match t.origin {
                Origin::Added => Some(now + self.interval),
                Origin::Learned => None,
            };
        }
        out
    }

    /// When a beacon or a resolution retry is due next.
    pub fn next_wake(&self) -> Option<Instant> {
        self.targets
            .values()
            .filter_map(|t| match t.ip {
                Some(_) => t.next_send,
                None => t.retry_resolve.filter(|_| !t.resolving),
            })
            .min()
    }

    /// A beacon could not be sent to `to`.
    pub fn send_failed(&mut self, to: SocketAddrV4, why: String) {
        for t in self.targets.values_mut() {
            if t.ip == Some(*to.ip()) && t.addr.port == to.port() {
                t.error = Some(why.clone());
            }
        }
    }

    /// A beacon was heard from `ip` (`listener`: the discovery port a unicast beacon
    /// named): every entry at that address was reached. Returns whether one was.
    pub fn heard(&mut self, ip: Ipv4Addr, listener: Option<u16>, now: Instant, wall: u64) -> bool {
        let mut any = false;
        for t in self.targets.values_mut() {
            if t.ip == Some(ip) && listener.is_none_or(|p| p == t.addr.port) {
                t.unanswered = 0;
                t.heard_at = Some(now);
                t.last_heard = Some(wall);
                t.error = None;
                any = true;
            }
        }
        any
    }

    /// Learns `listener` (a peer reached us from there by unicast); `Some` with what to
    /// remember and what to forget (the learned address it replaced, when the list was
    /// full) if it is new.
    pub fn learn(&mut self, listener: SocketAddrV4, now: Instant, wall: u64) -> Option<Learned> {
        let key = listener.to_string();
        if self.targets.contains_key(&key) || self.removed.contains(&key) {
            return None;
        }
        let learned: Vec<(&String, Option<Instant>)> = self
            .targets
            .iter()
            .filter(|(_, t)| t.origin == Origin::Learned)
            .map(|(k, t)| (k, t.heard_at))
            .collect();
        let replaced = (learned.len() >= MAX_LEARNED)
            .then(|| {
                learned
                    .iter()
                    .min_by_key(|(_, at)| *at)
                    .map(|(k, _)| (*k).clone())
            })
            .flatten();
        if let Some(old) = &replaced {
            self.targets.remove(old);
        }
        let addr = PeerAddr {
            host: Host::Ip(*listener.ip()),
            port: listener.port(),
        };
        self.add(addr, Origin::Learned, now);
        let t = self.targets.get_mut(&key).expect("just added");
        t.next_send = None; // the answer is its beacon
        t.heard_at = Some(now);
        t.last_heard = Some(wall);
        Some(Learned { key, replaced })
    }

    /// Every entry with an address, where a `bye` goes: added ones, and learned ones
    /// heard from lately.
    pub fn bye_targets(&self, now: Instant) -> Vec<SocketAddrV4> {
        self.targets
            .values()
            .filter(|t| t.origin == Origin::Added || self.lately(t, now))
            .filter_map(|t| t.ip.map(|ip| SocketAddrV4::new(ip, t.addr.port)))
            .collect()
    }

    /// The list for `net_status`, added first.
    pub fn infos(&self, now: Instant) -> Vec<UnicastInfo> {
        let mut out: Vec<UnicastInfo> = self
            .targets
            .iter()
            .map(|(key, t)| UnicastInfo {
                addr: key.clone(),
                origin: t.origin,
                state: self.state(t, now),
                resolved: match t.addr.host {
                    Host::Name(_) => t.ip.map(|ip| ip.to_string()),
                    Host::Ip(_) => None,
                },
                last_heard: t.last_heard,
                error: match self.state(t, now) {
                    "unreachable" if t.error.is_none() => Some(format!(
                        "no answer for {} intervals: no lanchat listens there, or a \
                         firewall drops UDP to port {}",
                        t.unanswered, t.addr.port
                    )),
                    "reached" => None,
                    _ => t.error.clone(),
                },
            })
            .collect();
        out.sort_by_key(|i| i.origin == Origin::Learned);
        out
    }

    fn lately(&self, t: &Target, now: Instant) -> bool {
        t.heard_at
            .is_some_and(|at| now.saturating_duration_since(at) < self.interval * UNANSWERED)
    }

    fn state(&self, t: &Target, now: Instant) -> &'static str {
        if t.ip.is_none() {
            return if t.resolving || t.error.is_none() {
                "resolving"
            } else {
                "unresolved"
            };
        }
        match t.origin {
            Origin::Added if t.unanswered > UNANSWERED => "unreachable",
            Origin::Added if t.error.is_some() => "unreachable",
            _ if self.lately(t, now) => "reached",
            Origin::Added => "trying",
            Origin::Learned => "silent",
        }
    }
}

/// A newly learned address, for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// Its key (`ip:port`).
    pub key: String,
    /// The learned address it replaced (the list was full), to forget.
    pub replaced: Option<String>,
}

#[cfg(test)]
#[path = "unicast_tests.rs"]
mod tests;

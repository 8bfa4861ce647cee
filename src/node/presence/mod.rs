//! Presence, a part of the core: who is out there (the peer table, expiry, what a user
//! typed → a peer), who we are (our beacon's contents, where our beacons go and when),
//! and what a sighting means: joined, changed, restarted, left.
//!
//! Driven by plain calls with the time; what should happen comes back as actions (a
//! broadcast, an answer to a `hello`, events, peers to remember) or as the call's result
//! for the core to route (a peer restarted: its links are stale). It never touches a
//! socket or the store.
//!
//! - `table`: the peer table; `resolve`: what a user typed → a peer.
//! - `sighting`: the protocol-neutral [`Sighting`], and a lanchat beacon as one.
//! - `bucket`: the rate limit on answers to `hello`.

mod bucket;
mod resolve;
mod sighting;
mod table;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::clock::Now;
use super::event::{Event, LeftReason};
use super::out::{Action, Out, Record};
use super::peer::PeerInfo;
use crate::net::interfaces::NetInterface;
use crate::protocol::{Beacon, BeaconKind, PROTOCOL_VERSION, PeerId};
use crate::store::KnownPeer;
use bucket::TokenBucket;

pub use resolve::ResolveError;
pub use sighting::{Sighting, describe, from_beacon};
pub use table::{MAX_PEERS, Observed, PeerTable};

/// Most answers to `hello` per second (bursts up to as many).
const ANSWERS_PER_SEC: f64 = 200.0;

/// Who we are, as beacons and link hellos say it.
#[derive(Debug, Clone)]
pub struct Me {
    /// Our stable id.
    pub id: PeerId,
    /// Our display name.
    pub name: String,
    /// Random per start.
    pub instance: String,
    /// Our host name.
    pub host: String,
    /// Our link port.
    pub port: u16,
    /// Our presence status.
    pub status: String,
}

/// Where beacons go: every usable interface's broadcast address, only loopback's, or
/// only one interface's.
#[derive(Debug, Clone, Copy)]
pub struct Reach {
    /// The address bound (`None`: every interface).
    pub bind: Option<Ipv4Addr>,
    /// The shared discovery port.
    pub discovery_port: u16,
}

/// The presence part (see the module documentation).
pub struct Presence {
    table: PeerTable,
    me: Me,
    interval: Duration,
    reach: Reach,
    interfaces: Vec<NetInterface>,
    targets: Vec<SocketAddrV4>,
    next_announce: Instant,
    answers: TokenBucket,
}

impl Presence {
    /// Presence with the peers known from history (offline), announcing every
    /// `interval` from `now`.
    pub fn new(me: Me, table: PeerTable, interval: Duration, reach: Reach, now: Instant) -> Self {
        Presence {
            table,
            me,
            interval,
            reach,
            interfaces: Vec::new(),
            targets: Vec::new(),
            next_announce: now + interval,
            answers: TokenBucket::new(ANSWERS_PER_SEC, ANSWERS_PER_SEC, now),
        }
    }

    /// Who we are.
    pub fn me(&self) -> &Me {
        &self.me
    }

    /// Every known peer.
    pub fn table(&self) -> &PeerTable {
        &self.table
    }

    /// A peer by id.
    pub fn get(&self, id: &str) -> Option<&PeerInfo> {
        self.table.get(id)
    }

    /// Whether beacons go only to loopback (so nothing from a real network is believed).
    pub fn loopback_only(&self) -> bool {
        self.reach.bind.is_some_and(|b| b.is_loopback())
    }

    /// The interfaces beacons go out on, and the broadcast targets.
    pub fn targets(&self) -> (&[NetInterface], &[SocketAddrV4]) {
        (&self.interfaces, &self.targets)
    }

    /// When the next `here` is due.
    pub fn next_announce(&self) -> Instant {
        self.next_announce
    }

    /// Our new name (cleaned); `None` if nothing is left of it.
    pub fn rename(&mut self, name: &str) -> Option<String> {
        let name = crate::protocol::beacon::clean_name(name);
        if name.is_empty() {
            return None;
        }
        self.me.name = name.clone();
        Some(name)
    }

    /// Our new status (cleaned, at most `max_chars`; empty means `online`).
    pub fn set_status(&mut self, status: &str, max_chars: usize) -> String {
        let mut status = crate::protocol::beacon::clean_name(status);
        if status.is_empty() {
            status = "online".to_owned();
        }
        if let Some((cut, _)) = status.char_indices().nth(max_chars) {
            status.truncate(cut);
        }
        self.me.status = status.clone();
        status
    }

    /// A beacon of ours, of the given kind.
    pub fn beacon(&self, kind: BeaconKind) -> Beacon {
        Beacon {
            lanchat: PROTOCOL_VERSION,
            id: self.me.id.to_string(),
            instance: self.me.instance.clone(),
            name: self.me.name.clone(),
            host: self.me.host.clone(),
            port: self.me.port,
            status: self.me.status.clone(),
            interval_ms: u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
            kind,
        }
    }

    /// Broadcasts a presence beacon (`hello`, `here`, `bye`).
    pub fn announce(&self, kind: BeaconKind, out: &mut Out) {
        let beacon = self.beacon(kind);
        out.push(Action::Broadcast {
            bytes: beacon.encode(),
            summary: describe(&beacon),
        });
    }

    /// Whether beacons need the list of interfaces (not when confined to loopback).
    pub fn needs_interfaces(&self) -> bool {
        !self.loopback_only()
    }

    /// Works out where beacons go from the interfaces up now (none when confined to
    /// loopback: only every instance on this host, at 127.255.255.255 on Linux or the
    /// loopback multicast group elsewhere, [`crate::platform::sock::LoopbackReach`]).
    pub fn set_interfaces(&mut self, all: Vec<NetInterface>) {
        let port = self.reach.discovery_port;
        let (interfaces, targets) = if self.loopback_only() {
            (
                Vec::new(),
                vec![crate::platform::sock::loopback_reach().target(port)],
            )
        } else {
            let chosen: Vec<NetInterface> = match self.reach.bind {
                Some(ip) if !ip.is_unspecified() => {
                    all.into_iter().filter(|i| i.addr == ip).collect()
                }
                _ => all,
            };
            let targets = chosen
                .iter()
                .map(|i| SocketAddrV4::new(i.broadcast, port))
                .collect();
            (chosen, targets)
        };
        if targets.is_empty() && !self.targets.is_empty() {
            tracing::warn!("no usable network interface: nobody can hear us");
        }
        if targets != self.targets {
            tracing::info!("broadcasting to {targets:?}");
        }
        self.interfaces = interfaces;
        self.targets = targets;
    }

    /// The periodic `here`, if it is due at `now` (the caller refreshed the targets).
    pub fn announce_due(&mut self, now: Instant, out: &mut Out) -> bool {
        if now < self.next_announce {
            return false;
        }
        self.announce(BeaconKind::Here, out);
        self.next_announce = now + self.interval;
        true
    }

    /// Offline after three of the peer's intervals (ours if it did not say), clamped to
    /// 1 s..1 h so a hostile value can neither flap a peer nor keep it forever.
    pub fn peer_timeout(&self, interval_ms: u64) -> Duration {
        let interval = match interval_ms {
            0 => self.interval,
            ms => Duration::from_millis(ms),
        };
        (interval * 3).clamp(Duration::from_secs(1), Duration::from_secs(3600))
    }

    /// A peer was heard from: remembers it, and says so when it joined or changed.
    pub fn on_sighting(&mut self, s: &Sighting<'_>, now: Now, out: &mut Out) -> Observed {
        let observed = self.table.observe(s, now.at, now.wall);
        if let Observed::Joined | Observed::Changed { .. } = observed {
            let peer = self.table.get(s.id).cloned().expect("just observed");
            let what = match observed {
                Observed::Joined => "peer joined",
                _ => "peer changed",
            };
            tracing::info!(peer = %peer.id, name = %peer.name, addr = %peer.addr, "{what}");
            out.record(Record::Peer(known(&peer)));
            out.emit(match observed {
                Observed::Joined => Event::PeerJoined { peer },
                _ => Event::PeerChanged { peer },
            });
        }
        observed
    }

    /// A peer said bye; `true` if it was online (its routes should close).
    pub fn on_bye(&mut self, id: &str, out: &mut Out) -> bool {
        if !self.table.set_offline(id) {
            return false;
        }
        tracing::info!(peer = %id, "peer said bye");
        self.remember(id, out);
        out.emit(Event::PeerLeft {
            id: id.into(),
            reason: LeftReason::Bye,
        });
        true
    }

    /// A frame arrived on the peer's route: it is alive, as if a beacon had been heard
    /// (a keepalive also says its interval). A peer that had timed out is back.
    pub fn heard_on_route(
        &mut self,
        peer: &str,
        keepalive_ms: Option<u64>,
        now: Now,
        out: &mut Out,
    ) {
        let timeout = keepalive_ms.map(|ms| self.peer_timeout(ms));
        if self.table.touch(peer, now.at, now.wall, timeout)
            && let Some(info) = self.table.get(peer).cloned()
        {
            tracing::info!(%peer, "peer back (heard on its link)");
            out.record(Record::Peer(known(&info)));
            out.emit(Event::PeerJoined { peer: info });
        }
    }

    /// Peers unheard for their timeout go offline.
    pub fn expire(&mut self, now: Instant, out: &mut Out) {
        for id in self.table.expire(now) {
            tracing::info!(peer = %id, "peer timed out");
            self.remember(&id, out);
            out.emit(Event::PeerLeft {
                id,
                reason: LeftReason::Timeout,
            });
        }
    }

    /// Answers a newcomer's `hello` with a unicast `here` to the socket it asked from;
    /// `false` when over the answer budget (nothing sent).
    pub fn answer_hello(&mut self, to: SocketAddrV4, now: Instant, out: &mut Out) -> bool {
        if !self.answers.take(now) {
            return false;
        }
        let beacon = self.beacon(BeaconKind::Here);
        out.push(Action::Datagram {
            to,
            bytes: beacon.encode(),
            summary: describe(&beacon),
        });
        true
    }

    /// Remembers every online peer's last-seen time (at shutdown).
    pub fn remember_online(&self, out: &mut Out) {
        for p in self.table.infos().filter(|p| p.online) {
            out.record(Record::Peer(known(p)));
        }
    }

    fn remember(&self, id: &str, out: &mut Out) {
        if let Some(p) = self.table.get(id) {
            out.record(Record::Peer(known(p)));
        }
    }
}

/// A peer as history keeps it.
fn known(p: &PeerInfo) -> KnownPeer {
    KnownPeer {
        id: p.id.to_string(),
        name: p.name.clone(),
        host: p.host.clone(),
        addr: p.addr,
        port: p.port,
        last_seen: p.last_seen,
    }
}

#[cfg(test)]
mod tests;

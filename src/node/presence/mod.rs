//! Presence, a part of the core: who is out there (the peer table, expiry, what a user
//! typed → a peer), who we are (our beacon's contents, where our beacons go and when),
//! and what a sighting means: joined, changed, restarted, left.
//!
//! Driven by plain calls with the time; what should happen comes back as actions (a
//! broadcast, an answer to a `hello`, events, peers to remember) or as the call's result
//! for the core to route (a peer restarted: its links are stale). It never touches a
//! socket or the store.
//!
//! Since protocol v2 our datagrams are signed here (the signer counts them), and others'
//! are believed only once the guard has found them fresh and their signature good,
//! within the verification budget. Presence also keeps the user's trust: which keys are
//! verified, and which peers go by a verified peer's name with another key.
//!
//! - `table`: the peer table (with each peer's key and proven address); `resolve`:
//!   what a user typed → a peer.
//! - `sighting`: the protocol-neutral [`Sighting`], and a lanchat beacon as one.
//! - `guard`: freshness and the verification budget for signed datagrams.
//! - `trust`: the verified keys; `verify`: safety codes, verifying, and the warning
//!   when another key goes by a verified peer's name.
//! - `bucket`: rate limits (answers to `hello`, signature checks).
//! - `address`: what a user typed to reach a peer by address; `unicast`: where our
//!   beacons go by unicast and what became of each address; `answers`: the limit on
//!   answers to unicast beacons; `reach`: presence's side of all three.

pub mod address;
pub mod answers;
pub(in crate::node) mod bucket;
mod guard;
mod reach;
mod resolve;
mod sighting;
mod table;
mod trust;
pub mod unicast;
mod verify;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::clock::Now;
use super::event::{Event, LeftReason};
use super::out::{Action, Out, Record};
use super::peer::PeerInfo;
use crate::net::interfaces::NetInterface;
use crate::protocol::signed::{DatagramSigner, Envelope, SignedError, Unverified};
use crate::protocol::{Beacon, BeaconKind, PROTOCOL_VERSION, PeerId};
use crate::store::KnownPeer;
use crate::trust::{KeyPair, PeerKey};
use bucket::TokenBucket;
use guard::Guard;

pub use guard::{PER_SOURCE_BURST, PER_SOURCE_RATE};
pub use reach::UnicastHeard;
pub use resolve::ResolveError;
pub use sighting::{Sighting, describe, from_beacon};
pub use table::{MAX_PEERS, Observed, PeerTable};
pub use trust::TrustBook;

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
    /// Our identity: signs our datagrams, and is one half of every safety code.
    keys: Arc<KeyPair>,
    signer: DatagramSigner,
    guard: Guard,
    trust: TrustBook,
    interval: Duration,
    reach: Reach,
    interfaces: Vec<NetInterface>,
    targets: Vec<SocketAddrV4>,
    next_announce: Instant,
    answers: TokenBucket,
    /// Peers whose link closed and whose link port then refused a connection, and when
    /// they count as gone unless heard from first ([`Presence::suspect_gone`]).
    suspects: std::collections::HashMap<PeerId, Instant>,
    /// Where beacons go by unicast (reach by address), and the limit on answers.
    unicast: unicast::UnicastList,
    unicast_answers: answers::AnswerLimit,
}

/// How long a peer whose port refused a probe has to be heard from (its `bye`, a beacon)
/// before it counts as gone: a clean exit closes its links and port a moment after its
/// `bye` is sent, and the two can arrive here in either order.
pub const GONE_GRACE: Duration = Duration::from_millis(300);

/// What presence starts from besides who we are.
pub struct Known {
    /// Peers from history (offline).
    pub table: PeerTable,
    /// The keys the user verified.
    pub trust: TrustBook,
}

impl Presence {
    /// Presence as `me` (whose id is `keys`' peer id), with the peers and trust known
    /// from history, announcing every `interval` from `now`.
    pub fn new(
        me: Me,
        keys: Arc<KeyPair>,
        known: Known,
        interval: Duration,
        reach: Reach,
        now: Now,
    ) -> Self {
        debug_assert_eq!(*me.id, keys.peer_id(), "our id is our key's");
        let mut p = Presence {
            table: known.table,
            me,
            signer: DatagramSigner::new(keys.clone()),
            keys,
            guard: Guard::new(now),
            trust: known.trust,
            interval,
            reach,
            interfaces: Vec::new(),
            targets: Vec::new(),
            next_announce: now.at + interval,
            answers: TokenBucket::new(ANSWERS_PER_SEC, ANSWERS_PER_SEC, now.at),
            suspects: std::collections::HashMap::new(),
            unicast: unicast::UnicastList::new(interval),
            unicast_answers: answers::AnswerLimit::new(interval * 9 / 10, now.at),
        };
        p.refresh_all_trust(&mut Out::default());
        p
    }

    /// Our identity key.
    pub fn key(&self) -> PeerKey {
        self.keys.public()
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
            unicast: None,
            kind,
        }
    }

    /// Signs `beacon` (ours) as our next datagram, stamped `now`.
    pub fn sign(&mut self, beacon: &Beacon, now: Now) -> Result<Vec<u8>, SignedError> {
        self.signer.sign(beacon, now.wall)
    }

    /// Broadcasts a presence beacon (`hello`, `here`, `bye`), signed.
    pub fn announce(&mut self, kind: BeaconKind, now: Now, out: &mut Out) {
        let beacon = self.beacon(kind);
        match self.sign(&beacon, now) {
            Ok(bytes) => out.push(Action::Broadcast {
                bytes,
                summary: describe(&beacon),
            }),
            Err(e) => tracing::error!("cannot sign our {}: {e}", describe(&beacon)),
        }
    }

    /// A datagram from `from`, parsed by a reader thread: believed only if fresh, within
    /// the verification budget, and signed by the key it names.
    pub fn admit(
        &mut self,
        datagram: Unverified,
        from: Ipv4Addr,
        now: Now,
    ) -> Result<Envelope, SignedError> {
        self.guard.admit(datagram, from, now)
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
    pub fn announce_due(&mut self, now: Now, out: &mut Out) -> bool {
        if now.at < self.next_announce {
            return false;
        }
        self.announce(BeaconKind::Here, now, out);
        self.next_announce = now.at + self.interval;
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
        self.suspects.remove(s.id); // heard: not gone
        let observed = self.table.observe(s, now.at, now.wall);
        if let Observed::Joined | Observed::Changed { .. } = observed {
            self.refresh_trust(s.id, out);
            let peer = self.table.get(s.id).cloned().expect("just observed");
            let what = match observed {
                Observed::Joined => "peer joined",
                _ => "peer changed",
            };
            tracing::info!(peer = %peer.id, name = %peer.name, addr = %peer.addr, "{what}");
            out.record(Record::Peer(known(&self.table, &peer)));
            out.emit(match observed {
                Observed::Joined => Event::PeerJoined { peer },
                _ => Event::PeerChanged { peer },
            });
        }
        observed
    }

    /// A peer said bye; `true` if it was online (its routes should close).
    pub fn on_bye(&mut self, id: &str, out: &mut Out) -> bool {
        self.went_offline(id, LeftReason::Bye, out)
    }

    /// A peer went offline for `reason` (it said so, or its protocol says it stopped
    /// answering); `true` if it was online.
    pub fn went_offline(&mut self, id: &str, reason: LeftReason, out: &mut Out) -> bool {
        if !self.table.set_offline(id) {
            return false;
        }
        tracing::info!(peer = %id, ?reason, "peer left");
        self.remember(id, out);
        out.emit(self.left(id, reason));
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
            out.record(Record::Peer(known(&self.table, &info)));
            out.emit(Event::PeerJoined { peer: info });
        }
    }

    /// Peers unheard for their timeout go offline.
    /// Peer `id`'s link closed with no `bye` and its port refused a connection: unless
    /// it is heard from within [`GONE_GRACE`] (its `bye` may still be on its way), it is
    /// one of [`Presence::due_suspects`].
    pub fn suspect_gone(&mut self, id: &PeerId, now: Instant) {
        self.suspects.entry(id.clone()).or_insert(now + GONE_GRACE);
    }

    /// A suspect is not gone after all (a link to it came up).
    pub fn clear_suspect(&mut self, id: &str) {
        self.suspects.remove(id);
    }

    /// The suspects whose grace has passed, unheard from and still online: for the caller
    /// to take offline as `gone` if no link to them came up meanwhile.
    pub fn due_suspects(&mut self, now: Instant) -> Vec<PeerId> {
        let due: Vec<PeerId> = self
            .suspects
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &due {
            self.suspects.remove(id);
        }
        due.into_iter()
            .filter(|id| self.table.get(id).is_some_and(|p| p.online))
            .collect()
    }

    pub fn expire(&mut self, now: Instant, out: &mut Out) {
        for id in self.table.expire(now) {
            tracing::info!(peer = %id, "peer timed out");
            self.remember(&id, out);
            out.emit(self.left(&id, LeftReason::Timeout));
        }
    }

    /// Answers a newcomer's `hello` with a unicast, signed `here` to the socket it asked
    /// from; `false` when over the answer budget (nothing sent).
    pub fn answer_hello(&mut self, to: SocketAddrV4, now: Now, out: &mut Out) -> bool {
        if !self.answers.take(now.at) {
            return false;
        }
        let beacon = self.beacon(BeaconKind::Here);
        match self.sign(&beacon, now) {
            Ok(bytes) => out.push(Action::Datagram {
                to,
                bytes,
                summary: describe(&beacon),
            }),
            Err(e) => tracing::error!("cannot sign our answer to {to}: {e}"),
        }
        true
    }

    /// Where to dial `peer` now (see `table`): `None` if it is offline or its link port
    /// is unknown.
    pub fn dial_addr(&self, peer: &str) -> Option<SocketAddr> {
        self.table.get(peer).filter(|p| p.online)?;
        self.table.dial_addr(peer)
    }

    /// A link to `peer` came up at `addr` (its IP and link port), proven by the
    /// handshake.
    pub fn proven(&mut self, peer: &str, addr: SocketAddrV4) {
        self.table.proven(peer, addr);
    }

    /// A dial to `peer` at `addr` failed: the next one tries the other address.
    pub fn dial_failed(&mut self, peer: &str, addr: SocketAddr) {
        self.table.dial_failed(peer, addr);
    }

    /// Remembers every online peer's last-seen time (at shutdown).
    pub fn remember_online(&self, out: &mut Out) {
        for p in self.table.infos().filter(|p| p.online) {
            out.record(Record::Peer(known(&self.table, p)));
        }
    }

    /// `peer_left` for a peer of the table.
    fn left(&self, id: &str, reason: LeftReason) -> Event {
        let peer = self.table.get(id);
        Event::PeerLeft {
            id: id.into(),
            reason,
            name: peer.map(|p| p.name.clone()).unwrap_or_default(),
            protocol: peer.map(|p| p.protocol).unwrap_or_default(),
        }
    }

    fn remember(&self, id: &str, out: &mut Out) {
        if let Some(p) = self.table.get(id) {
            out.record(Record::Peer(known(&self.table, p)));
        }
    }
}

/// A peer as history keeps it.
fn known(table: &PeerTable, p: &PeerInfo) -> KnownPeer {
    KnownPeer {
        id: p.id.to_string(),
        name: p.name.clone(),
        host: p.host.clone(),
        addr: p.addr,
        port: p.port,
        last_seen: p.last_seen,
        key: table.key(&p.id).map(|k| k.to_base64()),
        protocol: p.protocol.label().to_owned(),
        group: p.group.clone(),
    }
}

#[cfg(test)]
mod tests;

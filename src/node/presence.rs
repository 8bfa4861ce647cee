//! Beacons in and out: who is here, who left, and Everyone shouts as they arrive.

use std::net::SocketAddrV4;
use std::time::Instant;

use super::core::{Core, now_ms};
use super::event::{Event, LeftReason};
use super::peers::{Observed, Sighting};
use super::status::WireRecord;
use crate::net::discovery::Via;
use crate::protocol::{Beacon, BeaconError, BeaconKind, PROTOCOL_VERSION};

impl Core {
    /// A beacon of ours, of the given kind.
    pub(super) fn beacon(&self, kind: BeaconKind) -> Beacon {
        Beacon {
            lanchat: PROTOCOL_VERSION,
            id: self.me.id.clone(),
            instance: self.instance.clone(),
            name: self.me.name.clone(),
            host: self.host.clone(),
            port: self.link_addr.port(),
            status: self.status.clone(),
            interval_ms: self.config.interval.as_millis() as u64,
            kind,
        }
    }

    /// Offline after three of the peer's intervals (ours if it did not say), clamped to
    /// 1 s..1 h so a hostile value can neither flap a peer nor keep it forever.
    pub(super) fn peer_timeout(&self, interval_ms: u64) -> std::time::Duration {
        let interval = match interval_ms {
            0 => self.config.interval,
            ms => std::time::Duration::from_millis(ms),
        };
        (interval * 3).clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(3600),
        )
    }

    /// Broadcasts a beacon to every target; returns how many sends succeeded.
    pub(super) fn broadcast(&mut self, beacon: &Beacon, bytes: &[u8]) -> usize {
        let mut ok = 0;
        for target in self.targets.clone() {
            ok += usize::from(self.send_datagram(beacon, bytes, target));
        }
        ok
    }

    /// Broadcasts a presence beacon (`hello`, `here`, `bye`).
    pub(super) fn announce(&mut self, kind: BeaconKind) {
        let beacon = self.beacon(kind);
        let bytes = beacon.encode();
        self.broadcast(&beacon, &bytes);
    }

    fn send_datagram(&mut self, beacon: &Beacon, bytes: &[u8], to: SocketAddrV4) -> bool {
        match self.udp.send_to(bytes, to) {
            Ok(_) => {
                self.counters.beacons_sent += 1;
                self.recent.push(WireRecord {
                    at: now_ms(),
                    dir: "out",
                    proto: "udp",
                    peer: to.to_string(),
                    len: bytes.len(),
                    summary: describe(beacon),
                });
                true
            }
            Err(e) => {
                tracing::warn!("cannot send {} to {to}: {e}", kind_name(&beacon.kind));
                false
            }
        }
    }

    /// A datagram from a discovery socket, parsed or refused by the reader thread.
    pub(super) fn on_datagram(
        &mut self,
        via: Via,
        from: SocketAddrV4,
        len: usize,
        beacon: Result<Beacon, BeaconError>,
    ) {
        let beacon = match beacon {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!("dropped datagram from {from}: {e}");
                self.drop_datagram(from, len, e.label());
                return;
            }
        };
        if beacon.id == self.me.id {
            self.counters.own_beacons += 1;
            return;
        }
        if self.config.bind.is_some_and(|b| b.is_loopback()) && !from.ip().is_loopback() {
            self.drop_datagram(from, len, "off_loopback");
            return;
        }
        self.counters.beacons_received += 1;
        self.recent.push(WireRecord {
            at: now_ms(),
            dir: "in",
            proto: "udp",
            peer: from.to_string(),
            len,
            summary: describe(&beacon),
        });
        let now = Instant::now();
        if let BeaconKind::Bye = beacon.kind {
            self.on_bye(&beacon.id);
            return;
        }
        let observed = self.peers.observe(
            &Sighting {
                id: &beacon.id,
                instance: &beacon.instance,
                name: &beacon.name,
                host: &beacon.host,
                addr: *from.ip(),
                port: beacon.port,
                status: &beacon.status,
                timeout: self.peer_timeout(beacon.interval_ms),
            },
            now,
            now_ms(),
        );
        match observed {
            Observed::Refused => {
                self.drop_datagram(from, len, "table_full");
                return;
            }
            Observed::Joined | Observed::Changed { .. } => {
                let peer = self.peers.get(&beacon.id).cloned().expect("just observed");
                let what = match observed {
                    Observed::Joined => "peer joined",
                    _ => "peer changed",
                };
                tracing::info!(peer = %peer.id, name = %peer.name, addr = %from, "{what}");
                self.save_peer(&peer.id);
                if let Observed::Changed { restarted: true } = observed {
                    self.peer_restarted(&beacon.id, &beacon.instance);
                }
                self.emit(if observed == Observed::Joined {
                    Event::PeerJoined { peer }
                } else {
                    Event::PeerChanged { peer }
                });
                self.peer_reachable(&beacon.id);
            }
            Observed::Same => {}
        }
        match beacon.kind {
            BeaconKind::Hello if via == Via::Listener => self.answer_hello(from),
            BeaconKind::Shout {
                msg_id,
                text,
                sent_at,
                ..
            } => self.on_shout(beacon.id, beacon.name, msg_id, text, sent_at),
            _ => {}
        }
    }

    /// Answers a newcomer at once with a unicast `here` to the socket it asked from.
    fn answer_hello(&mut self, to: SocketAddrV4) {
        if !self.answer_budget.take(Instant::now()) {
            self.counters.drop_datagram("answer_rate");
            return;
        }
        let beacon = self.beacon(BeaconKind::Here);
        let bytes = beacon.encode();
        self.send_datagram(&beacon, &bytes, to);
    }

    fn on_bye(&mut self, id: &str) {
        if self.peers.set_offline(id) {
            tracing::info!(peer = %id, "peer said bye");
            self.save_peer(id);
            self.close_peer_links(id, "peer said bye");
            self.emit(Event::PeerLeft {
                id: id.to_owned().into(),
                reason: LeftReason::Bye,
            });
        }
    }

    fn drop_datagram(&mut self, from: SocketAddrV4, len: usize, reason: &str) {
        self.counters.drop_datagram(reason);
        self.recent.push(WireRecord {
            at: now_ms(),
            dir: "in",
            proto: "udp",
            peer: from.to_string(),
            len,
            summary: format!("dropped: {reason}"),
        });
    }
}

fn kind_name(kind: &BeaconKind) -> &'static str {
    match kind {
        BeaconKind::Hello => "hello",
        BeaconKind::Here => "here",
        BeaconKind::Bye => "bye",
        BeaconKind::Shout { .. } => "shout",
    }
}

fn describe(b: &Beacon) -> String {
    match &b.kind {
        BeaconKind::Shout { msg_id, text, .. } => {
            format!("shout {msg_id} from {} ({} bytes)", b.name, text.len())
        }
        kind => format!("{} from {} (port {})", kind_name(kind), b.name, b.port),
    }
}

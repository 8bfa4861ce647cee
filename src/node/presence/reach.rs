//! Presence's side of reach by address: the user's `add_peer`/`remove_peer` (and
//! `--peer`), the unicast beacons due, the answer to a unicast beacon (within
//! [`super::answers`]' limits), and what a unicast beacon heard means for the list. The
//! beacon is the same signed v2 beacon as the broadcast one, with its `unicast` field
//! set (`docs/PROTOCOL.md`, "Reach by address").

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use super::address::{AddrError, Host, PeerAddr, check_ip};
use super::answers::{self, Refused};
use super::unicast::{Origin, UnicastList};
use super::{Presence, describe};
use crate::node::clock::Now;
use crate::node::out::{Action, Out, Record};
use crate::protocol::{Beacon, BeaconKind, Unicast, signed};
use crate::store::ReachAddr;

/// How large a unicast beacon that may be answered is made (with spaces in `pad`), so
/// that any answer fits within [`answers::ANSWER_SLACK`] of it.
pub const PAD_TO: usize = 1000;

/// What a beacon heard means for reach by address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnicastHeard {
    /// Go on as with any beacon.
    Go,
    /// Drop it, counted under this reason (a removed address's, a bad one).
    Drop(&'static str),
    /// Go on; it was not answered, counted under this reason (the answer limit).
    Unanswered(&'static str),
}

impl Presence {
    /// The unicast list.
    pub fn unicast(&self) -> &UnicastList {
        &self.unicast
    }

    /// The user asked to reach `text` (`HOST[:PORT]`): on the list, its first beacon
    /// due now. The address normalised, and whether it is new.
    pub fn add_peer(
        &mut self,
        text: &str,
        now: Now,
        out: &mut Out,
    ) -> Result<(String, bool), AddrError> {
        let addr = PeerAddr::parse(text, self.reach.discovery_port)?;
        if let Host::Ip(ip) = addr.host {
            check_ip(ip, self.loopback_only(), &addr.to_string())?;
        }
        let key = addr.to_string();
        if !self.unicast.add(addr, Origin::Added, now.at) {
            return Ok((key, false));
        }
        out.record(Record::Reach {
            addr: key.clone(),
            origin: Origin::Added.label(),
        });
        Ok((key, true))
    }

    /// The user asked to stop reaching `text`: off the list, a `bye` sent there, and
    /// its unicast beacons ignored until it is added again. The address normalised, and
    /// whether it was on the list.
    pub fn remove_peer(
        &mut self,
        text: &str,
        now: Now,
        out: &mut Out,
    ) -> Result<(String, bool), AddrError> {
        let key = PeerAddr::parse(text, self.reach.discovery_port)?.to_string();
        let was = self.unicast.remove(&key);
        out.record(Record::Reach {
            addr: key.clone(),
            origin: "removed",
        });
        let Some((_, to)) = was else {
            return Ok((key, false));
        };
        if let Some(to) = to {
            self.send_unicast(to, BeaconKind::Bye, false, now, out);
        }
        Ok((key, true))
    }

    /// Another part knows where a peer's discovery port was (a room member's last known
    /// address, `listener`): it is tried once now and at each start, as if it had
    /// reached us (`learned`, not shown as added by the user). `false` if it is on the
    /// list already, removed, or not an address beacons may go to.
    #[allow(
        dead_code,
        reason = "the hand-off for rooms (issue 14 item 2), built beside this branch"
    )]
    pub fn try_address(&mut self, listener: SocketAddrV4, now: Now, out: &mut Out) -> bool {
        let shown = listener.to_string();
        if listener.port() == 0
            || self.unicast.is_removed(listener)
            || check_ip(*listener.ip(), self.loopback_only(), &shown).is_err()
        {
            return false;
        }
        let addr = PeerAddr {
            host: Host::Ip(*listener.ip()),
            port: listener.port(),
        };
        if !self.unicast.add(addr, Origin::Learned, now.at) {
            return false;
        }
        out.record(Record::Reach {
            addr: shown,
            origin: Origin::Learned.label(),
        });
        true
    }

    /// Takes up the list remembered in the store (at start): every address is tried at
    /// once. Returns the added ones (normalised), for `peer_added`.
    pub fn remember_reach(&mut self, list: Vec<ReachAddr>, now: Instant) -> Vec<String> {
        let mut added = Vec::new();
        for r in list {
            if r.origin == "removed" {
                self.unicast.forbid(r.addr);
                continue;
            }
            let origin = match r.origin.as_str() {
                "added" => Origin::Added,
                _ => Origin::Learned,
            };
            match PeerAddr::parse(&r.addr, self.reach.discovery_port) {
                Ok(addr) => {
                    if origin == Origin::Added {
                        added.push(addr.to_string());
                    }
                    self.unicast.add(addr, origin, now);
                }
                Err(e) => tracing::warn!("history: a remembered address is bad: {e}"),
            }
        }
        added
    }

    /// Names to resolve now (`(addr, name, port)`), each once until
    /// [`Presence::resolved`].
    pub fn names_due(&mut self, now: Instant) -> Vec<(String, String, u16)> {
        self.unicast.names_due(now)
    }

    /// A name on the list resolved (`Ok`) or not; the error to tell the user, the first
    /// time it fails (or when it resolved to an address beacons may not go to).
    pub fn resolved(
        &mut self,
        key: &str,
        result: Result<Ipv4Addr, String>,
        now: Instant,
    ) -> Option<AddrError> {
        let result = result.and_then(|ip| {
            check_ip(ip, self.loopback_only(), key)
                .map(|()| ip)
                .map_err(|e| format!("it resolved to {ip}, which is refused: {e}"))
        });
        let why = result.as_ref().err().cloned();
        let first = self.unicast.resolved(key, result, now);
        why.filter(|_| first).map(|why| AddrError::Unresolved {
            addr: key.to_owned(),
            why,
        })
    }

    /// When a unicast beacon or a name's retry is due next.
    pub fn unicast_next(&self) -> Option<Instant> {
        self.unicast.next_wake()
    }

    /// The unicast beacons due at `now` (padded `here`s, so that they may be answered).
    pub fn unicast_due(&mut self, now: Now, out: &mut Out) {
        for to in self.unicast.due(now.at) {
            self.send_unicast(to, BeaconKind::Here, true, now, out);
        }
    }

    /// A unicast beacon could not be sent to `to`: shown on its entry until heard.
    pub fn unicast_send_failed(&mut self, to: SocketAddrV4, e: &std::io::Error) {
        self.unicast
            .send_failed(to, format!("cannot send there: {e}"));
    }

    /// Our `bye` by unicast to every address we reach that way (at stop).
    pub fn unicast_bye(&mut self, now: Now, out: &mut Out) {
        for to in self.unicast.bye_targets(now.at) {
            self.send_unicast(to, BeaconKind::Bye, false, now, out);
        }
    }

    /// A fresh, signed beacon from `from` (`len` bytes; `listening`: it came to our
    /// discovery port, not to our sender's): the entries at that address were heard; a
    /// unicast one from an address we do not beacon ourselves is learned and answered,
    /// once per interval at most per source, never larger than it by more than
    /// [`answers::ANSWER_SLACK`]; a removed address's is dropped.
    pub fn on_unicast(
        &mut self,
        beacon: &Beacon,
        from: SocketAddrV4,
        len: usize,
        listening: bool,
        now: Now,
        out: &mut Out,
    ) -> UnicastHeard {
        let marked = beacon.unicast.as_ref().filter(|_| listening);
        let Some(u) = marked else {
            self.unicast.heard(*from.ip(), None, now.at, now.wall);
            return UnicastHeard::Go;
        };
        let listener = SocketAddrV4::new(*from.ip(), u.port);
        if self.unicast.is_removed(listener) {
            return UnicastHeard::Drop("removed_address");
        }
        if u.port == 0 || check_ip(*from.ip(), self.loopback_only(), "").is_err() {
            return UnicastHeard::Drop("bad_unicast");
        }
        self.unicast
            .heard(*from.ip(), Some(u.port), now.at, now.wall);
        if u.answer || beacon.kind != BeaconKind::Here || self.unicast.is_added(listener) {
            return UnicastHeard::Go;
        }
        if let Some(learned) = self.unicast.learn(listener, now.at, now.wall) {
            out.record(Record::Reach {
                addr: learned.key,
                origin: Origin::Learned.label(),
            });
            if let Some(old) = learned.replaced {
                out.record(Record::Unreach(old));
            }
        }
        match self.unicast_answers.take(*from.ip(), now.at) {
            Err(Refused::Source) => UnicastHeard::Unanswered("answer_rate_source"),
            Err(Refused::Total) => UnicastHeard::Unanswered("answer_rate"),
            Ok(()) => self.answer_unicast(listener, len, now, out),
        }
    }

    /// Our answer to a unicast beacon of `len` bytes from `to`: a `here` marked as an
    /// answer, without host or status if that is what it takes to fit.
    fn answer_unicast(
        &mut self,
        to: SocketAddrV4,
        len: usize,
        now: Now,
        out: &mut Out,
    ) -> UnicastHeard {
        let mut beacon = self.unicast_beacon(BeaconKind::Here, true, false);
        for trim in [false, true] {
            if trim {
                beacon.host.clear();
                beacon.status.clear();
            }
            match self.sign(&beacon, now) {
                Ok(bytes) if answers::fits(bytes.len(), len) => {
                    out.push(Action::Datagram {
                        to,
                        bytes,
                        summary: format!("{} (unicast answer)", describe(&beacon)),
                    });
                    return UnicastHeard::Go;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!("cannot sign our answer to {to}: {e}");
                    return UnicastHeard::Go;
                }
            }
        }
        UnicastHeard::Unanswered("answer_size")
    }

    fn send_unicast(
        &mut self,
        to: SocketAddrV4,
        kind: BeaconKind,
        pad: bool,
        now: Now,
        out: &mut Out,
    ) {
        let beacon = self.unicast_beacon(kind, false, pad);
        match self.sign(&beacon, now) {
            Ok(bytes) => out.push(Action::Datagram {
                to,
                bytes,
                summary: format!("{} (unicast)", describe(&beacon)),
            }),
            Err(e) => tracing::error!("cannot sign our beacon to {to}: {e}"),
        }
    }

    /// Our beacon of `kind` as sent by unicast (`pad`: to [`PAD_TO`] bytes signed).
    fn unicast_beacon(&self, kind: BeaconKind, answer: bool, pad: bool) -> Beacon {
        let mut beacon = self.beacon(kind);
        beacon.unicast = Some(Unicast {
            port: self.reach.discovery_port,
            answer,
            pad: String::new(),
        });
        if pad {
            let size = beacon.encode().len() + signed::overhead() + r#","pad":"""#.len();
            if let Some(u) = &mut beacon.unicast {
                u.pad = " ".repeat(PAD_TO.saturating_sub(size));
            }
        }
        beacon
    }
}

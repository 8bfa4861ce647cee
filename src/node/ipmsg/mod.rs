//! IPMsg, a part of the core: iptux, FeiQ and IP Messenger users as peers. It owns
//! what only IPMsg has: our face on its wire (packet numbers, nickname, group), each
//! peer's address and encoding, the packet numbers it sent lately, our packets waiting
//! for `RECVMSG` and their retries, and the files offered each way.
//!
//! It turns what it hears into [`News`] for the other parts, as if it came over a link:
//! entries become sightings for presence (protocol `ipmsg`, no timeout: IPMsg does not
//! re-announce), `BR_EXIT` a departure, `SENDMSG` chats and file offers, `RECVMSG` acks,
//! `RELEASEFILES` declines. Its peers are reached on a [`Route::Ipmsg`]: the core carries
//! a chat, an ack or a file message on such a route to [`Ipmsg::carry`], which writes the
//! IPMsg packet. Packets from another lanchat (`1_lanchat#id` in the version field) are
//! left alone: that peer is listed once, as a lanchat peer.
//!
//! Like every part it never touches a socket, a thread, the store or a clock: calls take
//! the time and push [`Action::IpmsgDatagram`]s into `out`.
//!
//! - `wire`: our header, nickname, packet numbers, the encoding a peer gets.
//! - `peers`: the peers by address, their ids, encodings and recent packet numbers.
//! - `sending`: our packets waiting for `RECVMSG`, retries, long texts split.
//! - `files`: offers both ways, file threads, pulls tried again.
//! - `heard`: what a packet from a peer means; `carry`: what we send, and the timers.

mod carry;
mod files;
mod heard;
mod peers;
mod sending;
mod wire;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::chat::InChat;
use super::event::LeftReason;
use super::out::{Action, Out, Route};
use super::presence::bucket::TokenBucket;
use super::status::IpmsgCounters;
use crate::protocol::ipmsg::{Charset, Mode, Packet};
use crate::protocol::{LinkMsg, MsgId, PeerId};

pub use carry::Carried;

/// Most entries answered (and strangers asked who they are) per second, bursts as many.
const ANSWERS_PER_SEC: f64 = 200.0;

/// The first wait before asking again whether an offline peer with messages waiting is
/// back (a unicast `BR_ENTRY`); doubled each time up to [`MAX_PROBE_WAIT`].
const FIRST_PROBE_WAIT: Duration = Duration::from_secs(10);

/// The longest wait between two such questions.
const MAX_PROBE_WAIT: Duration = Duration::from_secs(600);

/// Who we are, for our IPMsg face.
#[derive(Debug, Clone)]
pub struct Me<'a> {
    /// Our lanchat id (in the version field, so other lanchats know us).
    pub id: &'a str,
    /// Our login name.
    pub user: &'a str,
    /// Our host name.
    pub host: &'a str,
    /// Our lanchat name: our nickname.
    pub nick: &'a str,
}

/// What a peer is, for presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its peer id.
    pub id: PeerId,
    /// Its nickname (cleaned), or its user name.
    pub name: String,
    /// Its host name (cleaned).
    pub host: String,
    /// Its group (cleaned).
    pub group: String,
    /// Its address.
    pub addr: Ipv4Addr,
    /// `online` or `away`.
    pub status: &'static str,
}

/// What the IPMsg part heard that other parts must know; the core routes each.
#[derive(Debug)]
pub enum News {
    /// A peer announced itself, or was heard from after being offline.
    Seen(Seen),
    /// A peer is gone: it said `BR_EXIT`, left every try unanswered, or another peer
    /// took its address. What waited on its route goes again when it is back.
    Left {
        /// Who.
        peer: PeerId,
        /// Its route, now down.
        route: Route,
        /// `bye`, or `timeout` when it stopped answering.
        reason: LeftReason,
    },
    /// A message (a retransmission too: the store recognises it, and it is acknowledged
    /// again but shown once).
    Chat(InChat),
    /// Our message, all of it, was acknowledged.
    Acked(PeerId, MsgId),
    /// A file message for the transfers part, as if it came on a link: an offer, or a
    /// decline (`RELEASEFILES`).
    File {
        /// From whom.
        peer: PeerId,
        /// Its route.
        route: Route,
        /// The message.
        msg: LinkMsg,
    },
    /// Something a peer sent that lanchat cannot take (a folder), in words for the user.
    Refused(String),
}

/// The IPMsg part (see the module documentation).
pub struct Ipmsg {
    /// Whether IPMsg is on (its sockets bound); off, the part stays silent.
    on: bool,
    /// The port IPMsg peers listen on (2425), for questions to a peer's last address.
    port: u16,
    face: wire::Face,
    peers: peers::Peers,
    sending: sending::Sending,
    files: files::Files,
    answers: TokenBucket,
    /// Offline peers with something waiting: when to ask again whether they are back.
    probes: HashMap<PeerId, (Instant, Duration)>,
    targets: Vec<SocketAddrV4>,
    started: bool,
    counters: IpmsgCounters,
}

impl Ipmsg {
    /// The part for `me`, speaking on `port` (`None`: IPMsg is off). Packet numbers
    /// start above `first_number`.
    pub fn new(me: &Me<'_>, port: Option<u16>, first_number: u32, now: Instant) -> Ipmsg {
        Ipmsg {
            on: port.is_some(),
            port: port.unwrap_or(crate::protocol::ipmsg::DEFAULT_PORT),
            face: wire::Face::new(me.id, me.user, me.host, me.nick, first_number),
            peers: peers::Peers::default(),
            sending: sending::Sending::default(),
            files: files::Files::default(),
            answers: TokenBucket::new(ANSWERS_PER_SEC, ANSWERS_PER_SEC, now),
            probes: HashMap::new(),
            targets: Vec::new(),
            started: false,
            counters: IpmsgCounters::default(),
        }
    }

    /// The counters, to show.
    pub fn counters(&self) -> &IpmsgCounters {
        &self.counters
    }

    /// The counters, to count what the core saw (a packet it could not send, a request
    /// it refused).
    pub fn counters_mut(&mut self) -> &mut IpmsgCounters {
        &mut self.counters
    }

    /// Where broadcasts go.
    pub fn targets(&self) -> &[SocketAddrV4] {
        &self.targets
    }

    /// IPMsg peers online now.
    pub fn online(&self) -> usize {
        self.peers.online().count()
    }

    /// The route to `peer` now: its address while it is online.
    pub fn route(&self, peer: &str) -> Option<Route> {
        let p = self.peers.by_id(peer).filter(|p| p.online)?;
        Some(Route::Ipmsg(p.addr))
    }

    /// The peer a route leads to.
    pub fn peer_at(&self, addr: SocketAddrV4) -> Option<PeerId> {
        self.peers.at(*addr.ip()).map(|p| p.id.clone())
    }

    /// Says `BR_ENTRY` to every broadcast target (at start), and from then on to every
    /// target that appears ([`Ipmsg::set_targets`]).
    pub fn start(&mut self, targets: Vec<SocketAddrV4>, out: &mut Out) {
        self.started = true;
        self.targets.clear();
        self.set_targets(targets, out);
    }

    /// Where broadcasts go now (interfaces come and go); a new target hears `BR_ENTRY`.
    pub fn set_targets(&mut self, targets: Vec<SocketAddrV4>, out: &mut Out) {
        if !self.on {
            return;
        }
        let fresh: Vec<SocketAddrV4> = targets
            .iter()
            .filter(|t| !self.targets.contains(t))
            .copied()
            .collect();
        self.targets = targets;
        if !self.started {
            return;
        }
        for to in fresh {
            let p = self.face.entry(Mode::BrEntry, Charset::Utf8);
            self.push(to, &p, "BR_ENTRY (broadcast)", out);
        }
    }

    /// Our name changed: `BR_ABSENCE` to everyone.
    pub fn renamed(&mut self, nick: &str, out: &mut Out) {
        self.face.rename(nick);
        self.absence(out);
    }

    /// Our status changed (anything but `online` is away on IPMsg): `BR_ABSENCE`.
    pub fn set_status(&mut self, status: &str, out: &mut Out) {
        self.face.away = status != "online";
        self.absence(out);
    }

    /// `BR_ABSENCE` broadcast in UTF-8, and by unicast in GB18030 to each peer online
    /// that writes GB18030 (mirrored, so our name reads right there).
    fn absence(&mut self, out: &mut Out) {
        if !self.on {
            return;
        }
        for to in self.targets.clone() {
            let p = self.face.entry(Mode::BrAbsence, Charset::Utf8);
            self.push(to, &p, "BR_ABSENCE (broadcast)", out);
        }
        let gbk: Vec<Ipv4Addr> = self
            .peers
            .online()
            .filter(|p| p.charset == Some(Charset::Gb18030))
            .map(|p| *p.addr.ip())
            .collect();
        for ip in gbk {
            self.tell(ip, Mode::BrAbsence, out);
        }
    }

    /// We leave: `BR_EXIT` broadcast, and by unicast to each peer online (as iptux does:
    /// a peer reached across a router hears no broadcast).
    pub fn exit(&mut self, out: &mut Out) {
        if !self.on || !self.started {
            return;
        }
        for to in self.targets.clone() {
            let p = self.exit_packet(Charset::Utf8);
            self.push(to, &p, "BR_EXIT (broadcast)", out);
        }
        let online: Vec<(SocketAddrV4, Option<Charset>)> =
            self.peers.online().map(|p| (p.addr, p.charset)).collect();
        for (to, cs) in online {
            let p = self.exit_packet(cs.unwrap_or(Charset::Utf8));
            self.push(to, &p, "BR_EXIT", out);
        }
    }

    fn exit_packet(&mut self, cs: Charset) -> Packet {
        use crate::protocol::ipmsg::{Command, Opt, Payload};
        self.face.packet(
            Command::new(Mode::BrExit, &[Opt::CapUtf8]),
            Payload::Exit,
            cs,
        )
    }

    /// Our entry by unicast to the peer at `ip` in its encoding (`mode`: `ANSENTRY`, or
    /// `BR_ABSENCE` to correct how our name reads there).
    fn tell(&mut self, ip: Ipv4Addr, mode: Mode, out: &mut Out) {
        let Some(p) = self.peers.at_mut(ip) else {
            return;
        };
        let cs = p.charset.unwrap_or(Charset::Utf8);
        p.told = Some(cs);
        let to = p.addr;
        let packet = self.face.entry(mode, cs);
        self.push(to, &packet, mode.label(), out);
    }

    /// Writes `packet` for `to` as an action; a packet of ours that does not encode
    /// (it cannot happen: ours are checked) is logged and dropped.
    fn push(&mut self, to: SocketAddrV4, packet: &Packet, what: &str, out: &mut Out) {
        match packet.encode() {
            Ok(bytes) => out.push(Action::IpmsgDatagram {
                to,
                bytes,
                summary: format!("IPMsg {what} #{}", packet.packet_no),
            }),
            Err(e) => tracing::warn!("IPMsg: cannot write our {what} to {to}: {e}"),
        }
    }

    /// Asks an offline IPMsg peer with something waiting whether it is back (a unicast
    /// `BR_ENTRY`, which a client answers with `ANSENTRY`), at most every so often per
    /// peer (10 s, doubled up to 10 min). `addr` is its last address.
    pub fn probe(&mut self, peer: &PeerId, addr: Ipv4Addr, now: Instant, out: &mut Out) {
        if !self.on {
            return;
        }
        let (at, wait) = self
            .probes
            .get(peer)
            .copied()
            .unwrap_or((now, FIRST_PROBE_WAIT / 2));
        if at > now {
            return;
        }
        let wait = (wait * 2).min(MAX_PROBE_WAIT);
        self.probes.insert(peer.clone(), (now + wait, wait));
        let to = self
            .peers
            .at(addr)
            .map_or(SocketAddrV4::new(addr, self.port), |p| p.addr);
        let p = self.face.entry(Mode::BrEntry, Charset::Utf8);
        self.push(to, &p, "BR_ENTRY (is it back?)", out);
    }

    /// When the part must run next even if nothing arrives.
    pub fn next_wake(&self) -> Option<Instant> {
        [self.sending.next_wake(), self.files.next_wake()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// What a status or name from an IPMsg peer may contain: control characters removed,
/// trimmed and cut as lanchat names are.
fn clean(s: &str) -> String {
    crate::protocol::beacon::clean_name(s)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_files;

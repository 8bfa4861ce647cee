//! What the network panel shows: interfaces, sockets, links, counters and the most recent
//! datagrams and frames. The core keeps these up to date ([`Traffic`]) as it hears inputs
//! and carries out I/O; `net_status` takes a snapshot.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Display;

use serde::Serialize;

use crate::net::interfaces::NetInterface;

/// Entries kept in the recent-traffic list.
pub const RECENT_LEN: usize = 64;

/// A snapshot for the network panel (`net_status` event).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetStatus {
    /// Interfaces beacons go out on (empty when confined to loopback).
    pub interfaces: Vec<NetInterface>,
    /// Where beacons are sent (`addr:port`).
    pub broadcast_targets: Vec<String>,
    /// Where beacons go by unicast (reach by address), and what became of each.
    pub unicast: Vec<crate::node::presence::unicast::UnicastInfo>,
    /// Our sockets (`getsockname`).
    pub sockets: Vec<SocketInfo>,
    /// Open links (`getpeername`).
    pub links: Vec<LinkInfo>,
    /// Traffic counters.
    pub counters: Counters,
    /// Peers with messages not yet acknowledged: how many, and why they wait if they
    /// wait on a route that is up (the recipient cannot save them now, or is silent).
    pub delivery: Vec<crate::node::chat::Delivery>,
    /// The latest datagrams and frames, newest first (IPMsg's too).
    pub recent: Vec<WireRecord>,
    /// IPMsg: its sockets, where its broadcasts go, its counters (boxed: it is large).
    pub ipmsg: Box<IpmsgNetStatus>,
}

/// IPMsg as the network panel shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpmsgNetStatus {
    /// Whether IPMsg is on.
    pub on: bool,
    /// Where its UDP and TCP sockets are bound (`addr:port`), when on.
    pub local: Option<String>,
    /// Why it is off although it was asked for (its port was taken), when it is.
    pub problem: Option<String>,
    /// Where its broadcasts go (`addr:port`).
    pub broadcast_targets: Vec<String>,
    /// IPMsg peers online now.
    pub peers_online: usize,
    /// What it counted.
    pub counters: IpmsgCounters,
}

/// One of our sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketInfo {
    /// What it is for.
    pub role: String,
    /// `getsockname()`.
    pub local: String,
}

/// One open link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkInfo {
    /// Link number.
    pub link: u64,
    /// Peer id, once its hello arrived.
    pub peer: Option<String>,
    /// `getsockname()`.
    pub local: String,
    /// `getpeername()`.
    pub remote: String,
    /// File descriptor (`fileno()`), where the platform has them.
    pub fd: i64,
    /// Whether we dialed it.
    pub outbound: bool,
    /// Whether it is the link in use for its peer.
    pub active: bool,
}

/// Traffic counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Beacons (and shouts) sent, per destination.
    pub beacons_sent: u64,
    /// Valid beacons received from others.
    pub beacons_received: u64,
    /// Our own beacons heard back (ignored).
    pub own_beacons: u64,
    /// Datagrams dropped, by reason: what they are (`oversized`, `not_json`, `foreign`,
    /// `version`: another protocol version, v1 included, `malformed`), what their
    /// signature and freshness said (`forged`: a bad signature under a key never heard
    /// from, `tampered`: under a key heard from, `id_mismatch`: an id not the key's,
    /// `stale`, `replayed`), and why the node could not take them (`over_budget`: more
    /// signature checks than the source may cost, `overflow`, `off_loopback`,
    /// `table_full`); and errors on the discovery sockets (`icmp_reset`: Windows
    /// reporting an ICMP "port unreachable" echo, `socket_error`: anything else).
    pub dropped: BTreeMap<String, u64>,
    /// Frames written to links.
    pub frames_sent: u64,
    /// Frames read from links.
    pub frames_received: u64,
    /// Links closed for a protocol violation or timeout.
    pub links_dropped: u64,
    /// Connections accepted on the link port: links, file streams, and the refused.
    pub connections_accepted: u64,
    /// Accepted connections closed before their first frame was read, by reason
    /// (`evicted`: its place was needed by a newer connection, `timeout`, `closed` by
    /// the peer, `invalid` bytes, `failed` locally, `version`: a protocol v1 peer,
    /// `handshake`: the handshake failed). Refusals after a first frame (not a hello,
    /// …) are `links_dropped`.
    pub connections_refused: BTreeMap<String, u64>,
    /// Failed Noise handshakes, ours and theirs, by label: `timeout`, `closed`,
    /// `malformed`, `version`, `decrypt`, `proof` (a key proof that does not verify),
    /// `wrong_peer` (someone else answered where we dialed a peer), `own_key`.
    pub handshakes_failed: BTreeMap<String, u64>,
}

impl Counters {
    /// Counts one dropped datagram.
    pub fn drop_datagram(&mut self, reason: &str) {
        *self.dropped.entry(reason.to_owned()).or_default() += 1;
    }
}

/// IPMsg's counters for the network panel (`net_status`'s `ipmsg.counters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpmsgCounters {
    /// Packets read from peers (valid ones, ours and other lanchats' not counted).
    pub packets_received: u64,
    /// Packets sent (answers, messages, retries, broadcasts: one per destination).
    pub packets_sent: u64,
    /// Our own broadcasts heard back (ignored).
    pub own: u64,
    /// Packets from other lanchats (ignored: those are lanchat peers).
    pub from_lanchat: u64,
    /// Datagrams dropped, by reason: the codec's (`oversized`, `no_header`, `version`,
    /// `bad_number`, `too_long`, `too_many`, `encoding`, `encrypted`, `bad_file_list`,
    /// `bad_file_request`), `overflow` (the core was behind), `table_full`,
    /// `answer_rate` (an entry left unanswered over the budget).
    pub dropped: BTreeMap<String, u64>,
    /// `GETFILEDATA` requests refused, by reason (`not_offered`: nothing was offered to
    /// that address under those numbers; `not_open`: the transfer is over or under way;
    /// `failed`: no thread).
    pub requests_refused: BTreeMap<String, u64>,
    /// TCP connections accepted on the IPMsg port.
    pub connections_accepted: u64,
    /// Those closed before a usable `GETFILEDATA` request, by reason (as for lanchat's
    /// `connections_refused`).
    pub connections_refused: BTreeMap<String, u64>,
}

impl IpmsgCounters {
    /// Counts one dropped datagram.
    pub fn drop_datagram(&mut self, reason: &str) {
        *self.dropped.entry(reason.to_owned()).or_default() += 1;
    }

    /// Counts one refused request.
    pub fn refuse_request(&mut self, reason: &str) {
        *self.requests_refused.entry(reason.to_owned()).or_default() += 1;
    }
}

/// One datagram or frame, decoded, for the live list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireRecord {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    /// `in` or `out`.
    pub dir: &'static str,
    /// `udp` or `tcp`.
    pub proto: &'static str,
    /// Remote address.
    pub peer: String,
    /// Size in bytes.
    pub len: usize,
    /// What it was (`here from 张三`, `chat m1 (12 bytes)`, `dropped: not_json`).
    pub summary: String,
}

/// Ring buffer of recent [`WireRecord`]s.
#[derive(Debug, Default)]
pub struct Recent(VecDeque<WireRecord>);

impl Recent {
    /// Adds a record, forgetting the oldest past [`RECENT_LEN`].
    pub fn push(&mut self, r: WireRecord) {
        if self.0.len() >= RECENT_LEN {
            self.0.pop_back();
        }
        self.0.push_front(r);
    }

    /// Newest first.
    pub fn snapshot(&self) -> Vec<WireRecord> {
        self.0.iter().cloned().collect()
    }
}

/// Counters and the recent-traffic list, as one.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Counts since start.
    pub counters: Counters,
    /// The latest datagrams and frames.
    pub recent: Recent,
}

impl Traffic {
    /// A datagram or frame, for the live list (`at`: Unix milliseconds).
    pub fn log(
        &mut self,
        at: u64,
        dir: &'static str,
        proto: &'static str,
        peer: impl Display,
        len: usize,
        summary: String,
    ) {
        self.recent.push(WireRecord {
            at,
            dir,
            proto,
            peer: peer.to_string(),
            len,
            summary,
        });
    }

    /// A datagram dropped on arrival, by reason.
    pub fn dropped(&mut self, at: u64, from: impl Display, len: usize, reason: &str) {
        self.counters.drop_datagram(reason);
        self.log(at, "in", "udp", from, len, format!("dropped: {reason}"));
    }
}

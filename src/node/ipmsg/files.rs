//! Files over IPMsg as the part keeps them: what we offered to which address (so a
//! `GETFILEDATA` is served only for a file offered to the address asking), what peers
//! offered us (so an accept can pull it), the file threads running, and the schedule of
//! pulls tried again after a break.
//!
//! IPMsg's receiver pulls: the sender cannot make bytes flow again after a break, so
//! here the receiving side retries by itself ([`REFETCH_TRIES`], a second, then two,
//! then four), resuming from the `.part`'s length. Both tables are capped at
//! [`MAX_OFFERS`] (the oldest entry goes first). Pure: time is a parameter.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::net::transfer::StreamId;
use crate::protocol::ipmsg::{FileInfo, FileRequest};
use crate::protocol::{PeerId, TransferId, hash};

/// Offers remembered each way.
pub const MAX_OFFERS: usize = 1024;

/// Pulls of a broken download tried again by themselves before it waits for Retry.
pub const REFETCH_TRIES: u32 = 3;

/// The wait before the first automatic pull; doubled for each further one.
const REFETCH_FIRST: Duration = Duration::from_secs(1);

/// A file we offered.
#[derive(Debug, Clone)]
struct Out {
    peer: PeerId,
    ip: Ipv4Addr,
    file_id: u64,
    /// The numbers the offer's packet had (a retry may renumber it).
    numbers: Vec<u32>,
    seq: u64,
}

/// A file an IPMsg peer offered us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// Who.
    pub peer: PeerId,
    /// Where to pull it from (its TCP port is its UDP one: 2425).
    pub from: SocketAddrV4,
    /// The offer's packet number.
    pub packet_no: u32,
    /// The file's id in the offer.
    pub file_id: u64,
    /// Its name as offered (the transfers part sanitises it).
    pub name: String,
    /// Its size.
    pub size: u64,
    /// The offer had UTF8OPT: the request keeps it.
    pub utf8: bool,
    seq: u64,
}

/// Where a pulled file lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landing {
    /// The `.part` being written.
    pub part: PathBuf,
    /// The folder the file goes to.
    pub dir: PathBuf,
    /// Its safe name.
    pub name: String,
    /// Its resume note, removed when it is complete.
    pub note: PathBuf,
}

/// A file thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its transfer.
    pub transfer: TransferId,
    /// Serving: the file we offered. Pulling: the `.part`.
    pub path: PathBuf,
    /// The byte it started from.
    pub offset: u64,
    /// Pulling: where the file lands once complete.
    pub landing: Option<Landing>,
}

/// The part's files (see the module documentation).
#[derive(Debug)]
pub struct Files {
    out: HashMap<TransferId, Out>,
    offered: HashMap<TransferId, Offered>,
    jobs: HashMap<StreamId, Job>,
    refetch: HashMap<TransferId, (Instant, u32)>,
    next_file_id: u64,
    seq: u64,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            out: HashMap::new(),
            offered: HashMap::new(),
            jobs: HashMap::new(),
            refetch: HashMap::new(),
            next_file_id: 1,
            seq: 0,
        }
    }
}

impl Files {
    fn seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Transfer `id` is offered to `peer` at `ip`: its file id in the offer, and whether
    /// a packet must go out (`false`: it is offered there already; the offer stands).
    pub fn offer_out(&mut self, id: &TransferId, peer: &PeerId, ip: Ipv4Addr) -> (u64, bool) {
        if let Some(o) = self.out.get(id).filter(|o| o.ip == ip && o.peer == *peer) {
            return (o.file_id, false);
        }
        if self.out.len() >= MAX_OFFERS {
            evict_oldest(&mut self.out, |o| o.seq);
        }
        let file_id = self.next_file_id;
        self.next_file_id += 1;
        let seq = self.seq();
        self.out.insert(
            id.clone(),
            Out {
                peer: peer.clone(),
                ip,
                file_id,
                numbers: Vec::new(),
                seq,
            },
        );
        (file_id, true)
    }

    /// The numbers the offer of `id` was sent with (all of them, after a renumbered retry).
    pub fn offer_numbers(&mut self, id: &TransferId, numbers: impl IntoIterator<Item = u32>) {
        if let Some(o) = self.out.get_mut(id) {
            for n in numbers {
                if !o.numbers.contains(&n) && o.numbers.len() < 8 {
                    o.numbers.push(n);
                }
            }
        }
    }

    /// Our offer of `id` is withdrawn (cancelled, declined, done): it is never served.
    pub fn withdraw(&mut self, id: &TransferId) {
        self.out.remove(id);
    }

    /// Which of our offers a `GETFILEDATA` from `ip` asks for: only one offered to that
    /// address, by its offer's number and its file id (each read in hex or decimal).
    pub fn requested(&self, ip: Ipv4Addr, req: &FileRequest) -> Option<(PeerId, TransferId)> {
        self.out
            .iter()
            .find(|(_, o)| {
                o.ip == ip
                    && req.file_id.matches(o.file_id)
                    && o.numbers
                        .iter()
                        .any(|n| req.packet_no.matches(u64::from(*n)))
            })
            .map(|(id, o)| (o.peer.clone(), id.clone()))
    }

    /// A peer offers `file` in its packet `packet_no` from `from`: the transfer id it
    /// gets (derived, so the same offer heard again is the same transfer).
    pub fn offered(
        &mut self,
        peer: &PeerId,
        from: SocketAddrV4,
        packet_no: u32,
        file: &FileInfo,
        utf8: bool,
    ) -> TransferId {
        let id = TransferId::from(hash::transfer_id(&[
            b"ipmsg-offer",
            peer.as_bytes(),
            &packet_no.to_le_bytes(),
            &file.id.to_le_bytes(),
            file.name.as_bytes(),
            &file.size.to_le_bytes(),
            &file.mtime.to_le_bytes(),
        ]));
        if !self.offered.contains_key(&id) && self.offered.len() >= MAX_OFFERS {
            evict_oldest(&mut self.offered, |o| o.seq);
        }
        let seq = self.seq();
        self.offered.insert(
            id.clone(),
            Offered {
                peer: peer.clone(),
                from,
                packet_no,
                file_id: file.id,
                name: file.name.clone(),
                size: file.size,
                utf8,
                seq,
            },
        );
        id
    }

    /// An offer made to us.
    pub fn offer(&self, id: &TransferId) -> Option<&Offered> {
        self.offered.get(id)
    }

    /// Forgets an offer made to us (declined, cancelled, done); what it was.
    pub fn drop_offer(&mut self, id: &TransferId) -> Option<Offered> {
        self.refetch.remove(id);
        self.offered.remove(id)
    }

    /// Our offers to `peer` whose packet had number `no`.
    pub fn ours_in_packet(&self, peer: &PeerId, no: u32) -> Vec<TransferId> {
        self.out
            .iter()
            .filter(|(_, o)| o.peer == *peer && o.numbers.contains(&no))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A file thread started.
    pub fn started(&mut self, stream: StreamId, job: Job) {
        self.jobs.insert(stream, job);
    }

    /// A file thread ended (or was stopped); what it was.
    pub fn ended(&mut self, stream: StreamId) -> Option<Job> {
        self.jobs.remove(&stream)
    }

    /// The file thread `stream`, if it runs.
    pub fn job(&self, stream: StreamId) -> Option<&Job> {
        self.jobs.get(&stream)
    }

    /// A pull of `id` broke: when to try again, or `None` when its tries are used up.
    pub fn refetch_later(&mut self, id: &TransferId, now: Instant) -> Option<Duration> {
        if !self.offered.contains_key(id) {
            return None;
        }
        let tries = self.refetch.get(id).map_or(0, |(_, n)| *n);
        if tries >= REFETCH_TRIES {
            self.refetch.remove(id);
            return None;
        }
        let wait = REFETCH_FIRST * (1 << tries);
        self.refetch.insert(id.clone(), (now + wait, tries + 1));
        Some(wait)
    }

    /// A pull of `id` moved bytes, or the user asked again: its tries start over.
    pub fn refetch_reset(&mut self, id: &TransferId) {
        self.refetch.remove(id);
    }

    /// Downloads whose next pull is due; their tries stay counted.
    pub fn refetch_due(&mut self, now: Instant) -> Vec<TransferId> {
        let mut due: Vec<TransferId> = Vec::new();
        for (id, (at, _)) in &mut self.refetch {
            if *at <= now {
                *at = now + Duration::from_secs(3600); // not again until rescheduled
                due.push(id.clone());
            }
        }
        due.sort();
        due
    }

    /// When the next pull is due.
    pub fn next_wake(&self) -> Option<Instant> {
        self.refetch.values().map(|(at, _)| *at).min()
    }
}

fn evict_oldest<V>(map: &mut HashMap<TransferId, V>, seq: impl Fn(&V) -> u64) {
    if let Some(id) = map
        .iter()
        .min_by_key(|(_, v)| seq(v))
        .map(|(k, _)| k.clone())
    {
        map.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ipmsg::HexOrDecimal;

    const IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

    #[test]
    fn a_request_is_served_only_for_what_was_offered_to_that_address() {
        let mut f = Files::default();
        let id = TransferId::from("t");
        let (file_id, new) = f.offer_out(&id, &"p".into(), IP);
        assert!(new);
        assert_eq!(f.offer_out(&id, &"p".into(), IP), (file_id, false), "once");
        f.offer_numbers(&id, [100, 107]);
        let ask = |no: u32, file: u64| FileRequest::new(no, file, 0);
        assert_eq!(
            f.requested(IP, &ask(107, file_id)),
            Some(("p".into(), id.clone()))
        );
        assert_eq!(
            f.requested(IP, &ask(100, file_id)).map(|r| r.1),
            Some(id.clone())
        );
        assert_eq!(f.requested(IP, &ask(101, file_id)), None, "another packet");
        assert_eq!(
            f.requested(IP, &ask(107, file_id + 1)),
            None,
            "another file"
        );
        assert_eq!(
            f.requested(Ipv4Addr::new(10, 0, 0, 2), &ask(107, file_id)),
            None
        );
        // iptux's reading: the packet number in hex, the file id in decimal.
        let iptux = FileRequest {
            packet_no: HexOrDecimal::parse("6b").unwrap(),
            file_id: HexOrDecimal::parse(&file_id.to_string()).unwrap(),
            offset: 0,
        };
        assert!(f.requested(IP, &iptux).is_some());
        assert_eq!(
            f.ours_in_packet(&"p".into(), 107),
            std::slice::from_ref(&id)
        );
        f.withdraw(&id);
        assert_eq!(f.requested(IP, &ask(107, file_id)), None, "withdrawn");
    }

    #[test]
    fn an_offer_to_us_keeps_its_id_and_the_tables_are_capped() {
        let mut f = Files::default();
        let from = SocketAddrV4::new(IP, 2425);
        let file = FileInfo::regular(10000, "报告.pdf", 300, 7);
        let a = f.offered(&"p".into(), from, 9, &file, false);
        assert_eq!(
            f.offered(&"p".into(), from, 9, &file, false),
            a,
            "heard again"
        );
        assert!(crate::protocol::beacon::valid_id(&a));
        assert_eq!(f.offer(&a).map(|o| o.size), Some(300));
        for i in 0..MAX_OFFERS as u32 {
            f.offered(&"p".into(), from, 100 + i, &file, false);
            f.offer_out(&format!("o{i}").into(), &"p".into(), IP);
        }
        assert!(f.offer(&a).is_none(), "the oldest made room");
        assert_eq!(f.offered.len(), MAX_OFFERS);
        assert_eq!(f.out.len(), MAX_OFFERS);
    }

    #[test]
    fn a_broken_pull_is_tried_again_three_times_then_waits() {
        let t = Instant::now();
        let mut f = Files::default();
        let from = SocketAddrV4::new(IP, 2425);
        let id = f.offered(
            &"p".into(),
            from,
            9,
            &FileInfo::regular(1, "a", 5, 0),
            false,
        );
        let waits: Vec<Option<Duration>> = (0..4).map(|_| f.refetch_later(&id, t)).collect();
        let s = Duration::from_secs;
        assert_eq!(waits, [Some(s(1)), Some(s(2)), Some(s(4)), None]);
        assert_eq!(f.next_wake(), None);
        f.refetch_reset(&id);
        assert_eq!(f.refetch_later(&id, t), Some(s(1)));
        assert!(f.refetch_due(t).is_empty());
        assert_eq!(f.refetch_due(t + s(1)), std::slice::from_ref(&id));
        assert!(f.refetch_due(t + s(2)).is_empty(), "once");
        assert_eq!(f.refetch_later(&"nothing".into(), t), None);
    }
}

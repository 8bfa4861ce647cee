//! The IPMsg peers we have heard, by address: who each is (its stable peer id, user,
//! host, nickname, group), how to write to it (its encoding, whether it reads UTF-8), the
//! packet numbers it sent lately (so a retransmission is shown once) and the number of
//! the last message we sent it (so a retry never falls below what it has seen).
//!
//! One peer per IPv4 address: two IPMsg clients cannot share port 2425 on one host. A
//! peer's id is derived from its user and host names, so it stays the same across
//! restarts and address changes (history finds it again); if another peer online at
//! another address has the same pair, the address is mixed in. The table is capped at
//! [`MAX_PEERS`]: the peer unheard longest among those offline makes room, and if all are
//! online a newcomer is refused. Pure: time is a parameter.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use xxhash_rust::xxh3::Xxh3;

use crate::node::presence::MAX_PEERS;
use crate::protocol::ipmsg::Charset;
use crate::protocol::{MsgId, PeerId};

/// Packet numbers remembered per peer to recognise retransmissions (IPMsg clients retry
/// within seconds, with the same number).
const RECENT_NUMBERS: usize = 64;

/// What every IPMsg peer id starts with: never a lanchat id (those have no `-`).
pub const ID_PREFIX: &str = "ipmsg-";

/// One IPMsg peer.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its stable peer id.
    pub id: PeerId,
    /// Where it speaks from (answers and messages go there).
    pub addr: SocketAddrV4,
    /// Its login name (from every packet's header).
    pub user: String,
    /// Its host name (likewise).
    pub host: String,
    /// Its nickname (from its entries; its user name until one arrives).
    pub nick: String,
    /// Its group (from its entries).
    pub group: String,
    /// `online` or `away`.
    pub status: &'static str,
    /// The encoding of the last packet of it that told one (non-ASCII text).
    pub charset: Option<Charset>,
    /// It said it reads UTF-8 (CAPUTF8OPT).
    pub cap_utf8: bool,
    /// It is online (no `BR_EXIT` since it was last heard, and it acknowledges).
    pub online: bool,
    /// The encoding our name last reached it in by unicast (`None`: only broadcasts,
    /// which are UTF-8).
    pub told: Option<Charset>,
    /// The number of the last message (`SENDMSG`) we sent it: iptux drops a message
    /// whose number is not above the last it had from us.
    pub last_sent: u32,
    heard: Instant,
    recent: VecDeque<Received>,
}

/// A message a peer sent us, as remembered for its retransmissions and our ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Its packet number.
    pub no: u32,
    /// The id it got in lanchat (a retransmission gets the same, so it is shown once).
    pub msg: MsgId,
    /// Whether it asked for an acknowledgement.
    pub ack: bool,
}

/// What meeting a peer at an address did to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Met {
    /// The peer we knew there.
    Known,
    /// A new peer (first heard, or the table had forgotten it).
    New,
    /// Another peer than the one we knew there (another user or host at the address):
    /// the old one is gone.
    Replaced(PeerId),
    /// The table is full of online peers: refused.
    Full,
}

/// Every IPMsg peer heard.
#[derive(Debug, Default)]
pub struct Peers {
    by_ip: HashMap<Ipv4Addr, Peer>,
    by_id: HashMap<PeerId, Ipv4Addr>,
}

impl Peers {
    /// The peer at `from` is `user` on `host`: finds it, or makes it (online, its nickname
    /// its user name for now). Its address follows `from`.
    pub fn meet(&mut self, from: SocketAddrV4, user: &str, host: &str, now: Instant) -> Met {
        let ip = *from.ip();
        let mut replaced = None;
        if let Some(p) = self.by_ip.get_mut(&ip) {
            if p.user == user && p.host == host {
                p.addr = from;
                p.heard = now;
                return Met::Known;
            }
            replaced = self.remove(ip).map(|p| p.id);
        }
        let id = self.id_for(user, host, ip);
        if let Some(old) = self.by_id.get(&id).copied() {
            // The same peer at a new address (DHCP): it moved.
            self.remove(old);
        }
        if self.by_ip.len() >= MAX_PEERS && !self.evict_offline() {
            return Met::Full;
        }
        self.by_id.insert(id.clone(), ip);
        self.by_ip.insert(
            ip,
            Peer {
                id,
                addr: from,
                user: user.to_owned(),
                host: host.to_owned(),
                nick: user.to_owned(),
                group: String::new(),
                status: "online",
                charset: None,
                cap_utf8: false,
                online: true,
                told: None,
                last_sent: 0,
                heard: now,
                recent: VecDeque::new(),
            },
        );
        match replaced {
            Some(old) => Met::Replaced(old),
            None => Met::New,
        }
    }

    /// The id for `user` on `host`: `ipmsg-` and 20 hex digits of their hash, or of
    /// their hash with `ip` when another online peer already has that id.
    fn id_for(&self, user: &str, host: &str, ip: Ipv4Addr) -> PeerId {
        let id = derive(&[user.as_bytes(), host.as_bytes()]);
        let taken = self
            .by_id
            .get(&*id)
            .and_then(|at| self.by_ip.get(at))
            .is_some_and(|p| p.online && *p.addr.ip() != ip);
        if taken {
            derive(&[user.as_bytes(), host.as_bytes(), &ip.octets()])
        } else {
            id
        }
    }

    fn remove(&mut self, ip: Ipv4Addr) -> Option<Peer> {
        let p = self.by_ip.remove(&ip)?;
        self.by_id.remove(&p.id);
        Some(p)
    }

    fn evict_offline(&mut self) -> bool {
        let oldest = self
            .by_ip
            .values()
            .filter(|p| !p.online)
            .min_by_key(|p| p.heard)
            .map(|p| *p.addr.ip());
        oldest.and_then(|ip| self.remove(ip)).is_some()
    }

    /// The peer at `ip`.
    pub fn at(&self, ip: Ipv4Addr) -> Option<&Peer> {
        self.by_ip.get(&ip)
    }

    /// The peer at `ip`, to change.
    pub fn at_mut(&mut self, ip: Ipv4Addr) -> Option<&mut Peer> {
        self.by_ip.get_mut(&ip)
    }

    /// The peer with this id.
    pub fn by_id(&self, id: &str) -> Option<&Peer> {
        self.by_id.get(id).and_then(|ip| self.by_ip.get(ip))
    }

    /// The peer with this id, to change.
    pub fn by_id_mut(&mut self, id: &str) -> Option<&mut Peer> {
        let ip = *self.by_id.get(id)?;
        self.by_ip.get_mut(&ip)
    }

    /// Peers online now.
    pub fn online(&self) -> impl Iterator<Item = &Peer> {
        self.by_ip.values().filter(|p| p.online)
    }

    /// Number of peers known.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_ip.len()
    }
}

impl Peer {
    /// The lanchat id of a message it sent with packet number `no`: the one given to a
    /// first transmission, for a retransmission (`true`: seen before); a new one else.
    pub fn received(&mut self, no: u32, ack: bool) -> (MsgId, bool) {
        if let Some(r) = self.recent.iter().find(|r| r.no == no) {
            return (r.msg.clone(), true);
        }
        if self.recent.len() >= RECENT_NUMBERS {
            self.recent.pop_front();
        }
        let msg = MsgId::random();
        self.recent.push_back(Received {
            no,
            msg: msg.clone(),
            ack,
        });
        (msg, false)
    }

    /// The message of ours with lanchat id `msg`, to acknowledge.
    pub fn to_ack(&self, msg: &str) -> Option<&Received> {
        self.recent.iter().find(|r| r.msg == msg)
    }

    /// It announced itself anew (a `BR_ENTRY`: it started, or its user refreshed): its
    /// packet numbers start again, so those remembered mean nothing now.
    pub fn restarted(&mut self) {
        self.recent.clear();
    }
}

/// `ipmsg-` and 20 hex digits (80 bits) of a hash over `parts`.
fn derive(parts: &[&[u8]]) -> PeerId {
    let mut h = Xxh3::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    PeerId::from(format!("{ID_PREFIX}{:020x}", h.digest128() >> 48))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(last: u8) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, last), 2425)
    }

    #[test]
    fn a_peer_keeps_its_id_across_addresses_and_meetings() {
        let t = Instant::now();
        let mut peers = Peers::default();
        assert_eq!(peers.meet(at(1), "root", "pc1", t), Met::New);
        let id = peers.at(*at(1).ip()).unwrap().id.clone();
        assert!(id.starts_with(ID_PREFIX) && id.len() == ID_PREFIX.len() + 20);
        assert!(crate::protocol::beacon::valid_id(&id));
        assert_eq!(peers.meet(at(1), "root", "pc1", t), Met::Known);
        peers.at_mut(*at(1).ip()).unwrap().online = false;
        assert_eq!(peers.meet(at(2), "root", "pc1", t), Met::New, "moved");
        assert_eq!(peers.by_id(&id).unwrap().addr, at(2));
        assert!(peers.at(*at(1).ip()).is_none());
        assert_eq!(peers.len(), 1);
    }

    #[test]
    fn another_program_at_an_address_replaces_the_peer_there() {
        let t = Instant::now();
        let mut peers = Peers::default();
        peers.meet(at(1), "root", "pc1", t);
        let old = peers.at(*at(1).ip()).unwrap().id.clone();
        assert_eq!(
            peers.meet(at(1), "li", "pc1", t),
            Met::Replaced(old.clone())
        );
        assert!(peers.by_id(&old).is_none());
        assert_eq!(peers.len(), 1);
    }

    #[test]
    fn two_online_peers_with_one_user_and_host_get_two_ids() {
        let t = Instant::now();
        let mut peers = Peers::default();
        peers.meet(at(1), "root", "clone", t);
        peers.meet(at(2), "root", "clone", t);
        let (a, b) = (
            peers.at(*at(1).ip()).unwrap().id.clone(),
            peers.at(*at(2).ip()).unwrap().id.clone(),
        );
        assert_ne!(a, b);
        assert_eq!(peers.len(), 2);
    }

    #[test]
    fn retransmissions_keep_their_id_and_a_restart_forgets_numbers() {
        let t = Instant::now();
        let mut peers = Peers::default();
        peers.meet(at(1), "u", "h", t);
        let p = peers.at_mut(*at(1).ip()).unwrap();
        let (first, seen) = p.received(8, true);
        assert!(!seen);
        assert_eq!(p.received(8, true), (first.clone(), true));
        assert_eq!(p.to_ack(&first).map(|r| r.no), Some(8));
        for n in 100..100 + RECENT_NUMBERS as u32 {
            p.received(n, false);
        }
        assert!(p.to_ack(&first).is_none(), "bounded");
        let (again, seen) = p.received(100 + RECENT_NUMBERS as u32 - 1, false);
        assert!(seen);
        p.restarted();
        assert_ne!(p.received(100 + RECENT_NUMBERS as u32 - 1, false).0, again);
    }

    #[test]
    fn the_table_is_capped_and_refuses_when_all_are_online() {
        let t = Instant::now();
        let mut peers = Peers::default();
        for i in 0..MAX_PEERS {
            let ip = Ipv4Addr::from(0x0a00_0000 + i as u32);
            assert_eq!(
                peers.meet(SocketAddrV4::new(ip, 1), "u", &i.to_string(), t),
                Met::New
            );
        }
        let extra = SocketAddrV4::new(Ipv4Addr::new(11, 0, 0, 1), 1);
        assert_eq!(peers.meet(extra, "u", "x", t), Met::Full);
        peers.at_mut(Ipv4Addr::from(0x0a00_0007)).unwrap().online = false;
        assert_eq!(peers.meet(extra, "u", "x", t), Met::New);
        assert!(peers.at(Ipv4Addr::from(0x0a00_0007)).is_none());
        assert_eq!(peers.len(), MAX_PEERS);
    }
}

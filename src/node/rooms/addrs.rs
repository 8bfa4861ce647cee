//! Where members are, as links show them: a member's entry in a room brought up to date
//! from an authenticated link of its own (filled in where it has no usable address, the
//! port renewed after a restart), and which addresses are worth keeping at all.
//!
//! Pure: the core says where a link came from; it must not touch a socket or the store.

use std::net::Ipv4Addr;

use crate::protocol::room::Member;
use crate::store::StoredRoom;

/// `peer`'s entry in `room` brought up to date with where a link showed it (see
/// [`renewed`]). Returns whether the entry changed.
pub fn seen_at(room: &mut StoredRoom, peer: &str, addr: Ipv4Addr, port: u16) -> bool {
    let Some(m) = room.members.iter_mut().find(|m| m.id == peer) else {
        return false;
    };
    match renewed(m, addr, port) {
        Some(new) => {
            *m = new;
            true
        }
        None => false,
    }
}

/// Member `m` as a link shows it now: `addr` (the link's remote address) and `port` (the
/// link port it said; 0: unknown), or `None` when its entry stays as it is. An entry
/// with no usable address (empty, unspecified: a member bound to 0.0.0.0 cannot say
/// which of its addresses others know it by) takes both; an entry at the same address
/// takes the new port (the member restarted). Another usable address is left alone: it
/// is how whoever wrote it reaches the member.
pub fn renewed(m: &Member, addr: Ipv4Addr, port: u16) -> Option<Member> {
    let known = m
        .addr
        .parse::<Ipv4Addr>()
        .ok()
        .filter(|a| !a.is_unspecified());
    let port = if port == 0 { m.port } else { port };
    let fresh = |addr: Ipv4Addr, port| Member {
        addr: addr.to_string(),
        port,
        ..m.clone()
    };
    match known {
        None => Some(fresh(addr, port)),
        Some(a) if a == addr && m.port != port => Some(fresh(a, port)),
        Some(_) => None,
    }
}

/// Whether `addr`, where a member's link came from, is worth keeping in its entry (and
/// passing on in our changes): not unspecified, broadcast or multicast, and loopback
/// ("this host") only when we live on loopback ourselves (`on_loopback`).
pub fn worth_keeping(addr: Ipv4Addr, on_loopback: bool) -> bool {
    !(addr.is_unspecified()
        || addr.is_broadcast()
        || addr.is_multicast()
        || (addr.is_loopback() && !on_loopback))
}

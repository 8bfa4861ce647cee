//! The start of a link in the core: routing an accepted connection by its first frame,
//! and the `hello` exchange: who is on the other end, met through a link before any
//! beacon, and one link per pair of peers (the tie-break when both dial).

use std::time::Instant;

use super::core::{Core, now_ms};
use super::event::Event;
use super::links::MAX_LINKS;
use super::peers::{Observed, Sighting};
use crate::net::{Conn, LinkId};
use crate::protocol::{LinkMsg, PROTOCOL_VERSION, beacon::valid_id};

impl Core {
    pub(super) fn on_accepted(&mut self, conn: Conn, first: LinkMsg) {
        let peer = conn.remote();
        if self.links.len() >= MAX_LINKS {
            tracing::warn!("refusing connection from {peer}: {MAX_LINKS} links open");
            self.counters.links_dropped += 1;
            return;
        }
        if let LinkMsg::FileData {
            transfer_id,
            offset,
        } = first
        {
            return self.on_file_data(conn, (transfer_id, offset));
        }
        if !matches!(first, LinkMsg::Hello { .. }) {
            tracing::info!(
                "dropping connection from {peer}: first frame was {:?}, expected hello",
                first.kind()
            );
            self.counters.links_dropped += 1;
            return;
        }
        if let Some(id) = self.open_link(conn, None) {
            self.on_frame(id, 0, first);
        }
    }

    pub(super) fn on_hello(
        &mut self,
        id: LinkId,
        peer: String,
        name: &str,
        version: u32,
        instance: String,
        port: u16,
    ) {
        if version != PROTOCOL_VERSION {
            return self.close_link(id, &format!("protocol version {version} not supported"));
        }
        if !valid_id(&peer) {
            return self.close_link(id, "hello with an invalid peer id");
        }
        if peer == self.me.id {
            return self.close_link(id, "connected to ourselves");
        }
        let state = self.links.get_mut(&id).expect("checked by caller");
        state.peer = Some(peer.clone());
        state.instance = instance;
        let outbound = state.dialed.is_some();
        let remote = state.link.remote();
        if let Some(dialed) = state.dialed.clone()
            && dialed != peer
        {
            // Someone else answers at that address now (a restart took the port).
            tracing::info!(%dialed, %peer, %remote, "dialed one peer, reached another");
            self.dial_failed(&dialed);
        }
        if self.peers.get(&peer).is_none_or(|p| !p.online) {
            // Met through a link before any beacon (lost datagram, other subnet).
            let std::net::IpAddr::V4(addr) = remote.ip() else {
                return self.close_link(id, "IPv6 peers are not supported");
            };
            let name = crate::protocol::beacon::clean_name(name);
            let now = Instant::now();
            let seen = Sighting {
                id: &peer,
                instance: "",
                name: &name,
                host: "",
                addr,
                port,
                status: "online",
                timeout: self.peer_timeout(0),
            };
            match self.peers.observe(&seen, now, now_ms()) {
                Observed::Refused => return self.close_link(id, "peer table full"),
                _ => {
                    let info = self.peers.get(&peer).cloned().expect("just observed");
                    self.save_peer(&peer);
                    self.emit(Event::PeerJoined { peer: info });
                }
            }
        }
        if let Some(&other) = self.active.get(&peer)
            && other != id
        {
            // Two links to one peer: keep the one dialed by the lower id, the same choice
            // on both ends. Two links dialed by the same side: the newer one wins (the
            // older is from before a restart or a network change).
            let other_outbound = self.links.get(&other).is_some_and(|l| l.dialed.is_some());
            let dialer = |outbound: bool| if outbound { &self.me.id } else { &peer };
            let keep_new = if outbound == other_outbound {
                true
            } else {
                dialer(outbound) < dialer(other_outbound)
            };
            if keep_new {
                self.close_link(other, "replaced by a newer link to the same peer");
            } else {
                return self.close_link(id, "the peer already has a link with us");
            }
        }
        tracing::info!(%peer, %remote, link = id, "link up");
        self.active.insert(peer.clone(), id);
        self.dials.remove(&peer);
        self.pump(&peer);
        self.pump_transfers(&peer);
    }
}

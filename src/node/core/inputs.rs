//! What the I/O threads hand the core, routed to the parts: signed lanchat datagrams
//! (checked by presence's guard, then turned into sightings for presence, shouts for
//! chat), accepted and dialed connections, each with the key its handshake proved (a
//! link to start, or a file's data connection), link frames (see `frames`), links that
//! went down, and what transfer streams report.

use std::net::{SocketAddr, SocketAddrV4};

use crossbeam_channel::Receiver;

use super::Core;
use crate::net::{DialError, LinkId, NetInput, Port, Via};
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::out::{Route, Routes};
use crate::node::presence::{Observed, UnicastHeard, from_beacon};
use crate::protocol::signed::{Envelope, SignedError, Unverified};
use crate::protocol::{BeaconKind, LinkMsg, PROTOCOL_VERSION, PeerId, TransferId};
use crate::store::Direction;
use crate::trust::PeerKey;

impl<P: Port> Core<P> {
    /// Handles one input; a link frame takes the frames already waiting in `more` with
    /// it (one burst, one store transaction).
    pub(in crate::node) fn handle_input(
        &mut self,
        input: NetInput<P::Conn>,
        more: &Receiver<NetInput<P::Conn>>,
        now: Now,
    ) {
        let mut next = Some(input);
        while let Some(input) = next.take() {
            match input {
                NetInput::Datagram {
                    via,
                    from,
                    len,
                    beacon,
                } => self.on_datagram(via, from, len, beacon, now),
                NetInput::Accepted {
                    conn,
                    remote,
                    key,
                    first,
                } => self.on_accepted(*conn, (remote, key), first, now),
                NetInput::Dialed { peer, addr, result } => self.on_dialed(peer, addr, result, now),
                NetInput::Frame { link, len, msg } => {
                    // The input that ended the burst (not a frame) comes next.
                    next = self.on_frames((link, len, msg), || more.try_recv().ok(), now);
                }
                NetInput::LinkDown { link, reason } => self.drop_link(link, &reason, false, now),
                NetInput::Probed {
                    peer,
                    addr,
                    refused,
                } => self.on_probed(&peer, addr, refused, now),
                NetInput::Transfer(report) => {
                    self.transfers
                        .on_report(report, ctx!(self, now), &mut self.out);
                }
                NetInput::Ipmsg(input) => self.on_ipmsg(*input, now),
                NetInput::Web(news) => self.on_web(*news, now),
                NetInput::Resolved { key, result } => self.on_resolved(&key, result, now),
            }
            self.carry_out(now);
        }
    }

    /// A datagram from a discovery socket, parsed or refused by its reader thread: ours
    /// are counted and ignored; others are believed only once presence's guard found
    /// them fresh, within budget and signed by their key. Every drop is counted by its
    /// reason.
    fn on_datagram(
        &mut self,
        via: Via,
        from: SocketAddrV4,
        len: usize,
        datagram: Result<Box<Unverified>, SignedError>,
        now: Now,
    ) {
        let datagram = match datagram {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!("dropped datagram from {from}: {e}");
                return self.traffic.dropped(now.wall, from, len, e.label());
            }
        };
        if datagram.claims().beacon.id == *self.presence.me().id {
            self.traffic.counters.own_beacons += 1;
            return;
        }
        if self.presence.loopback_only() && !from.ip().is_loopback() {
            return self.traffic.dropped(now.wall, from, len, "off_loopback");
        }
        let Envelope { key, beacon, .. } = match self.presence.admit(*datagram, *from.ip(), now) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::debug!("dropped datagram from {from}: {e}");
                return self.traffic.dropped(now.wall, from, len, e.label());
            }
        };
        if crate::node::web::is_visitor(&beacon.id) {
            // Visitors' ids are ours to give: a beacon claiming one is lying.
            return self.traffic.dropped(now.wall, from, len, "visitor_id");
        }
        match self
            .presence
            .on_unicast(&beacon, from, len, via.listening(), now, &mut self.out)
        {
            UnicastHeard::Go => {}
            UnicastHeard::Drop(reason) => return self.traffic.dropped(now.wall, from, len, reason),
            UnicastHeard::Unanswered(reason) => self.traffic.counters.drop_datagram(reason),
        }
        self.traffic.counters.beacons_received += 1;
        let mut summary = crate::node::presence::describe(&beacon);
        if beacon.unicast.is_some() {
            summary.push_str(" (unicast)");
        }
        self.traffic.log(now.wall, "in", "udp", from, len, summary);
        if let BeaconKind::Bye = beacon.kind {
            if self.presence.on_bye(&beacon.id, &mut self.out) {
                self.links
                    .close_peer(&beacon.id, "peer said bye", &mut self.out);
            }
            return;
        }
        let timeout = self.presence.peer_timeout(beacon.interval_ms);
        let sighting = from_beacon(&beacon, key, *from.ip(), timeout);
        match self.presence.on_sighting(&sighting, now, &mut self.out) {
            Observed::Refused => return self.traffic.dropped(now.wall, from, len, "table_full"),
            Observed::Same => {}
            observed => {
                if observed == (Observed::Changed { restarted: true }) {
                    self.links
                        .peer_restarted(&beacon.id, &beacon.instance, &mut self.out);
                    self.carry_out(now); // its stale links are gone before anything goes out
                }
                self.peer_reachable(&PeerId::from(beacon.id.as_str()), now);
            }
        }
        match beacon.kind {
            BeaconKind::Hello if via == Via::Listener => self.answer_hello(from, now),
            BeaconKind::Shout {
                msg_id,
                text,
                sent_at,
                ..
            } => {
                let from = PeerId::from(beacon.id.as_str());
                self.on_shout(&from, &beacon.name, msg_id.into(), text, sent_at);
            }
            _ => {}
        }
    }

    /// Answers a newcomer's `hello` at once, within the answer budget.
    fn answer_hello(&mut self, to: SocketAddrV4, now: Now) {
        if !self.presence.answer_hello(to, now, &mut self.out) {
            self.traffic.counters.drop_datagram("answer_rate");
        }
    }

    /// A peer was just heard from: anything waiting for it may go now (a dial at once;
    /// an IPMsg peer's route is up as soon as it is heard).
    pub(super) fn peer_reachable(&mut self, peer: &PeerId, now: Now) {
        self.links.reachable(peer, now.at);
        let route = routes!(self).route(peer);
        if let Some(route @ Route::Ipmsg(_)) = route {
            return self.route_up(peer, route, now);
        }
        let waits = self.chat.pump(peer, route, now.at, &mut self.out);
        if route.is_none() && (waits || self.transfers.wants_route(peer)) {
            self.dial(peer, now);
        }
    }

    /// An Everyone message arrived: shown once, even if heard on several interfaces or
    /// (stored) in an earlier run.
    fn on_shout(
        &mut self,
        from: &PeerId,
        from_name: &str,
        msg_id: crate::protocol::MsgId,
        text: String,
        sent_at: u64,
    ) {
        if !self.chat.first_shout(from, &msg_id) {
            return;
        }
        if self.store_shout(Direction::In, from, from_name, &msg_id, &text, sent_at) {
            self.out.emit(Event::Shout {
                from: from.clone(),
                from_name: from_name.to_owned(),
                msg_id,
                text,
                sent_at,
            });
        }
    }

    /// A connection to our link port proved `key` in its handshake and said its first
    /// frame: a link's `hello`, or a file's `file_data`.
    fn on_accepted(
        &mut self,
        conn: P::Conn,
        (remote, key): (SocketAddr, PeerKey),
        first: LinkMsg,
        now: Now,
    ) {
        if self.links.is_full() {
            tracing::warn!("refusing connection from {remote}: too many links open");
            self.traffic.counters.links_dropped += 1;
            return;
        }
        match first {
            LinkMsg::FileData {
                transfer_id,
                offset,
            } => {
                let id = TransferId::from(transfer_id);
                let from = key.peer_id();
                let Some((stream, job)) =
                    self.transfers
                        .on_file_data((remote.ip(), &from), &id, offset)
                else {
                    return; // the connection is closed as it is dropped
                };
                if let Err(e) = self.port.start_recv(stream, job, conn) {
                    tracing::warn!("cannot start receiving {id}: {e}");
                    let reason = e.to_string();
                    self.transfers
                        .stream_failed(stream, &reason, ctx!(self, now), &mut self.out);
                }
            }
            hello @ LinkMsg::Hello { .. } => {
                if let Some(id) = self.open_link(conn, None, key, now) {
                    self.on_frames((id, 0, hello), || None, now);
                }
            }
            other => {
                tracing::info!(
                    "dropping connection from {remote}: first frame was {:?}, expected hello",
                    other.kind()
                );
                self.traffic.counters.links_dropped += 1;
            }
        }
    }

    /// A dial finished: a secure connection to the peer it was for, or why not (the
    /// address is then the last tried, so the next dial tries the peer's other one).
    fn on_dialed(
        &mut self,
        peer: PeerId,
        addr: SocketAddr,
        result: Result<(Box<P::Conn>, PeerKey), DialError>,
        now: Now,
    ) {
        if let Err(e) = &result {
            if e.is_handshake() {
                tracing::info!(%peer, "{e}");
            } else {
                tracing::debug!(%peer, "{e}");
            }
            self.presence.dial_failed(&peer, addr);
        }
        if !self.links.dialed(&peer, result.is_ok(), now.at) {
            return; // failed, or a link came up meanwhile (the peer dialed us)
        }
        if let Ok((conn, key)) = result {
            tracing::debug!(%peer, %addr, "dialed");
            self.open_link(*conn, Some(peer), key, now);
        }
    }

    /// Starts a link on `conn`, whose handshake proved `key` (`dialed`: the peer we
    /// dialed), and sends our `hello`.
    fn open_link(
        &mut self,
        conn: P::Conn,
        dialed: Option<PeerId>,
        key: PeerKey,
        now: Now,
    ) -> Option<LinkId> {
        let id = self.links.next_id();
        match self.port.open_link(id, conn) {
            Ok(ends) => {
                let me = self.presence.me();
                let hello = LinkMsg::Hello {
                    id: me.id.to_string(),
                    name: me.name.clone(),
                    version: PROTOCOL_VERSION,
                    instance: me.instance.clone(),
                    port: me.port,
                };
                self.links
                    .opened(id, (ends, key), dialed, hello, now.at, &mut self.out);
                Some(id)
            }
            Err(e) => {
                tracing::warn!("cannot start link: {e}");
                if let Some(peer) = dialed {
                    self.links.open_failed(&peer, now.at);
                }
                None
            }
        }
    }

    /// A route to `peer` came up: what waits for it goes.
    pub(super) fn route_up(&mut self, peer: &PeerId, route: Route, now: Now) {
        self.chat.pump(peer, Some(route), now.at, &mut self.out);
        self.transfers.pump(peer, Some(route), &mut self.out);
    }
}

//! Carrying out what the parts asked for, in the order they asked: events to the
//! subscribers, messages on routes (a link's to the port, an IPMsg peer's to the IPMsg
//! part), closing links, dials, datagrams, streams, and store records. Closing a link is
//! where every part hears that a route is gone.

use std::net::{SocketAddr, SocketAddrV4};

use super::Core;
use crate::net::link::QueueError;
use crate::net::{LinkId, Port};
use crate::node::clock::Now;
use crate::node::out::{Action, Record, Route, Routes};
use crate::node::transfers::partial;
use crate::protocol::{LinkMsg, PeerId};
use crate::store::TransferState;

impl<P: Port> Core<P> {
    /// Carries out every pending action, and those they lead to.
    pub(super) fn carry_out(&mut self, now: Now) {
        while let Some(action) = self.out.pop() {
            match action {
                Action::Emit(event) => self.fanout.emit(event),
                Action::Reply { to, event } => self.fanout.reply(to, event),
                Action::Send { route, msg } => self.send(route, msg, now),
                Action::Close { link, reason } => self.drop_link(link, &reason, true, now),
                Action::Dial { peer, addr } => self.port.dial(peer, addr),
                Action::Broadcast { bytes, summary } => {
                    self.broadcast(&bytes, &summary, now);
                }
                Action::Datagram { to, bytes, summary } => {
                    self.datagram(to, &bytes, &summary, now);
                }
                Action::IpmsgDatagram { to, bytes, summary } => {
                    self.ipmsg_datagram(to, &bytes, summary, now);
                }
                Action::StartSend { stream, job } => {
                    if let Err(e) = self.port.start_send(stream, job) {
                        tracing::warn!("cannot start sending: {e}");
                        let reason = e.to_string();
                        self.transfers.stream_failed(
                            stream,
                            &reason,
                            ctx!(self, now),
                            &mut self.out,
                        );
                    }
                }
                Action::StopStream(stream) => self.port.stop_stream(stream),
                Action::DiscardPartial(id) => partial::discard(&self.config.data_dir, &id),
                Action::Record(r) => self.record(r, now),
                Action::Web(call) => self.web_call(call),
            }
        }
    }

    /// Writes a message on a link now. A link whose writer is a whole queue behind (the
    /// peer is not reading) is dropped.
    fn send(&mut self, route: Route, msg: LinkMsg, now: Now) {
        let id = match route {
            Route::Link(id) => id,
            Route::Ipmsg(to) => return self.send_ipmsg(to, msg, now),
            Route::Web(session) => return self.web.send(session, msg, &mut self.out),
        };
        match self.port.write(id, &msg) {
            Ok(len) => {
                self.links.sent(id, now.at);
                self.traffic.counters.frames_sent += 1;
                let remote = Addr(self.links.remote(id));
                self.traffic
                    .log(now.wall, "out", "tcp", remote, len, msg.kind().to_owned());
            }
            Err(QueueError::Stalled) => {
                self.drop_link(id, "peer is not reading (writer queue full)", true, now);
            }
            Err(QueueError::Closed) => {}
        }
    }

    /// Closes a link (we decided: a violation, a stall, a tie-break) or forgets one that
    /// went down (`by_us` false): the port joins its threads, and what went out on it
    /// goes again on the next route.
    pub(super) fn drop_link(&mut self, id: LinkId, reason: &str, by_us: bool, now: Now) {
        let Some(gone) = self.links.forget(id, reason, by_us, now.at) else {
            return;
        };
        self.port.close_link(id);
        if gone.by_us {
            self.traffic.counters.links_dropped += 1;
        }
        self.chat.route_down(Route::Link(id));
        self.transfers.route_down(Route::Link(id));
        if !gone.by_us
            && let Some(peer) = gone.peer
        {
            self.probe_if_silent(peer);
        }
    }

    /// The peer closed its link (or it broke) with no `bye`: a crash looks like this, and
    /// so does a link that only broke. If no other link to it is up, ask its link port
    /// whether anything still listens there ([`Core::on_probed`] reads the answer):
    /// a refusal is a strong sign it is gone, far sooner than three silent intervals.
    fn probe_if_silent(&mut self, peer: PeerId) {
        if self.links.route(&peer).is_some() {
            return;
        }
        if let Some(addr) = self.presence.dial_addr(&peer) {
            self.port.probe(peer, addr);
        }
    }

    /// What a probe found: a refused connection at the address the peer is still
    /// reached at, with no link up since, makes it a suspect: unless it is heard from
    /// within `GONE_GRACE` (its `bye` racing its closed port), the next housekeeping
    /// takes it offline (`peer_left`, `gone`; [`Core::gone_suspects`]). Anything else (it
    /// answered, it timed out, it came back meanwhile) changes nothing: a broken link
    /// alone is no reason to call a peer gone.
    pub(super) fn on_probed(&mut self, peer: &PeerId, addr: SocketAddr, refused: bool, now: Now) {
        if !refused
            || self.links.route(peer).is_some()
            || self.presence.dial_addr(peer) != Some(addr)
        {
            return;
        }
        tracing::info!(%peer, %addr, "its link closed and its port refuses: gone unless heard");
        self.presence.suspect_gone(peer, now.at);
    }

    /// Housekeeping: suspects whose grace passed with no word and no new link are gone.
    pub(super) fn gone_suspects(&mut self, now: Now) {
        for peer in self.presence.due_suspects(now.at) {
            if self.links.route(&peer).is_none() {
                self.presence.went_offline(
                    &peer,
                    crate::node::event::LeftReason::Gone,
                    &mut self.out,
                );
            }
        }
    }

    /// Sends a datagram to every broadcast target; returns how many sends succeeded.
    pub(super) fn broadcast(&mut self, bytes: &[u8], summary: &str, now: Now) -> usize {
        let targets = self.presence.targets().1.to_vec();
        targets
            .into_iter()
            .filter(|&t| self.datagram(t, bytes, summary, now))
            .count()
    }

    fn datagram(&mut self, to: SocketAddrV4, bytes: &[u8], summary: &str, now: Now) -> bool {
        match self.port.send_datagram(to, bytes) {
            Ok(()) => {
                self.traffic.counters.beacons_sent += 1;
                self.traffic
                    .log(now.wall, "out", "udp", to, bytes.len(), summary.to_owned());
                true
            }
            Err(e) => {
                tracing::warn!("cannot send {summary} to {to}: {e}");
                self.presence.unicast_send_failed(to, &e);
                false
            }
        }
    }

    /// Writes a record to the store; a failure is logged and the node goes on.
    fn record(&mut self, r: Record, now: Now) {
        let (at, store, me) = (now.wall, &mut self.store, &self.presence.me().id);
        let result = match &r {
            Record::Peer(p) => store.save_peer(p),
            Record::MarkSent { peer, msgs } => store.mark_sent(peer, me, msgs),
            Record::Delivered(acked) => store.mark_delivered_all(me, acked),
            Record::Failed {
                peer,
                msg_id,
                reason,
            } => store.mark_failed(peer, me, msg_id, reason).map(drop),
            Record::NewTransfer(t) => store.save_transfer(t),
            Record::TransferState(id, state) => {
                store.set_transfer_state(id, *state, None, at).map(drop)
            }
            Record::TransferStarted(id, offset) => store
                .set_transfer_state(id, TransferState::Active, None, at)
                .and_then(|_| store.transfer_progress(id, *offset, at))
                .map(drop),
            Record::TransferPath(id, path) => store.set_transfer_path(id, path, at).map(drop),
            Record::Trust(t) => store.trust_key(t),
            Record::Untrust(key) => store.untrust_key(key),
            Record::Reach { addr, origin } => store.save_reach(addr, origin, at),
            Record::Unreach(addr) => store.forget_reach(addr),
        };
        if let Err(e) = result {
            // Only the shown state lags: messages stay unacknowledged and stored,
            // transfers go on.
            tracing::warn!("history: cannot record {r:?}: {e}");
        }
    }
}

/// A link's remote address for the traffic list, or `?` once the link is gone.
pub(super) struct Addr(pub(super) Option<std::net::SocketAddr>);

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(a) => a.fmt(f),
            None => f.write_str("?"),
        }
    }
}

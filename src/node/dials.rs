//! Dialing peers in the core: a link is opened lazily, when something waits for a peer
//! that is online, one dial at a time per peer, with a back-off after failures.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::core::Core;
use super::links::MAX_LINKS;
use crate::net::{Conn, link};

/// Longest wait between two dial attempts to a reachable peer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Dial bookkeeping per peer.
#[derive(Debug)]
pub(super) struct DialState {
    /// A dial, or the handshake of the link it made, is under way.
    in_progress: bool,
    pub(super) next_try: Instant,
    pub(super) backoff: Duration,
}

impl Default for DialState {
    fn default() -> Self {
        DialState {
            in_progress: false,
            next_try: Instant::now(),
            backoff: Duration::from_millis(250),
        }
    }
}

impl Core {
    pub(super) fn on_dialed(
        &mut self,
        peer: crate::protocol::PeerId,
        addr: SocketAddr,
        result: Result<Conn, String>,
    ) {
        let peer = peer.into_string();
        match result {
            Ok(conn) if !self.active.contains_key(&peer) => {
                tracing::debug!(%peer, %addr, "dialed");
                if self.open_link(conn, Some(peer.clone())).is_none() {
                    self.dial_failed(&peer);
                }
            }
            Ok(_) => {
                // A link came up meanwhile (the peer dialed us); keep that one.
                self.dials.remove(&peer);
            }
            Err(e) => {
                tracing::debug!(%peer, "{e}");
                self.dial_failed(&peer);
            }
        }
    }

    /// A dial, or the handshake on the link it made, failed: try again after a back-off.
    pub(super) fn dial_failed(&mut self, peer: &str) {
        let state = self.dials.entry(peer.to_owned()).or_default();
        state.in_progress = false;
        state.next_try = Instant::now() + state.backoff;
        state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
    }

    /// A peer was just heard from: anything waiting for it may go now.
    pub(super) fn peer_reachable(&mut self, peer: &str) {
        if let Some(d) = self.dials.get_mut(peer) {
            d.next_try = Instant::now();
            d.backoff = DialState::default().backoff;
        }
        self.pump(peer);
    }

    /// Dials `peer` if something waits for it, it is online, and no dial is under way.
    pub(super) fn maybe_dial(&mut self, peer: &str) {
        let waiting = self.outbox.has_pending(peer) || self.transfers.wants_link(peer);
        if self.active.contains_key(peer) || !waiting {
            return;
        }
        let Some(info) = self.peers.get(peer) else {
            return;
        };
        if !info.online || info.port == 0 || self.links.len() >= MAX_LINKS {
            return;
        }
        let addr = SocketAddr::from((info.addr, info.port));
        let state = self.dials.entry(peer.to_owned()).or_default();
        if state.in_progress || Instant::now() < state.next_try {
            return;
        }
        match link::dial(peer.into(), addr, self.input_tx.clone()) {
            Ok(t) => {
                state.in_progress = true;
                self.dial_threads.push(t);
            }
            Err(e) => tracing::warn!("cannot start dialing {addr}: {e}"),
        }
    }

    pub(super) fn retry_dials(&mut self, _now: Instant) {
        let waiting: Vec<String> = self
            .outbox
            .peers()
            .filter(|p| !self.active.contains_key(*p))
            .cloned()
            .chain(self.transfers.waiting_peers())
            .collect();
        for peer in waiting {
            self.maybe_dial(&peer);
        }
    }
}

//! TCP link lifecycle in the core: accepting and dialing, the hello handshake, one link
//! per pair of peers (tie-break when both dial), closing, and retrying with back-off.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::core::{Core, HELLO_TIMEOUT, now_ms};
use super::event::Event;
use super::peers::{Observed, Sighting};
use super::status::{LinkInfo, WireRecord};
use crate::net::LinkId;
use crate::net::link::{self, Link, QueueError};
use crate::protocol::{FrameDecoder, LinkMsg, PROTOCOL_VERSION, beacon::valid_id};

/// Most links open at once (handshaking or established).
pub(super) const MAX_LINKS: usize = 1024;

/// Longest wait between two dial attempts to a reachable peer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One open connection, as the core sees it.
pub(super) struct LinkState {
    link: Link,
    /// The peer, once its hello arrived.
    pub(super) peer: Option<String>,
    /// The peer's instance, from its hello.
    instance: String,
    /// The peer we dialed (outbound links only): its dial stays "in progress" until the
    /// hello arrives, so no second dial starts meanwhile.
    dialed: Option<String>,
    opened: Instant,
}

impl LinkState {
    pub(super) fn info(&self, id: LinkId, active: bool) -> LinkInfo {
        #[cfg(unix)]
        let fd = i64::from(self.link.fd());
        #[cfg(not(unix))]
        let fd = -1;
        LinkInfo {
            link: id,
            peer: self.peer.clone(),
            local: self.link.local.to_string(),
            remote: self.link.remote.to_string(),
            fd,
            outbound: self.dialed.is_some(),
            active,
        }
    }
}

/// Dial bookkeeping per peer.
#[derive(Debug)]
pub(super) struct DialState {
    /// A dial, or the handshake of the link it made, is under way.
    in_progress: bool,
    next_try: Instant,
    backoff: Duration,
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
    pub(super) fn on_accepted(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        first: LinkMsg,
        decoder: FrameDecoder,
    ) {
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
            return self.on_file_data(stream, peer, (transfer_id, offset), decoder);
        }
        if !matches!(first, LinkMsg::Hello { .. }) {
            tracing::info!(
                "dropping connection from {peer}: first frame was {:?}, expected hello",
                first.kind()
            );
            self.counters.links_dropped += 1;
            return;
        }
        if let Some(id) = self.open_link(stream, decoder, None) {
            self.on_frame(id, 0, first);
        }
    }

    pub(super) fn on_dialed(
        &mut self,
        peer: String,
        addr: SocketAddr,
        result: Result<TcpStream, String>,
    ) {
        match result {
            Ok(stream) if !self.active.contains_key(&peer) => {
                tracing::debug!(%peer, %addr, "dialed");
                if self
                    .open_link(stream, FrameDecoder::new(), Some(peer.clone()))
                    .is_none()
                {
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
    fn dial_failed(&mut self, peer: &str) {
        let state = self.dials.entry(peer.to_owned()).or_default();
        state.in_progress = false;
        state.next_try = Instant::now() + state.backoff;
        state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
    }

    /// Starts a link's threads and sends our hello; returns its id. `dialed` names the
    /// peer for a link we dialed.
    fn open_link(
        &mut self,
        stream: TcpStream,
        decoder: FrameDecoder,
        dialed: Option<String>,
    ) -> Option<LinkId> {
        let id = self.next_link;
        self.next_link += 1;
        let link = match Link::spawn(id, stream, decoder, self.input_tx.clone()) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cannot start link: {e}");
                return None;
            }
        };
        let hello = LinkMsg::Hello {
            id: self.me.id.clone(),
            name: self.me.name.clone(),
            version: PROTOCOL_VERSION,
            instance: self.instance.clone(),
            port: self.link_addr.port(),
        };
        self.links.insert(
            id,
            LinkState {
                link,
                peer: None,
                instance: String::new(),
                dialed,
                opened: Instant::now(),
            },
        );
        self.send_on(id, &hello);
        Some(id)
    }

    /// Queues a message on a link; a stalled link is dropped. Returns whether it was queued.
    pub(super) fn send_on(&mut self, id: LinkId, msg: &LinkMsg) -> bool {
        let Some(state) = self.links.get(&id) else {
            return false;
        };
        let frame = match msg.to_frame() {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("cannot frame {}: {e}", msg.kind());
                return false;
            }
        };
        let len = frame.len();
        let remote = state.link.remote;
        match state.link.send_frame(frame) {
            Ok(()) => {
                self.counters.frames_sent += 1;
                self.recent.push(WireRecord {
                    at: now_ms(),
                    dir: "out",
                    proto: "tcp",
                    peer: remote.to_string(),
                    len,
                    summary: msg.kind().to_owned(),
                });
                true
            }
            Err(QueueError::Stalled) => {
                self.close_link(id, "peer is not reading (writer queue full)");
                false
            }
            Err(QueueError::Closed) => false,
        }
    }

    pub(super) fn on_frame(&mut self, id: LinkId, len: usize, msg: LinkMsg) {
        let Some(state) = self.links.get(&id) else {
            return; // already closed; late frames are ignored
        };
        self.counters.frames_received += 1;
        self.recent.push(WireRecord {
            at: now_ms(),
            dir: "in",
            proto: "tcp",
            peer: state.link.remote.to_string(),
            len,
            summary: msg.kind().to_owned(),
        });
        let Some(peer) = state.peer.clone() else {
            match msg {
                LinkMsg::Hello {
                    id: peer,
                    name,
                    version,
                    instance,
                    port,
                } => self.on_hello(id, peer, &name, version, instance, port),
                other => self.close_link(
                    id,
                    &format!("first frame was {:?}, expected hello", other.kind()),
                ),
            }
            return;
        };
        match msg {
            LinkMsg::Chat {
                msg_id,
                sent_at,
                text,
            } => self.on_chat(id, &peer, msg_id, sent_at, text),
            LinkMsg::Ack { msg_id } => self.on_ack(&peer, &msg_id),
            LinkMsg::Hello { .. } => tracing::debug!(%peer, "repeated hello ignored"),
            LinkMsg::Unknown => tracing::debug!(%peer, "unknown message type ignored"),
            file => self.on_file_msg(id, &peer, file),
        }
    }

    fn on_hello(
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
        let remote = state.link.remote;
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

    pub(super) fn on_link_down(&mut self, id: LinkId, reason: &str) {
        if self.links.contains_key(&id) {
            self.forget_link(id, reason, false);
        }
    }

    /// Closes a link we decided to drop (a protocol violation, a stall, a tie-break).
    pub(super) fn close_link(&mut self, id: LinkId, reason: &str) {
        self.forget_link(id, reason, true);
    }

    fn forget_link(&mut self, id: LinkId, reason: &str, by_us: bool) {
        let Some(state) = self.links.remove(&id) else {
            return;
        };
        let who = state.peer.as_deref().unwrap_or("(no hello yet)");
        if by_us {
            self.counters.links_dropped += 1;
            tracing::info!(peer = %who, remote = %state.link.remote, link = id, "closing link: {reason}");
        } else {
            tracing::info!(peer = %who, remote = %state.link.remote, link = id, "link down: {reason}");
        }
        if let Some(peer) = &state.peer
            && self.active.get(peer) == Some(&id)
        {
            self.active.remove(peer);
            let dial = self.dials.entry(peer.clone()).or_default();
            dial.next_try = Instant::now() + dial.backoff;
        }
        if let (None, Some(dialed)) = (&state.peer, &state.dialed) {
            self.dial_failed(dialed); // it never said hello
        }
        self.outbox.link_down(id);
        self.transfers_link_down(id);
        drop(state); // joins the link's threads
    }

    /// Closes every link to `peer`.
    pub(super) fn close_peer_links(&mut self, peer: &str, reason: &str) {
        let ids: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.peer.as_deref() == Some(peer))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.close_link(id, reason);
        }
    }

    /// A peer restarted: links to its previous instance are stale.
    pub(super) fn peer_restarted(&mut self, peer: &str, instance: &str) {
        let stale: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.peer.as_deref() == Some(peer) && l.instance != instance)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.close_link(id, "peer restarted");
        }
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
        match link::dial(peer.to_owned(), addr, self.input_tx.clone()) {
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

    pub(super) fn drop_silent_links(&mut self, now: Instant) {
        let silent: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.peer.is_none() && now.duration_since(l.opened) >= HELLO_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        for id in silent {
            self.close_link(id, "no hello within 10 s");
        }
    }
}

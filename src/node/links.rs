//! TCP links in the core: starting one, writing to it, frames arriving (which also
//! keep the peer online), keepalives on idle links, and closing. The handshake and the
//! tie-break are in `handshake`, dialing in `dials`.

use std::time::Instant;

use super::chat::InChat;
use super::core::{Core, HELLO_TIMEOUT, now_ms};
use super::event::Event;
use super::status::{LinkInfo, WireRecord};
use crate::net::link::{Link, QueueError};
use crate::net::{Conn, LinkId};
use crate::protocol::{LinkMsg, PROTOCOL_VERSION};

/// Most links open at once (handshaking or established).
pub(super) const MAX_LINKS: usize = 1024;

/// Where a frame arrived.
pub(super) enum Arrived {
    /// On a link already closed: ignored.
    Gone,
    /// On a link whose peer has not said hello yet.
    Greeting,
    /// On an established link, from this peer.
    Established(String),
}

/// One open connection, as the core sees it.
pub(super) struct LinkState {
    pub(super) link: Link,
    /// The peer, once its hello arrived.
    pub(super) peer: Option<String>,
    /// The peer's instance, from its hello.
    pub(super) instance: String,
    /// The peer we dialed (outbound links only): its dial stays "in progress" until the
    /// hello arrives, so no second dial starts meanwhile.
    pub(super) dialed: Option<String>,
    opened: Instant,
    /// When we last wrote a frame to it: an idle link gets a keepalive.
    last_sent: Instant,
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
            local: self.link.local().to_string(),
            remote: self.link.remote().to_string(),
            fd,
            outbound: self.dialed.is_some(),
            active,
        }
    }
}

impl Core {
    /// Starts a link's threads and sends our hello; returns its id. `dialed` names the
    /// peer for a link we dialed.
    pub(super) fn open_link(&mut self, conn: Conn, dialed: Option<String>) -> Option<LinkId> {
        let id = self.next_link;
        self.next_link += 1;
        let link = match Link::spawn(id, conn, self.input_tx.clone()) {
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
                last_sent: Instant::now(),
            },
        );
        self.send_on(id, &hello);
        Some(id)
    }

    /// Queues a message on a link; a stalled link is dropped. Returns whether it was queued.
    pub(super) fn send_on(&mut self, id: LinkId, msg: &LinkMsg) -> bool {
        let Some(state) = self.links.get_mut(&id) else {
            return false;
        };
        state.last_sent = Instant::now();
        let remote = state.link.remote();
        match state.link.send(msg) {
            Ok(len) => {
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

    /// One frame from a link.
    pub(super) fn on_frame(&mut self, id: LinkId, len: usize, msg: LinkMsg) {
        match self.frame_arrived(id, len, &msg) {
            Arrived::Gone => {}
            Arrived::Greeting => self.on_frame_before_hello(id, msg),
            Arrived::Established(peer) => self.on_link_msg(id, &peer, msg),
        }
    }

    /// Counts a frame for the network panel and, on an established link, hears its peer
    /// (any frame says it is alive, beacons or not); says where it arrived.
    pub(super) fn frame_arrived(&mut self, id: LinkId, len: usize, msg: &LinkMsg) -> Arrived {
        let Some(state) = self.links.get(&id) else {
            return Arrived::Gone; // already closed; late frames are ignored
        };
        self.counters.frames_received += 1;
        self.recent.push(WireRecord {
            at: now_ms(),
            dir: "in",
            proto: "tcp",
            peer: state.link.remote().to_string(),
            len,
            summary: msg.kind().to_owned(),
        });
        let Some(peer) = state.peer.clone() else {
            return Arrived::Greeting;
        };
        let timeout = match msg {
            LinkMsg::Keepalive { interval_ms } => Some(self.peer_timeout(*interval_ms)),
            _ => None,
        };
        if self.peers.touch(&peer, Instant::now(), now_ms(), timeout) {
            self.peer_back_on_link(&peer);
        }
        Arrived::Established(peer)
    }

    /// A frame on a link whose peer has not said hello yet: it must be the hello.
    pub(super) fn on_frame_before_hello(&mut self, id: LinkId, msg: LinkMsg) {
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
    }

    /// A message on an established link (bursts of chats and acks go to `on_chats` and
    /// `on_acks` directly, from the loop).
    pub(super) fn on_link_msg(&mut self, id: LinkId, peer: &str, msg: LinkMsg) {
        match msg {
            LinkMsg::Chat {
                msg_id,
                sent_at,
                text,
            } => self.on_chats(vec![InChat {
                link: id,
                peer: peer.to_owned(),
                msg_id,
                sent_at,
                text,
            }]),
            LinkMsg::Ack { msg_id } => self.on_acks(vec![(peer.to_owned(), msg_id)]),
            LinkMsg::Keepalive { .. } => {}
            LinkMsg::Hello { .. } => tracing::debug!(%peer, "repeated hello ignored"),
            LinkMsg::Unknown => tracing::debug!(%peer, "unknown message type ignored"),
            file => self.on_file_msg(id, peer, file),
        }
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
            tracing::info!(peer = %who, remote = %state.link.remote(), link = id, "closing link: {reason}");
        } else {
            tracing::info!(peer = %who, remote = %state.link.remote(), link = id, "link down: {reason}");
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

    /// Writes a keepalive on every established link that carried nothing from us for one
    /// of our intervals, so a peer that knows us only through the link keeps us online.
    pub(super) fn send_keepalives(&mut self, now: Instant) {
        let idle: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| {
                l.peer.is_some() && now.duration_since(l.last_sent) >= self.config.interval
            })
            .map(|(id, _)| *id)
            .collect();
        let keepalive = LinkMsg::Keepalive {
            interval_ms: self.config.interval.as_millis() as u64,
        };
        for id in idle {
            self.send_on(id, &keepalive);
        }
    }

    /// A peer that had timed out is heard on its link again: it is back.
    fn peer_back_on_link(&mut self, peer: &str) {
        let Some(info) = self.peers.get(peer).cloned() else {
            return;
        };
        tracing::info!(%peer, "peer back (heard on its link)");
        self.save_peer(peer);
        self.emit(Event::PeerJoined { peer: info });
    }
}

//! Links, a part of the core: every TCP link by [`LinkId`], the one in use per peer (its
//! route), dials with back-off, the `hello` exchange and the tie-break, keepalives on
//! idle links, and the time-out of links that never say hello.
//!
//! It holds no socket: the port owns each link's connection and threads, by the same
//! id. Calls take the time and push actions (write a `hello` or a keepalive, dial, close
//! a link); a link that comes up or goes away is returned for the core to route to the
//! parts that send through it.
//!
//! - `handshake`: what a `hello` must be, and the tie-break.
//! - `dials`: one dial at a time per peer, with back-off.

mod dials;
mod handshake;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::out::{Action, Out, Route, Routes};
use super::status::LinkInfo;
use crate::net::{LinkEnds, LinkId};
use crate::protocol::{LinkMsg, PeerId};
use dials::Dials;

/// Most links open at once (handshaking or established).
pub const MAX_LINKS: usize = 1024;

/// A connection that has not said hello by then is dropped.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a frame arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrived {
    /// On a link already closed: ignored.
    Gone,
    /// On a link whose peer has not said hello yet.
    Greeting,
    /// On an established link, from this peer.
    From(PeerId),
}

/// What a `hello` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Greeted {
    /// Refused; the link is being closed.
    Refused,
    /// A valid peer said it: presence should know it before the link may come up.
    Met {
        /// Who.
        peer: PeerId,
        /// From where.
        remote: SocketAddr,
    },
}

/// What a `hello` says that the links part goes by.
#[derive(Debug, Clone, Copy)]
pub struct HelloFrom<'a> {
    /// Its protocol version.
    pub version: u32,
    /// The peer's id.
    pub peer: &'a str,
    /// The peer's instance (random per start).
    pub instance: &'a str,
}

/// A link that is no more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgot {
    /// Its peer, if it had said hello.
    pub peer: Option<PeerId>,
    /// Whether we closed it (a violation, a stall, a tie-break), not the peer.
    pub by_us: bool,
}

/// One open connection, as the core sees it.
#[derive(Debug)]
struct LinkState {
    ends: LinkEnds,
    /// The peer, once its hello arrived.
    peer: Option<PeerId>,
    /// The peer's instance, from its hello.
    instance: String,
    /// The peer we dialed (outbound links only): its dial stays "in progress" until the
    /// hello arrives, so no second dial starts meanwhile.
    dialed: Option<PeerId>,
    opened: Instant,
    /// When we last wrote a frame to it: an idle link gets a keepalive.
    last_sent: Instant,
}

/// The links part (see the module documentation).
#[derive(Debug)]
pub struct Links {
    links: HashMap<LinkId, LinkState>,
    /// The link in use per peer.
    active: HashMap<PeerId, LinkId>,
    dials: Dials,
    next_id: LinkId,
    /// Our announce interval: an established link that carried nothing from us for this
    /// long gets a keepalive.
    interval: Duration,
}

impl Links {
    /// No links yet; keepalives every `interval` of silence.
    pub fn new(interval: Duration) -> Self {
        Links {
            links: HashMap::new(),
            active: HashMap::new(),
            dials: Dials::default(),
            next_id: 1,
            interval,
        }
    }

    /// Whether no more links may open.
    pub fn is_full(&self) -> bool {
        self.links.len() >= MAX_LINKS
    }

    /// A fresh id for a link about to open.
    pub fn next_id(&mut self) -> LinkId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The port started link `id`: our `hello` goes first. `dialed` names the peer for
    /// a link we dialed.
    pub fn opened(
        &mut self,
        id: LinkId,
        ends: LinkEnds,
        dialed: Option<PeerId>,
        hello: LinkMsg,
        now: Instant,
        out: &mut Out,
    ) {
        self.links.insert(
            id,
            LinkState {
                ends,
                peer: None,
                instance: String::new(),
                dialed,
                opened: now,
                last_sent: now,
            },
        );
        out.send(Route::Link(id), hello);
    }

    /// A link we dialed could not be started.
    pub fn open_failed(&mut self, dialed: &PeerId, now: Instant) {
        self.dials.failed(dialed, now);
    }

    /// Where a frame on link `id` comes from.
    pub fn on_frame(&self, id: LinkId) -> Arrived {
        match self.links.get(&id) {
            None => Arrived::Gone,
            Some(LinkState { peer: None, .. }) => Arrived::Greeting,
            Some(LinkState { peer: Some(p), .. }) => Arrived::From(p.clone()),
        }
    }

    /// The first frame of link `id` is `hello`.
    pub fn greet(
        &mut self,
        id: LinkId,
        hello: HelloFrom<'_>,
        me: &str,
        now: Instant,
        out: &mut Out,
    ) -> Greeted {
        let HelloFrom {
            version,
            peer,
            instance,
        } = hello;
        if let Some(why) = handshake::refusal(version, peer, me) {
            out.close(Route::Link(id), why);
            return Greeted::Refused;
        }
        let Some(state) = self.links.get_mut(&id) else {
            return Greeted::Refused;
        };
        let peer = PeerId::from(peer);
        state.peer = Some(peer.clone());
        state.instance = instance.to_owned();
        let remote = state.ends.remote;
        if let Some(dialed) = state.dialed.clone()
            && dialed != peer
        {
            // Someone else answers at that address now (a restart took the port).
            tracing::info!(%dialed, %peer, %remote, "dialed one peer, reached another");
            self.dials.failed(&dialed, now);
        }
        Greeted::Met { peer, remote }
    }

    /// Link `id` to `peer` is up, unless another link to it wins the tie-break; returns
    /// the route now in use for the peer, or `None` if this link lost.
    pub fn up(&mut self, id: LinkId, peer: &PeerId, me: &str, out: &mut Out) -> Option<Route> {
        let outbound = self.links.get(&id)?.dialed.is_some();
        if let Some(&other) = self.active.get(peer)
            && other != id
        {
            let other_outbound = self.links.get(&other).is_some_and(|l| l.dialed.is_some());
            if handshake::keep_new(me, peer, outbound, other_outbound) {
                out.close(
                    Route::Link(other),
                    "replaced by a newer link to the same peer",
                );
            } else {
                out.close(Route::Link(id), "the peer already has a link with us");
                return None;
            }
        }
        let remote = self.links.get(&id).map(|l| l.ends.remote);
        tracing::info!(%peer, remote = ?remote, link = id, "link up");
        self.active.insert(peer.clone(), id);
        self.dials.done(peer);
        Some(Route::Link(id))
    }

    /// A frame went out on link `id` (so it is not idle).
    pub fn sent(&mut self, id: LinkId, now: Instant) {
        if let Some(l) = self.links.get_mut(&id) {
            l.last_sent = now;
        }
    }

    /// Their end of link `id`.
    pub fn remote(&self, id: LinkId) -> Option<SocketAddr> {
        self.links.get(&id).map(|l| l.ends.remote)
    }

    /// Forgets link `id` (closed by us, or by the peer): the peer's next dial waits a
    /// back-off, and a dialed link that never said hello counts as a failed dial.
    pub fn forget(
        &mut self,
        id: LinkId,
        reason: &str,
        by_us: bool,
        now: Instant,
    ) -> Option<Forgot> {
        let state = self.links.remove(&id)?;
        let who = state.peer.as_deref().unwrap_or("(no hello yet)");
        let remote = state.ends.remote;
        if by_us {
            tracing::info!(peer = %who, %remote, link = id, "closing link: {reason}");
        } else {
            tracing::info!(peer = %who, %remote, link = id, "link down: {reason}");
        }
        if let Some(peer) = &state.peer
            && self.active.get(peer) == Some(&id)
        {
            self.active.remove(peer);
            self.dials.link_lost(peer, now);
        }
        if let (None, Some(dialed)) = (&state.peer, &state.dialed) {
            self.dials.failed(dialed, now); // it never said hello
        }
        Some(Forgot {
            peer: state.peer,
            by_us,
        })
    }

    /// Closes every link to `peer`.
    pub fn close_peer(&self, peer: &str, reason: &str, out: &mut Out) {
        for (&id, _) in self
            .links
            .iter()
            .filter(|(_, l)| l.peer.as_deref() == Some(peer))
        {
            out.close(Route::Link(id), reason);
        }
    }

    /// A peer restarted: links to its previous instance are stale.
    pub fn peer_restarted(&self, peer: &str, instance: &str, out: &mut Out) {
        for (&id, _) in self
            .links
            .iter()
            .filter(|(_, l)| l.peer.as_deref() == Some(peer) && l.instance != instance)
        {
            out.close(Route::Link(id), "peer restarted");
        }
    }

    /// Timer work: links that never said hello are closed; a keepalive goes on every
    /// established link that carried nothing from us for one of our intervals, so a
    /// peer that knows us only through the link keeps us online.
    pub fn tick(&self, now: Instant, out: &mut Out) {
        let interval_ms = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        for (&id, l) in &self.links {
            match l.peer {
                None if now.duration_since(l.opened) >= HELLO_TIMEOUT => {
                    out.close(Route::Link(id), "no hello within 10 s");
                }
                Some(_) if now.duration_since(l.last_sent) >= self.interval => {
                    out.send(Route::Link(id), LinkMsg::Keepalive { interval_ms });
                }
                _ => {}
            }
        }
    }

    /// Dials `peer` at `addr` unless it has a link, no more links may open, or a dial is
    /// under way or waiting out its back-off; `true` if a dial starts.
    pub fn dial(&mut self, peer: &PeerId, addr: SocketAddr, now: Instant, out: &mut Out) -> bool {
        if self.active.contains_key(peer) || self.is_full() || !self.dials.start(peer, now) {
            return false;
        }
        out.push(Action::Dial {
            peer: peer.clone(),
            addr,
        });
        true
    }

    /// A dial finished; `true` if its connection should become a link (not when it
    /// failed, or a link came up meanwhile: the peer dialed us).
    pub fn dialed(&mut self, peer: &PeerId, ok: bool, now: Instant) -> bool {
        if !ok {
            self.dials.failed(peer, now);
            false
        } else if self.active.contains_key(peer) {
            self.dials.done(peer);
            false
        } else {
            true
        }
    }

    /// The peer was just heard from: a dial to it may go at once.
    pub fn reachable(&mut self, peer: &str, now: Instant) {
        self.dials.reachable(peer, now);
    }

    /// Every open link for the network panel, by id (`fd` from the port).
    pub fn infos(&self, fd: impl Fn(LinkId) -> i64) -> Vec<LinkInfo> {
        let mut v: Vec<LinkInfo> = self
            .links
            .iter()
            .map(|(&id, l)| LinkInfo {
                link: id,
                peer: l.peer.as_ref().map(ToString::to_string),
                local: l.ends.local.to_string(),
                remote: l.ends.remote.to_string(),
                fd: fd(id),
                outbound: l.dialed.is_some(),
                active: l
                    .peer
                    .as_ref()
                    .is_some_and(|p| self.active.get(p) == Some(&id)),
            })
            .collect();
        v.sort_by_key(|l| l.link);
        v
    }
}

impl Routes for Links {
    fn route(&self, peer: &str) -> Option<Route> {
        self.active.get(peer).map(|&id| Route::Link(id))
    }
}

#[cfg(test)]
mod tests;

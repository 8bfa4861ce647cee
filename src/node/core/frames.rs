//! Link frames: the one path every frame takes through the core, a burst at a time.
//!
//! A frame is counted, its link says who sent it (a frame on an established link is
//! news that its peer is alive), and then: chats and answers (acks, nacks) already
//! waiting behind each other are handled as one burst (the chats stored in one
//! transaction, see `chats`, then shown and answered; the answers reported, then the acks
//! recorded in one); a `hello` opens the link; file messages go to transfers. Anything
//! that is not a chat or an answer ends the burst and is handled after it, so order is
//! kept.

use super::Core;
use super::commands::MAX_BURST;
use crate::net::{LinkId, NetInput, Port};
use crate::node::chat::{Answer, InChat};
use crate::node::clock::Now;
use crate::node::links::{Arrived, Greeted, HelloFrom};
use crate::node::out::{Route, Routes};
use crate::node::peer::Protocol;
use crate::node::presence::{Observed, Sighting};
use crate::protocol::LinkMsg;

/// One frame, once its link said who sent it.
enum Sorted {
    /// A chat for the burst.
    Chat(InChat),
    /// An answer (ack, nack) for the burst.
    Answer(Answer),
    /// A signed room change: ends the burst (what follows may depend on it).
    RoomChange(InChat, Box<crate::protocol::room::RoomChange>),
    /// Nothing more to do (a late frame, a keepalive, a type we do not know).
    Heard,
    /// Anything else: ends the burst.
    Other(LinkId, Arrived, LinkMsg),
}

impl<P: Port> Core<P> {
    /// Handles `first` and, while they are chats and acks, the frames `next` gives (up
    /// to [`MAX_BURST`]) as one burst. Returns the input that ended the burst when it was
    /// not a frame: the caller handles it next.
    pub(super) fn on_frames(
        &mut self,
        first: (LinkId, usize, LinkMsg),
        mut next: impl FnMut() -> Option<NetInput<P::Conn>>,
        now: Now,
    ) -> Option<NetInput<P::Conn>> {
        let (mut chats, mut answers) = (Vec::new(), Vec::new());
        let mut frame = Some(first);
        let mut after = None;
        while let Some((link, len, msg)) = frame.take() {
            match self.sort(link, len, msg, now) {
                Sorted::Chat(c) => chats.push(c),
                Sorted::Answer(a) => answers.push(a),
                Sorted::Heard => {}
                Sorted::RoomChange(chat, change) => {
                    self.burst_done(chats, answers, now);
                    let (route, peer) = (chat.route, chat.peer.clone());
                    self.on_room_change(route, peer, chat, *change, now);
                    self.carry_out(now);
                    return None;
                }
                Sorted::Other(link, arrived, msg) => {
                    self.burst_done(chats, answers, now);
                    self.on_frame(link, arrived, msg, now);
                    return None;
                }
            }
            if chats.len() + answers.len() < MAX_BURST {
                match next() {
                    Some(NetInput::Frame { link, len, msg }) => frame = Some((link, len, msg)),
                    other => after = other,
                }
            }
        }
        self.burst_done(chats, answers, now);
        after
    }

    /// Counts a frame for the network panel and, on an established link, hears its
    /// peer (any frame says it is alive, beacons or not); says what it is.
    fn sort(&mut self, link: LinkId, len: usize, msg: LinkMsg, now: Now) -> Sorted {
        let arrived = self.links.on_frame(link);
        if arrived == Arrived::Gone {
            return Sorted::Heard; // already closed; late frames are ignored
        }
        self.traffic.counters.frames_received += 1;
        let remote = super::carry::Addr(self.links.remote(link));
        self.traffic
            .log(now.wall, "in", "tcp", remote, len, msg.kind().to_owned());
        let Arrived::From(peer) = arrived else {
            return Sorted::Other(link, arrived, msg);
        };
        let keepalive = match &msg {
            LinkMsg::Keepalive { interval_ms } => Some(*interval_ms),
            _ => None,
        };
        self.presence
            .heard_on_route(&peer, keepalive, now, &mut self.out);
        match msg {
            LinkMsg::Chat {
                msg_id,
                sent_at,
                text,
                room,
                change,
            } => {
                let verdict = match (&room, &change) {
                    (Some(r), None) => self.room_verdict(&peer, r),
                    _ => None, // a change is checked as a change
                };
                let chat = InChat {
                    route: Route::Link(link),
                    peer,
                    msg_id: msg_id.into(),
                    sent_at,
                    text,
                    room,
                    verdict,
                };
                match change {
                    Some(change) => Sorted::RoomChange(chat, change),
                    None => Sorted::Chat(chat),
                }
            }
            LinkMsg::Ack { msg_id } => Sorted::Answer(Answer::Ack {
                peer,
                msg_id: msg_id.into(),
            }),
            LinkMsg::Nack {
                msg_id,
                permanent,
                reason,
                retry_ms,
            } => Sorted::Answer(Answer::Nack {
                peer,
                route: Route::Link(link),
                msg_id: msg_id.into(),
                permanent,
                reason: crate::protocol::beacon::clean_name(&reason),
                retry: std::time::Duration::from_millis(retry_ms),
            }),
            LinkMsg::Keepalive { .. } => Sorted::Heard,
            LinkMsg::Hello { .. } => {
                tracing::debug!(%peer, "repeated hello ignored");
                Sorted::Heard
            }
            LinkMsg::Unknown => {
                tracing::debug!(%peer, "unknown message type ignored");
                Sorted::Heard
            }
            other => Sorted::Other(link, Arrived::From(peer), other),
        }
    }

    /// The burst's chats stored (one transaction), shown and answered; its answers
    /// reported (acks recorded in one), and what they made room for sent.
    pub(super) fn burst_done(&mut self, chats: Vec<InChat>, answers: Vec<Answer>, now: Now) {
        if !chats.is_empty() {
            self.store_chats(chats, now);
        }
        if !answers.is_empty() {
            for peer in self.chat.on_answers(answers, now.at, &mut self.out) {
                let route = routes!(self).route(&peer);
                if self.chat.pump(&peer, route, now.at, &mut self.out) {
                    self.dial(&peer, now);
                }
            }
        }
    }

    /// A frame that is not part of a burst.
    fn on_frame(&mut self, link: LinkId, arrived: Arrived, msg: LinkMsg, now: Now) {
        match (arrived, msg) {
            (
                Arrived::Greeting,
                LinkMsg::Hello {
                    id,
                    name,
                    version,
                    instance,
                    port,
                },
            ) => self.on_hello(link, (&id, &name, version, &instance, port), now),
            (Arrived::Greeting, other) => {
                let why = format!("first frame was {:?}, expected hello", other.kind());
                self.out.close(Route::Link(link), why);
            }
            (Arrived::From(peer), mut msg) => {
                self.vet_offer_room(&peer, &mut msg);
                let then = self.transfers.on_message(
                    Route::Link(link),
                    &peer,
                    msg,
                    ctx!(self, now),
                    &mut self.out,
                );
                self.then(then, now);
            }
            (Arrived::Gone, _) => {}
        }
    }

    /// A link's `hello`: who is on the other end (met through a link before any beacon,
    /// it joins), and one link per pair of peers.
    fn on_hello(
        &mut self,
        link: LinkId,
        (id, name, version, instance, port): (&str, &str, u32, &str, u16),
        now: Now,
    ) {
        let me = self.presence.me().id.clone();
        let hello = HelloFrom {
            version,
            peer: id,
            instance,
        };
        let greeted = self.links.greet(link, hello, &me, now.at, &mut self.out);
        let Greeted::Met {
            peer,
            remote,
            key,
            outbound,
        } = greeted
        else {
            return;
        };
        let std::net::IpAddr::V4(addr) = remote.ip() else {
            return self
                .out
                .close(Route::Link(link), "IPv6 peers are not supported");
        };
        if crate::node::web::is_visitor(&peer) {
            // Visitors' ids are ours to give: a link claiming one is lying.
            return self.out.close(Route::Link(link), "a browser visitor's id");
        }
        if self.presence.get(&peer).is_none_or(|p| !p.online) {
            // Met through a link before any beacon (a lost datagram, another subnet).
            let name = crate::protocol::beacon::clean_name(name);
            let seen = Sighting {
                id: &peer,
                protocol: Protocol::Lanchat,
                key: Some(*key),
                instance: "",
                name: &name,
                host: "",
                group: "",
                addr,
                port,
                status: "online",
                timeout: Some(self.presence.peer_timeout(0)),
            };
            if self.presence.on_sighting(&seen, now, &mut self.out) == Observed::Refused {
                return self.out.close(Route::Link(link), "peer table full");
            }
        }
        let Some(route) = self.links.up(link, &peer, &me, &mut self.out) else {
            return;
        };
        self.presence.clear_suspect(&peer); // a new link: not gone
        // We dialed this address and the handshake proved the peer there: the next dial
        // goes there too, whatever beacons say meanwhile (a link the peer dialed proves
        // nothing about where it can be reached).
        if let (true, std::net::SocketAddr::V4(dialed)) = (outbound, remote) {
            self.presence.proven(&peer, dialed);
        }
        self.room_member_seen(&peer, addr, port);
        self.carry_out(now); // the link it replaced is gone before anything goes out on this one
        self.route_up(&peer, route, now);
    }
}

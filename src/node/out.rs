//! What a part asks the core to do. Parts never touch a socket, a thread or the store:
//! a call into a part takes the time and pushes [`Action`]s into an [`Out`] buffer, and
//! the core carries them out, in the order they were pushed, right after the call.
//!
//! What a part's decision means for *another* part (a link came up, so the outbox may
//! go) is not an action: it is the call's return value, which the core routes.

use std::collections::VecDeque;
use std::net::{SocketAddr, SocketAddrV4};

use super::event::Event;
use super::fanout::Origin;
use super::web::{Session, WebCall};
use crate::net::LinkId;
use crate::net::transfer::{SendJob, StreamId};
use crate::protocol::{LinkMsg, MsgId, PeerId, TransferId};
use crate::store::{KnownPeer, Transfer, TransferState, TrustedKey};

/// How messages reach a peer. Chat and transfers send through a route and never ask
/// what is behind it: the core carries an `Action::Send` on a link to the port, on an
/// IPMsg address to the IPMsg part, which writes IPMsg packets, and on a visitor's page
/// to the web part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// A lanchat TCP link.
    Link(LinkId),
    /// An IPMsg peer's address (UDP; file bytes over TCP on the same port).
    Ipmsg(SocketAddrV4),
    /// A browser visitor's page, for one visit (the web part owns it).
    Web(Session),
}

/// Where routes come from: which route reaches a peer now, if any.
pub trait Routes {
    /// The route to `peer` now.
    fn route(&self, peer: &str) -> Option<Route>;
}

/// One thing for the core to do.
#[derive(Debug)]
pub enum Action {
    /// Tell every front end.
    Emit(Event),
    /// Answer the front end that asked (with its request id).
    Reply {
        /// Who asked.
        to: Origin,
        /// The answer.
        event: Event,
    },
    /// Send a message on a route.
    Send {
        /// Where.
        route: Route,
        /// What.
        msg: LinkMsg,
    },
    /// Close a link; every part forgets what it had on it.
    Close {
        /// The link.
        link: LinkId,
        /// Why, for the log.
        reason: String,
    },
    /// Dial a peer (the result comes back as an input).
    Dial {
        /// Who.
        peer: PeerId,
        /// Where.
        addr: SocketAddr,
    },
    /// Send a datagram to every broadcast target.
    Broadcast {
        /// The datagram.
        bytes: Vec<u8>,
        /// What it is, for the network panel.
        summary: String,
    },
    /// Send one datagram from the IPMsg port.
    IpmsgDatagram {
        /// Where.
        to: SocketAddrV4,
        /// The packet.
        bytes: Vec<u8>,
        /// What it is, for the network panel.
        summary: String,
    },
    /// Send one datagram.
    Datagram {
        /// Where.
        to: SocketAddrV4,
        /// The datagram.
        bytes: Vec<u8>,
        /// What it is, for the network panel.
        summary: String,
    },
    /// Start sending a file.
    StartSend {
        /// The stream's name, chosen by the transfers part.
        stream: StreamId,
        /// What to send where.
        job: SendJob,
    },
    /// Stop a stream if it runs, and join its thread.
    StopStream(StreamId),
    /// Delete an unfinished download's `.part` and resume note (after a stream that was
    /// writing them, stopped by an action before this one, has let go of them).
    DiscardPartial(TransferId),
    /// Write something to the store that no part waits for.
    Record(Record),
    /// Ask the page for browsers (through the port) to show, offer, decline or land
    /// something.
    Web(WebCall),
}

/// A store write no part waits for (a failure is logged; the node goes on).
#[derive(Debug)]
pub enum Record {
    /// A peer as it is now (name, address, last seen).
    Peer(KnownPeer),
    /// Our messages now written to a link.
    MarkSent {
        /// The conversation.
        peer: PeerId,
        /// The messages.
        msgs: Vec<MsgId>,
    },
    /// Our messages acknowledged, `(peer, msg_id)`.
    Delivered(Vec<(PeerId, MsgId)>),
    /// Our message refused for good by its recipient.
    Failed {
        /// The conversation.
        peer: PeerId,
        /// The message.
        msg_id: MsgId,
        /// Why, in the recipient's words.
        reason: String,
    },
    /// A transfer offered, by us or to us.
    NewTransfer(Transfer),
    /// A transfer's state changed.
    TransferState(TransferId, TransferState),
    /// A transfer's bytes started moving from `offset`.
    TransferStarted(TransferId, u64),
    /// Where a transfer's file is (the file we send; the file we received).
    TransferPath(TransferId, String),
    /// The user verified a key.
    Trust(TrustedKey),
    /// The user took a verification back (the key, base64url).
    Untrust(String),
    /// An address on the unicast list, and how (`added`, `learned`, or `removed`: its
    /// unicast beacons are ignored until it is added again).
    Reach {
        /// The normalised address (`host:port`).
        addr: String,
        /// `added`, `learned` or `removed`.
        origin: &'static str,
    },
    /// An address no longer remembered at all (a learned one replaced).
    Unreach(String),
}

/// The actions a call pushed, in order.
#[derive(Debug, Default)]
pub struct Out(VecDeque<Action>);

impl Out {
    /// Adds an action.
    pub fn push(&mut self, a: Action) {
        self.0.push_back(a);
    }

    /// The next action to carry out.
    pub fn pop(&mut self) -> Option<Action> {
        self.0.pop_front()
    }

    /// Whether nothing is left to do.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tells every front end.
    pub fn emit(&mut self, event: Event) {
        self.push(Action::Emit(event));
    }

    /// Answers the front end that asked; with no one asking, tells everyone.
    pub fn reply(&mut self, to: Option<Origin>, event: Event) {
        self.push(match to {
            Some(to) => Action::Reply { to, event },
            None => Action::Emit(event),
        });
    }

    /// Sends `msg` on `route`.
    pub fn send(&mut self, route: Route, msg: LinkMsg) {
        self.push(Action::Send { route, msg });
    }

    /// Gives up a route that broke the protocol (a link is closed; an IPMsg peer has no
    /// connection to close, so what it sent is only dropped; a visitor's page speaks no
    /// protocol of ours: nothing to close there).
    pub fn close(&mut self, route: Route, reason: impl Into<String>) {
        match route {
            Route::Link(link) => self.push(Action::Close {
                link,
                reason: reason.into(),
            }),
            Route::Ipmsg(addr) => {
                tracing::info!("IPMsg peer {addr}: {}; ignored", reason.into());
            }
            Route::Web(_) => tracing::debug!("ignored a close on a web route: {}", reason.into()),
        }
    }

    /// Asks the page for browsers to do something.
    pub fn web(&mut self, call: WebCall) {
        self.push(Action::Web(call));
    }

    /// Writes a record to the store.
    pub fn record(&mut self, r: Record) {
        self.push(Action::Record(r));
    }

    /// Everything pushed so far, taken out (tests look at what a call asked for).
    #[cfg(test)]
    pub fn take(&mut self) -> Vec<Action> {
        self.0.drain(..).collect()
    }
}

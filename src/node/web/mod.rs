//! The page for browsers, a part of the core: visitors as peers. A visitor who joins is a
//! peer (`protocol: web`, id `web-<visitor>`) with a route for as long as their page is
//! open ([`Route::Web`]); their messages are chats stored and acknowledged like any
//! other, ours reach their page as chats on that route, and the page having shown one is
//! its ack. Their files are offers the host accepts or declines; ours are offered for
//! their browser to fetch (`files`). A visitor who comes back (same browser, same link)
//! is the same peer, and their conversation is shown again from history (`seed`).
//!
//! Like every part it touches no socket, thread or store: it returns what the core must
//! route (a sighting for presence, chats to store, acks) and pushes [`WebCall`]s for the
//! port's web side. It must not decide what the server decides (limits, sessions,
//! tokens) nor what other parts do (the outbox, the peer table).
//!
//! - `files`: uploads waiting for the host, files offered to visitors.
//! - `seed`: a returning visitor's conversation, from history, as page events.

pub mod files;
pub mod seed;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use super::chat::InChat;
use super::out::{Out, Route, Routes};
use crate::protocol::{LinkMsg, MsgId, PeerId};
use crate::web::{DownloadId, FileOffer, UploadId, VisitorId, WebOutput};

pub use files::Files;

/// What a visitor's peer id starts with (the rest is their random visitor id). lanchat
/// peers announcing such an id are not believed.
pub const PEER_PREFIX: &str = "web-";

/// The host name a visitor's peer shows: they are in a browser, on no host we know.
pub const VISITOR_HOST: &str = "browser";

/// Whether `peer` is a browser visitor (by its id).
pub fn is_visitor(peer: &str) -> bool {
    peer.starts_with(PEER_PREFIX)
}

/// A visitor's peer id.
pub fn peer_of(visitor: &VisitorId) -> PeerId {
    PeerId::from(format!("{PEER_PREFIX}{visitor}"))
}

/// One visit's route: a visitor who leaves and comes back gets a new one, so what went
/// out on the old one is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Session(pub u64);

/// What the core asks the port's web side to do (see [`crate::net::WebPort`]).
#[derive(Debug, Clone, PartialEq)]
pub enum WebCall {
    /// Show something on a visitor's page.
    Push {
        /// Whose page.
        visitor: VisitorId,
        /// What.
        output: WebOutput,
    },
    /// Offer a visitor a file to fetch; the download id goes back to [`Web::offered`].
    Offer {
        /// To whom.
        visitor: VisitorId,
        /// The transfer it is.
        transfer: crate::protocol::TransferId,
        /// The file.
        offer: FileOffer,
    },
    /// Take back an offer.
    Withdraw(DownloadId),
    /// Decline an upload (its spool file is deleted).
    Decline(UploadId),
    /// Move an accepted upload into a folder (on a thread; the result comes back as
    /// `WebNews::Landed`).
    Land {
        /// The upload.
        upload: UploadId,
        /// The folder.
        dir: PathBuf,
    },
}

/// A visitor here now.
#[derive(Debug, Clone)]
struct Visit {
    peer: PeerId,
    session: Session,
}

/// A visitor who just joined, for the core to route: presence hears of them, their
/// route comes up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Their peer id.
    pub peer: PeerId,
    /// Their route for this visit.
    pub route: Route,
    /// The name they typed.
    pub name: String,
    /// Where their browser connects from (an IPv6 browser shows as 0.0.0.0).
    pub addr: Ipv4Addr,
}

/// A visitor who left: presence hears of it, their route goes down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    /// Their peer id.
    pub peer: PeerId,
    /// The route that is gone.
    pub route: Route,
}

/// The web part (see the module documentation).
#[derive(Debug, Default)]
pub struct Web {
    /// Where the server listens, while it is on.
    on: Option<SocketAddr>,
    here: HashMap<VisitorId, Visit>,
    by_peer: HashMap<PeerId, VisitorId>,
    next_session: u64,
    /// Files both ways.
    pub files: Files,
}

impl Web {
    /// Where the server listens, while it is on.
    pub fn on(&self) -> Option<SocketAddr> {
        self.on
    }

    /// The server started at `addr`.
    pub fn started(&mut self, addr: SocketAddr) {
        self.on = Some(addr);
    }

    /// The server stopped (`still_on`: no, its link was renewed): every visitor is gone,
    /// and what waited for them ends.
    pub fn all_gone(&mut self, still_on: bool, out: &mut Out) -> Vec<Departure> {
        if !still_on {
            self.on = None;
        }
        let visitors: Vec<VisitorId> = self.here.keys().cloned().collect();
        let gone = visitors.iter().filter_map(|v| self.left(v, out)).collect();
        let why = if still_on {
            "the link for browsers was renewed"
        } else {
            "the page for browsers stopped"
        };
        self.files.end_all(why, out);
        gone
    }

    /// A visitor joined (or came back) as `name` from `addr`.
    pub fn joined(&mut self, visitor: VisitorId, name: String, addr: SocketAddr) -> Arrival {
        let peer = peer_of(&visitor);
        self.next_session += 1;
        let session = Session(self.next_session);
        self.by_peer.insert(peer.clone(), visitor.clone());
        self.here.insert(
            visitor,
            Visit {
                peer: peer.clone(),
                session,
            },
        );
        let addr = match addr.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) => ip.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
        };
        Arrival {
            peer,
            route: Route::Web(session),
            name,
            addr,
        }
    }

    /// A visitor whose join could not be taken (the peer table is full): forgotten.
    pub fn refused(&mut self, visitor: &VisitorId) {
        if let Some(v) = self.here.remove(visitor) {
            self.by_peer.remove(&v.peer);
        }
    }

    /// A visitor left (their page closed or went quiet, the link was renewed, the server
    /// stopped). Their uploads still waiting were deleted by the server: those offers
    /// end. `None` for a visitor not here (already gone).
    pub fn left(&mut self, visitor: &VisitorId, out: &mut Out) -> Option<Departure> {
        let v = self.here.remove(visitor)?;
        self.by_peer.remove(&v.peer);
        self.files.visitor_left(visitor, out);
        Some(Departure {
            peer: v.peer,
            route: Route::Web(v.session),
        })
    }

    /// The peer of a visitor here, if they are.
    pub fn peer(&self, visitor: &VisitorId) -> Option<&PeerId> {
        self.here.get(visitor).map(|v| &v.peer)
    }

    /// The visitor here as `peer`, if any.
    pub fn visitor(&self, peer: &str) -> Option<&VisitorId> {
        self.by_peer.get(peer)
    }

    /// A visitor's message, as a chat that arrived on their route (its id is the page's:
    /// a retried send is stored once). `None` for a visitor not here.
    pub fn said(&self, visitor: &VisitorId, id: String, text: String, wall: u64) -> Option<InChat> {
        let v = self.here.get(visitor)?;
        Some(InChat {
            route: Route::Web(v.session),
            peer: v.peer.clone(),
            msg_id: MsgId::from(id),
            sent_at: wall,
            text,
            room: None,
            verdict: None,
        })
    }

    /// The page showed these messages of ours: acks, as from the visitor's peer.
    pub fn seen(&self, visitor: &VisitorId, ids: Vec<String>) -> Vec<(PeerId, MsgId)> {
        let Some(v) = self.here.get(visitor) else {
            return Vec::new();
        };
        ids.into_iter()
            .map(|id| (v.peer.clone(), MsgId::from(id)))
            .collect()
    }

    /// A message on a visitor's route: a chat is shown on their page, an ack tells the
    /// page the host has their message. Nothing for a visit that is over (what it
    /// carried goes again on the next).
    pub fn send(&self, session: Session, msg: LinkMsg, out: &mut Out) {
        let Some((visitor, _)) = self.here.iter().find(|(_, v)| v.session == session) else {
            return;
        };
        let output = match msg {
            LinkMsg::Chat {
                msg_id,
                sent_at,
                text,
                ..
            } => WebOutput::Message {
                id: msg_id,
                text,
                time_ms: sent_at,
            },
            LinkMsg::Ack { msg_id } => WebOutput::Delivered {
                client_msg_id: msg_id,
            },
            other => {
                return tracing::debug!("not for a browser: {}", other.kind());
            }
        };
        out.web(WebCall::Push {
            visitor: visitor.clone(),
            output,
        });
    }

    /// Visitors here now.
    pub fn len(&self) -> usize {
        self.here.len()
    }

    /// Whether no visitor is here.
    pub fn is_empty(&self) -> bool {
        self.here.is_empty()
    }
}

impl Routes for Web {
    fn route(&self, peer: &str) -> Option<Route> {
        let visitor = self.by_peer.get(peer)?;
        self.here.get(visitor).map(|v| Route::Web(v.session))
    }
}

#[cfg(test)]
mod tests;

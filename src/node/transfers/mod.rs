//! Transfers, a part of the core: every file offer and stream, both ways. The sending
//! side (offers, the data connection once accepted, automatic retries with back-off,
//! transfers taken up after a restart) and the receiving side (accept and decline, the
//! `.part` and its resume note, the wait for a sender after a break), and how each
//! transfer ended ([`TransferEnd`]).
//!
//! Bytes move on the port's threads, which report back as inputs; this part only
//! decides: it asks for a stream to start or stop, messages on the peer's route, events
//! and history records (written where a state changes). How a transfer ended is a
//! [`TransferEnd`] (`node/transfer_end.rs`, part of the contract). History lookups it needs (a
//! transfer from an earlier run) are the core's, between two calls ([`Then::LookUp`]).
//!
//! Small local file work stays here, where the decision is: a `stat` and a 16-byte read
//! of a file offered, the resume notes, creating the `.part`, the free-space check and
//! the sweep of old `.part` files at start. Making those actions would add a round trip
//! through the core and nothing else. Deleting a download's bytes while its stream may
//! still write them is the exception: that is [`Action::DiscardPartial`], carried out
//! after the stream (stopped just before) has let go of the file.
//!
//! - `outgoing`: offers and the sending side; `retry`: the sender's retries, `retry`
//!   and `file_resume`, transfers taken up after a restart.
//! - `incoming`: offers to us, accept, decline, cancel, the data connection; `resume`:
//!   a download's breaks and waits, the receiver's Retry.
//! - `rooms`: offers made for a room, ended when the member leaves it.
//! - `reports`: what the stream threads say (progress, done, broken or final).
//! - `folder`: a folder to send, read from the disk (its manifest).
//! - `part`: a download's `.part` (a `.part` folder for a folder) and the free space;
//!   `partial`: resume notes; `download_dir`: the folder.

mod download_dir;
mod folder;
mod incoming;
mod outgoing;
mod part;
pub mod partial;
mod reports;
mod resume;
mod retry;
mod rooms;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::clock::Now;
use super::event::Event;
use super::fanout::Origin;
use super::out::{Out, Record, Route, Routes};
use super::presence::PeerTable;
use crate::config::{AutoAccept, Config};
use crate::net::transfer::StreamId;
use crate::protocol::{LinkMsg, PeerId, TransferId};
use crate::store::Transfer;
use incoming::Incoming;
use outgoing::{OutState, Outgoing};

pub use super::transfer_end::{Party, TransferEnd};

/// Transfers each way that may be known at once (offers included).
pub const MAX_TRANSFERS: usize = 256;

/// What the transfers part goes by (the download folder changes at run time).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our peer id (part of every transfer id we make).
    pub me: PeerId,
    /// Where resume notes live (`<data_dir>/partial`).
    pub data_dir: PathBuf,
    /// Where accepted files land.
    pub download_dir: PathBuf,
    /// Whose offers are accepted at once.
    pub auto_accept: AutoAccept,
    /// Decline larger offers.
    pub max_file_size: Option<u64>,
    /// How long a receiver waits for the sender.
    pub accept_timeout: Duration,
    /// The sender's first wait before a retry.
    pub retry_delay: Duration,
    /// Tries in a row that move no byte before the sender gives up.
    pub retry_attempts: u32,
    /// Bytes per second each outgoing transfer may send at most.
    pub send_rate_limit: Option<u64>,
    /// Unfinished downloads untouched this long are deleted at start.
    pub partial_max_age: Duration,
}

impl Settings {
    /// The settings of `config`, for the node `me`.
    pub fn new(me: PeerId, config: &Config) -> Settings {
        Settings {
            me,
            data_dir: config.data_dir.clone(),
            download_dir: config.download_dir.clone(),
            auto_accept: AutoAccept::of(config),
            max_file_size: config.max_file_size,
            accept_timeout: config.accept_timeout,
            retry_delay: config.retry_delay,
            retry_attempts: config.retry_attempts,
            send_rate_limit: config.send_rate_limit,
            partial_max_age: config.partial_max_age,
        }
    }
}

/// What the part reads of the rest of the core during a call.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// Which route reaches a peer now.
    pub routes: &'a dyn Routes,
    /// Known peers (addresses, names).
    pub peers: &'a PeerTable,
    /// The time.
    pub now: Now,
}

/// A transfer from history the part needs before it can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeedStored {
    /// `retry` of a transfer no longer running (it failed, or is from an earlier run).
    Retry {
        /// The transfer.
        id: TransferId,
        /// Who asked.
        origin: Origin,
    },
    /// `cancel` of a transfer no longer running.
    Cancel {
        /// The transfer.
        id: TransferId,
        /// Who asked.
        origin: Origin,
    },
    /// A receiver's `file_resume` for a transfer no longer running.
    Resume {
        /// The transfer.
        id: TransferId,
        /// The receiver.
        peer: PeerId,
        /// Where it asked from.
        route: Route,
    },
}

impl NeedStored {
    /// The transfer to look up.
    pub fn id(&self) -> &TransferId {
        match self {
            NeedStored::Retry { id, .. }
            | NeedStored::Cancel { id, .. }
            | NeedStored::Resume { id, .. } => id,
        }
    }
}

/// What the core does after a call, besides carrying out its actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// Nothing more.
    Done,
    /// Offers wait for this peer and it has no route: dial it.
    Dial(PeerId),
    /// Look a transfer up in history and hand it to [`Transfers::stored`].
    LookUp(NeedStored),
}

/// The transfers part (see the module documentation).
pub struct Transfers {
    outgoing: HashMap<TransferId, Outgoing>,
    incoming: HashMap<TransferId, Incoming>,
    settings: Settings,
    next_stream: u64,
}

impl Transfers {
    /// No transfers yet.
    pub fn new(settings: Settings) -> Self {
        Transfers {
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            settings,
            next_stream: 1,
        }
    }

    fn next_stream(&mut self) -> StreamId {
        let s = StreamId(self.next_stream);
        self.next_stream += 1;
        s
    }

    /// A file message from an established peer on `route`.
    pub fn on_message(
        &mut self,
        route: Route,
        peer: &PeerId,
        msg: LinkMsg,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) -> Then {
        match msg {
            LinkMsg::FileOffer {
                transfer_id,
                name,
                size,
                mime,
                folder,
                room,
            } => {
                let offer = incoming::Offer {
                    id: transfer_id.into(),
                    name,
                    size,
                    mime,
                    folder,
                    room,
                };
                self.on_offer(route, peer, offer, ctx, out);
                Then::Done
            }
            LinkMsg::FileAccept {
                transfer_id,
                offset,
            } => {
                self.on_accept(peer, &transfer_id.into(), offset, ctx, out);
                Then::Done
            }
            LinkMsg::FileDecline {
                transfer_id,
                reason,
                code,
            } => {
                let id = TransferId::from(transfer_id);
                if self.outgoing.get(&id).is_some_and(|o| o.peer == *peer) {
                    let end = TransferEnd::Declined {
                        by: Party::Receiver,
                        code: code.unwrap_or(crate::protocol::DeclineCode::Other),
                        reason,
                    };
                    self.end_outgoing(&id, end, false, ctx, out);
                } else {
                    let end = TransferEnd::Cancelled {
                        by: Party::Sender,
                        said: format!("declined: {reason}"),
                    };
                    self.cancel_incoming(peer, &id, end, ctx, out);
                }
                Then::Done
            }
            LinkMsg::FileCancel {
                transfer_id,
                reason,
            } => {
                let id = TransferId::from(transfer_id);
                if self.outgoing.get(&id).is_some_and(|o| o.peer == *peer) {
                    let end = TransferEnd::Cancelled {
                        by: Party::Receiver,
                        said: reason,
                    };
                    self.end_outgoing(&id, end, false, ctx, out);
                } else {
                    let end = TransferEnd::Cancelled {
                        by: Party::Sender,
                        said: reason,
                    };
                    self.cancel_incoming(peer, &id, end, ctx, out);
                }
                Then::Done
            }
            LinkMsg::FileResume { transfer_id } => {
                self.on_file_resume(route, peer, transfer_id.into(), ctx, out)
            }
            other => {
                out.close(route, format!("{} frame on a link", other.kind()));
                Then::Done
            }
        }
    }

    /// The `cancel` command: stops an offer or a transfer, ours or theirs (a partial
    /// download is deleted), also one that already failed, or that history remembers
    /// unfinished from an earlier run ([`Then::LookUp`]).
    pub fn cancel(&mut self, origin: Origin, id: TransferId, ctx: Ctx<'_>, out: &mut Out) -> Then {
        let by_us = TransferEnd::Cancelled {
            by: Party::Us,
            said: String::new(),
        };
        if self.outgoing.contains_key(&id) {
            self.end_outgoing(&id, by_us, true, ctx, out);
        } else if let Some(peer) = self.incoming_peer(&id) {
            self.cancel_incoming(&peer, &id, by_us, ctx, out);
        } else {
            return Then::LookUp(NeedStored::Cancel { id, origin });
        }
        Then::Done
    }

    /// A route went down: offers it carried without an answer go out on the next.
    pub fn route_down(&mut self, route: Route) {
        for o in self.outgoing.values_mut() {
            if o.state == OutState::Offered(route) {
                o.state = OutState::Queued;
            }
        }
    }

    /// Timer work: broken transfers whose wait is over are offered again (returns the
    /// peers that need a route for them), and downloads that waited too long for their
    /// sender give up.
    pub fn tick(&mut self, ctx: Ctx<'_>, out: &mut Out) -> Vec<PeerId> {
        let due: Vec<(TransferId, PeerId, u32)> = self
            .outgoing
            .iter()
            .filter(|(_, o)| matches!(o.state, OutState::Waiting { at, .. } if at <= ctx.now.at))
            .map(|(id, o)| (id.clone(), o.peer.clone(), o.fruitless))
            .collect();
        let mut dial = Vec::new();
        for (id, peer, attempt) in due {
            self.requeue(&id, attempt, out);
            if self.pump(&peer, ctx.routes.route(&peer), out) && !dial.contains(&peer) {
                dial.push(peer);
            }
        }
        self.download_deadlines(ctx.now, out);
        dial
    }

    /// When the earliest waiting retry is due, if any: the loop wakes for it.
    pub fn next_wake(&self) -> Option<Instant> {
        self.outgoing
            .values()
            .filter_map(|o| match o.state {
                OutState::Waiting { at, .. } => Some(at),
                _ => None,
            })
            .min()
    }

    /// Peers with offers waiting for a route.
    pub fn waiting_peers(&self) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self
            .outgoing
            .values()
            .filter(|o| o.state == OutState::Queued)
            .map(|o| o.peer.clone())
            .collect();
        peers.sort();
        peers.dedup();
        peers
    }

    /// Whether offers wait for a route to `peer`.
    pub fn wants_route(&self, peer: &str) -> bool {
        self.outgoing
            .values()
            .any(|o| o.peer == *peer && o.state == OutState::Queued)
    }

    /// `set_auto_accept`: whose offers are accepted at once from now on.
    pub fn set_auto_accept(&mut self, from: AutoAccept, out: &mut Out) {
        self.settings.auto_accept = from;
        out.emit(Event::AutoAcceptChanged { from });
    }

    /// Where accepted files land now.
    pub fn download_dir(&self) -> &Path {
        &self.settings.download_dir
    }

    /// `set_download_dir`: offers accepted from now on land in `dir`.
    pub fn set_download_dir(&mut self, origin: Origin, dir: &Path, out: &mut Out) {
        match download_dir::check_download_dir(dir) {
            Ok(dir) => {
                tracing::info!(dir = %dir.display(), "download folder changed");
                self.settings.download_dir = dir.clone();
                out.emit(Event::DownloadDirChanged {
                    path: dir.display().to_string(),
                });
            }
            Err(e) => out.reply(Some(origin), Event::error(format!("set_download_dir: {e}"))),
        }
    }
}

/// A transfer ended without the file: recorded, then told.
fn report_end(id: &TransferId, end: TransferEnd, out: &mut Out) {
    out.record(Record::TransferState(id.clone(), end.state()));
    out.emit(Event::TransferFailed {
        transfer_id: id.clone(),
        end,
    });
}

/// A transfer as history first records it.
fn new_record(
    id: &TransferId,
    peer: &PeerId,
    incoming: bool,
    what: (&str, u64, &str),
    path: String,
    now: Now,
) -> Transfer {
    let dir = if incoming {
        crate::store::Direction::In
    } else {
        crate::store::Direction::Out
    };
    Transfer::offered((id, peer, dir), what, path, now.wall)
}

#[cfg(test)]
mod tests;

//! The receiving side: offers, accept and decline, cancel, the data connection, and the
//! `.part` files of unfinished downloads.
//!
//! Nothing is written before acceptance. On accept the size limit and the free space
//! are checked, then `<name>.part` is created under a free name in the download folder
//! (or the `.part` of an earlier try of the same offer is found, and only the rest is
//! asked for). The stream renames the `.part` to a free name once the hash over the
//! whole file matches. An offer that resumes a download accepted before (after a break,
//! or a restart of either side) is accepted at once: the user already said yes to it.
//! What happens after a break is in `resume`.

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

use super::part::check_space;
use super::partial;
use super::{Ctx, MAX_TRANSFERS, TransferEnd, Transfers, new_record, report_end};
use crate::config::AutoAccept;
use crate::net::transfer::FolderRecv;
use crate::net::transfer::{RecvJob, StreamId};
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::out::{Action, Out, Record, Route};
use crate::protocol::beacon::valid_id;
use crate::protocol::folder::{self, FolderSummary};
use crate::protocol::{DeclineCode, LinkMsg, PeerId, TransferId, mime, sanitize};

/// A `file_offer` as it came off the wire (nothing in it is trusted yet).
pub(super) struct Offer {
    pub(super) id: TransferId,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) mime: String,
    pub(super) folder: Option<FolderSummary>,
    /// The room it is offered in: the core keeps it only for a room we are in whose
    /// member the sender is (`Core::vet_offer_room`), else it is `None` here.
    pub(super) room: Option<String>,
}

/// A file offered to us.
#[derive(Debug)]
pub(super) struct Incoming {
    pub(super) peer: PeerId,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) state: InState,
    /// A folder: what its offer announced.
    pub(super) folder: Option<FolderSummary>,
}

impl Incoming {
    /// The stream moving the bytes, if one is.
    pub(super) fn stream(&self) -> Option<StreamId> {
        match self.state {
            InState::Streaming(s) => Some(s),
            _ => None,
        }
    }
}

/// Where an offer to us stands.
#[derive(Debug)]
pub(super) enum InState {
    /// Waiting for the user.
    Offered,
    /// Accepted; waiting for the data connection until `deadline`.
    Accepted {
        part: PathBuf,
        offset: u64,
        deadline: Instant,
    },
    /// Bytes are moving.
    Streaming(StreamId),
    /// The stream broke; the bytes are kept and the sender's next offer is accepted at
    /// once, if it comes before `deadline`.
    Interrupted { deadline: Instant, reason: String },
}

impl Transfers {
    /// A peer offers a file.
    pub(super) fn on_offer(
        &mut self,
        route: Route,
        peer: &PeerId,
        offer: Offer,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) {
        let Offer {
            id,
            name,
            size,
            mime,
            folder,
            room,
        } = offer;
        let refuse = |code, reason: &str| LinkMsg::FileDecline {
            transfer_id: id.to_string(),
            reason: reason.to_owned(),
            code: Some(code),
        };
        if !valid_id(&id) {
            return out.close(route, "file_offer with an invalid transfer id");
        }
        let wait = self.settings.accept_timeout;
        if let Some(known) = self.incoming.get_mut(&id) {
            if known.peer != *peer {
                return out.send(route, refuse(DeclineCode::IdInUse, "transfer id in use"));
            }
            match &mut known.state {
                InState::Offered => return, // asked again after a route drop; still asking
                InState::Accepted {
                    offset, deadline, ..
                } => {
                    *deadline = ctx.now.at + wait;
                    let again = LinkMsg::FileAccept {
                        transfer_id: id.to_string(),
                        offset: *offset,
                    };
                    return out.send(route, again);
                }
                // The sender tries again (a retry, a restart): resume from the bytes on
                // disk, without asking the user again. A stream still running is stopped
                // first; whatever it writes after the offset read below is cut by the
                // next stream, which starts at that offset.
                state @ (InState::Streaming(_) | InState::Interrupted { .. }) => {
                    if let InState::Streaming(stream) = *state {
                        out.push(Action::StopStream(stream));
                        // Its stream broke before ours noticed: say so, as we would have.
                        out.record(Record::TransferState(
                            id.clone(),
                            crate::store::TransferState::Paused,
                        ));
                        out.emit(Event::TransferInterrupted {
                            transfer_id: id.clone(),
                            reason: "the sender started the stream over".to_owned(),
                            attempt: 0,
                            retry_in_ms: None,
                        });
                    }
                    *state = InState::Offered;
                    return self.accept(None, &id, ctx, out);
                }
            }
        }
        if self.incoming.len() >= MAX_TRANSFERS {
            return out.send(
                route,
                refuse(DeclineCode::TooMany, "too many transfers under way"),
            );
        }
        let name = sanitize::file_name(&name);
        let mime = match folder {
            Some(_) => mime::FOLDER.to_owned(),
            None => mime::from_wire(&mime, &name),
        };
        let what = (name.as_str(), size, mime.as_str());
        let mut record = new_record(&id, peer, true, what, String::new(), ctx.now);
        record.room = room.clone();
        out.record(Record::NewTransfer(record));
        let verified = ctx.peers.get(peer).is_some_and(|p| p.trust.verified);
        out.emit(Event::FileOffer {
            transfer_id: id.clone(),
            from: peer.clone(),
            verified,
            name: name.clone(),
            size,
            mime,
            folder,
            room,
        });
        let incoming = Incoming {
            peer: peer.clone(),
            name,
            size,
            state: InState::Offered,
            folder,
        };
        self.incoming.insert(id.clone(), incoming);
        if let Some(f) = folder.filter(|f| f.entries() > folder::MAX_ENTRIES) {
            let reason = format!(
                "the folder holds {} files and folders; the limit is {}",
                f.entries(),
                folder::MAX_ENTRIES
            );
            return self.decline_with(
                &id,
                TransferEnd::declined(DeclineCode::TooLarge, reason),
                ctx,
                out,
            );
        }
        if let Some(max) = self.settings.max_file_size.filter(|max| size > *max) {
            let reason = format!("the file is {size} bytes; the limit is {max} bytes");
            self.discard_partial(peer, &id);
            return self.decline_with(
                &id,
                TransferEnd::declined(DeclineCode::TooLarge, reason),
                ctx,
                out,
            );
        }
        let s = &self.settings;
        let kind = (size, folder.is_some());
        let resumes = partial::resumable(&s.data_dir, &s.download_dir, &id, peer, kind).is_some();
        let auto = match s.auto_accept {
            AutoAccept::Everyone => true,
            AutoAccept::Verified => verified,
            AutoAccept::Nobody => false,
        };
        if auto || resumes {
            self.accept(None, &id, ctx, out);
        }
    }

    /// The `accept` command (`origin`), or an accept of our own (auto-accept, a resume).
    pub fn accept(&mut self, origin: Option<Origin>, id: &TransferId, ctx: Ctx<'_>, out: &mut Out) {
        let Some(inc) = self.incoming.get(id) else {
            return out.reply(origin, Event::error(format!("accept: no offer {id}")));
        };
        if !matches!(inc.state, InState::Offered) {
            return out.reply(
                origin,
                Event::error(format!("accept: {id} is already accepted")),
            );
        }
        let (peer, size, name) = (inc.peer.clone(), inc.size, inc.name.clone());
        let is_folder = inc.folder.is_some();
        let dir = self.settings.download_dir.clone();
        let prepared = fs::create_dir_all(&dir)
            .map_err(|e| {
                TransferEnd::declined(
                    DeclineCode::Failed,
                    format!("cannot create {}: {e}", dir.display()),
                )
            })
            .and_then(|()| self.prepare_part(id, &peer, (&name, size), is_folder));
        let (part, offset) = match prepared {
            Ok(p) => p,
            Err(end) => return self.decline_with(id, end, ctx, out),
        };
        if let Err(reason) = check_space(&dir, size - offset) {
            if offset == 0 {
                partial::discard(&self.settings.data_dir, id);
            }
            return self.decline_with(
                id,
                TransferEnd::declined(DeclineCode::NoSpace, reason),
                ctx,
                out,
            );
        }
        if let Some(route) = ctx.routes.route(&peer) {
            let accept = LinkMsg::FileAccept {
                transfer_id: id.to_string(),
                offset,
            };
            out.send(route, accept);
        }
        if let Some(inc) = self.incoming.get_mut(id) {
            let deadline = ctx.now.at + self.settings.accept_timeout;
            inc.state = InState::Accepted {
                part,
                offset,
                deadline,
            };
        }
        out.record(Record::TransferStarted(id.clone(), offset));
        out.emit(Event::TransferStarted {
            transfer_id: id.clone(),
            offset,
            total: size,
        });
    }

    /// The `decline` command.
    pub fn decline(&mut self, origin: Origin, id: &TransferId, ctx: Ctx<'_>, out: &mut Out) {
        match self.incoming.get(id) {
            Some(inc) if matches!(inc.state, InState::Offered) => {
                let peer = inc.peer.clone();
                self.discard_partial(&peer, id);
                self.decline_with(
                    id,
                    TransferEnd::declined(DeclineCode::User, "declined"),
                    ctx,
                    out,
                );
            }
            Some(_) => out.reply(
                Some(origin),
                Event::error(format!("decline: {id} is already accepted; use cancel")),
            ),
            None => out.reply(
                Some(origin),
                Event::error(format!("decline: no offer {id}")),
            ),
        }
    }

    /// Deletes the `.part` and note of an earlier try of this offer, if `peer` made it
    /// (no stream writes them: the offer is not accepted).
    fn discard_partial(&self, peer: &PeerId, id: &TransferId) {
        if partial::resumable_from(&self.settings.data_dir, id, peer) {
            partial::discard(&self.settings.data_dir, id);
        }
    }

    /// Answers an offer with `file_decline` and reports it; keeps any `.part`.
    fn decline_with(&mut self, id: &TransferId, end: TransferEnd, ctx: Ctx<'_>, out: &mut Out) {
        let Some(inc) = self.incoming.remove(id) else {
            return;
        };
        if let Some(route) = ctx.routes.route(&inc.peer) {
            let code = match &end {
                TransferEnd::Declined { code, .. } => Some(*code),
                _ => None,
            };
            let decline = LinkMsg::FileDecline {
                transfer_id: id.to_string(),
                reason: end.to_string(),
                code,
            };
            out.send(route, decline);
        }
        report_end(id, end, out);
    }

    /// Stops an incoming transfer and deletes what it wrote. `end` says who: we (the
    /// peer is told) or the sender.
    pub(super) fn cancel_incoming(
        &mut self,
        peer: &PeerId,
        id: &TransferId,
        end: TransferEnd,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) {
        if !valid_id(id) {
            return; // never a file name made from a bad id
        }
        let tell = matches!(
            end,
            TransferEnd::Cancelled {
                by: super::Party::Us,
                ..
            }
        );
        let known = self.incoming.get(id).is_some_and(|i| i.peer == *peer);
        if known
            && let Some(inc) = self.incoming.remove(id)
            && let Some(stream) = inc.stream()
        {
            out.push(Action::StopStream(stream));
        }
        let noted = partial::resumable_from(&self.settings.data_dir, id, peer);
        if known || noted {
            out.push(Action::DiscardPartial(id.clone())); // once the stream let go
        }
        // A download we no longer track (it failed) but whose bytes we kept: cancelling
        // it is still news to both sides.
        if !(known || tell && noted) {
            return;
        }
        if tell && let Some(route) = ctx.routes.route(peer) {
            let cancel = LinkMsg::FileCancel {
                transfer_id: id.to_string(),
                reason: end.to_string(),
            };
            out.send(route, cancel);
        }
        report_end(id, end, out);
    }

    /// A connection opened with `file_data` from `remote`, whose handshake proved peer
    /// `from`: the bytes of an accepted offer, if it is one, from that very peer, at the
    /// offset we asked for. Returns the stream to start.
    pub fn on_file_data(
        &mut self,
        (remote, from): (IpAddr, &str),
        id: &TransferId,
        offset: u64,
    ) -> Option<(StreamId, RecvJob)> {
        let stream = self.next_stream();
        let data_dir = self.settings.data_dir.clone();
        let Some(inc) = self.incoming.get_mut(id) else {
            tracing::info!(%remote, transfer_id = %id, "file_data for no accepted offer");
            return None;
        };
        // The key that proved itself on the data connection must be the sender's: an
        // address proves nothing.
        let from_peer = *inc.peer == *from;
        let InState::Accepted {
            part, offset: want, ..
        } = &inc.state
        else {
            tracing::info!(%remote, transfer_id = %id, "file_data for an offer not accepted");
            return None;
        };
        if !from_peer || *want != offset {
            tracing::info!(%remote, transfer_id = %id, "file_data from the wrong peer or offset");
            return None;
        }
        let job = RecvJob {
            transfer_id: id.to_string(),
            part: part.clone(),
            sidecar: partial::note_path(&data_dir, id),
            // Where it was accepted, even if the download folder changed since.
            dir: part.parent().map(PathBuf::from).unwrap_or_default(),
            name: inc.name.clone(),
            size: inc.size,
            offset,
            folder: inc.folder.map(|summary| FolderRecv {
                summary,
                manifest_note: partial::manifest_path(&data_dir, id),
            }),
        };
        inc.state = InState::Streaming(stream);
        Some((stream, job))
    }
}

//! The sending side: `send_file` → offer queued → `file_offer` on the peer's route
//! (again on the next route if that one goes before an answer) → `file_accept` → a
//! stream sends the bytes → the receiver's verdict. What happens after a break is in
//! `retry`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use super::{Ctx, MAX_TRANSFERS, TransferEnd, Transfers, new_record, report_end};
use crate::net::transfer::{FolderSend, SendJob, StreamId};
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::out::{Action, Out, Record, Route};
use crate::protocol::folder::FolderSummary;
use crate::protocol::{LinkMsg, PeerId, TransferId, hash, mime, sanitize};

/// A file we offered.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub(super) peer: PeerId,
    pub(super) path: PathBuf,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) mime: String,
    pub(super) state: OutState,
    /// Broken tries in a row that moved no byte (see `retry`).
    pub(super) fruitless: u32,
    /// The offset of the last `file_accept`: a larger one means the last try moved bytes.
    pub(super) last_offset: Option<u64>,
    /// A folder sent as one transfer (`path` is the folder, `size` the sum of its files).
    pub(super) folder: Option<Arc<FolderSend>>,
    /// The room it was offered for (the member's leave cancels it), if any.
    pub(super) room: Option<String>,
}

impl Outgoing {
    /// What the offer says about the folder, if it is one.
    pub(super) fn summary(&self) -> Option<FolderSummary> {
        self.folder.as_ref().map(|f| f.manifest.summary())
    }
}

impl Outgoing {
    /// The stream moving the bytes, if one is.
    pub(super) fn stream(&self) -> Option<StreamId> {
        match self.state {
            OutState::Streaming(s) => Some(s),
            _ => None,
        }
    }
}

/// Where an offer of ours stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutState {
    /// Waiting for a route to carry the offer.
    Queued,
    /// Offered on this route; waiting for an answer.
    Offered(Route),
    /// Bytes are moving.
    Streaming(StreamId),
    /// The stream broke: offered again at `at`, or as soon as a route other than `route`
    /// (the one up when it broke) comes up, which means the network is back.
    Waiting { at: Instant, route: Option<Route> },
}

impl Transfers {
    /// `send_file`: checks the file, queues the offer and says `offer_sent`. The same
    /// unchanged file to the same peer is the same transfer: sent again while it waits
    /// or has failed, it is offered again at once (a resume).
    pub fn send_file(
        &mut self,
        origin: Origin,
        peer: PeerId,
        path: &Path,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) -> bool {
        self.send_file_for(origin, (peer, None), path, ctx, out)
    }

    /// [`Self::send_file`] made for `room` (`send_file` to a room, once per member), or
    /// for no room. An offer is the room's only while every send of it was to that room:
    /// the same file sent to the member directly too is theirs whatever the room does.
    pub fn send_file_for(
        &mut self,
        origin: Origin,
        (peer, room): (PeerId, Option<&str>),
        path: &Path,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) -> bool {
        let (id, mut o) = match self.outgoing_for(&peer, path) {
            Ok(v) => v,
            Err(e) => {
                out.reply(Some(origin), Event::error(format!("send_file: {e}")));
                return false;
            }
        };
        o.room = room.map(str::to_owned);
        if let Some(known) = self.outgoing.get_mut(&id) {
            if known.room != o.room {
                known.room = None;
            }
            if matches!(known.state, OutState::Waiting { .. }) {
                known.state = OutState::Queued;
                known.fruitless = 0;
            }
        } else if self.outgoing.len() >= MAX_TRANSFERS {
            let e = format!(
                "send_file: {MAX_TRANSFERS} transfers are under way; wait for some to finish"
            );
            out.reply(Some(origin), Event::error(e));
            return false;
        } else {
            self.outgoing.insert(id.clone(), o);
        }
        self.announce_offer(&id, ctx, out);
        self.pump(&peer, ctx.routes.route(&peer), out)
    }

    /// Says `offer_sent` for a queued transfer, and records it with where its file is,
    /// so it can be offered again after a restart.
    pub(super) fn announce_offer(&self, id: &TransferId, ctx: Ctx<'_>, out: &mut Out) {
        let Some(o) = self.outgoing.get(id) else {
            return;
        };
        let what = (o.name.as_str(), o.size, o.mime.as_str());
        let path = o.path.display().to_string();
        let mut record = new_record(id, &o.peer, false, what, path, ctx.now);
        record.room = o.room.clone();
        out.record(Record::NewTransfer(record));
        out.emit(Event::OfferSent {
            transfer_id: id.clone(),
            to: o.peer.clone(),
            name: o.name.clone(),
            size: o.size,
            mime: o.mime.clone(),
            folder: o.summary(),
            room: o.room.clone(),
        });
    }

    /// The id and a queued transfer of the file at `path` to `peer` (not yet inserted).
    /// The id is derived, never stored: the same unchanged file to the same peer always
    /// gets the same one, which is what lets a receiver find its `.part`, and a changed
    /// file (size or modification time) a new one.
    pub(super) fn outgoing_for(
        &self,
        peer: &PeerId,
        path: &Path,
    ) -> Result<(TransferId, Outgoing), String> {
        if super::folder::is_folder(path) {
            return self.outgoing_folder(peer, path);
        }
        let (size, mtime, head) = inspect(path)?;
        let shown = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = sanitize::file_name(shown.as_deref().unwrap_or_default());
        let mime = mime::detect(&name, &head).to_owned();
        let full = crate::platform::dirs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let id = hash::transfer_id(&[
            self.settings.me.as_bytes(),
            peer.as_bytes(),
            full.to_string_lossy().as_bytes(),
            &size.to_le_bytes(),
            &mtime.to_le_bytes(),
        ]);
        let out = Outgoing {
            peer: peer.clone(),
            path: full,
            name,
            size,
            mime,
            state: OutState::Queued,
            fruitless: 0,
            last_offset: None,
            folder: None,
            room: None,
        };
        Ok((id.into(), out))
    }

    /// [`Self::outgoing_for`] a folder: its id covers every path, size and modification
    /// time in it, so a changed folder is another transfer.
    fn outgoing_folder(
        &self,
        peer: &PeerId,
        path: &Path,
    ) -> Result<(TransferId, Outgoing), String> {
        let full = crate::platform::dirs::canonicalize(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let walked = super::folder::walk(&full)?;
        let shown = full.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = sanitize::file_name(shown.as_deref().unwrap_or_default());
        let size = walked.send.manifest.total();
        let id = hash::transfer_id(&[
            self.settings.me.as_bytes(),
            peer.as_bytes(),
            full.to_string_lossy().as_bytes(),
            &size.to_le_bytes(),
            &walked.fingerprint,
        ]);
        let out = Outgoing {
            peer: peer.clone(),
            path: full,
            name,
            size,
            mime: mime::FOLDER.to_owned(),
            state: OutState::Queued,
            fruitless: 0,
            last_offset: None,
            folder: Some(Arc::new(walked.send)),
            room: None,
        };
        Ok((id.into(), out))
    }

    /// Puts queued offers for `peer` on `route`; interrupted transfers go along when it
    /// is not the route that was up when they broke. `true` when offers wait and there
    /// is no route (the core dials).
    pub fn pump(&mut self, peer: &str, route: Option<Route>, out: &mut Out) -> bool {
        let Some(route) = route else {
            return self.wants_route(peer);
        };
        let back: Vec<(TransferId, u32)> = self
            .outgoing
            .iter()
            .filter(|(_, o)| o.peer == *peer)
            .filter(
                |(_, o)| matches!(o.state, OutState::Waiting { route: r, .. } if r != Some(route)),
            )
            .map(|(id, o)| (id.clone(), o.fruitless))
            .collect();
        for (id, attempt) in back {
            self.requeue(&id, attempt, out);
        }
        if let Route::Ipmsg(_) = route {
            self.refuse_folders(peer, "IPMsg", out);
        }
        for (id, o) in self
            .outgoing
            .iter_mut()
            .filter(|(_, o)| o.peer == *peer && o.state == OutState::Queued)
        {
            let offer = LinkMsg::FileOffer {
                transfer_id: id.to_string(),
                name: o.name.clone(),
                size: o.size,
                mime: o.mime.clone(),
                folder: o.summary(),
                room: o.room.clone(),
            };
            out.send(route, offer);
            o.state = OutState::Offered(route);
        }
        false
    }

    /// Ends the queued folder offers to `peer`, whose client (`what`) has no folder
    /// transfers: nothing was offered yet, so nothing is sent.
    fn refuse_folders(&mut self, peer: &str, what: &str, out: &mut Out) {
        let folders: Vec<TransferId> = self
            .outgoing
            .iter()
            .filter(|(_, o)| o.peer == *peer && o.folder.is_some() && o.state == OutState::Queued)
            .map(|(id, _)| id.clone())
            .collect();
        for id in folders {
            self.outgoing.remove(&id);
            let reason = format!(
                "{what} peers cannot receive a folder; send its files, or an archive of it"
            );
            report_end(&id, TransferEnd::failed(reason), out);
        }
    }

    /// The receiver accepted: the bytes go on a data connection of their own.
    pub(super) fn on_accept(
        &mut self,
        peer: &PeerId,
        id: &TransferId,
        offset: u64,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) {
        if let Some((stream, job)) = self.sending_from(peer, id, offset, ctx, out) {
            out.push(Action::StartSend { stream, job });
        }
    }

    /// The receiver accepted our open offer `id` from `offset` (a `file_accept`, or an
    /// IPMsg `GETFILEDATA` on a connection of its own): the stream that sends the bytes,
    /// for the caller to start; `transfer_started` is said. `None` if there is no such
    /// open offer to `peer` (or it ended here, refused).
    pub fn sending_from(
        &mut self,
        peer: &PeerId,
        id: &TransferId,
        offset: u64,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) -> Option<(StreamId, SendJob)> {
        // Where a handshake last proved the peer (see `PeerTable::dial_addr`); the data
        // connection's own handshake proves it again. An IPMsg peer (no link port) is
        // where it was heard: it fetches the bytes itself.
        let addr = ctx.peers.dial_addr(peer).or_else(|| {
            ctx.peers
                .get(peer)
                .map(|p| std::net::SocketAddr::from((p.addr, p.port)))
        });
        let stream = self.next_stream();
        let rate_limit = self.settings.send_rate_limit;
        let Some(o) = self
            .outgoing
            .get_mut(id)
            .filter(|o| o.peer == *peer && matches!(o.state, OutState::Offered(_)))
        else {
            tracing::debug!(%peer, transfer_id = %id, "file_accept for no open offer");
            return None;
        };
        let (Some(addr), true) = (addr, offset <= o.size) else {
            let end = TransferEnd::failed(format!(
                "bad file_accept (offset {offset} of {} bytes)",
                o.size
            ));
            self.end_outgoing(id, end, true, ctx, out);
            return None;
        };
        if o.last_offset.is_some_and(|last| offset > last) {
            o.fruitless = 0; // the last try moved bytes
        }
        o.last_offset = Some(offset);
        o.state = OutState::Streaming(stream);
        let job = SendJob {
            transfer_id: id.to_string(),
            peer: peer.clone(),
            path: o.path.clone(),
            size: o.size,
            offset,
            addr,
            rate_limit,
            folder: o.folder.clone(),
        };
        let total = o.size;
        out.record(Record::TransferStarted(id.clone(), offset));
        out.emit(Event::TransferStarted {
            transfer_id: id.clone(),
            offset,
            total,
        });
        Some((stream, job))
    }

    /// The file an outgoing transfer sends.
    pub fn outgoing_path(&self, id: &TransferId) -> Option<&Path> {
        self.outgoing.get(id).map(|o| o.path.as_path())
    }

    /// Ends an outgoing transfer: stops its stream, tells the peer (if `tell` and it has
    /// a route) with a `file_cancel`, and reports.
    pub(super) fn end_outgoing(
        &mut self,
        id: &TransferId,
        end: TransferEnd,
        tell: bool,
        ctx: Ctx<'_>,
        out: &mut Out,
    ) {
        let Some(o) = self.outgoing.remove(id) else {
            return;
        };
        if let Some(stream) = o.stream() {
            out.push(Action::StopStream(stream));
        }
        if tell && let Some(route) = ctx.routes.route(&o.peer) {
            let cancel = LinkMsg::FileCancel {
                transfer_id: id.to_string(),
                reason: end.to_string(),
            };
            out.send(route, cancel);
        }
        report_end(id, end, out);
    }
}

/// Size, modification time (ns since the epoch) and first bytes of a file to send.
fn inspect(path: &Path) -> Result<(u64, u128, Vec<u8>), String> {
    let shown = path.display();
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut head = Vec::with_capacity(mime::SNIFF_LEN);
    let _ = file
        .by_ref()
        .take(mime::SNIFF_LEN as u64)
        .read_to_end(&mut head);
    Ok((meta.len(), mtime, head))
}

//! File transfers in the core: the state of every offer and stream, and the sending side.
//!
//! The core only decides; bytes move on the threads of `crate::net::transfer`, which
//! report back as inputs. A sent file goes: `send_file` → offer queued → `file_offer` on
//! the link (re-sent on the next link if that one drops before an answer) → `file_accept`
//! → a data connection streams it → the receiver's verdict. A stream that breaks is
//! tried again by the sender (`retry`); the receiving side is in `downloads` and
//! `resume`. Nothing here blocks: the only file system work on the core thread is a
//! `stat` and a 16-byte read of the file offered.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use super::core::Core;
use super::event::Event;
use crate::net::LinkId;
use crate::net::transfer::{self, SendJob, StreamThread};
use crate::protocol::{LinkMsg, hash, mime, sanitize};

/// Transfers each way that may be known at once (offers included).
pub(super) const MAX_TRANSFERS: usize = 256;

/// Every transfer the core knows, by transfer id.
#[derive(Default)]
pub(super) struct Transfers {
    pub(super) outgoing: HashMap<String, Outgoing>,
    pub(super) incoming: HashMap<String, super::downloads::Incoming>,
}

impl Transfers {
    /// Drops a transfer; `false` if it was not known.
    pub(super) fn forget(&mut self, transfer_id: &str, outgoing: bool) -> bool {
        if outgoing {
            self.outgoing.remove(transfer_id).is_some()
        } else {
            self.incoming.remove(transfer_id).is_some()
        }
    }

    /// Whether `peer` has offers waiting for a link (so the core should dial it).
    pub(super) fn wants_link(&self, peer: &str) -> bool {
        self.outgoing
            .values()
            .any(|o| o.peer == peer && matches!(o.state, OutState::Queued))
    }

    /// Peers with offers waiting for a link.
    pub(super) fn waiting_peers(&self) -> Vec<String> {
        let mut peers: Vec<String> = self
            .outgoing
            .values()
            .filter(|o| matches!(o.state, OutState::Queued))
            .map(|o| o.peer.clone())
            .collect();
        peers.sort();
        peers.dedup();
        peers
    }
}

/// A file we offered.
pub(super) struct Outgoing {
    pub(super) peer: String,
    pub(super) path: PathBuf,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) mime: String,
    pub(super) state: OutState,
    /// Broken tries in a row that moved no byte (see `retry`).
    pub(super) fruitless: u32,
    /// The offset of the last `file_accept`: a larger one means the last try moved bytes.
    pub(super) last_offset: Option<u64>,
}

impl Outgoing {
    /// The serial of the stream moving the bytes, if one is.
    pub(super) fn stream(&self) -> Option<u64> {
        match &self.state {
            OutState::Streaming { thread } => Some(thread.serial()),
            _ => None,
        }
    }
}

pub(super) enum OutState {
    /// Waiting for a link to carry the offer.
    Queued,
    /// Offered on this link; waiting for an answer.
    Offered(LinkId),
    /// Bytes are moving (the thread is joined when this is dropped).
    Streaming { thread: StreamThread },
    /// The stream broke: offered again at `at`, or as soon as a link other than `link`
    /// (the one up when it broke) comes up, which means the network is back.
    Waiting { at: Instant, link: Option<LinkId> },
}

impl Core {
    /// A file message on an established link.
    pub(super) fn on_file_msg(&mut self, link: LinkId, peer: &str, msg: LinkMsg) {
        match msg {
            LinkMsg::FileOffer {
                transfer_id,
                name,
                size,
                mime,
            } => {
                let offer = super::downloads::Offer {
                    transfer_id,
                    name,
                    size,
                    mime,
                };
                self.on_file_offer(link, peer, offer);
            }
            LinkMsg::FileAccept {
                transfer_id,
                offset,
            } => self.on_file_accept(peer, &transfer_id, offset),
            LinkMsg::FileDecline {
                transfer_id,
                reason,
            } => self.on_file_refused(peer, &transfer_id, &format!("declined: {reason}")),
            LinkMsg::FileCancel {
                transfer_id,
                reason,
            } => self.on_file_refused(peer, &transfer_id, &reason),
            LinkMsg::FileResume { transfer_id } => self.on_file_resume(link, peer, &transfer_id),
            other => self.close_link(link, &format!("{} frame on a link", other.kind())),
        }
    }

    /// `send_file`: checks the file, queues the offer and says `offer_sent`. The same
    /// unchanged file to the same peer is the same transfer: sent again while it waits
    /// or has failed, it is offered again at once (a resume).
    pub(super) fn send_file(&mut self, to: &str, path: &Path) {
        let peer = match self.peers.resolve(to) {
            Ok(p) => p.id.clone(),
            Err(e) => return self.emit(Event::error(format!("send_file: {e}"))),
        };
        let (transfer_id, out) = match self.outgoing_for(&peer, path) {
            Ok(v) => v,
            Err(e) => return self.emit(Event::error(format!("send_file: {e}"))),
        };
        if let Some(known) = self.transfers.outgoing.get_mut(&transfer_id) {
            if matches!(known.state, OutState::Waiting { .. }) {
                known.state = OutState::Queued;
                known.fruitless = 0;
            }
        } else if self.transfers.outgoing.len() >= MAX_TRANSFERS {
            return self.emit(Event::error(format!(
                "send_file: {MAX_TRANSFERS} transfers are under way; wait for some to finish"
            )));
        } else {
            self.transfers.outgoing.insert(transfer_id.clone(), out);
        }
        self.announce_offer(&transfer_id);
        self.pump_transfers(&peer);
    }

    /// Says `offer_sent` for a queued transfer and remembers where its file is, so it
    /// can be offered again after a restart.
    pub(super) fn announce_offer(&mut self, transfer_id: &str) {
        let Some(o) = self.transfers.outgoing.get(transfer_id) else {
            return;
        };
        let path = o.path.display().to_string();
        self.emit(Event::OfferSent {
            transfer_id: transfer_id.to_owned().into(),
            to: o.peer.clone().into(),
            name: o.name.clone(),
            size: o.size,
            mime: o.mime.clone(),
        });
        let now = super::core::now_ms();
        if let Err(e) = self.store.set_transfer_path(transfer_id, &path, now) {
            tracing::warn!("history: cannot record where {path} is: {e}");
        }
    }

    /// The id and a queued transfer of the file at `path` to `peer` (not yet inserted).
    /// The id is derived, never stored: the same unchanged file to the same peer always
    /// gets the same one, which is what lets a receiver find its `.part`, and a changed
    /// file (size or modification time) a new one.
    pub(super) fn outgoing_for(
        &self,
        peer: &str,
        path: &Path,
    ) -> Result<(String, Outgoing), String> {
        let (size, mtime, head) = inspect(path)?;
        let shown = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = sanitize::file_name(shown.as_deref().unwrap_or_default());
        let mime = mime::detect(&name, &head).to_owned();
        let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let transfer_id = hash::transfer_id(&[
            self.me.id.as_bytes(),
            peer.as_bytes(),
            full.to_string_lossy().as_bytes(),
            &size.to_le_bytes(),
            &mtime.to_le_bytes(),
        ]);
        let out = Outgoing {
            peer: peer.to_owned(),
            path: full,
            name,
            size,
            mime,
            state: OutState::Queued,
            fruitless: 0,
            last_offset: None,
        };
        Ok((transfer_id, out))
    }

    /// Puts queued offers for `peer` on its link, or dials it. Interrupted transfers go
    /// along when this link is not the one that was up when they broke.
    pub(super) fn pump_transfers(&mut self, peer: &str) {
        let Some(&link) = self.active.get(peer) else {
            if self.transfers.wants_link(peer) {
                self.maybe_dial(peer);
            }
            return;
        };
        let back: Vec<(String, u32)> = self
            .transfers
            .outgoing
            .iter()
            .filter(|(_, o)| o.peer == peer)
            .filter(
                |(_, o)| matches!(o.state, OutState::Waiting { link: l, .. } if l != Some(link)),
            )
            .map(|(id, o)| (id.clone(), o.fruitless))
            .collect();
        for (id, attempt) in back {
            self.requeue(&id, attempt);
        }
        let queued: Vec<(String, LinkMsg)> = self
            .transfers
            .outgoing
            .iter()
            .filter(|(_, o)| o.peer == peer && matches!(o.state, OutState::Queued))
            .map(|(id, o)| {
                let offer = LinkMsg::FileOffer {
                    transfer_id: id.clone(),
                    name: o.name.clone(),
                    size: o.size,
                    mime: o.mime.clone(),
                };
                (id.clone(), offer)
            })
            .collect();
        for (id, offer) in queued {
            if !self.send_on(link, &offer) {
                break;
            }
            if let Some(o) = self.transfers.outgoing.get_mut(&id) {
                o.state = OutState::Offered(link);
            }
        }
    }

    /// A link went down: offers it carried without an answer go out again on the next.
    pub(super) fn transfers_link_down(&mut self, link: LinkId) {
        for o in self.transfers.outgoing.values_mut() {
            if matches!(o.state, OutState::Offered(l) if l == link) {
                o.state = OutState::Queued;
            }
        }
    }

    /// The receiver accepted: open the data connection.
    pub(super) fn on_file_accept(&mut self, peer: &str, transfer_id: &str, offset: u64) {
        let addr = self
            .peers
            .get(peer)
            .map(|p| SocketAddr::from((p.addr, p.port)));
        let Some(o) = self
            .transfers
            .outgoing
            .get_mut(transfer_id)
            .filter(|o| o.peer == peer && matches!(o.state, OutState::Offered(_)))
        else {
            return tracing::debug!(%peer, transfer_id, "file_accept for no open offer");
        };
        let (Some(addr), true) = (addr, offset <= o.size) else {
            let reason = format!("bad file_accept (offset {offset} of {} bytes)", o.size);
            return self.fail_outgoing(transfer_id, &reason, true);
        };
        if o.last_offset.is_some_and(|last| offset > last) {
            o.fruitless = 0; // the last try moved bytes
        }
        o.last_offset = Some(offset);
        let job = SendJob {
            transfer_id: transfer_id.to_owned(),
            path: o.path.clone(),
            size: o.size,
            offset,
            addr,
            rate_limit: self.config.send_rate_limit,
        };
        let total = o.size;
        match transfer::spawn_send(job, self.input_tx.clone()) {
            Ok(thread) => o.state = OutState::Streaming { thread },
            Err(e) => return self.fail_outgoing(transfer_id, &format!("cannot start: {e}"), true),
        }
        self.emit(Event::TransferStarted {
            transfer_id: transfer_id.to_owned().into(),
            offset,
            total,
        });
    }

    /// `file_decline` or `file_cancel` from the peer, for either direction.
    pub(super) fn on_file_refused(&mut self, peer: &str, transfer_id: &str, why: &str) {
        if self
            .transfers
            .outgoing
            .get(transfer_id)
            .is_some_and(|o| o.peer == peer)
        {
            self.fail_outgoing(transfer_id, why, false);
        } else {
            self.cancel_incoming(peer, transfer_id, why, false);
        }
    }

    /// The `cancel` command.
    pub(super) fn cancel_transfer(&mut self, transfer_id: &str) {
        if self.transfers.outgoing.contains_key(transfer_id) {
            self.fail_outgoing(transfer_id, "cancelled", true);
        } else if let Some(peer) = self.incoming_peer(transfer_id) {
            self.cancel_incoming(&peer, transfer_id, "cancelled", true);
        } else if !self.cancel_remembered(transfer_id) {
            self.emit(Event::error(format!("cancel: no transfer {transfer_id}")));
        }
    }

    /// Ends an outgoing transfer: stops its thread, tells the peer if `tell`, reports.
    pub(super) fn fail_outgoing(&mut self, transfer_id: &str, reason: &str, tell: bool) {
        let Some(o) = self.transfers.outgoing.remove(transfer_id) else {
            return;
        };
        drop(o.state); // joins a streaming thread
        if tell && let Some(&link) = self.active.get(&o.peer) {
            let cancel = LinkMsg::FileCancel {
                transfer_id: transfer_id.to_owned(),
                reason: reason.to_owned(),
            };
            self.send_on(link, &cancel);
        }
        self.emit(Event::TransferFailed {
            transfer_id: transfer_id.to_owned().into(),
            reason: reason.to_owned(),
        });
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

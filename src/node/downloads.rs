//! The receiving side of file transfers: offers, accept and decline, the data connection,
//! and the `.part` files of unfinished downloads.
//!
//! Nothing is written before acceptance. On accept the core checks the size limit and
//! the free space, then creates `<name>.part` under a free name in the download folder
//! (or finds the `.part` of an earlier try of the same offer, and asks only for the rest).
//! The stream thread renames the `.part` to a free name once the hash over the whole file
//! matches. An offer that resumes a download accepted before (after a break, or a restart
//! of either side) is accepted at once: the user already said yes to it. What happens
//! after a break is in `resume`.

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;
use std::time::Instant;

use super::core::Core;
use super::event::Event;
use super::partial::{self, Partial};
use super::transfers::MAX_TRANSFERS;
use crate::net::Conn;
use crate::net::transfer::{self, RecvJob, StreamThread};
use crate::protocol::beacon::valid_id;
use crate::protocol::{LinkMsg, mime, sanitize};

/// A `file_offer` as it came off the wire (nothing in it is trusted yet).
pub(super) struct Offer {
    pub(super) transfer_id: String,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) mime: String,
}

/// A file offered to us.
pub(super) struct Incoming {
    pub(super) peer: String,
    name: String,
    pub(super) size: u64,
    pub(super) state: InState,
}

impl Incoming {
    /// The serial of the stream moving the bytes, if one is.
    pub(super) fn stream(&self) -> Option<u64> {
        match &self.state {
            InState::Streaming { thread } => Some(thread.serial()),
            _ => None,
        }
    }
}

pub(super) enum InState {
    /// Waiting for the user.
    Offered,
    /// Accepted; waiting for the data connection until `deadline`.
    Accepted {
        part: PathBuf,
        offset: u64,
        deadline: Instant,
    },
    /// Bytes are moving (the thread is joined when this is dropped).
    Streaming { thread: StreamThread },
    /// The stream broke; the bytes are kept and the sender's next offer is accepted at
    /// once, if it comes before `deadline`.
    Interrupted { deadline: Instant, reason: String },
}

impl Core {
    /// A peer offers a file.
    pub(super) fn on_file_offer(&mut self, link: crate::net::LinkId, peer: &str, offer: Offer) {
        let Offer {
            transfer_id,
            name: wire_name,
            size,
            mime: wire_mime,
        } = offer;
        let refuse = |reason: &str| LinkMsg::FileDecline {
            transfer_id: transfer_id.clone(),
            reason: reason.to_owned(),
        };
        if !valid_id(&transfer_id) {
            return self.close_link(link, "file_offer with an invalid transfer id");
        }
        if let Some(known) = self.transfers.incoming.get(&transfer_id) {
            if known.peer != peer {
                self.send_on(link, &refuse("transfer id in use"));
                return;
            }
            let wait = self.config.accept_timeout;
            match &mut self
                .transfers
                .incoming
                .get_mut(&transfer_id)
                .expect("known")
                .state
            {
                InState::Offered => return, // asked again after a link drop; still asking
                InState::Accepted {
                    offset, deadline, ..
                } => {
                    *deadline = Instant::now() + wait;
                    let again = LinkMsg::FileAccept {
                        transfer_id,
                        offset: *offset,
                    };
                    self.send_on(link, &again);
                    return;
                }
                // The sender tries again (a retry, a restart): resume from the bytes on
                // disk, without asking the user again.
                state @ (InState::Streaming { .. } | InState::Interrupted { .. }) => {
                    let was_streaming = matches!(state, InState::Streaming { .. });
                    *state = InState::Offered; // joins a stream thread: the .part is final
                    if was_streaming {
                        // Its stream broke before ours noticed: say so, as we would have.
                        self.emit(Event::TransferInterrupted {
                            transfer_id: transfer_id.clone().into(),
                            reason: "the sender started the stream over".to_owned(),
                            attempt: 0,
                            retry_in_ms: None,
                        });
                    }
                    return self.accept_offer(&transfer_id);
                }
            }
        }
        if self.transfers.incoming.len() >= MAX_TRANSFERS {
            self.send_on(link, &refuse("too many transfers under way"));
            return;
        }
        let name = sanitize::file_name(&wire_name);
        let mime = mime::from_wire(&wire_mime, &name);
        self.emit(Event::FileOffer {
            transfer_id: transfer_id.clone().into(),
            from: peer.to_owned().into(),
            name: name.clone(),
            size,
            mime,
        });
        let incoming = Incoming {
            peer: peer.to_owned(),
            name,
            size,
            state: InState::Offered,
        };
        self.transfers
            .incoming
            .insert(transfer_id.clone(), incoming);
        if let Some(max) = self.config.max_file_size.filter(|max| size > *max) {
            let reason = format!("the file is {size} bytes; the limit is {max} bytes");
            self.discard_partial(peer, &transfer_id);
            return self.decline_with(&transfer_id, &reason);
        }
        let (data, dl) = (&self.config.data_dir, &self.config.download_dir);
        let resumes = partial::resumable(data, dl, &transfer_id, peer, size).is_some();
        if self.config.auto_accept || resumes {
            self.accept_offer(&transfer_id);
        }
    }

    /// The `accept` command (or auto-accept).
    pub(super) fn accept_offer(&mut self, transfer_id: &str) {
        let Some(inc) = self.transfers.incoming.get(transfer_id) else {
            return self.emit(Event::error(format!("accept: no offer {transfer_id}")));
        };
        if !matches!(inc.state, InState::Offered) {
            return self.emit(Event::error(format!(
                "accept: {transfer_id} is already accepted"
            )));
        }
        let (peer, size, name) = (inc.peer.clone(), inc.size, inc.name.clone());
        let dir = self.config.download_dir.clone();
        let prepared = fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))
            .and_then(|()| self.prepare_part(transfer_id, &peer, &name, size));
        let (part, offset) = match prepared {
            Ok(p) => p,
            Err(reason) => return self.decline_with(transfer_id, &reason),
        };
        if let Err(reason) = check_space(&dir, size - offset) {
            if offset == 0 {
                partial::discard(&self.config.data_dir, transfer_id);
            }
            return self.decline_with(transfer_id, &reason);
        }
        let accept = LinkMsg::FileAccept {
            transfer_id: transfer_id.to_owned(),
            offset,
        };
        if let Some(&link) = self.active.get(&peer) {
            self.send_on(link, &accept);
        }
        if let Some(inc) = self.transfers.incoming.get_mut(transfer_id) {
            let deadline = Instant::now() + self.config.accept_timeout;
            inc.state = InState::Accepted {
                part,
                offset,
                deadline,
            };
        }
        self.emit(Event::TransferStarted {
            transfer_id: transfer_id.to_owned().into(),
            offset,
            total: size,
        });
    }

    /// The `.part` to write and the bytes it already holds: an earlier try's, or a new
    /// empty one under a free name (claimed with `create_new`, so two offers of one name
    /// never share a file), with its resume note.
    fn prepare_part(
        &self,
        transfer_id: &str,
        peer: &str,
        name: &str,
        size: u64,
    ) -> Result<(PathBuf, u64), String> {
        let (data, dir) = (&self.config.data_dir, &self.config.download_dir);
        if let Some((p, offset)) = partial::resumable(data, dir, transfer_id, peer, size) {
            tracing::info!(transfer_id, offset, part = %p.part.display(), "resuming");
            return Ok((p.part, offset));
        }
        match partial::read(data, transfer_id) {
            // Another peer's download has this id: never replace its note or bytes.
            Some(p) if p.from != peer => return Err("transfer id in use".to_owned()),
            // Ours, but not resumable (another folder, another size): its .part would
            // never be finished, so it goes before the new note replaces this one.
            Some(_) => partial::discard(data, transfer_id),
            None => {}
        }
        for candidate in sanitize::candidates(name) {
            let part = dir.join(format!("{candidate}.part"));
            if dir.join(&candidate).exists() {
                continue; // the final name is taken: keep the pair together
            }
            match File::options().write(true).create_new(true).open(&part) {
                Ok(_) => {
                    let note = Partial {
                        part: part.clone(),
                        from: peer.to_owned(),
                        size,
                    };
                    partial::save(data, transfer_id, &note).map_err(|e| {
                        let _ = fs::remove_file(&part);
                        format!("cannot write the resume note in {}: {e}", data.display())
                    })?;
                    return Ok((part, 0));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create {}: {e}", part.display())),
            }
        }
        Err(format!("no free name for {name} in {}", dir.display()))
    }

    /// The `decline` command.
    pub(super) fn decline_offer(&mut self, transfer_id: &str) {
        match self.transfers.incoming.get(transfer_id) {
            Some(inc) if matches!(inc.state, InState::Offered) => {
                let peer = inc.peer.clone();
                self.discard_partial(&peer, transfer_id);
                self.decline_with(transfer_id, "declined");
            }
            Some(_) => self.emit(Event::error(format!(
                "decline: {transfer_id} is already accepted; use cancel"
            ))),
            None => self.emit(Event::error(format!("decline: no offer {transfer_id}"))),
        }
    }

    /// Deletes the `.part` and note of an earlier try of this offer, if `peer` made it.
    fn discard_partial(&self, peer: &str, transfer_id: &str) {
        if partial::resumable_from(&self.config.data_dir, transfer_id, peer) {
            partial::discard(&self.config.data_dir, transfer_id);
        }
    }

    /// Answers an offer with `file_decline` and reports it failed; keeps any `.part`.
    fn decline_with(&mut self, transfer_id: &str, reason: &str) {
        let Some(inc) = self.transfers.incoming.remove(transfer_id) else {
            return;
        };
        if let Some(&link) = self.active.get(&inc.peer) {
            let decline = LinkMsg::FileDecline {
                transfer_id: transfer_id.to_owned(),
                reason: reason.to_owned(),
            };
            self.send_on(link, &decline);
        }
        self.emit(Event::TransferFailed {
            transfer_id: transfer_id.to_owned().into(),
            reason: reason.to_owned(),
        });
    }

    /// Stops an incoming transfer and deletes what it wrote. `tell`: we cancelled, so the
    /// peer is told; otherwise the peer cancelled.
    pub(super) fn cancel_incoming(&mut self, peer: &str, transfer_id: &str, why: &str, tell: bool) {
        if !valid_id(transfer_id) {
            return; // never a file name made from a bad id
        }
        let known = self
            .transfers
            .incoming
            .get(transfer_id)
            .is_some_and(|i| i.peer == peer);
        let inc = if known {
            self.transfers.incoming.remove(transfer_id)
        } else {
            None
        };
        drop(inc); // joins a streaming thread, which closes the .part
        let noted = partial::resumable_from(&self.config.data_dir, transfer_id, peer);
        if known || noted {
            partial::discard(&self.config.data_dir, transfer_id);
        }
        // A download we no longer track (it failed) but whose bytes we kept: cancelling
        // it is still news to both sides.
        if !(known || tell && noted) {
            return;
        }
        if tell && let Some(&link) = self.active.get(peer) {
            let cancel = LinkMsg::FileCancel {
                transfer_id: transfer_id.to_owned(),
                reason: why.to_owned(),
            };
            self.send_on(link, &cancel);
        }
        let reason = if tell {
            why.to_owned()
        } else {
            format!("cancelled by the sender: {why}")
        };
        self.emit(Event::TransferFailed {
            transfer_id: transfer_id.to_owned().into(),
            reason,
        });
    }

    /// A connection opened with `file_data`: the bytes of an accepted offer.
    pub(super) fn on_file_data(&mut self, conn: Conn, (transfer_id, offset): (String, u64)) {
        let remote = conn.remote();
        let Some(inc) = self.transfers.incoming.get_mut(&transfer_id) else {
            return tracing::info!(%remote, transfer_id, "file_data for no accepted offer");
        };
        let from_peer = self
            .peers
            .get(&inc.peer)
            .is_some_and(|p| std::net::IpAddr::V4(p.addr) == remote.ip());
        let InState::Accepted {
            part, offset: want, ..
        } = &inc.state
        else {
            return tracing::info!(%remote, transfer_id, "file_data for an offer not accepted");
        };
        if !from_peer || *want != offset {
            return tracing::info!(%remote, transfer_id, "file_data from the wrong peer or offset");
        }
        let job = RecvJob {
            transfer_id: transfer_id.clone(),
            part: part.clone(),
            sidecar: partial::note_path(&self.config.data_dir, &transfer_id),
            // Where it was accepted, even if the download folder changed since.
            dir: part.parent().map(PathBuf::from).unwrap_or_default(),
            name: inc.name.clone(),
            size: inc.size,
            offset,
        };
        match transfer::spawn_recv(job, conn, self.input_tx.clone()) {
            Ok(thread) => inc.state = InState::Streaming { thread },
            Err(e) => tracing::warn!("cannot start receiving {transfer_id}: {e}"),
        }
    }
}

/// Refuses when the download folder's file system has less than `need` bytes free
/// (plus a small margin, so the disk is never filled to the last byte).
fn check_space(dir: &std::path::Path, need: u64) -> Result<(), String> {
    const MARGIN: u64 = 16 << 20;
    match fs4::available_space(dir) {
        Ok(free) if free < need.saturating_add(MARGIN) => Err(format!(
            "not enough free space in {}: {need} bytes needed, {free} free",
            dir.display()
        )),
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!("cannot tell free space in {}: {e}", dir.display());
            Ok(())
        }
    }
}

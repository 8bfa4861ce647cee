//! What we send IPMsg peers: a message the chat part writes on an IPMsg route becomes
//! `SENDMSG|SENDCHECKOPT` (several, if long), its ack `RECVMSG`, a file offer
//! `SENDMSG|FILEATTACHOPT`, an accept a pull (`GETFILEDATA`, by the port), a decline or
//! a cancel `RELEASEFILES`, a receiver's Retry the offer again. And the timers: retries,
//! peers that never answer, pulls tried again.

use std::net::SocketAddrV4;
use std::path::Path;

use super::files::{Job, Landing};
use super::sending::{Carries, Due, TEXT_BUDGET, split};
use super::{Ipmsg, News};
use crate::net::ipmsg::FetchJob;
use crate::net::transfer::{RecvJob, StreamId};
use crate::node::clock::Now;
use crate::node::event::LeftReason;
use crate::node::out::{Out, Route};
use crate::protocol::ipmsg::{Charset, Command, FileInfo, FileRequest, Mode, Opt, Payload};
use crate::protocol::{LinkMsg, MsgId, PeerId, TransferId};

use super::wire::message_encoding;

/// What carrying a message on an IPMsg route left for the core to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Carried {
    /// Nothing more: the packets are in `out`.
    Done,
    /// We accepted an offer: pull its bytes from `offset` (the transfers part makes the
    /// `.part`; [`Ipmsg::fetch_job`] makes the request).
    Fetch {
        /// The transfer.
        transfer: TransferId,
        /// Bytes already in the `.part`.
        offset: u64,
    },
    /// The receiver's Retry of a download from an IPMsg peer: hand the transfers part
    /// the peer's offer again, as a sender's repeated offer (it resumes).
    Reoffer(LinkMsg),
}

impl Ipmsg {
    /// Writes `msg` to the IPMsg peer at `to` (see the module documentation).
    pub fn carry(&mut self, to: SocketAddrV4, msg: LinkMsg, now: Now, out: &mut Out) -> Carried {
        match msg {
            LinkMsg::Chat { msg_id, text, .. } => {
                self.send_text(to, msg_id.into(), &text, now, out)
            }
            LinkMsg::Ack { msg_id } => self.ack(to, &msg_id, out),
            LinkMsg::FileAccept {
                transfer_id,
                offset,
            } => {
                return Carried::Fetch {
                    transfer: transfer_id.into(),
                    offset,
                };
            }
            LinkMsg::FileDecline { transfer_id, .. } => self.release(&transfer_id.into(), out),
            LinkMsg::FileCancel { transfer_id, .. } => {
                let id = TransferId::from(transfer_id);
                if self.files.offer(&id).is_some() {
                    self.release(&id, out);
                } else {
                    self.files.withdraw(&id); // ours: never served from now on
                }
            }
            LinkMsg::FileResume { transfer_id } => {
                let id = TransferId::from(transfer_id);
                if let Some(o) = self.files.offer(&id) {
                    let again = LinkMsg::FileOffer {
                        transfer_id: id.to_string(),
                        name: o.name.clone(),
                        size: o.size,
                        mime: String::new(),
                        folder: None,
                        room: None,
                    };
                    self.files.refetch_reset(&id);
                    return Carried::Reoffer(again);
                }
            }
            other => tracing::debug!("IPMsg: nothing to write for {} to {to}", other.kind()),
        }
        Carried::Done
    }

    /// A message: one `SENDMSG|SENDCHECKOPT` per piece (long texts are cut between
    /// characters), each waiting for its `RECVMSG`.
    fn send_text(&mut self, to: SocketAddrV4, msg: MsgId, text: &str, now: Now, out: &mut Out) {
        let Some(p) = self.peers.at(*to.ip()).filter(|p| p.online) else {
            return; // gone meanwhile: the outbox keeps it for its next route
        };
        let (cs, utf8) = message_encoding(p.cap_utf8, p.charset);
        let peer = p.id.clone();
        let opts: Vec<Opt> = [Some(Opt::SendCheck), utf8].into_iter().flatten().collect();
        for piece in split(text, cs, TEXT_BUDGET) {
            let payload = Payload::Message {
                text: piece,
                files: Vec::new(),
            };
            let packet = self
                .face
                .packet(Command::new(Mode::SendMsg, &opts), payload, cs);
            self.sent_message(to, packet.packet_no);
            self.push(to, &packet, "SENDMSG", out);
            self.sending
                .start(&peer, to, Carries::Chat(msg.clone()), packet, now.at);
        }
    }

    /// Remembers the number of the last message to the peer at `to`.
    fn sent_message(&mut self, to: SocketAddrV4, no: u32) {
        if let Some(p) = self.peers.at_mut(*to.ip()) {
            p.last_sent = no;
        }
    }

    /// `RECVMSG` for the message the chat part stored as `msg`, if its sender asked.
    pub(super) fn ack(&mut self, to: SocketAddrV4, msg: &str, out: &mut Out) {
        let Some(p) = self.peers.at(*to.ip()) else {
            return;
        };
        let Some(r) = p.to_ack(msg).filter(|r| r.ack) else {
            return; // no SENDCHECKOPT, or a broadcast or auto-reply: never acknowledged
        };
        let (no, cs) = (r.no, p.charset.unwrap_or(Charset::Utf8));
        let packet = self
            .face
            .packet(Command::new(Mode::RecvMsg, &[]), Payload::Ack(no), cs);
        self.push(to, &packet, "RECVMSG", out);
    }

    /// Offers transfer `id` (`name`, `size` bytes, modified at `mtime`, seconds since
    /// the Unix epoch) to the peer at `to`, unless it is offered there already (after a
    /// broken stream the offer stands: the receiver pulls again).
    pub fn offer_file(
        &mut self,
        to: SocketAddrV4,
        id: &TransferId,
        (name, size, mtime): (&str, u64, u64),
        now: Now,
        out: &mut Out,
    ) {
        let Some(p) = self.peers.at(*to.ip()).filter(|p| p.online) else {
            return;
        };
        let peer = p.id.clone();
        let (cs, utf8) = message_encoding(p.cap_utf8, p.charset);
        let (file_id, new) = self.files.offer_out(id, &peer, *to.ip());
        if !new {
            return;
        }
        let opts: Vec<Opt> = [Some(Opt::SendCheck), Some(Opt::FileAttach), utf8]
            .into_iter()
            .flatten()
            .collect();
        let payload = Payload::Message {
            text: String::new(),
            files: vec![FileInfo::regular(file_id, name, size, mtime)],
        };
        let packet = self
            .face
            .packet(Command::new(Mode::SendMsg, &opts), payload, cs);
        self.files.offer_numbers(id, [packet.packet_no]);
        self.sent_message(to, packet.packet_no);
        self.push(to, &packet, "SENDMSG (file offer)", out);
        self.sending
            .start(&peer, to, Carries::Offer(id.clone()), packet, now.at);
    }

    /// `RELEASEFILES` for an offer made to us (we will not fetch it), which is forgotten.
    fn release(&mut self, id: &TransferId, out: &mut Out) {
        let Some(o) = self.files.drop_offer(id) else {
            return;
        };
        let cs = self
            .peers
            .at(*o.from.ip())
            .and_then(|p| p.charset)
            .unwrap_or(Charset::Utf8);
        let packet = self.face.packet(
            Command::new(Mode::ReleaseFiles, &[]),
            Payload::Release(o.packet_no),
            cs,
        );
        self.push(o.from, &packet, "RELEASEFILES", out);
    }

    /// The pull of an accepted offer, as `stream`, into the `.part` the transfers part
    /// prepared (`recv`): the request packet and where to connect. `None` if the offer is
    /// not known (any more).
    pub fn fetch_job(&mut self, stream: StreamId, recv: &RecvJob) -> Option<FetchJob> {
        let id = TransferId::from(recv.transfer_id.as_str());
        let o = self.files.offer(&id)?.clone();
        let cs = self
            .peers
            .at(*o.from.ip())
            .and_then(|p| p.charset)
            .unwrap_or(Charset::Utf8);
        let opts: &[Opt] = if o.utf8 { &[Opt::Utf8] } else { &[] };
        let ask = Payload::GetFileData(FileRequest::new(o.packet_no, o.file_id, recv.offset));
        let packet = self
            .face
            .packet(Command::new(Mode::GetFileData, opts), ask, cs);
        let request = packet.encode().ok()?;
        self.files.started(
            stream,
            Job {
                transfer: id,
                path: recv.part.clone(),
                offset: recv.offset,
                landing: Some(Landing {
                    part: recv.part.clone(),
                    dir: recv.dir.clone(),
                    name: recv.name.clone(),
                    note: recv.sidecar.clone(),
                }),
            },
        );
        Some(FetchJob {
            job: stream.0,
            addr: o.from,
            request,
            part: recv.part.clone(),
            size: o.size,
            offset: recv.offset,
        })
    }

    /// Which of our offers a `GETFILEDATA` from `from` asks for, if any was made to
    /// that address (else it is counted as refused).
    pub fn requested(
        &mut self,
        from: SocketAddrV4,
        req: &FileRequest,
    ) -> Option<(PeerId, TransferId)> {
        let found = self.files.requested(*from.ip(), req);
        if found.is_none() {
            self.counters.refuse_request("not_offered");
        }
        found
    }

    /// A serving thread started for transfer `id`, as `stream`, sending `path` from
    /// `offset`.
    pub fn serving(&mut self, stream: StreamId, id: TransferId, path: &Path, offset: u64) {
        self.files.started(
            stream,
            Job {
                transfer: id,
                path: path.to_path_buf(),
                offset,
                landing: None,
            },
        );
    }

    /// The file thread `stream`, if it is one of ours.
    pub fn job(&self, stream: StreamId) -> Option<&Job> {
        self.files.job(stream)
    }

    /// The file thread `stream` ended; what it was. A finished pull forgets the offer,
    /// a finished serve withdraws ours (it is never served again).
    pub fn job_ended(&mut self, stream: StreamId, done: bool) -> Option<Job> {
        let job = self.files.ended(stream)?;
        match (done, job.landing.is_some()) {
            (true, true) => drop(self.files.drop_offer(&job.transfer)),
            (true, false) => self.files.withdraw(&job.transfer),
            (false, _) => {}
        }
        Some(job)
    }

    /// A pull of `id` broke: when it is tried again by itself, if it is.
    pub fn pull_broke(
        &mut self,
        id: &TransferId,
        moved: bool,
        now: Now,
    ) -> Option<std::time::Duration> {
        if moved {
            self.files.refetch_reset(id);
        }
        self.files.refetch_later(id, now.at)
    }

    /// Timer work at `now`: retries (the same number, or a new one if something was sent
    /// to the peer since), peers that left every try unanswered ([`News::Left`], reason
    /// `timeout`), and broken pulls whose wait is over (their offer again, for the
    /// transfers part to resume).
    pub fn tick(&mut self, now: Now, out: &mut Out) -> Vec<News> {
        let mut news = Vec::new();
        for due in self.sending.due(now.at) {
            match due {
                Due::Resend { key, peer, number } => self.resend(key, &peer, number, now, out),
                Due::GiveUp(peer) => {
                    self.sending.forget_peer(&peer);
                    let Some(p) = self.peers.by_id_mut(&peer) else {
                        continue;
                    };
                    p.online = false;
                    tracing::info!(%peer, "IPMsg peer never acknowledged: taken for gone");
                    news.push(News::Left {
                        peer,
                        route: Route::Ipmsg(p.addr),
                        reason: LeftReason::Timeout,
                    });
                }
            }
        }
        for id in self.files.refetch_due(now.at) {
            let Some(o) = self.files.offer(&id) else {
                continue;
            };
            let Some(route) = self.route(&o.peer) else {
                continue; // offline: Retry, or its deadline
            };
            news.push(News::File {
                peer: o.peer.clone(),
                route,
                msg: LinkMsg::FileOffer {
                    transfer_id: id.to_string(),
                    name: o.name.clone(),
                    size: o.size,
                    mime: String::new(),
                    folder: None,
                    room: None,
                },
            });
        }
        news
    }

    fn resend(&mut self, key: u64, peer: &PeerId, number: u32, now: Now, out: &mut Out) {
        let last = self.peers.by_id(peer).map_or(0, |p| p.last_sent);
        let renumber = (last != number).then(|| self.face.next_number());
        if let (Some(no), Some(p)) = (renumber, self.peers.by_id_mut(peer)) {
            p.last_sent = no;
        }
        let Some((to, packet)) = self.sending.resend(key, renumber, now.at) else {
            return;
        };
        let packet = packet.clone();
        if let Payload::Message { files, .. } = &packet.payload
            && !files.is_empty()
        {
            for id in self.files.ours_in_packet(peer, number) {
                self.files.offer_numbers(&id, [packet.packet_no]);
            }
        }
        self.push(to, &packet, "SENDMSG (again)", out);
    }
}

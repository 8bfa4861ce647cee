//! IPMsg in the core: what the IPMsg sockets hear goes to the IPMsg part, and its
//! [`News`] to the other parts as if it came from lanchat peers (a sighting for
//! presence, chats and acks for chat, file messages for transfers); what chat and
//! transfers write on a [`Route::Ipmsg`] goes back to the part, which writes IPMsg
//! packets; file bytes move on the port's threads, and their reports become the
//! transfers part's.
//!
//! The only IPMsg-specific decisions here are the ones between parts: a pull starts
//! once transfers has made the `.part`, a `GETFILEDATA` is served only when both the
//! IPMsg part (offered to that address) and transfers (an open offer) agree, and a
//! finished pull is renamed here (no hash to check: IPMsg has none).

use std::net::{IpAddr, SocketAddrV4, TcpStream};

use super::Core;
use crate::net::Port;
use crate::net::ipmsg::{FileEvent, FileReport, IpmsgInput, ServeJob};
use crate::net::transfer::{FailureKind, StreamId, TransferReport, promote};
use crate::node::chat::Answer;
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::ipmsg::{Carried, Ipmsg, Me, News};
use crate::node::out::Route;
use crate::node::peer::Protocol;
use crate::node::presence::{self, Observed, Sighting};
use crate::protocol::ipmsg::{FileRequest, IpmsgError, Packet};
use crate::protocol::{LinkMsg, TransferId};

/// The IPMsg part for us, on when the port has IPMsg sockets bound at `local`.
pub(super) fn part(me: &presence::Me, local: Option<SocketAddrV4>, now: Now) -> Ipmsg {
    let user = login_name();
    let face = Me {
        id: &me.id,
        user: &user,
        host: &me.host,
        nick: &me.name,
    };
    let first = u32::try_from(now.wall / 1000).unwrap_or(u32::MAX / 2);
    Ipmsg::new(&face, local.map(|a| a.port()), first, now.at)
}

/// Our login name for IPMsg's header (what iptux shows beside the nickname).
fn login_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "lanchat".to_owned())
}

impl<P: Port> Core<P> {
    /// At start, after `ready`: says why IPMsg is off if it was asked for and could not
    /// start (once), or `BR_ENTRY` to every broadcast target.
    pub(super) fn ipmsg_start(&mut self, problem: Option<String>) {
        if let Some(problem) = problem {
            let e = format!("IPMsg is off: {problem}; lanchat goes on without it");
            self.out.emit(Event::error(e));
        }
        let targets = self.ipmsg_targets();
        self.ipmsg.start(targets, &mut self.out);
    }

    /// Where IPMsg broadcasts go: the interfaces lanchat's own beacons use, on IPMsg's
    /// port (only 127.255.255.255 when confined to loopback).
    pub(super) fn ipmsg_targets(&self) -> Vec<SocketAddrV4> {
        let Some(local) = self.port.sockets().ipmsg.local else {
            return Vec::new();
        };
        let loopback = self.presence.loopback_only();
        let interfaces = self.presence.targets().0;
        crate::net::ipmsg::broadcast_targets(loopback, local.port(), interfaces)
    }

    /// What the IPMsg threads said.
    pub(super) fn on_ipmsg(&mut self, input: IpmsgInput, now: Now) {
        match input {
            IpmsgInput::Datagram { from, len, packet } => {
                self.ipmsg_datagram_in(from, len, packet, now);
            }
            IpmsgInput::FileRequest {
                stream,
                peer,
                packet,
                request,
            } => self.on_file_request(stream, peer, &packet, &request, now),
            IpmsgInput::File(report) => self.on_ipmsg_file(report, now),
        }
    }

    fn ipmsg_datagram_in(
        &mut self,
        from: SocketAddrV4,
        len: usize,
        packet: Result<Packet, IpmsgError>,
        now: Now,
    ) {
        let summary = match &packet {
            Ok(p) => format!(
                "IPMsg {} #{} from {}",
                p.command.mode().label(),
                p.packet_no,
                p.user
            ),
            Err(e) => format!("dropped: IPMsg {}", e.label()),
        };
        self.traffic.log(now.wall, "in", "udp", from, len, summary);
        let news = self.ipmsg.on_datagram(from, packet, now, &mut self.out);
        self.ipmsg_news(news, now);
    }

    /// Routes what the IPMsg part heard to the parts it concerns.
    fn ipmsg_news(&mut self, news: Vec<News>, now: Now) {
        for n in news {
            match n {
                News::Seen(s) => {
                    let seen = Sighting {
                        id: &s.id,
                        protocol: Protocol::Ipmsg,
                        instance: "",
                        name: &s.name,
                        host: &s.host,
                        group: &s.group,
                        addr: s.addr,
                        port: 0,
                        status: s.status,
                        timeout: None, // IPMsg never re-announces: only BR_EXIT ends it
                        key: None,     // IPMsg has no keys: never verified, never encrypted
                    };
                    match self.presence.on_sighting(&seen, now, &mut self.out) {
                        Observed::Refused => self.ipmsg.counters_mut().drop_datagram("table_full"),
                        Observed::Same => {}
                        _ => self.peer_reachable(&s.id, now),
                    }
                }
                News::Left {
                    peer,
                    route,
                    reason,
                } => {
                    self.chat.route_down(route);
                    self.transfers.route_down(route);
                    self.presence.went_offline(&peer, reason, &mut self.out);
                }
                News::Chat(chat) => self.burst_done(vec![chat], Vec::new(), now),
                News::Acked(peer, msg_id) => {
                    self.burst_done(Vec::new(), vec![Answer::Ack { peer, msg_id }], now)
                }
                News::File {
                    peer,
                    route,
                    mut msg,
                } => {
                    self.vet_offer_room(&peer, &mut msg);
                    let then = self.transfers.on_message(
                        route,
                        &peer,
                        msg,
                        ctx!(self, now),
                        &mut self.out,
                    );
                    self.then(then, now);
                }
                News::Refused(words) => self.out.emit(Event::error(words)),
            }
            self.carry_out(now);
        }
    }

    /// Carries a message the chat or transfers part wrote on an IPMsg route.
    pub(super) fn send_ipmsg(&mut self, to: SocketAddrV4, msg: LinkMsg, now: Now) {
        if let LinkMsg::FileOffer {
            transfer_id,
            name,
            size,
            ..
        } = &msg
        {
            let id = TransferId::from(transfer_id.as_str());
            let mtime = self.transfers.outgoing_path(&id).map_or(0, mtime_secs);
            let file = (name.as_str(), *size, mtime);
            return self.ipmsg.offer_file(to, &id, file, now, &mut self.out);
        }
        match self.ipmsg.carry(to, msg, now, &mut self.out) {
            Carried::Done => {}
            Carried::Fetch { transfer, offset } => self.ipmsg_pull(to, &transfer, offset, now),
            Carried::Reoffer(offer) => {
                let Some(peer) = self.ipmsg.peer_at(to) else {
                    return;
                };
                let ctx = ctx!(self, now);
                let then =
                    self.transfers
                        .on_message(Route::Ipmsg(to), &peer, offer, ctx, &mut self.out);
                self.then(then, now);
            }
        }
    }

    /// Starts pulling an accepted offer from the IPMsg peer at `from`, into the `.part`
    /// the transfers part prepared.
    fn ipmsg_pull(&mut self, from: SocketAddrV4, id: &TransferId, offset: u64, now: Now) {
        // IPMsg has no handshake: the peer is the one heard at that address.
        let Some(peer) = self.ipmsg.peer_at(from) else {
            return;
        };
        let ip = IpAddr::V4(*from.ip());
        let Some((stream, recv)) = self.transfers.on_file_data((ip, &peer), id, offset) else {
            return;
        };
        let started = match self.ipmsg.fetch_job(stream, &recv) {
            Some(job) => self
                .port
                .ipmsg_fetch(stream, job)
                .map_err(|e| e.to_string()),
            None => Err("the IPMsg peer's offer is no longer known".to_owned()),
        };
        if let Err(reason) = started {
            tracing::warn!(transfer_id = %id, "cannot pull from {from}: {reason}");
            self.ipmsg.job_ended(stream, false);
            let ctx = ctx!(self, now);
            self.transfers
                .stream_failed(stream, &reason, ctx, &mut self.out);
        }
    }

    /// A `GETFILEDATA` on the IPMsg TCP port: served only for a file offered to that
    /// address whose offer is open; otherwise the connection is dropped (closed) and the
    /// refusal counted.
    fn on_file_request(
        &mut self,
        conn: TcpStream,
        from: SocketAddrV4,
        packet: &Packet,
        request: &FileRequest,
        now: Now,
    ) {
        let what = format!(
            "IPMsg GETFILEDATA from {} at {}",
            packet.user, request.offset
        );
        self.traffic.log(now.wall, "in", "tcp", from, 0, what);
        let Some((peer, id)) = self.ipmsg.requested(from, request) else {
            tracing::info!("IPMsg: refused a GETFILEDATA from {from}: nothing offered to it");
            return;
        };
        let ctx = ctx!(self, now);
        let Some((stream, job)) =
            self.transfers
                .sending_from(&peer, &id, request.offset, ctx, &mut self.out)
        else {
            self.ipmsg.counters_mut().refuse_request("not_open");
            return;
        };
        self.ipmsg
            .serving(stream, id.clone(), &job.path, job.offset);
        let serve = ServeJob {
            job: stream.0,
            path: job.path,
            size: job.size,
            offset: job.offset,
        };
        if let Err(e) = self.port.ipmsg_serve(stream, serve, conn) {
            tracing::warn!(transfer_id = %id, "cannot serve {from}: {e}");
            self.ipmsg.counters_mut().refuse_request("failed");
            self.ipmsg.job_ended(stream, false);
            let ctx = ctx!(self, now);
            self.transfers
                .stream_failed(stream, &e.to_string(), ctx, &mut self.out);
        }
    }

    /// An IPMsg file thread's report, as the transfers part's: a finished pull is
    /// renamed from its `.part` first; a broken pull is tried again by itself.
    fn on_ipmsg_file(&mut self, report: FileReport, now: Now) {
        let stream = StreamId(report.job);
        let outgoing = report.outgoing;
        let failed_at = match &report.event {
            FileEvent::Failed { bytes, .. } => Some(*bytes),
            _ => None,
        };
        let (id, done) = match &report.event {
            FileEvent::Progress { .. } => {
                (self.ipmsg.job(stream).map(|j| j.transfer.clone()), false)
            }
            FileEvent::Done { .. } => (None, true),
            FileEvent::Failed { .. } => (None, false),
        };
        if let FileEvent::Progress { bytes } = report.event {
            let Some(id) = id else { return };
            let progress = TransferReport::Progress {
                transfer_id: id.into_string(),
                outgoing,
                bytes,
                files: None,
            };
            return self
                .transfers
                .on_report(progress, ctx!(self, now), &mut self.out);
        }
        let Some(job) = self.ipmsg.job_ended(stream, done) else {
            return; // stopped: its transfer was cancelled or replaced
        };
        let transfer_id = job.transfer.to_string();
        let ended = match report.event {
            FileEvent::Done { .. } => match &job.landing {
                None => Ok(job.path.clone()),
                Some(l) => promote(&l.part, &l.dir, &l.name).inspect(|_| {
                    let _ = std::fs::remove_file(&l.note);
                }),
            }
            .map_err(|reason| (reason, FailureKind::Local)),
            FileEvent::Failed { reason, broken, .. } => {
                let kind = if broken {
                    FailureKind::Broken
                } else {
                    FailureKind::Local
                };
                Err((reason, kind))
            }
            FileEvent::Progress { .. } => unreachable!("handled above"),
        };
        let report = match ended {
            Ok(path) => TransferReport::Done {
                transfer_id,
                outgoing,
                stream,
                path,
            },
            Err((reason, kind)) => TransferReport::Failed {
                transfer_id,
                outgoing,
                stream,
                reason,
                kind,
            },
        };
        let broken_pull = matches!(
            &report,
            TransferReport::Failed {
                kind: FailureKind::Broken,
                outgoing: false,
                ..
            }
        );
        self.transfers
            .on_report(report, ctx!(self, now), &mut self.out);
        if broken_pull {
            let moved = failed_at.is_some_and(|b| b > job.offset);
            if let Some(wait) = self.ipmsg.pull_broke(&job.transfer, moved, now) {
                tracing::info!(transfer_id = %job.transfer, "pulling again in {wait:?}");
            }
        }
    }

    /// Carries one IPMsg datagram out, counting and logging it.
    pub(super) fn ipmsg_datagram(
        &mut self,
        to: SocketAddrV4,
        bytes: &[u8],
        summary: String,
        now: Now,
    ) {
        match self.port.ipmsg_send(to, bytes) {
            Ok(()) => {
                self.ipmsg.counters_mut().packets_sent += 1;
                self.traffic
                    .log(now.wall, "out", "udp", to, bytes.len(), summary);
            }
            Err(e) => tracing::warn!("IPMsg: cannot send {summary} to {to}: {e}"),
        }
    }

    /// IPMsg's timers: retries, peers that never answered, pulls tried again.
    pub(super) fn ipmsg_tick(&mut self, now: Now) {
        let news = self.ipmsg.tick(now, &mut self.out);
        self.carry_out(now);
        self.ipmsg_news(news, now);
    }
}

/// Seconds since the Unix epoch that `path` was last modified (0 if unknown): the
/// `mtime` of an IPMsg offer, which the receiver gives the file it stores.
fn mtime_secs(path: &std::path::Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

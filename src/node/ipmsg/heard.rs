//! What a packet from an IPMsg peer means: who it is (every packet's header names its
//! user and host), an entry (nickname, group, away, whether it reads UTF-8; a `BR_ENTRY`
//! is answered), a departure, a message and the files offered with it, an
//! acknowledgement, a declined offer.

use std::net::SocketAddrV4;

use super::peers::Met;
use super::{Ipmsg, News, Seen, clean, wire};
use crate::node::chat::InChat;
use crate::node::clock::Now;
use crate::node::event::LeftReason;
use crate::node::out::{Out, Route};
use crate::protocol::ipmsg::{
    Charset, Command, FileInfo, FileKind, IpmsgError, Mode, Opt, Packet, Payload,
};
use crate::protocol::{DeclineCode, LinkMsg, PeerId, sanitize};

impl Ipmsg {
    /// A datagram on the IPMsg port, parsed (or refused) by its reader thread: what it
    /// means for the other parts. Answers (`ANSENTRY`, a question to a stranger) are
    /// pushed into `out`.
    pub fn on_datagram(
        &mut self,
        from: SocketAddrV4,
        packet: Result<Packet, IpmsgError>,
        now: Now,
        out: &mut Out,
    ) -> Vec<News> {
        let mut news = Vec::new();
        let packet = match packet {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!("IPMsg: dropped a datagram from {from}: {e}");
                self.counters.drop_datagram(e.label());
                return news;
            }
        };
        if self.face.is_ours(&packet) {
            self.counters.own += 1;
            return news;
        }
        if wire::lanchat_id(&packet.version).is_some() {
            self.counters.from_lanchat += 1; // a lanchat peer: listed as one, not here
            return news;
        }
        self.counters.packets_received += 1;
        let mode = packet.command.mode();
        if mode == Mode::BrExit {
            self.on_exit(from, &packet, &mut news);
            return news;
        }
        if mode == Mode::GetFileData {
            return news; // a TCP request; over UDP it means nothing
        }
        let Some(peer) = self.meet(from, &packet, now, out, &mut news) else {
            return news;
        };
        match (mode, packet.payload) {
            (Mode::BrEntry | Mode::AnsEntry | Mode::BrAbsence, Payload::Entry(entry)) => {
                let Some(p) = self.peers.at_mut(*from.ip()) else {
                    return news;
                };
                let nick = clean(entry.display_nick());
                p.nick = if nick.is_empty() {
                    clean(&p.user)
                } else {
                    nick
                };
                p.group = clean(entry.display_group());
                p.cap_utf8 = packet.command.has(Opt::CapUtf8);
                // iptux sets ABSENCEOPT on every entry: from iptux it means nothing.
                let iptux = packet.version.starts_with("1_iptux");
                p.status = if packet.command.has(Opt::Absence) && !iptux {
                    "away"
                } else {
                    "online"
                };
                if mode == Mode::BrEntry {
                    p.restarted();
                    self.answer(from, now, out);
                }
                news.push(News::Seen(self.seen(&peer)));
            }
            (Mode::SendMsg, Payload::Message { text, files }) => {
                let m = (packet.command, packet.packet_no, text, files);
                self.on_message(from, &peer, m, now, out, &mut news);
            }
            (Mode::RecvMsg, Payload::Ack(no)) => {
                if let Some(super::sending::Acked::Chat(p, msg)) = self.sending.ack(*from.ip(), no)
                {
                    news.push(News::Acked(p, msg));
                }
            }
            (Mode::ReleaseFiles, Payload::Release(no)) => {
                for id in self.files.ours_in_packet(&peer, no) {
                    self.files.withdraw(&id);
                    news.push(News::File {
                        peer: peer.clone(),
                        route: Route::Ipmsg(from),
                        msg: LinkMsg::FileDecline {
                            transfer_id: id.to_string(),
                            reason: "the IPMsg peer will not fetch it".to_owned(),
                            code: Some(DeclineCode::User),
                        },
                    });
                }
            }
            _ => {} // icons, signatures, info queries, unknown modes: nothing to do
        }
        news
    }

    /// The peer a packet is from: found or made by its address, user and host, back
    /// online if it was not (told as [`News::Seen`] unless it is an entry, which says
    /// more). Its encoding is remembered; one that writes GB18030 but was told our name
    /// in UTF-8 is told again in GB18030. `None` when the table is full.
    fn meet(
        &mut self,
        from: SocketAddrV4,
        packet: &Packet,
        now: Now,
        out: &mut Out,
        news: &mut Vec<News>,
    ) -> Option<PeerId> {
        let (user, host) = (clean(&packet.user), clean(&packet.host));
        let met = self.peers.meet(from, &user, &host, now.at);
        match &met {
            Met::Full => {
                self.counters.drop_datagram("table_full");
                return None;
            }
            Met::Replaced(old) => {
                self.sending.forget_peer(old);
                news.push(News::Left {
                    peer: old.clone(),
                    route: Route::Ipmsg(from),
                    reason: LeftReason::Bye,
                });
            }
            Met::Known | Met::New => {}
        }
        let entry = packet.command.mode().is_entry_type();
        let p = self.peers.at_mut(*from.ip())?;
        let back = !std::mem::replace(&mut p.online, true);
        if let Some(cs) = packet.charset {
            p.charset = Some(cs);
        }
        let (id, retell) = (
            p.id.clone(),
            p.charset == Some(Charset::Gb18030)
                && p.told != Some(Charset::Gb18030)
                && packet.command.mode() != Mode::BrEntry,
        );
        self.probes.remove(&id);
        if met != Met::Known && !entry && self.answers.take(now.at) {
            // A stranger (we missed its entry): ask who it is; its ANSENTRY says.
            let p = self.face.entry(Mode::BrEntry, Charset::Utf8);
            self.push(from, &p, "BR_ENTRY (who are you?)", out);
        }
        if retell {
            self.tell(*from.ip(), Mode::BrAbsence, out);
        }
        if !entry && (back || met != Met::Known) {
            news.push(News::Seen(self.seen(&id)));
        }
        Some(id)
    }

    /// Answers a `BR_ENTRY` with our `ANSENTRY`, within the answer budget.
    fn answer(&mut self, from: SocketAddrV4, now: Now, out: &mut Out) {
        if self.answers.take(now.at) {
            self.tell(*from.ip(), Mode::AnsEntry, out);
        } else {
            self.counters.drop_datagram("answer_rate");
        }
    }

    /// What presence should know of `peer`.
    fn seen(&self, peer: &PeerId) -> Seen {
        let p = self.peers.by_id(peer).expect("met just now");
        Seen {
            id: p.id.clone(),
            name: if p.nick.is_empty() {
                p.user.clone()
            } else {
                p.nick.clone()
            },
            host: p.host.clone(),
            group: p.group.clone(),
            addr: *p.addr.ip(),
            status: p.status,
        }
    }

    /// `BR_EXIT`: the peer at that address leaves (if we knew it online).
    fn on_exit(&mut self, from: SocketAddrV4, packet: &Packet, news: &mut Vec<News>) {
        let Some(p) = self.peers.at_mut(*from.ip()) else {
            return;
        };
        if p.user != clean(&packet.user) || p.host != clean(&packet.host) || !p.online {
            return;
        }
        p.online = false;
        let (peer, route) = (p.id.clone(), Route::Ipmsg(p.addr));
        self.sending.forget_peer(&peer);
        news.push(News::Left {
            peer,
            route,
            reason: LeftReason::Bye,
        });
    }

    /// A `SENDMSG`: its text as a chat (a retransmission gets the id of the first, so it
    /// is acknowledged again and shown once), each regular file offered as a file offer,
    /// a folder refused in words. A message with no text that wants an ack is
    /// acknowledged at once (nothing is stored for it).
    fn on_message(
        &mut self,
        from: SocketAddrV4,
        peer: &PeerId,
        (command, no, text, files): (Command, u32, String, Vec<FileInfo>),
        now: Now,
        out: &mut Out,
        news: &mut Vec<News>,
    ) {
        let Some(p) = self.peers.at_mut(*from.ip()) else {
            return;
        };
        let ack = command.wants_ack();
        let (msg_id, _again) = p.received(no, ack);
        let route = Route::Ipmsg(p.addr);
        let name = p.nick.clone();
        let text = text.replace("\r\n", "\n");
        if !text.is_empty() {
            news.push(News::Chat(InChat {
                route,
                peer: peer.clone(),
                msg_id: msg_id.clone(),
                sent_at: now.wall,
                text,
                room: None,
                verdict: None,
            }));
        } else if ack {
            self.ack(from, &msg_id, out);
        }
        let utf8 = command.has(Opt::Utf8);
        for file in files {
            match file.kind() {
                FileKind::Regular => {
                    let id = self.files.offered(peer, from, no, &file, utf8);
                    news.push(News::File {
                        peer: peer.clone(),
                        route,
                        msg: LinkMsg::FileOffer {
                            transfer_id: id.into_string(),
                            name: file.name,
                            size: file.size,
                            mime: String::new(),
                            folder: None,
                            room: None,
                        },
                    });
                }
                FileKind::Directory => news.push(News::Refused(format!(
                    "{name} offered the folder {:?} over IPMsg; lanchat receives files, not \
                     folders: ask for the files in it, or a zip of it",
                    sanitize::file_name(&file.name)
                ))),
                FileKind::Other(_) => {} // markers inside folder listings
            }
        }
    }
}

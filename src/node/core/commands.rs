//! Front-end commands, routed to the parts; and the few answered here: `rename`,
//! `set_status`, `net_status`, `shout` (presence's signed beacon, chat's numbering, the
//! port's broadcast), `safety_code`, `verify`/`unverify` (presence's) and bursts of
//! `send` (the store write whose result chat needs).

use std::collections::HashMap;
use std::net::SocketAddr;

use super::Core;
use super::rooms::RoomCmd;
use crate::config::Identity;
use crate::net::Port;
use crate::node::chat::{Chat, Checked};
use crate::node::clock::Now;
use crate::node::command::Command;
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::out::Routes;
use crate::node::peer::Protocol;
use crate::node::presence::describe;
use crate::node::status::{Counters, IpmsgNetStatus, NetStatus, SocketInfo};
use crate::node::transfers::Then;
use crate::protocol::signed::SignedError;
use crate::protocol::{BeaconKind, MAX_DATAGRAM, MsgId, PeerId};
use crate::store::{Direction, EVERYONE, MsgState, NewMessage};

/// Most chats and acks handled (and stored) as one burst.
pub(in crate::node) const MAX_BURST: usize = 256;

/// Longest presence status, in characters.
const MAX_STATUS_CHARS: usize = 40;

impl<P: Port> Core<P> {
    /// Handles a front end's command (`quit` is the loop's); what it answers goes back to
    /// `origin`.
    pub(in crate::node) fn handle_command(&mut self, origin: Origin, cmd: Command, now: Now) {
        let asked = Some(origin);
        match cmd {
            Command::Send { to, text } => return self.send_burst(vec![(origin, to, text)], now),
            Command::RoomCreate { name, members } => {
                return self.room_create(origin, &name, &members, now);
            }
            Command::RoomAdd { room, members } => {
                return self.room_change(origin, RoomCmd::Add(room, members), now);
            }
            Command::RoomRename { room, name } => {
                return self.room_change(origin, RoomCmd::Rename(room, name), now);
            }
            Command::RoomLeave { room } => {
                return self.room_change(origin, RoomCmd::Leave(room), now);
            }
            Command::Rooms => {
                let rooms = self.rooms.list();
                self.out.reply(asked, Event::Rooms { rooms });
            }
            Command::Shout { text } => self.shout(origin, text, now),
            Command::Peers => {
                let peers = self.presence.table().list();
                self.out.reply(asked, Event::Peers { peers });
            }
            Command::Rename { name } => self.rename(origin, &name, now),
            Command::SetStatus { status } => {
                let status = self.presence.set_status(&status, MAX_STATUS_CHARS);
                self.presence.announce(BeaconKind::Here, now, &mut self.out);
                self.ipmsg.set_status(&status, &mut self.out);
                self.out.emit(Event::StatusChanged { status });
            }
            Command::SafetyCode { peer } => {
                let answer = match self.presence.safety_code(&peer) {
                    Ok((info, code)) => Event::SafetyCode {
                        peer: info.id,
                        name: info.name,
                        code: code.to_string(),
                        verified: info.trust.verified,
                    },
                    Err(e) => Event::error(format!("safety_code: {e}")),
                };
                self.out.reply(asked, answer);
            }
            Command::Verify { peer } => self.set_verified(origin, &peer, true, now),
            Command::Unverify { peer } => self.set_verified(origin, &peer, false, now),
            Command::SetAutoAccept { from } => self.transfers.set_auto_accept(from, &mut self.out),
            Command::NetStatus => {
                let status = self.net_status(now);
                self.out.reply(asked, Event::NetStatus(status));
            }
            Command::History {
                peer,
                limit,
                before,
                after,
            } => self.answer_history(origin, &peer, before, after, limit),
            Command::Search { query, limit } => self.answer_search(origin, query, limit),
            Command::SendFile { to, path } if crate::protocol::room::is_room_id(&to) => {
                self.room_send_file(origin, &to, &path, now);
            }
            Command::SendFile { to, path } => match self.presence.table().resolve(&to) {
                Ok(p) if crate::node::web::is_visitor(&p.id) => {
                    let peer = p.id.clone();
                    self.web_send_file(origin, &peer, &path, now);
                }
                Ok(p) => {
                    let peer = p.id.clone();
                    let ctx = ctx!(self, now);
                    if self
                        .transfers
                        .send_file(origin, peer.clone(), &path, ctx, &mut self.out)
                    {
                        self.dial(&peer, now);
                    }
                }
                Err(e) => self
                    .out
                    .reply(asked, Event::error(format!("send_file: {e}"))),
            },
            Command::Accept { transfer_id } if self.web.files.owns(&transfer_id) => {
                let dir = self.transfers.download_dir().to_owned();
                self.web
                    .files
                    .accept(asked, &transfer_id, &dir, &mut self.out);
            }
            Command::Decline { transfer_id } if self.web.files.owns(&transfer_id) => {
                self.web.files.decline(origin, &transfer_id, &mut self.out);
            }
            Command::Cancel { transfer_id } if self.web.files.owns(&transfer_id) => {
                self.web.files.cancel(origin, &transfer_id, &mut self.out);
            }
            Command::Retry { transfer_id } if self.web.files.owns(&transfer_id) => {
                let e = "retry: a browser fetches a file again from its link by itself";
                self.out.reply(asked, Event::error(e));
            }
            Command::WebStart { port } => return self.web_start(asked, port, now),
            Command::WebStop => return self.web_stop(now),
            Command::WebNewLink => self.web_new_link(origin, now),
            Command::Accept { transfer_id } => {
                let ctx = ctx!(self, now);
                self.transfers
                    .accept(asked, &transfer_id, ctx, &mut self.out);
            }
            Command::Decline { transfer_id } => {
                let ctx = ctx!(self, now);
                self.transfers
                    .decline(origin, &transfer_id, ctx, &mut self.out);
            }
            Command::Cancel { transfer_id } => {
                let then =
                    self.transfers
                        .cancel(origin, transfer_id, ctx!(self, now), &mut self.out);
                self.then(then, now);
            }
            Command::Retry { transfer_id } => {
                let then =
                    self.transfers
                        .retry(origin, transfer_id, ctx!(self, now), &mut self.out);
                self.then(then, now);
            }
            Command::SetDownloadDir { path } => {
                self.transfers
                    .set_download_dir(origin, &path, &mut self.out);
            }
            Command::AddPeer { addr } => self.add_peer(asked, &addr, now),
            Command::RemovePeer { addr } => self.remove_peer(asked, &addr, now),
            Command::Error(message) => self.out.reply(asked, Event::Error { message }),
            Command::Quit => {}
        }
        self.carry_out(now);
    }

    /// `send` commands that were waiting together (from one front end or several):
    /// each is checked on its own, the valid ones are stored in one transaction (all or
    /// none), then written to their routes, then answered in the order they came.
    pub(in crate::node) fn send_burst(&mut self, sends: Vec<(Origin, String, String)>, now: Now) {
        // A room's messages go their own way (stored once, queued per member), in order.
        let (to_rooms, sends): (Vec<_>, Vec<_>) = sends
            .into_iter()
            .partition(|(_, to, _)| crate::protocol::room::is_room_id(to));
        for (origin, room, text) in to_rooms {
            self.room_send(origin, &room, text, now);
        }
        if sends.is_empty() {
            return;
        }
        let mut checked: Vec<Checked> = Vec::with_capacity(sends.len());
        let mut ahead: HashMap<PeerId, usize> = HashMap::new();
        let mut taken = 0;
        for (origin, to, text) in sends {
            let m = Chat::check_text(&text)
                .and_then(|()| {
                    let peer = self
                        .presence
                        .table()
                        .resolve(&to)
                        .map_err(|e| e.to_string())?;
                    Ok(peer.id.clone())
                })
                .and_then(|peer| {
                    let queued = ahead.get(&peer).copied().unwrap_or(0);
                    let route_up = routes!(self).route(&peer).is_some();
                    let m =
                        self.chat
                            .message(peer.clone(), text, taken, queued, route_up, now.wall)?;
                    *ahead.entry(peer).or_default() += 1;
                    Ok(m)
                });
            taken += usize::from(m.is_ok());
            checked.push((origin, m));
        }
        let me = self.presence.me();
        let rows: Vec<NewMessage> = checked
            .iter()
            .filter_map(|(_, m)| m.as_ref().ok())
            .map(|m| NewMessage {
                peer: &m.to,
                msg_id: &m.msg_id,
                dir: Direction::Out,
                from: &me.id,
                from_name: &me.name,
                text: &m.text,
                sent_at: m.sent_at,
                state: if m.stored_sent {
                    MsgState::Sent
                } else {
                    MsgState::Pending
                },
            })
            .collect();
        let stored = if rows.is_empty() {
            Ok(())
        } else {
            self.store
                .insert_messages(&rows)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        drop(rows);
        let unrouted =
            self.chat
                .burst_stored(checked, stored, &routes!(self), now.at, &mut self.out);
        for peer in unrouted {
            self.dial(&peer, now);
        }
        self.carry_out(now);
    }

    /// What a transfers call left to do.
    pub(super) fn then(&mut self, then: Then, now: Now) {
        match then {
            Then::Done => {}
            Then::Dial(peer) => self.dial(&peer, now),
            Then::LookUp(need) => {
                let stored = self.store.transfer(need.id()).map_err(|e| e.to_string());
                let then = self
                    .transfers
                    .stored(need, stored, ctx!(self, now), &mut self.out);
                self.then(then, now);
            }
        }
    }

    /// Dials `peer` if it is online and its link port is known, where a handshake last
    /// proved it unless that failed (presence picks; the links part keeps one dial at a
    /// time, with back-off). An IPMsg peer has no link: if it is offline, the IPMsg part
    /// asks it whether it is back (its answer brings its route up).
    pub(super) fn dial(&mut self, peer: &PeerId, now: Now) {
        if let Some(info) = self.presence.get(peer)
            && info.protocol == Protocol::Ipmsg
        {
            if !info.online {
                let addr = info.addr;
                self.ipmsg.probe(peer, addr, now.at, &mut self.out);
            }
            return;
        }
        if let Some(addr) = self.presence.dial_addr(peer) {
            self.links.dial(peer, addr, now.at, &mut self.out);
        } else if let Some(addr) = self.room_addr(peer) {
            // A room member presence does not know (never met, another subnet): the
            // address the room carries. The handshake proves who answers there.
            self.links.dial(peer, addr, now.at, &mut self.out);
        }
    }

    /// `verify` / `unverify`: the change is everyone's news (`peer_changed`); an error
    /// goes to the front end that asked.
    fn set_verified(&mut self, origin: Origin, peer: &str, verified: bool, now: Now) {
        if let Err(e) = self
            .presence
            .set_verified(peer, verified, now, &mut self.out)
        {
            let what = if verified { "verify" } else { "unverify" };
            self.out
                .reply(Some(origin), Event::error(format!("{what}: {e}")));
        }
    }

    fn rename(&mut self, origin: Origin, name: &str, now: Now) {
        let Some(name) = self.presence.rename(name) else {
            return self
                .out
                .reply(Some(origin), Event::error("rename: the name is empty"));
        };
        let identity = Identity {
            id: self.presence.me().id.to_string(),
            name: name.clone(),
        };
        if let Err(e) = identity.save(&self.config.data_dir) {
            self.out
                .reply(Some(origin), Event::error(format!("rename: {e}")));
        }
        self.presence.announce(BeaconKind::Here, now, &mut self.out);
        self.ipmsg.renamed(&name, &mut self.out);
        self.port.web().set_host_name(&name);
        self.out.emit(Event::Renamed { name });
    }

    /// One broadcast datagram to Everyone, stored after it went out (shouts are never
    /// resent, so the store is history only).
    fn shout(&mut self, origin: Origin, text: String, now: Now) {
        let refuse = |e: &str| Event::error(format!("shout: {e}"));
        if text.is_empty() {
            return self.out.reply(Some(origin), refuse("the message is empty"));
        }
        if self.presence.targets().1.is_empty() {
            return self
                .out
                .reply(Some(origin), refuse("no network interface to broadcast on"));
        }
        let next = self.chat.next_shout();
        let beacon = self.presence.beacon(BeaconKind::Shout {
            msg_id: next.msg_id.to_string(),
            seq: next.seq,
            sent_at: now.wall,
            text,
        });
        let BeaconKind::Shout { text, .. } = &beacon.kind else {
            unreachable!("made as a shout")
        };
        let bytes = match self.presence.sign(&beacon, now) {
            Ok(b) => b,
            Err(SignedError::TooLarge(len)) => {
                let room = MAX_DATAGRAM.saturating_sub(len - text.len());
                let e = format!(
                    "too long for one datagram ({} bytes of text; the limit is {MAX_DATAGRAM} \
                     bytes per signed datagram, about {room} bytes of text); shorten it or \
                     send it to each peer",
                    text.len()
                );
                return self.out.reply(Some(origin), refuse(&e));
            }
            Err(e) => return self.out.reply(Some(origin), refuse(&e.to_string())),
        };
        if self.broadcast(&bytes, &describe(&beacon), now) == 0 {
            return self
                .out
                .reply(Some(origin), refuse("the broadcast could not be sent"));
        }
        let me = self.presence.me();
        let (me_id, me_name) = (me.id.to_string(), me.name.clone());
        self.store_shout(
            Direction::Out,
            &me_id,
            &me_name,
            &next.msg_id,
            text,
            now.wall,
        );
        self.out.emit(Event::ShoutSent {
            msg_id: next.msg_id,
            text: text.clone(),
            sent_at: now.wall,
        });
    }

    /// Writes a shout to the Everyone history. Returns `false` if it was already stored
    /// (heard before). A write error is reported and counts as new: a shout is never
    /// repeated, so showing it is better than losing it.
    pub(super) fn store_shout(
        &mut self,
        dir: Direction,
        from: &str,
        from_name: &str,
        msg_id: &MsgId,
        text: &str,
        sent_at: u64,
    ) -> bool {
        let stored = self.store.insert_message(&NewMessage {
            peer: EVERYONE,
            msg_id,
            dir,
            from,
            from_name,
            text,
            sent_at,
            state: if dir == Direction::Out {
                MsgState::Sent
            } else {
                MsgState::Received
            },
        });
        match stored {
            Ok(row) => row.is_some(),
            Err(e) => {
                self.out.emit(Event::error(format!(
                    "shout {msg_id} from {from_name} is not saved in history: {e}"
                )));
                true
            }
        }
    }

    fn net_status(&self, now: Now) -> NetStatus {
        let sockets = self.port.sockets();
        let sock = |role: &str, addr: Option<SocketAddr>| SocketInfo {
            role: role.to_owned(),
            local: addr.map_or_else(|| "?".to_owned(), |a| a.to_string()),
        };
        let (interfaces, targets) = self.presence.targets();
        let mut socket_list = vec![
            sock("discovery listener (UDP)", sockets.discovery),
            sock("discovery sender (UDP)", sockets.sender),
            sock("link listener (TCP)", sockets.link),
            sock("IPMsg (UDP and TCP)", sockets.ipmsg.local.map(Into::into)),
        ];
        if sockets.unicast.is_some() {
            socket_list.insert(2, sock("discovery unicast (UDP)", sockets.unicast));
        }
        NetStatus {
            interfaces: interfaces.to_vec(),
            broadcast_targets: targets.iter().map(ToString::to_string).collect(),
            unicast: self.presence.unicast().infos(now.at),
            sockets: socket_list,
            links: self.links.infos(|id| self.port.link_fd(id)),
            counters: Counters {
                connections_accepted: sockets.accepted,
                connections_refused: sockets.refused,
                handshakes_failed: sockets.handshakes_failed,
                ..self.traffic.counters.clone()
            },
            delivery: self.chat.delivery(now.at),
            recent: self.traffic.recent.snapshot(),
            ipmsg: Box::new(self.ipmsg_status(sockets.ipmsg)),
        }
    }

    /// IPMsg for the network panel: the port's sockets and counts, the part's counters.
    fn ipmsg_status(&self, sockets: crate::net::IpmsgStatus) -> IpmsgNetStatus {
        let mut counters = self.ipmsg.counters().clone();
        if sockets.overflow > 0 {
            counters
                .dropped
                .insert("overflow".to_owned(), sockets.overflow);
        }
        counters.connections_accepted = sockets.accepted;
        counters.connections_refused = sockets.refused;
        IpmsgNetStatus {
            on: sockets.local.is_some(),
            local: sockets.local.map(|a| a.to_string()),
            problem: sockets.problem,
            broadcast_targets: self
                .ipmsg
                .targets()
                .iter()
                .map(ToString::to_string)
                .collect(),
            peers_online: self.ipmsg.online(),
            counters,
        }
    }
}

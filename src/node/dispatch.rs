//! Routing in the core: each front-end [`Command`] and each [`NetInput`] to its handler,
//! and the small commands answered here (`rename`, `set_status`, `net_status`). Transfer
//! commands only pass through on their way to `transfers` and `downloads`.

use std::net::SocketAddr;

use crossbeam_channel::Receiver;

use super::chat::InChat;
use super::command::Command;
use super::core::Core;
use super::event::Event;
use super::links::Arrived;
use super::status::{Counters, NetStatus, SocketInfo};
use crate::net::NetInput;
use crate::net::link::Acceptor;
use crate::protocol::LinkMsg;

/// Most chats and acks handled (and stored) as one burst.
pub(super) const MAX_BURST: usize = 256;

/// Longest presence status, in characters.
const MAX_STATUS_CHARS: usize = 40;

impl Core {
    /// Dispatches a front-end command (`quit` is handled by the loop).
    pub(super) fn dispatch_command(&mut self, cmd: Command) {
        match cmd {
            Command::Send { to, text } => self.send_chat(&to, text),
            Command::Shout { text } => self.shout(text),
            Command::Peers => self.reply(Event::Peers {
                peers: self.peers.list(),
            }),
            Command::Rename { name } => self.rename(&name),
            Command::SetStatus { status } => self.set_status(&status),
            Command::NetStatus => {
                let status = self.net_status();
                self.reply(Event::NetStatus(status));
            }
            Command::History {
                peer,
                limit,
                before,
                after,
            } => self.answer_history(&peer, before, after, limit),
            Command::Search { query, limit } => self.answer_search(query, limit),
            Command::SendFile { to, path } => self.send_file(&to, &path),
            Command::Accept { transfer_id } => self.accept_offer(&transfer_id),
            Command::Decline { transfer_id } => self.decline_offer(&transfer_id),
            Command::Cancel { transfer_id } => self.cancel_transfer(&transfer_id),
            Command::Retry { transfer_id } => self.retry_transfer(&transfer_id),
            Command::SetDownloadDir { path } => self.set_download_dir(&path),
            Command::Error(message) => self.emit(Event::Error { message }),
            Command::Quit => {}
        }
    }

    /// Handles `first` and, while they are chats and acks on established links, the
    /// inputs already waiting behind it, as one burst: the chats are stored in one
    /// transaction (group commit), then shown and acknowledged; the acks are reported,
    /// then recorded in one transaction. Anything else ends the burst (handled after it,
    /// so order is kept).
    pub(super) fn handle_inputs(&mut self, first: NetInput, more: &Receiver<NetInput>) {
        let (mut chats, mut acks) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        let mut after = None;
        while let Some(input) = next.take() {
            let NetInput::Frame { link, len, msg } = input else {
                after = Some(input);
                break;
            };
            match (self.frame_arrived(link, len, &msg), msg) {
                (Arrived::Gone, _) => {}
                (
                    Arrived::Established(peer),
                    LinkMsg::Chat {
                        msg_id,
                        sent_at,
                        text,
                    },
                ) => {
                    chats.push(InChat {
                        link,
                        peer,
                        msg_id,
                        sent_at,
                        text,
                    });
                }
                (Arrived::Established(peer), LinkMsg::Ack { msg_id }) => acks.push((peer, msg_id)),
                (arrived, msg) => {
                    self.burst_done(chats, acks);
                    return match arrived {
                        Arrived::Established(peer) => self.on_link_msg(link, &peer, msg),
                        _ => self.on_frame_before_hello(link, msg),
                    };
                }
            }
            if chats.len() + acks.len() < MAX_BURST {
                next = more.try_recv().ok();
            }
        }
        self.burst_done(chats, acks);
        if let Some(input) = after {
            self.handle_input(input);
        }
    }

    fn burst_done(&mut self, chats: Vec<InChat>, acks: Vec<(String, String)>) {
        if !chats.is_empty() {
            self.on_chats(chats);
        }
        if !acks.is_empty() {
            self.on_acks(acks);
        }
    }

    /// Dispatches an input from the I/O threads.
    pub(super) fn handle_input(&mut self, input: NetInput) {
        match input {
            NetInput::Datagram {
                via,
                from,
                len,
                beacon,
            } => self.on_datagram(via, from, len, beacon),
            NetInput::Accepted { conn, first } => self.on_accepted(conn, first),
            NetInput::Dialed { peer, addr, result } => self.on_dialed(peer, addr, result),
            NetInput::Frame { link, len, msg } => self.on_frame(link, len, msg),
            NetInput::LinkDown { link, reason } => self.on_link_down(link, &reason),
            NetInput::Transfer(report) => self.on_transfer_report(report),
        }
    }

    fn rename(&mut self, name: &str) {
        let name = crate::protocol::beacon::clean_name(name);
        if name.is_empty() {
            self.emit(Event::error("rename: the name is empty"));
            return;
        }
        self.me.name = name.clone();
        if let Err(e) = self.me.save(&self.config.data_dir) {
            self.emit(Event::error(format!("rename: {e}")));
        }
        self.announce(crate::protocol::BeaconKind::Here);
        self.emit(Event::Renamed { name });
    }

    fn set_status(&mut self, status: &str) {
        let mut status = crate::protocol::beacon::clean_name(status);
        if status.is_empty() {
            status = "online".to_owned();
        }
        // Status is a word or a short phrase, not a message.
        if let Some((cut, _)) = status.char_indices().nth(MAX_STATUS_CHARS) {
            status.truncate(cut);
        }
        self.status = status.clone();
        self.announce(crate::protocol::BeaconKind::Here);
        self.emit(Event::StatusChanged { status });
    }

    fn net_status(&self) -> NetStatus {
        let sock = |role: &str, addr: Option<SocketAddr>| SocketInfo {
            role: role.to_owned(),
            local: addr.map_or_else(|| "?".to_owned(), |a| a.to_string()),
        };
        let mut links: Vec<_> = self
            .links
            .iter()
            .map(|(id, l)| {
                l.info(
                    *id,
                    self.active.get(l.peer.as_deref().unwrap_or("")) == Some(id),
                )
            })
            .collect();
        links.sort_by_key(|l| l.link);
        let accept = self.acceptor.as_ref().map(Acceptor::stats);
        NetStatus {
            interfaces: self.interfaces.clone(),
            broadcast_targets: self.targets.iter().map(ToString::to_string).collect(),
            sockets: vec![
                sock("discovery listener (UDP)", Some(self.udp_listen_addr)),
                sock("discovery sender (UDP)", self.udp.local_addr().ok()),
                sock("link listener (TCP)", Some(self.link_addr)),
            ],
            links,
            counters: Counters {
                connections_accepted: accept.map_or(0, |a| a.accepted_total()),
                connections_refused: accept.map(|a| a.refused_by_reason()).unwrap_or_default(),
                ..self.counters.clone()
            },
            recent: self.recent.snapshot(),
        }
    }
}

//! The page for browsers in the core: starting and stopping it (`web_start`, `web_stop`,
//! `web_new_link`, `--web-port`), what its visitors do (routed to presence, chat and the
//! web part), carrying out the web part's calls through the port, and showing a
//! returning visitor their conversation from history.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use super::Core;
use crate::net::{Port, WebNews};
use crate::node::chat::Answer;
use crate::node::clock::Now;
use crate::node::command::MAX_PAGE;
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::peer::Protocol;
use crate::node::presence::{Observed, Sighting};
use crate::node::web::files::Policy;
use crate::node::web::seed::{SEED_MESSAGES, Seed, seed};
use crate::node::web::{Departure, VISITOR_HOST, WebCall};
use crate::protocol::{PeerId, TransferId};
use crate::web::{VisitorId, WebConfig, WebInput};

/// Where uploads wait for the host's accept, in the data directory (on the same file
/// system as the default download folder, so an accept is a rename).
pub const SPOOL_DIR: &str = "web-spool";

impl<P: Port> Core<P> {
    /// What the port's web side reported.
    pub(super) fn on_web(&mut self, news: WebNews, now: Now) {
        match news {
            WebNews::Visitor(input) => self.on_visitor(input, now),
            WebNews::Landed { upload, result, .. } => {
                self.web.files.landed(&upload, result, &mut self.out)
            }
        }
    }

    fn on_visitor(&mut self, input: WebInput, now: Now) {
        match input {
            WebInput::Joined {
                visitor,
                name,
                addr,
            } => self.visitor_joined(visitor, name, addr, now),
            WebInput::Said {
                visitor,
                client_msg_id,
                text,
            } => {
                if let Some(chat) = self.web.said(&visitor, client_msg_id, text, now.wall) {
                    self.burst_done(vec![chat], Vec::new(), now);
                }
            }
            WebInput::Seen { visitor, ids } => {
                let acks = self.web.seen(&visitor, ids);
                let answers = acks
                    .into_iter()
                    .map(|(peer, msg_id)| Answer::Ack { peer, msg_id })
                    .collect();
                self.burst_done(Vec::new(), answers, now);
            }
            WebInput::Uploaded {
                visitor,
                upload,
                name,
                size,
                mime,
                ..
            } => {
                // A visitor not here any more: the server deleted their file already.
                let Some(peer) = self.web.peer(&visitor).cloned() else {
                    return;
                };
                let policy = Policy {
                    auto_accept: self.config.auto_accept,
                    max_file_size: self.config.max_file_size,
                    dir: self.transfers.download_dir().to_owned(),
                };
                let (from, about) = ((&peer, &visitor), (name, size, mime));
                self.web
                    .files
                    .uploaded(from, upload, about, &policy, now, &mut self.out);
            }
            WebInput::Fetching { download, .. } => {
                self.web.files.fetching(&download, &mut self.out);
            }
            WebInput::Fetched {
                download, bytes, ..
            } => self.web.files.fetched(&download, bytes, &mut self.out),
            WebInput::Downloaded {
                download, complete, ..
            } => self
                .web
                .files
                .downloaded(&download, complete, &mut self.out),
            WebInput::Left { visitor } => {
                if let Some(gone) = self.web.left(&visitor, &mut self.out) {
                    self.departed(gone);
                }
            }
        }
    }

    /// A visitor joined or came back: a peer to presence (`protocol: web`), their earlier
    /// conversation on their page, then what waited for them.
    fn visitor_joined(&mut self, visitor: VisitorId, name: String, addr: SocketAddr, now: Now) {
        let arrival = self.web.joined(visitor.clone(), name, addr);
        let returning = self.presence.get(&arrival.peer).is_some();
        let seen = Sighting {
            id: &arrival.peer,
            protocol: Protocol::Web,
            instance: "",
            name: &arrival.name,
            host: VISITOR_HOST,
            addr: arrival.addr,
            port: 0,
            status: "online",
            timeout: None, // here until their page closes: the server says when
            group: "",
            key: None, // no key: never verified, never encrypted
        };
        if self.presence.on_sighting(&seen, now, &mut self.out) == Observed::Refused {
            tracing::warn!(peer = %arrival.peer, "a browser visitor is not a peer: the table is full");
            return self.web.refused(&visitor);
        }
        if returning {
            self.show_history(&arrival.peer, &visitor);
        }
        self.web
            .files
            .visitor_back(&arrival.peer, &visitor, &mut self.out);
        self.route_up(&arrival.peer, arrival.route, now);
    }

    /// A visitor is gone: presence says `peer_left`, what went out on their page goes
    /// again when they are back.
    fn departed(&mut self, gone: Departure) {
        self.presence.on_bye(&gone.peer, &mut self.out);
        self.chat.route_down(gone.route);
    }

    /// A returning visitor's conversation, read from history, shown on their page.
    fn show_history(&mut self, peer: &PeerId, visitor: &VisitorId) {
        let messages = self
            .store
            .history(peer, None, SEED_MESSAGES)
            .unwrap_or_else(|e| {
                tracing::warn!(%peer, "history for a returning visitor: {e}");
                Vec::new()
            });
        let since = match messages.first() {
            Some(m) if messages.len() == SEED_MESSAGES => m.sent_at,
            _ => 0,
        };
        let transfers = self
            .store
            .transfers_between(peer, since, None, MAX_PAGE)
            .unwrap_or_default();
        for step in seed(messages, transfers) {
            match step {
                Seed::Show(output) => self.out.web(WebCall::Push {
                    visitor: visitor.clone(),
                    output,
                }),
                Seed::Offer { transfer, offer } => {
                    self.web
                        .files
                        .offer_again(transfer, (peer, visitor), offer, &mut self.out);
                }
            }
        }
    }

    /// `web_start`: the server on `port` at the address lanchat is bound to (a running
    /// one starts afresh).
    pub(super) fn web_start(&mut self, origin: Option<Origin>, port: u16, now: Now) {
        self.web_off(false);
        let ip = self.config.bind.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let config = WebConfig::new(
            SocketAddr::from((ip, port)),
            self.presence.me().name.clone(),
            self.config.data_dir.join(SPOOL_DIR),
        );
        match self.port.web().start(config) {
            Ok(addr) => {
                tracing::info!(%addr, "the page for browsers is on");
                self.web.started(addr);
                self.announce_web();
            }
            Err(e) => self
                .out
                .reply(origin, Event::error(format!("web_start: {e}"))),
        }
        self.carry_out(now);
    }

    /// `web_stop`.
    pub(super) fn web_stop(&mut self, now: Now) {
        self.web_off(false);
        self.out.emit(Event::WebStopped);
        self.carry_out(now);
    }

    /// `web_new_link`: the old link stops working, every visitor leaves.
    pub(super) fn web_new_link(&mut self, origin: Origin, now: Now) {
        if self.web.on().is_none() {
            let e = Event::error("web_new_link: the page for browsers is off");
            return self.out.reply(Some(origin), e);
        }
        self.port.web().new_link();
        self.web_off(true);
        self.announce_web();
        self.carry_out(now);
    }

    /// Every visitor leaves (the server stops, or `renewed`: its link changed and the
    /// server's own reports of who left will find nobody).
    fn web_off(&mut self, renewed: bool) {
        if self.web.on().is_none() {
            return;
        }
        if !renewed {
            self.port.web().stop();
            tracing::info!("the page for browsers is off");
        }
        for gone in self.web.all_gone(renewed, &mut self.out) {
            self.departed(gone);
        }
    }

    /// Says `web_ready` with the link at each address the server can be reached on.
    fn announce_web(&mut self) {
        let Some(addr) = self.web.on() else {
            return;
        };
        let ips: Vec<IpAddr> = if addr.ip().is_unspecified() {
            let lan = self.presence.targets().0.iter().map(|i| IpAddr::V4(i.addr));
            let ips: Vec<IpAddr> = lan.filter(|ip| !ip.is_loopback()).collect();
            if ips.is_empty() {
                vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
            } else {
                ips
            }
        } else {
            vec![addr.ip()]
        };
        let links: Vec<String> = ips
            .into_iter()
            .filter_map(|ip| self.port.web().link(ip))
            .collect();
        if let Some(url) = links.first().cloned() {
            self.out.emit(Event::WebReady {
                url,
                links,
                port: addr.port(),
            });
        }
    }

    /// Carries out one of the web part's calls through the port.
    pub(super) fn web_call(&mut self, call: WebCall) {
        let web = self.port.web();
        match call {
            WebCall::Push { visitor, output } => {
                if let Err(e) = web.push(&visitor, output) {
                    tracing::debug!("web: {e}"); // they left meanwhile
                }
            }
            WebCall::Offer {
                visitor,
                transfer,
                offer,
            } => {
                let result = web.offer(&visitor, offer);
                self.web.files.offered(&transfer, result, &mut self.out);
            }
            WebCall::Withdraw(download) => {
                let _ = web.withdraw(&download);
            }
            WebCall::Decline(upload) => {
                let _ = web.decline(&upload);
            }
            WebCall::Land { upload, dir } => {
                if let Err(e) = web.land(&upload, dir) {
                    let result = Err(e.to_string());
                    self.web.files.landed(&upload, result, &mut self.out);
                }
            }
        }
    }

    /// `send_file` to a visitor.
    pub(super) fn web_send_file(&mut self, origin: Origin, peer: &PeerId, path: &Path, now: Now) {
        if path.is_dir() {
            let e = format!(
                "send_file: {} is a folder; a browser takes files one by one (send its files, or an archive of it)",
                path.display()
            );
            self.out.reply(Some(origin), Event::error(e));
            return;
        }
        let visitor = self.web.visitor(peer).cloned();
        let to = (peer, visitor.as_ref());
        if let Err(e) = self.web.files.offer(to, path, now, &mut self.out) {
            let e = Event::error(format!("send_file: {e}"));
            self.out.reply(Some(origin), e);
        }
    }

    /// Unfinished transfers with visitors from an earlier run cannot go on (that page is
    /// gone): they end in history. The rest are the transfers part's.
    pub(super) fn end_web_transfers(&mut self, unfinished: &mut Vec<crate::store::Transfer>) {
        use crate::node::out::Record;
        unfinished.retain(|t| {
            let web = crate::node::web::is_visitor(&t.peer);
            if web {
                let id = TransferId::from(t.id.as_str());
                let state = crate::store::TransferState::Failed;
                self.out.record(Record::TransferState(id, state));
            }
            !web
        });
    }
}

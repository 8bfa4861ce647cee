//! The core's glue: it owns the parts (presence, links, chat, transfers), the store and
//! the I/O port, and the subscribers; it routes each command and input to the parts,
//! carries out what they return, and runs their timers.
//!
//! It decides as little as it can itself: what a part's answer means for another part
//! (a link came up, so the outbox may go; a peer restarted, so its links are stale) and
//! the store writes whose result a part needs (a burst of chats: which are new). What it
//! does block on, on the core thread: SQLite (one transaction per burst, a checkpoint in
//! housekeeping), a non-blocking write into a link's socket, a UDP send, and a part's
//! small file work (a `stat`, a resume note). Dials, accepts, link reads and writes that
//! would block, and file bytes all happen on the port's threads.
//!
//! - `carry`: carrying out actions (I/O, events, records).
//! - `commands`: front-end commands; `inputs`: the I/O threads' inputs; `frames`: a
//!   burst of frames, the one path every link frame takes; `timers`: housekeeping.
//! - `history`: the store at start, `history` and `search`.
//! - `web`: the page for browsers: on and off, its visitors, the web part's calls.

/// What the transfers part reads of the rest of the core (a macro, so that it borrows
/// the two fields it reads and not the whole core).
macro_rules! ctx {
    ($core:ident, $now:expr) => {
        crate::node::transfers::Ctx {
            routes: &$core.links,
            peers: $core.presence.table(),
            now: $now,
        }
    };
}

mod carry;
mod commands;
mod frames;
mod history;
mod inputs;
mod timers;
mod web;

pub(super) use commands::MAX_BURST;

use std::time::Instant;

use super::chat::Chat;
use super::clock::Now;
use super::error::NodeError;
use super::event::Event;
use super::fanout::{Fanout, Subscriber};
use super::links::Links;
use super::out::{Out, Route, Routes};
use super::presence::{Me, Presence, Reach};
use super::status::Traffic;
use super::transfers::{Settings, Transfers};
use super::web::Web;
use crate::config::{self, Config, DataDirLock, Identity};
use crate::net::Port;
use crate::protocol::BeaconKind;
use crate::store::{Fallback, Store};

/// Everything the core thread owns.
pub(super) struct Core<P: Port> {
    port: P,
    /// History and the durable copy of the outbox.
    store: Store,
    config: Config,
    fanout: Fanout,
    presence: Presence,
    links: Links,
    chat: Chat,
    transfers: Transfers,
    /// Browser visitors, while the page for browsers is on.
    web: Web,
    traffic: Traffic,
    /// Why the history file could not be used as it was; reported after `ready`.
    store_problem: Option<Fallback>,
    next_housekeeping: Instant,
    /// What the parts asked for and the core has not carried out yet.
    out: Out,
    _lock: DataDirLock,
}

impl<P: Port> Core<P> {
    /// Builds the core over a bound port and a locked data directory: loads the identity
    /// and the history (known peers, the unacknowledged outbox).
    pub(super) fn new(
        config: Config,
        lock: DataDirLock,
        port: P,
        now: Now,
    ) -> Result<Core<P>, NodeError> {
        let identity = Identity::load_or_create(&config.data_dir, config.name.as_deref())?;
        let loaded = history::load(&config.data_dir, now);
        let me = Me {
            id: identity.id.into(),
            name: identity.name,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            host: config::host_name(),
            port: port.sockets().link.map_or(0, |a| a.port()),
            status: "online".to_owned(),
        };
        let reach = Reach {
            bind: config.bind,
            discovery_port: config.discovery_port,
        };
        let transfers = Transfers::new(Settings::new(me.id.clone(), &config));
        let presence = Presence::new(me, loaded.peers, config.interval, reach, now.at);
        let mut core = Core {
            port,
            store: loaded.store,
            fanout: Fanout::default(),
            presence,
            links: Links::new(config.interval),
            chat: Chat::new(loaded.outbox),
            transfers,
            web: Web::default(),
            traffic: Traffic::default(),
            store_problem: loaded.problem,
            next_housekeeping: now.at,
            out: Out::default(),
            _lock: lock,
            config,
        };
        core.refresh_targets();
        Ok(core)
    }

    /// Adds a front end that wants events.
    pub(super) fn subscribe(&mut self, s: Subscriber) {
        self.fanout.add(s);
    }

    /// Says `ready`, reports a history problem, takes up unfinished transfers, then
    /// broadcasts `hello` so everyone answers at once.
    pub(super) fn announce_start(&mut self, now: Now) {
        let me = self.presence.me();
        let sockets = self.port.sockets();
        let link = sockets
            .link
            .map_or_else(|| "?".to_owned(), |a| a.to_string());
        tracing::info!(id = %me.id, name = %me.name, %link, discovery = ?sockets.discovery,
            "node ready; beacons to {:?}", self.presence.targets().1);
        self.out.emit(Event::Ready {
            id: me.id.clone(),
            name: me.name.clone(),
            host: me.host.clone(),
            addr: sockets
                .link
                .map_or_else(String::new, |a| a.ip().to_string()),
            port: me.port,
            discovery_port: self.config.discovery_port,
            data_dir: self.config.data_dir.display().to_string(),
        });
        if let Some(problem) = self.store_problem.take() {
            self.out.emit(Event::error(format!("history: {problem}")));
        }
        let mut unfinished = self.store.unfinished_transfers().unwrap_or_else(|e| {
            tracing::warn!("history: cannot read unfinished transfers: {e}");
            Vec::new()
        });
        self.end_web_transfers(&mut unfinished);
        self.transfers
            .restore(unfinished, ctx!(self, now), &mut self.out);
        self.presence.announce(BeaconKind::Hello, &mut self.out);
        self.carry_out(now);
        if let Some(port) = self.config.web_port {
            self.web_start(None, port, now);
        }
    }

    /// Says bye, remembers who was online, stops every thread, and says `stopped`.
    pub(super) fn stop(&mut self, now: Now) {
        self.presence.announce(BeaconKind::Bye, &mut self.out);
        self.presence.remember_online(&mut self.out);
        self.carry_out(now);
        self.port.stop();
        tracing::info!("node stopped");
        self.fanout.emit(Event::Stopped);
    }

    /// When the loop must run next even if nothing arrives.
    pub(super) fn next_wake(&self) -> Instant {
        let timers = self.presence.next_announce().min(self.next_housekeeping);
        self.transfers
            .next_wake()
            .map_or(timers, |at| at.min(timers))
    }

    /// Asks the port which interfaces are up and recomputes where beacons go
    /// (interfaces come and go: Wi-Fi, VPN, DHCP).
    fn refresh_targets(&mut self) {
        let interfaces = if self.presence.needs_interfaces() {
            self.port.interfaces(&self.config.interfaces)
        } else {
            Vec::new()
        };
        self.presence.set_interfaces(interfaces);
    }
}

/// Routes from every part that has them: a link, else a visitor's page.
pub(super) struct AllRoutes<'a> {
    links: &'a Links,
    web: &'a Web,
}

impl Routes for AllRoutes<'_> {
    fn route(&self, peer: &str) -> Option<Route> {
        self.links.route(peer).or_else(|| self.web.route(peer))
    }
}

impl<P: Port> Core<P> {
    /// Every part's routes, to hand to chat.
    pub(super) fn routes(&self) -> AllRoutes<'_> {
        AllRoutes {
            links: &self.links,
            web: &self.web,
        }
    }
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod web_tests;

//! The core's glue: it owns the parts (presence, links, chat, transfers, IPMsg), the
//! store and the I/O port, and the subscribers; it routes each command and input to the
//! parts, carries out what they return, and runs their timers.
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
//! - `ipmsg`: what the IPMsg part hears and says, routed to and from the other parts.
//! - `history`: the store at start, `history` and `search`.
//! - `reach`: reach by address (`add_peer`, names resolved, unicast beacons due).
//! - `rooms`: room commands, a `send` to a room; `rooms_in`: a room message or change
//!   someone sent.
//! - `web`: the page for browsers: on and off, its visitors, the web part's calls.

/// Every route to a peer (a macro, so that it borrows the two fields it reads and not
/// the whole core).
macro_rules! routes {
    ($core:ident) => {
        crate::node::core::AllRoutes {
            links: &$core.links,
            ipmsg: &$core.ipmsg,
            web: &$core.web,
        }
    };
}

/// What the transfers part reads of the rest of the core (a macro, so that it borrows
/// the fields it reads and not the whole core).
macro_rules! ctx {
    ($core:ident, $now:expr) => {
        crate::node::transfers::Ctx {
            routes: &routes!($core),
            peers: $core.presence.table(),
            now: $now,
        }
    };
}

mod carry;
mod chats;
mod commands;
mod frames;
mod history;
mod inputs;
mod ipmsg;
mod reach;
mod rooms;
mod rooms_in;
mod timers;
mod web;

pub(super) use commands::MAX_BURST;

use std::sync::Arc;
use std::time::Instant;

use super::chat::Chat;
use super::clock::Now;
use super::error::NodeError;
use super::event::Event;
use super::fanout::{Fanout, Subscriber};
use super::ipmsg::Ipmsg;
use super::links::Links;
use super::out::{Out, Route, Routes};
use super::presence::{Known, Me, Presence, Reach};
use super::rooms::Rooms;
use super::status::Traffic;
use super::transfers::{Settings, Transfers};
use super::web::Web;
use crate::config::{self, Config, DataDirLock, Identity};
use crate::net::Port;
use crate::protocol::BeaconKind;
use crate::store::{Fallback, Store};
use crate::trust::KeyPair;

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
    ipmsg: Ipmsg,
    /// The rooms we are in.
    rooms: Rooms,
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
    /// Builds the core over a bound port and a locked data directory, as `keys` (the
    /// identity key from that directory): loads the name and the history (known peers,
    /// verified keys, the unacknowledged outbox), moving a v1 history to the key's id.
    pub(super) fn new(
        config: Config,
        lock: DataDirLock,
        port: P,
        keys: Arc<KeyPair>,
        now: Now,
    ) -> Result<Core<P>, NodeError> {
        let dir = &config.data_dir;
        let found = Identity::load(dir, config.name.as_deref(), &keys.peer_id())?;
        let identity = found.identity;
        let moved = found
            .previous
            .as_deref()
            .map(|old| (old, identity.id.as_str()));
        let loaded = history::load(dir, now, moved);
        if loaded.moved {
            identity.save(dir)?;
        }
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
            discovery_port: port
                .sockets()
                .discovery
                .map_or(config.discovery_port, |a| a.port()),
        };
        let transfers = Transfers::new(Settings::new(me.id.clone(), &config));
        let ipmsg = ipmsg::part(&me, port.sockets().ipmsg.local, now);
        let known = Known {
            table: loaded.peers,
            trust: loaded.trust,
        };
        let stored_rooms = loaded.store.rooms().unwrap_or_else(|e| {
            tracing::error!("cannot load the rooms: {e}");
            Vec::new()
        });
        let rooms = Rooms::new(Arc::clone(&keys), stored_rooms);
        let presence = Presence::new(me, keys, known, config.interval, reach, now);
        let mut core = Core {
            port,
            store: loaded.store,
            fanout: Fanout::default(),
            presence,
            links: Links::new(config.interval),
            chat: Chat::new(loaded.outbox),
            transfers,
            ipmsg,
            rooms,
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
            fingerprint: self.presence.key().fingerprint().to_string(),
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
        self.presence
            .announce(BeaconKind::Hello, now, &mut self.out);
        self.ipmsg_start(sockets.ipmsg.problem);
        self.carry_out(now);
        self.reach_start(now);
        self.rooms_start(now);
        if let Some(port) = self.config.web_port {
            self.web_start(None, port, now);
        }
    }

    /// Says bye, remembers who was online, stops every thread, and says `stopped`.
    pub(super) fn stop(&mut self, now: Now) {
        self.presence.announce(BeaconKind::Bye, now, &mut self.out);
        self.presence.unicast_bye(now, &mut self.out);
        self.ipmsg.exit(&mut self.out);
        self.presence.remember_online(&mut self.out);
        self.carry_out(now);
        self.port.stop();
        tracing::info!("node stopped");
        self.fanout.emit(Event::Stopped);
    }

    /// When the loop must run next even if nothing arrives.
    pub(super) fn next_wake(&self) -> Instant {
        let timers = self.presence.next_announce().min(self.next_housekeeping);
        [
            self.transfers.next_wake(),
            self.ipmsg.next_wake(),
            self.presence.unicast_next(),
        ]
        .into_iter()
        .flatten()
        .fold(timers, Instant::min)
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
        let targets = self.ipmsg_targets();
        self.ipmsg.set_targets(targets, &mut self.out);
    }
}

/// Every route the core knows: a peer's link, else its IPMsg address, else a visitor's
/// page.
pub(in crate::node) struct AllRoutes<'a> {
    pub(in crate::node) links: &'a Links,
    pub(in crate::node) ipmsg: &'a Ipmsg,
    pub(in crate::node) web: &'a Web,
}

impl Routes for AllRoutes<'_> {
    fn route(&self, peer: &str) -> Option<Route> {
        self.links
            .route(peer)
            .or_else(|| self.ipmsg.route(peer))
            .or_else(|| self.web.route(peer))
    }
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod reach_tests;
#[cfg(test)]
mod rooms_addr_tests;
#[cfg(test)]
mod rooms_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod web_tests;

//! Reach by address, routed: `add_peer`/`remove_peer` (and `--peer` at start) to
//! presence, its names to the port's resolver and back, the unicast beacons due, and
//! the list remembered in the store. What a unicast beacon heard means is presence's
//! (`Presence::on_unicast`, called from `inputs`).

use std::net::Ipv4Addr;

use super::Core;
use crate::net::Port;
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::fanout::Origin;

impl<P: Port> Core<P> {
    /// Takes up the addresses remembered in the store (a `peer_added` for each the user
    /// added) and those given with `--peer` (bad ones are an `error` each), at start
    /// after `ready`.
    pub(super) fn reach_start(&mut self, now: Now) {
        match self.store.reach_list() {
            Ok(list) => {
                for addr in self.presence.remember_reach(list, now.at) {
                    self.out.emit(Event::PeerAdded { addr });
                }
            }
            Err(e) => tracing::error!("cannot load the addresses to reach: {e}"),
        }
        for addr in self.config.peers.clone() {
            self.add_peer(None, &addr, now);
        }
        self.reach_tick(now);
    }

    /// `add_peer`: on the list (remembered), its first beacon at once.
    pub(super) fn add_peer(&mut self, asked: Option<Origin>, addr: &str, now: Now) {
        match self.presence.add_peer(addr, now, &mut self.out) {
            Ok((addr, new)) => {
                if new {
                    tracing::info!(%addr, "reaching an address by unicast");
                }
                self.out.emit(Event::PeerAdded { addr });
                self.reach_tick(now);
            }
            Err(e) => self
                .out
                .reply(asked, Event::error(format!("add_peer: {e}"))),
        }
    }

    /// `remove_peer`: off the list, a `bye` there, its beacons ignored from now on.
    pub(super) fn remove_peer(&mut self, asked: Option<Origin>, addr: &str, now: Now) {
        match self.presence.remove_peer(addr, now, &mut self.out) {
            Ok((addr, true)) => {
                tracing::info!(%addr, "no longer reaching an address");
                self.out.emit(Event::PeerRemoved { addr });
            }
            Ok((addr, false)) => self.out.reply(
                asked,
                Event::error(format!(
                    "remove_peer: {addr} is not on the list of addresses reached \
                     (it is ignored from now on all the same)"
                )),
            ),
            Err(e) => self
                .out
                .reply(asked, Event::error(format!("remove_peer: {e}"))),
        }
    }

    /// The unicast beacons due, and names to resolve (timer work, and after a change).
    pub(super) fn reach_tick(&mut self, now: Now) {
        for (key, name, port) in self.presence.names_due(now.at) {
            self.port.resolve(key, name, port);
        }
        self.presence.unicast_due(now, &mut self.out);
        self.carry_out(now);
    }

    /// A name on the list resolved (its beacons go at once), or did not (an `error`
    /// the first time; tried again later).
    pub(super) fn on_resolved(&mut self, key: &str, result: Result<Ipv4Addr, String>, now: Now) {
        if let Some(e) = self.presence.resolved(key, result, now.at) {
            tracing::warn!("{e}");
            self.out.emit(Event::error(format!("add_peer: {e}")));
        }
        self.reach_tick(now);
    }
}

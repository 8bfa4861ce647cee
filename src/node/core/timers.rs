//! Timer work, at the time the loop read: the announce schedule, and housekeeping (every
//! 500 ms or half an interval): expiry, the overflow count, a store checkpoint, silent
//! links and keepalives, probes to peers whose messages wait (chat), transfer retries
//! and waits, IPMsg retries, dial retries (for an offline IPMsg peer: asking whether it
//! is back). Cheap when nothing is due.

use std::time::Duration;

use super::Core;
use crate::net::Port;
use crate::node::clock::Now;
use crate::node::out::Routes;
use crate::protocol::PeerId;

/// How often housekeeping runs at most.
const HOUSEKEEPING: Duration = Duration::from_millis(500);

impl<P: Port> Core<P> {
    /// Timer work due at `now`.
    pub(in crate::node) fn tick(&mut self, now: Now) {
        if now.at >= self.presence.next_announce() {
            self.refresh_targets();
            self.presence.announce_due(now, &mut self.out);
        }
        if self.presence.unicast_next().is_some_and(|at| at <= now.at) {
            self.reach_tick(now); // an added address's beacon is due
        }
        if now.at < self.next_housekeeping {
            if self.transfers.next_wake().is_some_and(|at| at <= now.at) {
                self.transfers_tick(now); // a retry on time, not at the next housekeeping
            }
            if self.ipmsg.next_wake().is_some_and(|at| at <= now.at) {
                self.ipmsg_tick(now); // IPMsg retries are a second apart
            }
            return self.carry_out(now);
        }
        self.next_housekeeping = now.at + HOUSEKEEPING.min(self.config.interval / 2);
        let overflow = self.port.take_overflow();
        let dropped = &mut self.traffic.counters.dropped;
        if overflow > 0 {
            *dropped.entry("overflow".to_owned()).or_default() += overflow;
        }
        for (reason, n) in self.port.take_socket_errors() {
            *dropped.entry(reason.to_owned()).or_default() += n;
        }
        self.presence.expire(now.at, &mut self.out);
        self.gone_suspects(now);
        if let Err(e) = self.store.checkpoint() {
            tracing::debug!("history checkpoint: {e}");
        }
        self.links.tick(now.at, &mut self.out);
        self.chat.tick(&routes!(self), now.at, &mut self.out);
        self.transfers_tick(now);
        self.ipmsg_tick(now);
        self.carry_out(now);
        self.retry_dials(now);
        self.port.reap();
        self.carry_out(now);
    }

    fn transfers_tick(&mut self, now: Now) {
        for peer in self.transfers.tick(ctx!(self, now), &mut self.out) {
            self.dial(&peer, now);
        }
    }

    /// Dials every peer that something waits for and that has no route (each waits out
    /// its back-off).
    fn retry_dials(&mut self, now: Now) {
        let waiting: Vec<PeerId> = self
            .chat
            .waiting_peers()
            .cloned()
            .chain(self.transfers.waiting_peers())
            .filter(|p| routes!(self).route(p).is_none())
            .collect();
        for peer in waiting {
            self.dial(&peer, now);
        }
    }
}

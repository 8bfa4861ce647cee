//! Which accepted connections may wait for their first frame, and what became of those
//! that never sent one. Pure bookkeeping: no sockets, no clock (age is the order of
//! admission); `link.rs` holds the threads.
//!
//! At most [`MAX_GREETING`] connections wait at once, and one source address holds at
//! most [`MAX_GREETING_PER_ADDR`] of them. A newcomer is never refused for lack of room:
//! a source at its share makes room by losing its own oldest silent connection, and when
//! the whole pool is taken the address holding the most gives up its oldest. So silent
//! connections from one host (or a few) can only crowd out each other, never a
//! different address; and on loopback, where every local peer is 127.0.0.1, an honest
//! peer's greeting (microseconds) gets through a silent flood from the same address
//! unless the flood opens [`MAX_GREETING_PER_ADDR`] new connections during it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Most accepted connections waiting for their first frame at once (bounded threads and
/// memory under a flood of half-open connections).
pub const MAX_GREETING: usize = 64;

/// Most of those that one source address may hold.
pub const MAX_GREETING_PER_ADDR: usize = 16;

/// Connections waiting for their first frame, oldest first, each with its source.
#[derive(Debug)]
pub struct GreetingPool<T> {
    waiting: BTreeMap<u64, (IpAddr, T)>,
    next: u64,
}

impl<T> Default for GreetingPool<T> {
    fn default() -> Self {
        GreetingPool {
            waiting: BTreeMap::new(),
            next: 0,
        }
    }
}

impl<T> GreetingPool<T> {
    /// Admits a connection from `addr`; returns its key and the connection it displaced,
    /// if room had to be made (the caller closes that one).
    pub fn admit(&mut self, addr: IpAddr, item: T) -> (u64, Option<(u64, T)>) {
        let evicted = self
            .victim(addr)
            .and_then(|k| self.waiting.remove(&k).map(|(_, t)| (k, t)));
        self.next += 1;
        self.waiting.insert(self.next, (addr, item));
        (self.next, evicted)
    }

    /// The greeting `key` is over; `None` if it had been displaced meanwhile.
    pub fn finish(&mut self, key: u64) -> Option<T> {
        self.waiting.remove(&key).map(|(_, t)| t)
    }

    /// Connections waiting now.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Everything still waiting (to close it all at shutdown).
    pub fn items(&self) -> impl Iterator<Item = &T> {
        self.waiting.values().map(|(_, t)| t)
    }

    /// Who makes room for a newcomer from `addr`, if anyone must.
    fn victim(&self, addr: IpAddr) -> Option<u64> {
        let mut held: HashMap<IpAddr, (usize, u64)> = HashMap::new();
        // Oldest first, so the first key seen per address is its oldest.
        for (&key, (from, _)) in &self.waiting {
            held.entry(*from).or_insert((0, key)).0 += 1;
        }
        if let Some(&(n, oldest)) = held.get(&addr)
            && n >= MAX_GREETING_PER_ADDR
        {
            return Some(oldest);
        }
        if self.waiting.len() < MAX_GREETING {
            return None;
        }
        // Full: the address holding the most gives up its oldest (ties: the older one).
        held.values()
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|&(_, oldest)| oldest)
    }
}

/// Why an accepted connection was closed before its first frame was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Displaced by a newer connection (its address held its share, or the pool was full
    /// and its address held the most).
    Evicted,
    /// No whole first frame within the greeting deadline.
    Timeout,
    /// The peer closed before sending a whole first frame.
    Closed,
    /// The first bytes were not a frame, or the frame not a message.
    Invalid,
    /// A local failure (a thread or a socket handle could not be had; a read error).
    Failed,
    /// A protocol v1 peer: its first frame was a JSON `hello`, not a handshake.
    Version,
    /// The handshake failed: a malformed message, one that did not decrypt, a key proof
    /// that did not verify, our own key (labels in `handshakes_failed`).
    Handshake,
}

impl Refusal {
    const ALL: [Refusal; 7] = [
        Refusal::Evicted,
        Refusal::Timeout,
        Refusal::Closed,
        Refusal::Invalid,
        Refusal::Failed,
        Refusal::Version,
        Refusal::Handshake,
    ];

    /// The name used in `net_status` (`connections_refused`).
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Evicted => "evicted",
            Refusal::Timeout => "timeout",
            Refusal::Closed => "closed",
            Refusal::Invalid => "invalid",
            Refusal::Failed => "failed",
            Refusal::Version => "version",
            Refusal::Handshake => "handshake",
        }
    }
}

/// Counts kept by the acceptor and its greeters, read by the core for `net_status`.
#[derive(Debug, Default)]
pub struct AcceptStats {
    accepted: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl AcceptStats {
    /// One more accepted connection.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// One more connection closed before its first frame.
    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Connections accepted so far.
    pub fn accepted_total(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Refusals so far by reason (reasons that happened only).
    pub fn refused_by_reason(&self) -> BTreeMap<String, u64> {
        Refusal::ALL
            .iter()
            .map(|r| {
                (
                    r.label().to_owned(),
                    self.refused[*r as usize].load(Ordering::Relaxed),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn one_address_displaces_only_its_own_oldest() {
        let mut pool = GreetingPool::default();
        let first: Vec<u64> = (0..MAX_GREETING_PER_ADDR)
            .map(|i| {
                let (key, evicted) = pool.admit(ip(1), i);
                assert!(evicted.is_none(), "room for its share");
                key
            })
            .collect();
        let (_, other) = pool.admit(ip(2), 100);
        assert!(other.is_none(), "another address is not charged for it");
        let (_, evicted) = pool.admit(ip(1), 99);
        assert_eq!(evicted, Some((first[0], 0)), "its own oldest makes room");
        assert_eq!(pool.len(), MAX_GREETING_PER_ADDR + 1);
        assert!(
            pool.finish(first[0]).is_none(),
            "an evicted greeting is gone"
        );
        assert_eq!(pool.finish(first[1]), Some(1));
    }

    #[test]
    fn a_full_pool_takes_from_the_address_holding_the_most() {
        let mut pool = GreetingPool::default();
        // Four addresses at their share fill the pool; one of them got there first.
        let mut oldest_of_3 = None;
        for a in [3, 1, 2, 4] {
            for i in 0..MAX_GREETING_PER_ADDR {
                let (key, evicted) = pool.admit(ip(a), usize::from(a));
                assert!(evicted.is_none());
                if a == 3 && i == 0 {
                    oldest_of_3 = Some(key);
                }
            }
        }
        assert_eq!(pool.len(), MAX_GREETING);
        // A newcomer gets in: the tie goes against the oldest greeting.
        let (_, evicted) = pool.admit(ip(9), 9);
        assert_eq!(evicted.map(|e| e.0), oldest_of_3);
        // Next, address 3 holds fewer than the others: one of them pays.
        let (_, evicted) = pool.admit(ip(9), 9);
        assert_eq!(evicted.map(|e| e.1), Some(1));
        assert_eq!(pool.len(), MAX_GREETING);
    }

    #[test]
    fn loopback_floods_evict_the_oldest_silent_one() {
        let lo = IpAddr::from([127, 0, 0, 1]);
        let mut pool = GreetingPool::default();
        for i in 0..1000 {
            pool.admit(lo, i);
        }
        assert_eq!(pool.len(), MAX_GREETING_PER_ADDR);
        // An honest peer's greeting admitted now survives the next 15 silent ones.
        let (honest, _) = pool.admit(lo, 5000);
        for i in 0..MAX_GREETING_PER_ADDR - 1 {
            pool.admit(lo, 6000 + i);
        }
        assert_eq!(pool.finish(honest), Some(5000));
    }

    #[test]
    fn stats_count_by_reason() {
        let s = AcceptStats::default();
        s.accepted();
        s.accepted();
        s.refused(Refusal::Evicted);
        s.refused(Refusal::Timeout);
        s.refused(Refusal::Timeout);
        assert_eq!(s.accepted_total(), 2);
        let by = s.refused_by_reason();
        assert_eq!(by.get("evicted"), Some(&1));
        assert_eq!(by.get("timeout"), Some(&2));
        assert_eq!(by.len(), 2, "reasons that never happened are left out");
    }
}

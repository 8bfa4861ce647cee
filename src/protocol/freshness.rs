//! Which signed datagrams are new: per sender key, the instance, a window of counters
//! and the latest clock reading seen. Pure state: the time comes in as a parameter
//! (ms since the Unix epoch, the datagrams' own unit), memory is capped.
//!
//! Rules, for a datagram that passed `signed::parse`:
//! - **Same key, same instance**: its counter must be new: above every one seen, or
//!   within the last [`WINDOW`] and not seen yet (UDP may reorder). Else `replayed`.
//! - **New key, or a new instance of a known key**: its `ts` must be within `max_skew` of
//!   our clock, and (for a known key) later than every `ts` the key sent before, by its
//!   own clock, so a restart is accepted whatever the two clocks say, and an old
//!   instance's datagram replayed later is not. Else `stale`.
//! - Only then is the signature checked (the costly step; junk, stale and replayed
//!   datagrams never reach it), and only a verified datagram changes the state.
//!
//! An entry unheard for `2 × max_skew` is forgotten: by then anything it could have
//! guarded against is stale anyway. At most `capacity` entries are kept; when full, the
//! least recently heard key is forgotten (a flood of made-up keys costs each of them a
//! valid signature, and can at worst let a datagram of a forgotten key, replayed within
//! `max_skew`, count once more: beacons repeat what is known, shouts are also deduped
//! by `msg_id`). A sender whose clock jumps back more than it advanced is ignored until
//! its entry is forgotten.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::signed::{self, Claims, Envelope, SignedError};
use crate::trust::keys::KEY_LEN;

/// How many counters behind the highest one a datagram may arrive and still count.
pub const WINDOW: u64 = 64;

/// Default clock difference tolerated for a key's first datagram (or a restart).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Default number of sender keys remembered.
pub const DEFAULT_CAPACITY: usize = 8192;

#[derive(Debug)]
struct Entry {
    instance: String,
    /// Highest counter accepted for `instance`.
    top: u64,
    /// Bit i set: counter `top - i` was accepted.
    seen: u64,
    /// Highest `ts` accepted from this key, any instance.
    last_ts: u64,
    /// Our clock when it was last accepted.
    heard_at: u64,
    /// Position in the eviction order.
    stamp: u64,
}

/// The replay and staleness guard for signed datagrams.
#[derive(Debug)]
pub struct Freshness {
    entries: HashMap<[u8; KEY_LEN], Entry>,
    /// Least recently heard first.
    order: BTreeMap<u64, [u8; KEY_LEN]>,
    next_stamp: u64,
    capacity: usize,
    max_skew_ms: u64,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness::new(DEFAULT_MAX_SKEW, DEFAULT_CAPACITY)
    }
}

impl Freshness {
    /// A guard tolerating `max_skew` between clocks and remembering `capacity` keys.
    pub fn new(max_skew: Duration, capacity: usize) -> Freshness {
        Freshness {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next_stamp: 0,
            capacity: capacity.max(1),
            max_skew_ms: u64::try_from(max_skew.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Parses, checks and (if new and authentic) records one datagram received at `now`.
    pub fn check(&mut self, datagram: &[u8], now: u64) -> Result<Envelope, SignedError> {
        self.admit(signed::parse(datagram)?, now, || true)
    }

    /// Checks and (if new and authentic) records a datagram already parsed (by a reader
    /// thread), received at `now`. `budget` is asked, only for a datagram that is fresh,
    /// whether its signature may be checked now (the costly step); `false` drops it as
    /// [`SignedError::OverBudget`], unchecked and unrecorded.
    pub fn admit(
        &mut self,
        unverified: signed::Unverified,
        now: u64,
        budget: impl FnOnce() -> bool,
    ) -> Result<Envelope, SignedError> {
        let claims = unverified.claims();
        self.expire(&claims.key, now);
        self.judge(claims, now)?;
        if !budget() {
            return Err(SignedError::OverBudget);
        }
        let known = self.entries.contains_key(&claims.key);
        let envelope = unverified.verify(known)?;
        self.record(envelope.key.as_bytes(), &envelope, now);
        Ok(envelope)
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn expire(&mut self, key: &[u8; KEY_LEN], now: u64) {
        let old = self
            .entries
            .get(key)
            .is_some_and(|e| now.saturating_sub(e.heard_at) > self.max_skew_ms.saturating_mul(2));
        if old {
            self.forget(key);
        }
    }

    /// The freshness verdict on what a datagram claims (no state change).
    fn judge(&self, d: &Claims, now: u64) -> Result<(), SignedError> {
        if let Some(e) = self.entries.get(&d.key)
            && e.instance == d.beacon.instance
        {
            return if d.ctr > e.top {
                Ok(())
            } else if e.top - d.ctr >= WINDOW || e.seen & (1 << (e.top - d.ctr)) != 0 {
                Err(SignedError::Replayed(d.ctr))
            } else {
                Ok(())
            };
        }
        if d.ts.abs_diff(now) > self.max_skew_ms {
            let (ahead, by) = if d.ts > now {
                ("ahead", d.ts - now)
            } else {
                ("behind", now - d.ts)
            };
            return Err(SignedError::Stale(format!(
                "its clock is {}s {ahead} of ours",
                by / 1000
            )));
        }
        if let Some(e) = self.entries.get(&d.key)
            && d.ts <= e.last_ts
        {
            return Err(SignedError::Stale(
                "a new instance older than the key's last datagram".into(),
            ));
        }
        Ok(())
    }

    fn record(&mut self, key: &[u8; KEY_LEN], d: &Envelope, now: u64) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        if let Some(e) = self.entries.get_mut(key) {
            self.order.remove(&e.stamp);
            if e.instance != d.beacon.instance {
                e.instance.clone_from(&d.beacon.instance);
                (e.top, e.seen) = (d.ctr, 1);
            } else if d.ctr > e.top {
                let shift = d.ctr - e.top;
                e.seen = if shift >= WINDOW { 0 } else { e.seen << shift } | 1;
                e.top = d.ctr;
            } else {
                e.seen |= 1 << (e.top - d.ctr);
            }
            e.last_ts = e.last_ts.max(d.ts);
            e.heard_at = now;
            e.stamp = stamp;
        } else {
            while self.entries.len() >= self.capacity {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.entries.remove(&oldest);
            }
            self.entries.insert(
                *key,
                Entry {
                    instance: d.beacon.instance.clone(),
                    top: d.ctr,
                    seen: 1,
                    last_ts: d.ts,
                    heard_at: now,
                    stamp,
                },
            );
        }
        self.order.insert(stamp, *key);
    }

    fn forget(&mut self, key: &[u8; KEY_LEN]) {
        if let Some(e) = self.entries.remove(key) {
            self.order.remove(&e.stamp);
        }
    }
}

#[cfg(test)]
#[path = "freshness_tests.rs"]
mod tests;

//! How much each browser address may ask for: request rates and open connections.
//!
//! Pure bookkeeping with the time as a parameter: token buckets per address and a count of
//! open connections per address and in all. Both tables are bounded, so a flood from many
//! addresses costs a fixed amount of memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most addresses remembered by a [`RateLimiter`]; the longest idle is forgotten first.
pub const MAX_TRACKED: usize = 1024;

/// A rate: `per_sec` on average, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_sec: f64,
    /// Requests allowed at once after a quiet spell.
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets, one per address.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    buckets: HashMap<IpAddr, Bucket>,
}

impl RateLimiter {
    /// A limiter allowing `rate` to each address.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `ip` at `now`; false when its bucket is empty.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= MAX_TRACKED {
            self.forget_oldest(now);
        }
        let rate = self.rate;
        let bucket = self.buckets.entry(ip).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.per_sec).min(rate.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Addresses remembered now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    /// Drops full buckets (they behave like new ones), else the longest idle one.
    fn forget_oldest(&mut self, now: Instant) {
        let rate = self.rate;
        let refill = Duration::from_secs_f64(rate.burst / rate.per_sec.max(f64::MIN_POSITIVE));
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.at) < refill);
        if self.buckets.len() >= MAX_TRACKED
            && let Some(oldest) = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.at)
                .map(|(ip, _)| *ip)
        {
            self.buckets.remove(&oldest);
        }
    }
}

/// Open connections, per address and in all, against two caps.
#[derive(Debug)]
pub struct ConnCounter {
    per_addr: usize,
    total: usize,
    open: HashMap<IpAddr, usize>,
    sum: usize,
}

impl ConnCounter {
    /// A counter allowing `per_addr` connections from one address and `total` in all.
    pub fn new(per_addr: usize, total: usize) -> Self {
        Self {
            per_addr,
            total,
            open: HashMap::new(),
            sum: 0,
        }
    }

    /// Counts a new connection from `ip`; false (and nothing counted) over a cap.
    pub fn admit(&mut self, ip: IpAddr) -> bool {
        let n = self.open.get(&ip).copied().unwrap_or(0);
        if n >= self.per_addr || self.sum >= self.total {
            return false;
        }
        self.open.insert(ip, n + 1);
        self.sum += 1;
        true
    }

    /// A connection from `ip` closed.
    pub fn release(&mut self, ip: IpAddr) {
        if let Some(n) = self.open.get_mut(&ip) {
            *n -= 1;
            self.sum -= 1;
            if *n == 0 {
                self.open.remove(&ip);
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn a_bucket_allows_a_burst_then_the_rate() {
        let mut limiter = RateLimiter::new(Rate {
            per_sec: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow(ip(1), t0)));
        assert!(!limiter.allow(ip(1), t0));
        assert!(limiter.allow(ip(2), t0), "addresses have their own buckets");
        assert!(limiter.allow(ip(1), t0 + Duration::from_millis(500)));
        assert!(!limiter.allow(ip(1), t0 + Duration::from_millis(600)));
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| limiter.allow(ip(1), later)));
        assert!(!limiter.allow(ip(1), later));
    }

    #[test]
    fn a_flood_of_addresses_stays_bounded() {
        let mut limiter = RateLimiter::new(Rate {
            per_sec: 1.0,
            burst: 1.0,
        });
        let t0 = Instant::now();
        for n in 0..10 * MAX_TRACKED as u32 {
            limiter.allow(ip(n), t0);
            assert!(limiter.tracked() <= MAX_TRACKED);
        }
        // The last address is remembered: its bucket is empty.
        assert!(!limiter.allow(ip(10 * MAX_TRACKED as u32 - 1), t0));
    }

    #[test]
    fn connections_are_capped_per_address_and_in_all() {
        let mut conns = ConnCounter::new(2, 3);
        assert!(conns.admit(ip(1)) && conns.admit(ip(1)));
        assert!(!conns.admit(ip(1)));
        assert!(conns.admit(ip(2)));
        assert!(!conns.admit(ip(3)), "total cap");
        conns.release(ip(1));
        assert!(conns.admit(ip(3)));
        conns.release(ip(9)); // never counted: ignored
        assert_eq!(conns.open(), 3);
        for n in [1, 2, 3] {
            conns.release(ip(n));
        }
        assert_eq!(conns.open(), 0);
    }
}

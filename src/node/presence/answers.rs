//! The limit on answers to unicast beacons, so lanchat cannot be used as an amplifier: a
//! source address (possibly forged) gets at most one answer per [`AnswerLimit`] gap,
//! all sources together at most [`TOTAL_PER_SEC`], and an answer is never larger than
//! what it answers by more than [`ANSWER_SLACK`] bytes ([`fits`]). Pure: time is a
//! parameter.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::bucket::TokenBucket;

/// How many bytes an answer may exceed the datagram it answers by.
pub const ANSWER_SLACK: usize = 64;

/// Most answers per second to every source together (bursts up to as many).
pub const TOTAL_PER_SEC: f64 = 50.0;

/// Most sources remembered; when full, sources whose gap has passed are forgotten, and
/// if none has, nobody new is answered until one has.
pub const MAX_SOURCES: usize = 4096;

/// Answers so far, per source address.
#[derive(Debug)]
pub struct AnswerLimit {
    gap: Duration,
    last: HashMap<Ipv4Addr, Instant>,
    total: TokenBucket,
}

/// Why an answer is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This source had its answer within the gap.
    Source,
    /// Every source together is over [`TOTAL_PER_SEC`], or too many sources are fresh.
    Total,
}

impl AnswerLimit {
    /// At most one answer per source per `gap` (a little under the node's interval, so
    /// a peer beaconing every interval is answered every time).
    pub fn new(gap: Duration, now: Instant) -> AnswerLimit {
        AnswerLimit {
            gap,
            last: HashMap::new(),
            total: TokenBucket::new(TOTAL_PER_SEC, TOTAL_PER_SEC, now),
        }
    }

    /// Takes an answer for `source` at `now`, if the limits allow one.
    pub fn take(&mut self, source: Ipv4Addr, now: Instant) -> Result<(), Refused> {
        if let Some(at) = self.last.get(&source)
            && now.saturating_duration_since(*at) < self.gap
        {
            return Err(Refused::Source);
        }
        if !self.last.contains_key(&source) && self.last.len() >= MAX_SOURCES {
            let gap = self.gap;
            self.last
                .retain(|_, at| now.saturating_duration_since(*at) < gap);
            if self.last.len() >= MAX_SOURCES {
                return Err(Refused::Total);
            }
        }
        if !self.total.take(now) {
            return Err(Refused::Total);
        }
        self.last.insert(source, now);
        Ok(())
    }

    /// Sources remembered now.
    #[cfg(test)]
    pub fn sources(&self) -> usize {
        self.last.len()
    }
}

/// Whether an answer of `answer` bytes may answer a datagram of `received` bytes.
pub fn fits(answer: usize, received: usize) -> bool {
    answer <= received + ANSWER_SLACK
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_secs(4);

    #[test]
    fn one_answer_per_source_per_gap() {
        let t0 = Instant::now();
        let mut limit = AnswerLimit::new(GAP, t0);
        let a = Ipv4Addr::new(10, 0, 2, 7);
        assert_eq!(limit.take(a, t0), Ok(()));
        for ms in [0, 1, 100, 3999] {
            let at = t0 + Duration::from_millis(ms);
            assert_eq!(limit.take(a, at), Err(Refused::Source), "at {ms} ms");
        }
        assert_eq!(limit.take(a, t0 + GAP), Ok(()));
        // Another source is not held up by the first.
        assert_eq!(limit.take(Ipv4Addr::new(10, 0, 2, 8), t0 + GAP), Ok(()));
    }

    #[test]
    fn many_sources_share_one_total() {
        let t0 = Instant::now();
        let mut limit = AnswerLimit::new(GAP, t0);
        let answered = (0..1000u32)
            .filter(|n| limit.take(Ipv4Addr::from(0x0a00_0000 + n), t0).is_ok())
            .count();
        assert_eq!(
            answered, TOTAL_PER_SEC as usize,
            "a burst of the total, no more"
        );
        // A second later, a second's worth more.
        let later = t0 + Duration::from_secs(1);
        let more = (1000..2000u32)
            .filter(|n| limit.take(Ipv4Addr::from(0x0a00_0000 + n), later).is_ok())
            .count();
        assert_eq!(more, TOTAL_PER_SEC as usize);
    }

    #[test]
    fn sources_are_bounded_and_stale_ones_forgotten() {
        let t0 = Instant::now();
        let mut limit = AnswerLimit::new(GAP, t0);
        let mut at = t0;
        let mut n = 0u32;
        while limit.sources() < MAX_SOURCES {
            at += Duration::from_millis(20); // within the total's rate
            limit
                .take(Ipv4Addr::from(0x0b00_0000 + n), at)
                .expect("room");
            n += 1;
        }
        let newcomer = Ipv4Addr::new(192, 0, 2, 1);
        // Everyone remembered is past its gap once GAP has passed: forgotten, room again.
        assert_eq!(limit.take(newcomer, at + GAP), Ok(()));
        assert!(limit.sources() < MAX_SOURCES);
    }

    #[test]
    fn answers_fit_what_they_answer() {
        assert!(fits(300, 300));
        assert!(fits(300 + ANSWER_SLACK, 300));
        assert!(!fits(301 + ANSWER_SLACK, 300));
    }
}

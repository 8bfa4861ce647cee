//! What a signed datagram must pass before presence believes it: the freshness guard
//! (stale and replayed ones are dropped before any signature is checked) and a
//! verification budget, per source address and for everyone together, so a flood of
//! well-formed forgeries costs the core at most a bounded number of signature checks a
//! second. Pure: the time is a parameter; the datagram was parsed by a reader thread.
//!
//! Per source: [`PER_SOURCE_RATE`] checks a second (bursts of [`PER_SOURCE_BURST`]): a
//! host's own peers need a few (one `here` per instance and interval, answers to a
//! `hello`), a whole lab restarting behind one address (loopback) a few hundred. For
//! everyone: [`ALL_RATE`], ~8 % of a core at 40 µs a check. Past the budget a datagram
//! is dropped unchecked (`over_budget`): a flood can delay who is heard, never make us
//! believe a forgery. UDP source addresses can be forged, which is why the budget for
//! everyone exists; links do not need beacons, so a peer with a link keeps it.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::bucket::TokenBucket;
use crate::node::clock::Now;
use crate::protocol::freshness::Freshness;
use crate::protocol::signed::{Envelope, SignedError, Unverified};

/// Signature checks a second one source address may cost.
pub const PER_SOURCE_RATE: f64 = 200.0;

/// Burst a source may use at once (a lab's worth of answers to one `hello`).
pub const PER_SOURCE_BURST: f64 = 400.0;

/// Signature checks a second all sources together may cost.
pub const ALL_RATE: f64 = 2000.0;

/// Sources with a budget of their own at once (beyond: the oldest idle ones go).
pub const MAX_SOURCES: usize = 4096;

/// The freshness guard and the verification budget.
#[derive(Debug)]
pub struct Guard {
    freshness: Freshness,
    sources: HashMap<Ipv4Addr, TokenBucket>,
    all: TokenBucket,
}

impl Guard {
    /// A guard with nothing heard yet, budgets full at `now`.
    pub fn new(now: Now) -> Guard {
        Guard {
            freshness: Freshness::default(),
            sources: HashMap::new(),
            all: TokenBucket::new(ALL_RATE, ALL_RATE, now.at),
        }
    }

    /// The datagram from `from`, checked: fresh, within budget, authentic. Only an
    /// authentic one is remembered by the freshness guard.
    pub fn admit(
        &mut self,
        datagram: Unverified,
        from: Ipv4Addr,
        now: Now,
    ) -> Result<Envelope, SignedError> {
        let Guard {
            freshness,
            sources,
            all,
        } = self;
        freshness.admit(datagram, now.wall, || spend(sources, all, from, now))
    }
}

/// Takes one signature check from `from`'s budget and everyone's; `false` if either is
/// spent (the source's is tried first, so one noisy source does not drain everyone's).
fn spend(
    sources: &mut HashMap<Ipv4Addr, TokenBucket>,
    all: &mut TokenBucket,
    from: Ipv4Addr,
    now: Now,
) -> bool {
    if !sources.contains_key(&from) && sources.len() >= MAX_SOURCES {
        // Sources whose budget has refilled owe nothing: forgetting them loses nothing.
        sources.retain(|_, b| !b.is_full(now.at));
    }
    let own = if sources.len() < MAX_SOURCES || sources.contains_key(&from) {
        sources
            .entry(from)
            .or_insert_with(|| TokenBucket::new(PER_SOURCE_RATE, PER_SOURCE_BURST, now.at))
            .take(now.at)
    } else {
        true // every source busy: only everyone's budget applies
    };
    own && all.take(now.at)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::protocol::signed::{self, DatagramSigner};
    use crate::protocol::{Beacon, BeaconKind, PROTOCOL_VERSION};
    use crate::trust::KeyPair;

    fn here(keys: &KeyPair) -> Beacon {
        Beacon {
            lanchat: PROTOCOL_VERSION,
            id: keys.peer_id(),
            instance: "i".into(),
            name: "n".into(),
            host: "h".into(),
            port: 1,
            status: "online".into(),
            interval_ms: 5000,
            unicast: None,
            kind: BeaconKind::Here,
        }
    }

    /// A well-formed datagram whose signature does not verify.
    fn forged(signer: &mut DatagramSigner, keys: &KeyPair, now: Now) -> Unverified {
        let mut bytes = signer.sign(&here(keys), now.wall).unwrap();
        // Another base64url character inside the signature's text.
        bytes[25] = if bytes[25] == b'A' { b'B' } else { b'A' };
        signed::parse(&bytes).unwrap()
    }

    #[test]
    fn one_source_gets_its_burst_then_its_rate_and_others_are_not_charged() {
        let t0 = Now::read();
        let keys = Arc::new(KeyPair::from_secrets(&[7; 32], &[8; 32]));
        let mut signer = DatagramSigner::new(keys.clone());
        let mut guard = Guard::new(t0);
        let flood = Ipv4Addr::new(10, 0, 0, 66);
        let mut labels = HashMap::<&str, usize>::new();
        for _ in 0..1000 {
            let d = forged(&mut signer, &keys, t0);
            *labels
                .entry(guard.admit(d, flood, t0).unwrap_err().label())
                .or_default() += 1;
        }
        assert_eq!(labels.get("forged"), Some(&(PER_SOURCE_BURST as usize)));
        assert_eq!(
            labels.get("over_budget"),
            Some(&(1000 - PER_SOURCE_BURST as usize))
        );
        // Another address still has its own budget, and a genuine datagram passes.
        let honest = Arc::new(KeyPair::from_secrets(&[9; 32], &[10; 32]));
        let bytes = DatagramSigner::new(honest.clone())
            .sign(&here(&honest), t0.wall)
            .unwrap();
        let d = signed::parse(&bytes).unwrap();
        let env = guard.admit(d, Ipv4Addr::new(10, 0, 0, 7), t0).unwrap();
        assert_eq!(env.beacon.id, honest.peer_id());
        // A second later the flooding source may cost its rate again, no more.
        let t1 = t0.after(Duration::from_secs(1));
        let checked = (0..1000)
            .filter(|_| {
                let d = forged(&mut signer, &keys, t1);
                guard.admit(d, flood, t1).unwrap_err().label() == "forged"
            })
            .count();
        assert_eq!(checked, PER_SOURCE_RATE as usize);
    }

    #[test]
    fn everyone_together_is_capped_and_the_source_table_is_bounded() {
        let t0 = Now::read();
        let keys = Arc::new(KeyPair::from_secrets(&[7; 32], &[8; 32]));
        let mut signer = DatagramSigner::new(keys.clone());
        let mut guard = Guard::new(t0);
        let mut checked = 0;
        for i in 0..(MAX_SOURCES as u32 + 2000) {
            let from = Ipv4Addr::from(0x0a00_0000 + i);
            let d = forged(&mut signer, &keys, t0);
            if guard.admit(d, from, t0).unwrap_err().label() == "forged" {
                checked += 1;
            }
        }
        assert_eq!(
            checked, ALL_RATE as usize,
            "spoofed sources share one budget"
        );
        assert!(guard.sources.len() <= MAX_SOURCES);
    }

    #[test]
    fn replayed_and_stale_datagrams_cost_no_budget() {
        let t0 = Now::read();
        let keys = Arc::new(KeyPair::from_secrets(&[7; 32], &[8; 32]));
        let bytes = DatagramSigner::new(keys.clone())
            .sign(&here(&keys), t0.wall)
            .unwrap();
        let mut guard = Guard::new(t0);
        let from = Ipv4Addr::new(10, 0, 0, 1);
        guard
            .admit(signed::parse(&bytes).unwrap(), from, t0)
            .unwrap();
        for _ in 0..10_000 {
            let e = guard.admit(signed::parse(&bytes).unwrap(), from, t0);
            assert_eq!(e.unwrap_err().label(), "replayed");
        }
        assert!(guard.sources[&from].tokens() > PER_SOURCE_BURST - 2.0);
    }
}

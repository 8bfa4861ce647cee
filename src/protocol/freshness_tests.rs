//! The freshness guard against replays, stale datagrams and floods, with injected time.

use std::time::Duration;

use super::*;
use crate::protocol::beacon::BeaconKind;
use crate::protocol::signed::tests::{beacon, keys};
use crate::protocol::signed::{self, SIGNED_VERSION};
use crate::trust::keys::KeyPair;

const NOW: u64 = 1_764_750_000_000;
const MIN: u64 = 60_000;

fn here(k: &KeyPair, instance: &str, ctr: u64, ts: u64) -> Vec<u8> {
    let mut b = beacon(k, BeaconKind::Here);
    b.instance = instance.into();
    signed::sign(&b, k, ctr, ts).unwrap()
}

fn label(r: Result<signed::Envelope, SignedError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.label(),
    }
}

#[test]
fn a_datagram_counts_once() {
    let k = keys(1);
    let mut f = Freshness::default();
    let d = here(&k, "i1", 0, NOW);
    let env = f.check(&d, NOW).unwrap();
    assert_eq!(env.beacon.lanchat, SIGNED_VERSION);
    assert_eq!(label(f.check(&d, NOW + 10)), "replayed");
    assert_eq!(label(f.check(&here(&k, "i1", 1, NOW), NOW)), "ok");
}

#[test]
fn reordered_counters_count_within_the_window_only() {
    let k = keys(1);
    let mut f = Freshness::default();
    assert_eq!(label(f.check(&here(&k, "i1", 100, NOW), NOW)), "ok");
    assert_eq!(
        label(f.check(&here(&k, "i1", 98, NOW), NOW)),
        "ok",
        "late, unseen"
    );
    assert_eq!(label(f.check(&here(&k, "i1", 98, NOW), NOW)), "replayed");
    assert_eq!(
        label(f.check(&here(&k, "i1", 100 - WINDOW, NOW), NOW)),
        "replayed"
    );
    assert_eq!(
        label(f.check(&here(&k, "i1", 100 - WINDOW + 1, NOW), NOW)),
        "ok"
    );
    // A jump far ahead forgets the old window but not the order.
    assert_eq!(label(f.check(&here(&k, "i1", 1000, NOW), NOW)), "ok");
    assert_eq!(label(f.check(&here(&k, "i1", 101, NOW), NOW)), "replayed");
}

#[test]
fn a_first_datagram_must_be_near_our_clock() {
    let k = keys(1);
    let mut f = Freshness::new(Duration::from_secs(15 * 60), 100);
    assert_eq!(
        label(f.check(&here(&k, "i1", 0, NOW - 16 * MIN), NOW)),
        "stale"
    );
    assert_eq!(
        label(f.check(&here(&k, "i1", 0, NOW + 16 * MIN), NOW)),
        "stale"
    );
    let err = f
        .check(&here(&k, "i1", 0, NOW + 16 * MIN), NOW)
        .unwrap_err();
    assert!(err.to_string().contains("960s ahead"), "{err}");
    assert!(f.is_empty(), "refused datagrams leave no trace");
    // A sender 14 minutes behind is heard, and then whatever its clock says.
    assert_eq!(
        label(f.check(&here(&k, "i1", 0, NOW - 14 * MIN), NOW)),
        "ok"
    );
    assert_eq!(
        label(f.check(&here(&k, "i1", 1, NOW - 90 * MIN), NOW)),
        "ok"
    );
}

#[test]
fn a_restart_is_heard_and_the_old_instance_is_not() {
    let k = keys(1);
    let mut f = Freshness::default();
    let old = here(&k, "i1", 5, NOW - 10 * MIN);
    assert_eq!(label(f.check(&old, NOW - 10 * MIN)), "ok");
    // It restarts (counter back to 0) with its clock 10 minutes behind ours: fine.
    assert_eq!(label(f.check(&here(&k, "i2", 0, NOW - 9 * MIN), NOW)), "ok");
    // The old instance's datagrams replayed now: older than the restart, stale.
    assert_eq!(label(f.check(&old, NOW)), "stale");
    assert_eq!(
        label(f.check(&here(&k, "i1", 6, NOW - 10 * MIN), NOW)),
        "stale"
    );
}

#[test]
fn forged_datagrams_change_nothing() {
    let (k, m) = (keys(1), keys(3));
    let mut f = Freshness::default();
    // Bob's key, counter 1000, Mallory's signature: forged, and Bob's counter 1 still counts.
    let real = here(&k, "i1", 1000, NOW);
    let mut forged = real.clone();
    let mallory = here(&m, "i1", 1000, NOW);
    forged[20..106].copy_from_slice(&mallory[20..106]);
    assert_eq!(label(f.check(&forged, NOW)), "forged");
    assert!(f.is_empty());
    assert_eq!(label(f.check(&here(&k, "i1", 1, NOW), NOW)), "ok");
    // Once Bob is known, the same forgery is "tampered".
    assert_eq!(label(f.check(&forged, NOW)), "tampered");
    assert_eq!(label(f.check(&here(&k, "i1", 2, NOW), NOW)), "ok");
}

#[test]
fn entries_expire_after_twice_the_skew_and_replays_are_stale_by_then() {
    let k = keys(1);
    let skew = Duration::from_secs(60);
    let mut f = Freshness::new(skew, 100);
    let d = here(&k, "i1", 0, NOW);
    f.check(&d, NOW).unwrap();
    assert_eq!(
        label(f.check(&d, NOW + 2 * MIN)),
        "replayed",
        "still remembered"
    );
    assert_eq!(
        label(f.check(&d, NOW + 2 * MIN + 1)),
        "stale",
        "forgotten, but too old"
    );
    assert!(f.is_empty());
}

#[test]
fn a_flood_of_new_keys_stays_within_capacity() {
    let mut f = Freshness::new(Duration::from_secs(900), 16);
    let bob = keys(200);
    f.check(&here(&bob, "b", 0, NOW), NOW).unwrap();
    for n in 0..40u8 {
        let k = keys(n);
        f.check(&here(&k, "x", 0, NOW), NOW).unwrap();
        assert!(f.len() <= 16);
        // Bob keeps talking and so stays among the most recently heard.
        if n % 8 == 0 {
            f.check(&here(&bob, "b", u64::from(n) + 1, NOW), NOW)
                .unwrap();
        }
    }
    assert_eq!(f.len(), 16);
    assert_eq!(
        label(f.check(&here(&bob, "b", 1, NOW), NOW)),
        "replayed",
        "bob's entry survived the flood"
    );
    assert_eq!(f.entries.len(), f.order.len(), "index in step");
}

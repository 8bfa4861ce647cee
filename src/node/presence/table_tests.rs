//! The peer table with made-up times: joins, restarts, expiry, the cap, and where a
//! peer is dialed.

use super::test_sighting as s;
use super::*;

#[test]
fn join_refresh_change_restart() {
    let t0 = Instant::now();
    let mut t = PeerTable::new();
    assert_eq!(t.observe(&s("a", "i1", "A", 1), t0, 0), Observed::Joined);
    assert_eq!(t.observe(&s("a", "i1", "A", 1), t0, 0), Observed::Same);
    assert_eq!(
        t.observe(&s("a", "i1", "Anna", 1), t0, 0),
        Observed::Changed { restarted: false }
    );
    assert_eq!(
        t.observe(&s("a", "i2", "Anna", 2), t0, 0),
        Observed::Changed { restarted: true }
    );
    assert_eq!(t.get("a").unwrap().port, 2);
    assert_eq!(t.len(), 1);
}

#[test]
fn expiry_uses_the_given_clock() {
    let t0 = Instant::now();
    let mut t = PeerTable::new();
    t.observe(&s("a", "i", "A", 1), t0, 0);
    t.observe(&s("b", "i", "B", 1), t0 + Duration::from_secs(10), 0);
    let fast = Sighting {
        timeout: Some(Duration::from_secs(3)),
        ..s("c", "i", "C", 1)
    };
    t.observe(&fast, t0, 0);
    assert!(t.expire(t0 + Duration::from_secs(2)).is_empty());
    assert_eq!(
        t.expire(t0 + Duration::from_secs(3)),
        ["c"],
        "its own interval counts"
    );
    assert!(t.expire(t0 + Duration::from_secs(14)).is_empty());
    assert_eq!(t.expire(t0 + Duration::from_secs(15)), ["a"]);
    assert!(t.expire(t0 + Duration::from_secs(16)).is_empty());
    assert!(!t.get("a").unwrap().online, "offline but still known");
    assert_eq!(t.expire(t0 + Duration::from_secs(25)), ["b"]);
    // Heard again: back online.
    assert_eq!(
        t.observe(&s("a", "i", "A", 1), t0 + Duration::from_secs(30), 0),
        Observed::Joined
    );
}

#[test]
fn a_peer_without_periodic_beacons_never_times_out() {
    let t0 = Instant::now();
    let mut t = PeerTable::new();
    let quiet = Sighting {
        timeout: None,
        ..s("q", "", "Q", 0)
    };
    t.observe(&quiet, t0, 0);
    assert!(t.expire(t0 + Duration::from_secs(100_000)).is_empty());
    assert!(t.set_offline("q"), "a bye still takes it offline");
}

#[test]
fn link_frames_keep_a_peer_online() {
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let mut t = PeerTable::new();
    t.observe(&s("a", "", "A", 1), t0, 0);
    assert!(!t.touch("a", t0 + secs(10), 10, None), "still online");
    assert!(
        t.expire(t0 + secs(24)).is_empty(),
        "heard at 10 s: until 25 s"
    );
    assert!(!t.touch("a", t0 + secs(20), 20, Some(secs(3))));
    assert_eq!(
        t.expire(t0 + secs(23)),
        ["a"],
        "the keepalive's interval counts"
    );
    assert!(t.touch("a", t0 + secs(30), 30, None), "back online");
    assert_eq!(t.get("a").unwrap().last_seen, 30);
    assert!(!t.touch("nobody", t0, 0, None));
}

#[test]
fn bye_marks_offline_once() {
    let mut t = PeerTable::new();
    t.observe(&s("a", "i", "A", 1), Instant::now(), 0);
    assert!(t.set_offline("a"));
    assert!(!t.set_offline("a"));
    assert!(!t.set_offline("nobody"));
}

#[test]
fn table_is_capped() {
    let now = Instant::now();
    let mut t = PeerTable::new();
    let ids: Vec<String> = (0..MAX_PEERS).map(|i| format!("p{i}")).collect();
    for id in &ids {
        assert_eq!(t.observe(&s(id, "i", "n", 1), now, 0), Observed::Joined);
    }
    assert_eq!(
        t.observe(&s("extra", "i", "n", 1), now, 0),
        Observed::Refused
    );
    t.set_offline("p7");
    assert_eq!(
        t.observe(&s("extra", "i", "n", 1), now, 0),
        Observed::Joined
    );
    assert!(t.get("p7").is_none(), "the offline peer made room");
    assert_eq!(t.len(), MAX_PEERS);
}

#[test]
fn a_heard_address_replaces_a_proven_one_only_once_it_proves_itself() {
    use std::net::Ipv4Addr;
    let now = Instant::now();
    let mut t = PeerTable::new();
    let at = |last: u8, port: u16| SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, last), port);
    let heard_from = |last: u8| Sighting {
        addr: Ipv4Addr::new(10, 0, 0, last),
        ..s("bob", "i", "bob", 7)
    };
    t.observe(&heard_from(2), now, 0);
    assert_eq!(
        t.dial_addr("bob"),
        Some(at(2, 7).into()),
        "only the heard one"
    );
    t.proven("bob", at(2, 7));
    // A replayed beacon from another host: the proven address is still dialed.
    t.observe(&heard_from(66), now, 0);
    assert_eq!(t.get("bob").unwrap().addr, Ipv4Addr::new(10, 0, 0, 66));
    assert_eq!(t.dial_addr("bob"), Some(at(2, 7).into()));
    // The proven one fails (the peer moved?): the heard one is tried next...
    t.dial_failed("bob", at(2, 7).into());
    assert_eq!(t.dial_addr("bob"), Some(at(66, 7).into()));
    // ...and fails its handshake: back to the proven one, which stays.
    t.dial_failed("bob", at(66, 7).into());
    assert_eq!(t.dial_addr("bob"), Some(at(2, 7).into()));
    // The peer really moved: a link to the new address replaces the proven one.
    t.observe(&heard_from(3), now, 0);
    t.dial_failed("bob", at(2, 7).into());
    assert_eq!(t.dial_addr("bob"), Some(at(3, 7).into()));
    t.proven("bob", at(3, 7));
    assert_eq!(t.dial_addr("bob"), Some(at(3, 7).into()));
    assert_eq!(t.dial_addr("nobody"), None);
}

#[test]
fn list_puts_online_first() {
    let now = Instant::now();
    let mut t = PeerTable::new();
    t.observe(&s("a", "i", "Zed", 1), now, 0);
    t.observe(&s("b", "i", "Amy", 1), now, 0);
    t.set_offline("b");
    let names: Vec<String> = t.list().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["Zed", "Amy"]);
}

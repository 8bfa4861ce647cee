//! The unicast schedule with made-up times.

use super::*;

const IV: Duration = Duration::from_secs(5);

fn addr(t: &str) -> PeerAddr {
    PeerAddr::parse(t, 47474).unwrap()
}

fn sock(t: &str) -> SocketAddrV4 {
    t.parse().unwrap()
}

#[test]
fn an_added_address_gets_a_beacon_at_once_then_every_interval() {
    let t0 = Instant::now();
    let mut list = UnicastList::new(IV);
    assert!(list.add(addr("10.0.2.7"), Origin::Added, t0));
    assert!(
        !list.add(addr("10.0.2.7:47474"), Origin::Added, t0),
        "already there"
    );
    assert_eq!(list.due(t0), vec![sock("10.0.2.7:47474")]);
    assert_eq!(list.due(t0 + IV / 2), vec![]);
    assert_eq!(list.next_wake(), Some(t0 + IV));
    assert_eq!(list.due(t0 + IV), vec![sock("10.0.2.7:47474")]);
    assert_eq!(list.infos(t0 + IV)[0].state, "trying");
}

#[test]
fn unanswered_for_three_intervals_is_unreachable_and_still_tried() {
    let t0 = Instant::now();
    let mut list = UnicastList::new(IV);
    list.add(addr("10.0.2.7"), Origin::Added, t0);
    for n in 0..=UNANSWERED {
        assert_eq!(list.due(t0 + IV * n).len(), 1);
    }
    let now = t0 + IV * UNANSWERED;
    let info = &list.infos(now)[0];
    assert_eq!(info.state, "unreachable");
    assert!(
        info.error
            .as_deref()
            .unwrap()
            .contains("no answer for 4 intervals")
    );
    assert_eq!(list.due(now + IV).len(), 1, "still tried");
    // Heard: reached, the error gone.
    assert!(list.heard(Ipv4Addr::new(10, 0, 2, 7), Some(47474), now + IV, 1000));
    let info = &list.infos(now + IV)[0];
    assert_eq!(
        (info.state, info.last_heard, &info.error),
        ("reached", Some(1000), &None)
    );
}

#[test]
fn a_send_error_shows_until_heard() {
    let t0 = Instant::now();
    let mut list = UnicastList::new(IV);
    list.add(addr("10.0.2.7"), Origin::Added, t0);
    list.due(t0);
    list.send_failed(sock("10.0.2.7:47474"), "network unreachable".into());
    let info = &list.infos(t0)[0];
    assert_eq!(
        (info.state, info.error.as_deref()),
        ("unreachable", Some("network unreachable"))
    );
}

#[test]
fn names_wait_for_their_resolution_and_retry_after_failing() {
    let t0 = Instant::now();
    let mut list = UnicastList::new(IV);
    list.add(addr("lab-07"), Origin::Added, t0);
    assert_eq!(list.due(t0), vec![], "nothing to send to yet");
    let asked = list.names_due(t0);
    assert_eq!(asked, vec![("lab-07:47474".into(), "lab-07".into(), 47474)]);
    assert_eq!(list.names_due(t0), vec![], "asked once");
    assert_eq!(list.infos(t0)[0].state, "resolving");
    list.resolved("lab-07:47474", Err("no such host".into()), t0);
    assert_eq!(list.infos(t0)[0].state, "unresolved");
    assert_eq!(list.names_due(t0 + Duration::from_secs(1)), vec![]);
    assert_eq!(list.next_wake(), Some(t0 + RESOLVE_RETRY));
    assert_eq!(list.names_due(t0 + RESOLVE_RETRY).len(), 1);
    list.resolved(
        "lab-07:47474",
        Ok(Ipv4Addr::new(10, 0, 2, 7)),
        t0 + RESOLVE_RETRY,
    );
    assert_eq!(list.due(t0 + RESOLVE_RETRY), vec![sock("10.0.2.7:47474")]);
    assert_eq!(list.infos(t0)[0].resolved.as_deref(), Some("10.0.2.7"));
}

#[test]
fn learned_addresses_are_tried_once_and_bounded() {
    let t0 = Instant::now();
    let mut list = UnicastList::new(IV);
    let first = list.learn(sock("10.0.2.7:47474"), t0, 1).expect("new");
    assert_eq!(first.replaced, None);
    assert_eq!(list.learn(sock("10.0.2.7:47474"), t0, 1), None, "known");
    assert_eq!(list.due(t0), vec![], "the answer was its beacon");
    assert_eq!(list.infos(t0)[0].state, "reached");
    assert_eq!(list.infos(t0 + IV * UNANSWERED)[0].state, "silent");
    // From the store at the next start: one try.
    let mut list = UnicastList::new(IV);
    list.add(addr("10.0.2.7"), Origin::Learned, t0);
    assert_eq!(list.due(t0).len(), 1);
    assert_eq!(list.due(t0 + IV * 10), vec![]);
    // Full: the one heard from longest ago goes.
    let mut list = UnicastList::new(IV);
    for n in 0..MAX_LEARNED as u32 {
        let at = t0 + Duration::from_millis(u64::from(n));
        let a = SocketAddrV4::new(Ipv4Addr::from(0x0a00_0000 + n), 47474);
        assert_eq!(list.learn(a, at, 1).unwrap().replaced, None);
    }
    let newcomer = list.learn(sock("192.0.2.1:47474"), t0 + IV, 1).unwrap();
    assert_eq!(newcomer.replaced.as_deref(), Some("10.0.0.0:47474"));
    assert_eq!(list.infos(t0).len(), MAX_LEARNED);
}

#[test]
fn a_removed_address_is_ignored_until_added_again() {
    let t0 = Instant::now();
    let mut list = UnicastList::new(IV);
    list.add(addr("10.0.2.7"), Origin::Added, t0);
    assert!(list.is_added(sock("10.0.2.7:47474")));
    assert_eq!(
        list.remove("10.0.2.7:47474"),
        Some((Origin::Added, Some(sock("10.0.2.7:47474"))))
    );
    assert!(list.is_removed(sock("10.0.2.7:47474")));
    assert_eq!(
        list.learn(sock("10.0.2.7:47474"), t0, 1),
        None,
        "not learned"
    );
    assert_eq!(list.due(t0 + IV), vec![]);
    list.add(addr("10.0.2.7"), Origin::Added, t0 + IV);
    assert!(!list.is_removed(sock("10.0.2.7:47474")));
    assert_eq!(list.due(t0 + IV).len(), 1);
}

#[test]
fn bye_goes_to_added_and_lately_heard_learned() {
    let t0 = Instant::now();
    let mut list = UnicastList::new(IV);
    list.add(addr("10.0.2.7"), Origin::Added, t0);
    list.learn(sock("10.0.3.9:47474"), t0, 1);
    assert_eq!(list.bye_targets(t0).len(), 2);
    assert_eq!(
        list.bye_targets(t0 + IV * UNANSWERED),
        vec![sock("10.0.2.7:47474")]
    );
}

//! Presence driven with made-up times and no sockets: joining, expiry, restarts, bye,
//! the announce schedule and the answer budget, signed datagrams, and trust.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::protocol::BeaconKind;
use crate::protocol::signed;
use crate::trust::keys::test_pair;

fn my_keys() -> Arc<KeyPair> {
    Arc::new(test_pair(1))
}

fn me() -> Me {
    Me {
        id: my_keys().peer_id().into(),
        name: "me".into(),
        instance: "i0".into(),
        host: "h".into(),
        port: 4000,
        status: "online".into(),
    }
}

fn presence(now: Now) -> Presence {
    let reach = Reach {
        bind: Some(Ipv4Addr::LOCALHOST),
        discovery_port: 47474,
    };
    let known = Known {
        table: PeerTable::new(),
        trust: TrustBook::default(),
    };
    let mut p = Presence::new(me(), my_keys(), known, Duration::from_secs(5), reach, now);
    p.set_interfaces(Vec::new());
    p
}

/// A peer's keys by number (2: bob, 3: mallory, ...).
fn key(n: u8) -> PeerKey {
    test_pair(n).public()
}

fn id(n: u8) -> String {
    key(n).peer_id()
}

fn beacon(id: &str, instance: &str, interval_ms: u64) -> Beacon {
    Beacon {
        lanchat: PROTOCOL_VERSION,
        id: id.into(),
        instance: instance.into(),
        name: "bob".into(),
        host: "hb".into(),
        port: 4001,
        status: "online".into(),
        interval_ms,
        unicast: None,
        kind: BeaconKind::Here,
    }
}

fn events(out: &mut Out) -> Vec<Event> {
    out.take()
        .into_iter()
        .filter_map(|a| match a {
            Action::Emit(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[test]
fn a_peer_expires_after_three_of_its_own_intervals() {
    let t0 = Now::read();
    let mut p = presence(t0);
    let mut out = Out::default();
    let b = beacon(&id(2), "i1", 1000);
    let seen = from_beacon(
        &b,
        key(2),
        Ipv4Addr::LOCALHOST,
        p.peer_timeout(b.interval_ms),
    );
    assert_eq!(p.on_sighting(&seen, t0, &mut out), Observed::Joined);
    assert!(matches!(&events(&mut out)[..], [Event::PeerJoined { peer }]
        if *peer.id == id(2) && peer.trust.fingerprint == Some(key(2).fingerprint().to_string())
            && peer.trust.encrypted && !peer.trust.verified));
    p.expire(t0.after(Duration::from_millis(2999)).at, &mut out);
    assert!(out.is_empty(), "not yet: 3 × 1 s");
    p.expire(t0.after(Duration::from_secs(3)).at, &mut out);
    let acts = out.take();
    assert!(
        matches!(&acts[..], [Action::Record(Record::Peer(k)), Action::Emit(Event::PeerLeft { id, reason: LeftReason::Timeout, .. })]
            if k.id == self::id(2) && **id == self::id(2)),
        "{acts:?}"
    );
    // Heard on its link again: back.
    p.heard_on_route(&id(2), None, t0.after(Duration::from_secs(4)), &mut out);
    assert!(matches!(&events(&mut out)[..], [Event::PeerJoined { .. }]));
}

#[test]
fn a_new_instance_is_a_restart_and_bye_is_at_once() {
    let t0 = Now::read();
    let mut p = presence(t0);
    let mut out = Out::default();
    let timeout = Duration::from_secs(15);
    let first = beacon(&id(2), "i1", 5000);
    p.on_sighting(
        &from_beacon(&first, key(2), Ipv4Addr::LOCALHOST, timeout),
        t0,
        &mut out,
    );
    assert_eq!(
        p.on_sighting(
            &from_beacon(&first, key(2), Ipv4Addr::LOCALHOST, timeout),
            t0,
            &mut out
        ),
        Observed::Same
    );
    let again = beacon(&id(2), "i2", 5000);
    assert_eq!(
        p.on_sighting(
            &from_beacon(&again, key(2), Ipv4Addr::LOCALHOST, timeout),
            t0,
            &mut out
        ),
        Observed::Changed { restarted: true }
    );
    out.take();
    assert!(p.on_bye(&id(2), &mut out));
    assert!(matches!(
        &events(&mut out)[..],
        [Event::PeerLeft {
            reason: LeftReason::Bye,
            ..
        }]
    ));
    assert!(!p.on_bye(&id(2), &mut out), "once");
}

#[test]
fn here_goes_out_every_interval_and_hello_answers_are_rationed() {
    let t0 = Now::read();
    let mut p = presence(t0);
    let mut out = Out::default();
    assert!(!p.announce_due(t0, &mut out));
    assert!(p.announce_due(t0.after(Duration::from_secs(5)), &mut out));
    let acts = out.take();
    let [Action::Broadcast { summary, bytes }] = &acts[..] else {
        panic!("{acts:?}")
    };
    assert!(summary.starts_with("here"));
    let signed = signed::parse(bytes)
        .expect("a signed datagram")
        .verify(false);
    assert_eq!(signed.expect("signed by us").key, my_keys().public());
    assert_eq!(p.next_announce(), t0.after(Duration::from_secs(10)).at);
    assert_eq!(
        p.targets().1,
        [crate::platform::sock::loopback_reach().target(47474)],
        "loopback only"
    );
    let asker = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5555);
    let answered = (0..300)
        .filter(|_| p.answer_hello(asker, t0, &mut out))
        .count();
    assert_eq!(
        answered, 200,
        "a burst of 200, then none in the same instant"
    );
    assert!(p.answer_hello(asker, t0.after(Duration::from_millis(10)), &mut out));
}

#[test]
fn verifying_is_per_key_and_another_key_under_a_verified_name_is_a_warning() {
    let t0 = Now::read();
    let mut p = presence(t0);
    let mut out = Out::default();
    let timeout = Duration::from_secs(15);
    let bob = beacon(&id(2), "i1", 5000);
    p.on_sighting(
        &from_beacon(&bob, key(2), Ipv4Addr::LOCALHOST, timeout),
        t0,
        &mut out,
    );
    out.take();
    // The same code both ways: ours and bob's fingerprints.
    let (info, code) = p.safety_code("bob").unwrap();
    assert_eq!(*info.id, id(2));
    assert_eq!(
        code,
        crate::trust::safety_code(&key(2), &my_keys().public())
    );
    let peer = p.set_verified("bob", true, t0, &mut out).unwrap();
    assert!(peer.trust.verified);
    let acts = out.take();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Record(Record::Trust(t)) if t.key == key(2).to_base64()))
    );
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Emit(Event::PeerChanged { peer }) if peer.trust.verified))
    );
    // Someone else takes the name "Bob": another peer, not verified, with a warning.
    let mallory = Beacon {
        name: "Bob".into(),
        ..beacon(&id(3), "m1", 5000)
    };
    let from = Ipv4Addr::new(10, 0, 0, 66);
    p.on_sighting(&from_beacon(&mallory, key(3), from, timeout), t0, &mut out);
    let said = events(&mut out);
    assert!(
        matches!(&said[..], [Event::KeyChanged { peer, verified_peer, .. }, Event::PeerJoined { .. }]
            if *peer.id == id(3) && **verified_peer == id(2)
                && !peer.trust.verified && peer.trust.key_changed_from.as_deref() == Some(id(2).as_str())),
        "{said:?}"
    );
    assert!(p.get(&id(2)).unwrap().trust.verified, "bob is still bob");
    // Unverifying bob lifts the warning on the other one too.
    p.set_verified(&id(2), false, t0, &mut out).unwrap();
    assert!(!p.get(&id(2)).unwrap().trust.verified);
    assert_eq!(p.get(&id(3)).unwrap().trust.key_changed_from, None);
    assert!(p.set_verified("nobody", true, t0, &mut out).is_err());
}

#[test]
fn only_fresh_authentic_datagrams_get_in() {
    let t0 = Now::read();
    let mut p = presence(t0);
    let bob = Arc::new(test_pair(2));
    let mut signer = signed::DatagramSigner::new(bob.clone());
    let bytes = signer.sign(&beacon(&id(2), "i1", 5000), t0.wall).unwrap();
    let from = Ipv4Addr::LOCALHOST;
    let env = p.admit(signed::parse(&bytes).unwrap(), from, t0).unwrap();
    assert_eq!(env.key, key(2));
    let again = p.admit(signed::parse(&bytes).unwrap(), from, t0);
    assert_eq!(again.unwrap_err().label(), "replayed");
    let mut tampered = signer.sign(&beacon(&id(2), "i1", 5000), t0.wall).unwrap();
    let name = tampered
        .windows(12)
        .position(|w| w == b"\"name\":\"bob\"")
        .unwrap();
    tampered[name + 9] = b'O'; // "bOb": still a well-formed beacon
    let e = p.admit(signed::parse(&tampered).unwrap(), from, t0);
    assert_eq!(e.unwrap_err().label(), "tampered", "a key we heard from");
}

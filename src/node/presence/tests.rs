//! Presence driven with made-up times and no sockets: joining, expiry, restarts, bye,
//! the announce schedule and the answer budget.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::protocol::BeaconKind;

fn me() -> Me {
    Me {
        id: "me00".into(),
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
    let mut p = Presence::new(
        me(),
        PeerTable::new(),
        Duration::from_secs(5),
        reach,
        now.at,
    );
    p.set_interfaces(Vec::new());
    p
}

fn beacon(id: &str, instance: &str, interval_ms: u64) -> Beacon {
    Beacon {
        lanchat: 1,
        id: id.into(),
        instance: instance.into(),
        name: "bob".into(),
        host: "hb".into(),
        port: 4001,
        status: "online".into(),
        interval_ms,
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
    let b = beacon("bob0", "i1", 1000);
    let seen = from_beacon(&b, Ipv4Addr::LOCALHOST, p.peer_timeout(b.interval_ms));
    assert_eq!(p.on_sighting(&seen, t0, &mut out), Observed::Joined);
    assert!(matches!(&events(&mut out)[..], [Event::PeerJoined { peer }] if peer.id == "bob0"));
    p.expire(t0.after(Duration::from_millis(2999)).at, &mut out);
    assert!(out.is_empty(), "not yet: 3 × 1 s");
    p.expire(t0.after(Duration::from_secs(3)).at, &mut out);
    let acts = out.take();
    assert!(
        matches!(&acts[..], [Action::Record(Record::Peer(k)), Action::Emit(Event::PeerLeft { id, reason: LeftReason::Timeout })]
            if k.id == "bob0" && id == "bob0"),
        "{acts:?}"
    );
    // Heard on its link again: back.
    p.heard_on_route("bob0", None, t0.after(Duration::from_secs(4)), &mut out);
    assert!(matches!(&events(&mut out)[..], [Event::PeerJoined { .. }]));
}

#[test]
fn a_new_instance_is_a_restart_and_bye_is_at_once() {
    let t0 = Now::read();
    let mut p = presence(t0);
    let mut out = Out::default();
    let timeout = Duration::from_secs(15);
    let first = beacon("bob0", "i1", 5000);
    p.on_sighting(
        &from_beacon(&first, Ipv4Addr::LOCALHOST, timeout),
        t0,
        &mut out,
    );
    assert_eq!(
        p.on_sighting(
            &from_beacon(&first, Ipv4Addr::LOCALHOST, timeout),
            t0,
            &mut out
        ),
        Observed::Same
    );
    let again = beacon("bob0", "i2", 5000);
    assert_eq!(
        p.on_sighting(
            &from_beacon(&again, Ipv4Addr::LOCALHOST, timeout),
            t0,
            &mut out
        ),
        Observed::Changed { restarted: true }
    );
    out.take();
    assert!(p.on_bye("bob0", &mut out));
    assert!(matches!(
        &events(&mut out)[..],
        [Event::PeerLeft {
            reason: LeftReason::Bye,
            ..
        }]
    ));
    assert!(!p.on_bye("bob0", &mut out), "once");
}

#[test]
fn here_goes_out_every_interval_and_hello_answers_are_rationed() {
    let t0 = Now::read();
    let mut p = presence(t0);
    let mut out = Out::default();
    assert!(!p.announce_due(t0.at, &mut out));
    assert!(p.announce_due(t0.after(Duration::from_secs(5)).at, &mut out));
    assert!(
        matches!(&out.take()[..], [Action::Broadcast { summary, .. }] if summary.starts_with("here"))
    );
    assert_eq!(p.next_announce(), t0.after(Duration::from_secs(10)).at);
    assert_eq!(
        p.targets().1,
        [crate::platform::sock::loopback_reach().target(47474)],
        "loopback only"
    );
    let asker = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5555);
    let answered = (0..300)
        .filter(|_| p.answer_hello(asker, t0.at, &mut out))
        .count();
    assert_eq!(
        answered, 200,
        "a burst of 200, then none in the same instant"
    );
    assert!(p.answer_hello(asker, t0.after(Duration::from_millis(10)).at, &mut out));
}

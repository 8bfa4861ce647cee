//! Reach by address through the whole core, with made-up times, playing the hostile
//! person on the network: unicast beacons forged, replayed, or from a crowd of (forged)
//! source addresses never get more answers than the limit, nor larger ones.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};

use super::fake::{FakePort, ME, TempDir, bob_id, bob_keys, core_in};
use super::*;
use crate::net::{NetInput, Via};
use crate::node::command::Command;
use crate::node::presence::answers::{ANSWER_SLACK, TOTAL_PER_SEC};
use crate::protocol::{Beacon, PROTOCOL_VERSION, Unicast, signed};

/// Where bob says he listens.
const BOB_DISCOVERY: u16 = 4747;

fn bob_unicast(answer: bool) -> Beacon {
    Beacon {
        lanchat: PROTOCOL_VERSION,
        id: bob_id(),
        instance: "bob-1".into(),
        name: "b".into(),
        host: String::new(),
        port: 4001,
        status: "online".into(),
        interval_ms: 5000,
        unicast: Some(Unicast {
            port: BOB_DISCOVERY,
            answer,
            pad: String::new(),
        }),
        kind: BeaconKind::Here,
    }
}

fn at(t0: Now, ms: u64) -> Now {
    Now {
        at: t0.at + Duration::from_millis(ms),
        wall: t0.wall + ms,
    }
}

/// Bob's datagram `bytes` as heard on our discovery port from `ip`.
fn hear(core: &mut Core<FakePort>, bytes: &[u8], ip: Ipv4Addr, now: Now) {
    let (_tx, none): (_, Receiver<NetInput<&'static str>>) = unbounded();
    let input = NetInput::Datagram {
        via: Via::Listener,
        from: SocketAddrV4::new(ip, 50_000),
        len: bytes.len(),
        beacon: signed::parse(bytes).map(Box::new),
    };
    core.handle_input(input, &none, now);
}

/// Answers sent so far (datagrams to bob's discovery port), with their sizes.
fn answers(core: &Core<FakePort>) -> Vec<(SocketAddrV4, usize)> {
    core.port
        .datagrams
        .iter()
        .filter(|(to, _)| to.port() == BOB_DISCOVERY)
        .map(|(to, b)| (*to, b.len()))
        .collect()
}

fn started(dir: &TempDir, t0: Now) -> (Core<FakePort>, Receiver<Event>) {
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    (core, events)
}

#[test]
fn one_source_gets_one_answer_per_interval_never_larger_than_it_sent() {
    let dir = TempDir::new("reach-one");
    let t0 = Now::read();
    let (mut core, _events) = started(&dir, t0);
    let bob = Ipv4Addr::new(127, 0, 0, 5);
    for ctr in 0..20 {
        let now = at(t0, ctr * 100);
        let bytes = signed::sign(&bob_unicast(false), &bob_keys(), ctr, now.wall).unwrap();
        hear(&mut core, &bytes, bob, now);
    }
    let sent = answers(&core);
    assert_eq!(sent.len(), 1, "20 beacons in 2 s: one answer");
    let small = signed::sign(&bob_unicast(false), &bob_keys(), 0, t0.wall).unwrap();
    assert_eq!(sent[0].0, SocketAddrV4::new(bob, BOB_DISCOVERY));
    assert!(sent[0].1 <= small.len() + ANSWER_SLACK, "{sent:?}");
    // An interval later, one more.
    let later = at(t0, 5000);
    let bytes = signed::sign(&bob_unicast(false), &bob_keys(), 100, later.wall).unwrap();
    hear(&mut core, &bytes, bob, later);
    assert_eq!(answers(&core).len(), 2);
    // Learned, and remembered as such.
    let list = core.presence.unicast().infos(later.at);
    assert_eq!(list[0].addr, format!("{bob}:{BOB_DISCOVERY}"));
    assert_eq!(core.store.reach_list().unwrap()[0].origin, "learned");
}

#[test]
fn replayed_tampered_and_answers_are_never_answered() {
    let dir = TempDir::new("reach-replay");
    let t0 = Now::read();
    let (mut core, _events) = started(&dir, t0);
    let bob = Ipv4Addr::new(127, 0, 0, 5);
    let first = signed::sign(&bob_unicast(false), &bob_keys(), 0, t0.wall).unwrap();
    hear(&mut core, &first, bob, t0);
    assert_eq!(answers(&core).len(), 1);
    // The same datagram again an interval later, from another (forged) source: replayed.
    let later = at(t0, 6000);
    hear(&mut core, &first, Ipv4Addr::new(127, 0, 0, 6), later);
    // Changed after signing: does not verify.
    let tampered =
        String::from_utf8(signed::sign(&bob_unicast(false), &bob_keys(), 1, later.wall).unwrap())
            .unwrap()
            .replace(r#""name":"b""#, r#""name":"c""#);
    hear(
        &mut core,
        tampered.as_bytes(),
        Ipv4Addr::new(127, 0, 0, 7),
        later,
    );
    // An answer (marked so) is never answered: no ping-pong.
    let answer = signed::sign(&bob_unicast(true), &bob_keys(), 2, later.wall).unwrap();
    hear(&mut core, &answer, Ipv4Addr::new(127, 0, 0, 8), later);
    assert_eq!(answers(&core).len(), 1, "{:?}", answers(&core));
    let dropped = &core.traffic.counters.dropped;
    assert_eq!(dropped.get("replayed"), Some(&1), "{dropped:?}");
    assert!(
        dropped.keys().any(|k| k == "tampered" || k == "forged"),
        "{dropped:?}"
    );
}

#[test]
fn a_crowd_of_sources_gets_no_more_than_the_total() {
    let dir = TempDir::new("reach-crowd");
    let t0 = Now::read();
    let (mut core, _events) = started(&dir, t0);
    for n in 0..300u64 {
        let bytes = signed::sign(&bob_unicast(false), &bob_keys(), n, t0.wall).unwrap();
        let ip = Ipv4Addr::from(0x7f01_0000 + n as u32);
        hear(&mut core, &bytes, ip, t0);
    }
    let sent = answers(&core).len();
    assert!(sent <= TOTAL_PER_SEC as usize, "{sent} answers at once");
    assert!(sent > 0, "some were answered");
    // Learned addresses are bounded too.
    let learned = core.presence.unicast().infos(t0.at).len();
    assert!(learned <= crate::node::presence::unicast::MAX_LEARNED);
}

#[test]
fn a_removed_address_is_ignored_and_a_bye_goes_there() {
    let dir = TempDir::new("reach-removed");
    let t0 = Now::read();
    let (mut core, events) = started(&dir, t0);
    let bob = Ipv4Addr::new(127, 0, 0, 5);
    let addr = format!("{bob}:{BOB_DISCOVERY}");
    let add = Command::AddPeer { addr: addr.clone() };
    core.handle_command(ME, add, t0);
    assert_eq!(answers(&core).len(), 1, "a beacon at once");
    assert!(answers(&core)[0].1 > 900, "padded, so the answer fits");
    while let Ok(e) = events.try_recv() {
        if let Event::PeerAdded { addr: a } = e {
            assert_eq!(a, addr);
        }
    }
    core.tick(at(t0, 5000));
    assert_eq!(answers(&core).len(), 2, "and every interval");
    core.handle_command(ME, Command::RemovePeer { addr: addr.clone() }, at(t0, 5100));
    assert_eq!(answers(&core).len(), 3, "a bye");
    let bytes = signed::sign(&bob_unicast(false), &bob_keys(), 0, t0.wall + 5200).unwrap();
    hear(&mut core, &bytes, bob, at(t0, 5200));
    assert_eq!(answers(&core).len(), 3, "not answered");
    assert!(core.presence.get(&bob_id()).is_none(), "not even seen");
    core.tick(at(t0, 20_000));
    assert_eq!(answers(&core).len(), 3, "no more beacons");
    let removed = Event::PeerRemoved { addr };
    assert!(std::iter::from_fn(|| events.try_recv().ok()).any(|e| e == removed));
}

/// The headless contract's shapes for reach by address, pinned.
#[test]
fn wire_shapes() {
    use serde_json::json;
    let cmd = |line: &str| serde_json::from_str::<Command>(line).unwrap();
    assert_eq!(
        cmd(r#"{"cmd":"add_peer","addr":"10.0.2.7"}"#),
        Command::AddPeer {
            addr: "10.0.2.7".into()
        }
    );
    assert_eq!(
        cmd(r#"{"cmd":"remove_peer","addr":"lab-07:9"}"#),
        Command::RemovePeer {
            addr: "lab-07:9".into()
        }
    );
    let v = |e: &Event| serde_json::to_value(e).unwrap();
    assert_eq!(
        v(&Event::PeerAdded {
            addr: "10.0.2.7:47474".into()
        }),
        json!({"event":"peer_added","addr":"10.0.2.7:47474"})
    );
    assert_eq!(
        v(&Event::PeerRemoved {
            addr: "10.0.2.7:47474".into()
        }),
        json!({"event":"peer_removed","addr":"10.0.2.7:47474"})
    );
    let info = crate::node::UnicastInfo {
        addr: "lab-07:47474".into(),
        origin: crate::node::UnicastOrigin::Added,
        state: "unreachable",
        resolved: Some("10.0.2.7".into()),
        last_heard: None,
        error: Some("cannot send there: network unreachable".into()),
    };
    assert_eq!(
        serde_json::to_value(&info).unwrap(),
        json!({"addr":"lab-07:47474","origin":"added","state":"unreachable",
               "resolved":"10.0.2.7","last_heard":null,
               "error":"cannot send there: network unreachable"})
    );
    // The beacon's field: absent on a broadcast, present by unicast.
    let mut b = bob_unicast(true);
    assert_eq!(
        serde_json::to_value(&b).unwrap()["unicast"],
        json!({"port": BOB_DISCOVERY, "answer": true})
    );
    b.unicast = None;
    assert!(serde_json::to_value(&b).unwrap().get("unicast").is_none());
}

#[test]
fn a_name_is_resolved_off_the_core_and_a_failure_said_once() {
    let dir = TempDir::new("reach-name");
    let t0 = Now::read();
    let (mut core, events) = started(&dir, t0);
    let add = Command::AddPeer {
        addr: "Lab-07:4747".into(),
    };
    core.handle_command(ME, add, t0);
    assert_eq!(
        core.port.resolving,
        [("lab-07:4747".to_owned(), "lab-07".to_owned(), 4747)],
        "asked of the port, not resolved here"
    );
    assert!(answers(&core).is_empty(), "nowhere to send yet");
    let (_tx, none): (_, Receiver<NetInput<&'static str>>) = unbounded();
    let failed = |why: &str| NetInput::Resolved {
        key: "lab-07:4747".into(),
        result: Err(why.into()),
    };
    core.handle_input(failed("no such host"), &none, t0);
    core.tick(at(t0, 30_000)); // asked again after RESOLVE_RETRY
    assert_eq!(core.port.resolving.len(), 2);
    core.handle_input(failed("still no such host"), &none, at(t0, 30_000));
    let errors: Vec<String> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e {
            Event::Error { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        ["add_peer: lab-07:4747: cannot resolve the name: no such host"],
        "said once"
    );
    let resolved = NetInput::Resolved {
        key: "lab-07:4747".into(),
        result: Ok(Ipv4Addr::new(127, 0, 0, 5)),
    };
    core.handle_input(resolved, &none, at(t0, 60_000));
    assert_eq!(
        answers(&core),
        [(
            SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 5), 4747),
            answers(&core)[0].1
        )]
    );
    let info = &core.presence.unicast().infos(at(t0, 60_000).at)[0];
    assert_eq!(
        (info.state, info.resolved.as_deref()),
        ("trying", Some("127.0.0.5"))
    );
    // A name resolving where beacons may not go (off loopback here) is refused.
    core.handle_command(
        ME,
        Command::AddPeer {
            addr: "far-away".into(),
        },
        at(t0, 60_000),
    );
    let far = NetInput::Resolved {
        key: "far-away:47474".into(),
        result: Ok(Ipv4Addr::new(10, 0, 2, 7)),
    };
    core.handle_input(far, &none, at(t0, 60_000));
    let e = std::iter::from_fn(|| events.try_recv().ok())
        .find_map(|e| match e {
            Event::Error { message } => Some(message),
            _ => None,
        })
        .expect("an error");
    assert!(
        e.contains("far-away:47474") && e.contains("10.0.2.7"),
        "{e}"
    );
}

#[test]
fn another_part_can_have_an_address_tried() {
    let dir = TempDir::new("reach-try");
    let t0 = Now::read();
    let (mut core, _events) = started(&dir, t0);
    let bob = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 5), BOB_DISCOVERY);
    assert!(core.presence.try_address(bob, t0, &mut core.out));
    assert!(!core.presence.try_address(bob, t0, &mut core.out), "once");
    let off = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 7), BOB_DISCOVERY);
    assert!(
        !core.presence.try_address(off, t0, &mut core.out),
        "off loopback"
    );
    core.reach_tick(t0);
    assert_eq!(answers(&core).len(), 1, "tried at once");
    core.tick(at(t0, 20_000));
    assert_eq!(answers(&core).len(), 1, "and not again this run");
    assert_eq!(core.store.reach_list().unwrap()[0].origin, "learned");
}

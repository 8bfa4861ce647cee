//! The whole core through a port that binds nothing: a beacon, a send, the dial, the
//! `hello`, the chat on the link and its ack; a peer's expiry on the core's timer; a
//! link that stalls. Inputs are fed as the I/O threads would, with made-up times.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};

use super::fake::{FakePort, ME, TempDir, bob_id, bob_keys, core_in, signed_by_bob};
use super::*;
use crate::net::NetInput;
use crate::net::Via;
use crate::node::command::Command;
use crate::node::event::LeftReason;
use crate::node::out::{Route, Routes};
use crate::protocol::{Beacon, LinkMsg, PROTOCOL_VERSION};

const BOB_LINK_PORT: u16 = 4001;

fn bob_here(interval_ms: u64) -> Beacon {
    Beacon {
        lanchat: PROTOCOL_VERSION,
        id: bob_id(),
        instance: "bob-1".into(),
        name: "bob".into(),
        host: "hb".into(),
        port: BOB_LINK_PORT,
        status: "online".into(),
        interval_ms,
        unicast: None,
        kind: BeaconKind::Here,
    }
}

fn bob_hello() -> LinkMsg {
    LinkMsg::Hello {
        id: bob_id(),
        name: "bob".into(),
        version: PROTOCOL_VERSION,
        instance: "bob-1".into(),
        port: BOB_LINK_PORT,
    }
}

/// Feeds one input as the I/O threads would (nothing waits behind it).
fn feed(core: &mut Core<FakePort>, input: NetInput<&'static str>, now: Now) {
    let (_tx, none): (_, Receiver<NetInput<&'static str>>) = unbounded();
    core.handle_input(input, &none, now);
}

/// Bob's datagram number `ctr`, heard from 127.0.0.1.
fn heard(core: &mut Core<FakePort>, beacon: Beacon, ctr: u64, now: Now) {
    let datagram = NetInput::Datagram {
        via: Via::Listener,
        from: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5555),
        len: 200,
        beacon: Ok(signed_by_bob(&beacon, ctr, now)),
    };
    feed(core, datagram, now);
}

#[test]
fn a_message_goes_from_send_to_delivered_through_a_port_that_binds_nothing() {
    let dir = TempDir::new("core-send");
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    assert!(matches!(
        events.try_recv(),
        Ok(Event::Ready {
            port: super::fake::LINK_PORT,
            ..
        })
    ));
    assert_eq!(core.port.datagrams.len(), 1, "hello to 127.255.255.255");

    heard(&mut core, bob_here(5000), 0, t0);
    assert!(matches!(events.try_recv(), Ok(Event::PeerJoined { peer }) if *peer.id == bob_id()));
    assert!(core.port.dials.is_empty(), "nothing waits for bob: no link");

    core.handle_command(
        ME,
        Command::Send {
            to: "bob".into(),
            text: "hi".into(),
        },
        t0,
    );
    let Ok(Event::Sent { msg_id, .. }) = events.try_recv() else {
        panic!("sent")
    };
    let bob_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, BOB_LINK_PORT));
    assert_eq!(
        core.port.dials,
        [(bob_id().into(), bob_addr)],
        "dialed lazily"
    );

    let dialed = NetInput::Dialed {
        peer: bob_id().into(),
        addr: bob_addr,
        result: Ok((Box::new("conn to bob"), bob_keys().public())),
    };
    feed(&mut core, dialed, t0);
    assert_eq!(core.port.kinds_on(1), ["hello"], "our hello first");
    feed(
        &mut core,
        NetInput::Frame {
            link: 1,
            len: 90,
            msg: bob_hello(),
        },
        t0,
    );
    assert_eq!(
        core.port.kinds_on(1),
        ["hello", "chat"],
        "the outbox goes once the link is up"
    );
    let stored = core.store.history(&bob_id(), None, 10).unwrap();
    assert_eq!(stored[0].state, crate::store::MsgState::Sent);

    let ack = LinkMsg::Ack {
        msg_id: msg_id.to_string(),
    };
    feed(
        &mut core,
        NetInput::Frame {
            link: 1,
            len: 40,
            msg: ack,
        },
        t0,
    );
    assert!(matches!(events.try_recv(), Ok(Event::Delivered { msg_id: m, .. }) if m == msg_id));
    assert!(core.chat.outbox().is_empty());
}

#[test]
fn a_silent_peer_expires_on_the_cores_timer_and_a_stalled_link_is_dropped() {
    let dir = TempDir::new("core-expire");
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    heard(&mut core, bob_here(1000), 0, t0);
    let accepted = NetInput::Accepted {
        conn: Box::new("bob's conn"),
        remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 50_001)),
        key: bob_keys().public(),
        first: bob_hello(),
    };
    feed(&mut core, accepted, t0);
    assert_eq!(core.links.route(&bob_id()), Some(Route::Link(1)));
    events.try_iter().for_each(drop);

    // A message whose frame the link's writer cannot take: the link is dropped, the
    // message waits for the next link.
    core.port.stalled.push(1);
    core.handle_command(
        ME,
        Command::Send {
            to: bob_id(),
            text: "x".into(),
        },
        t0,
    );
    assert_eq!(core.port.closed, [1]);
    assert_eq!(core.links.route(&bob_id()), None);
    assert_eq!(core.chat.outbox().len(), 1);

    // Three of its intervals (1 s) without a word: offline.
    core.tick(t0.after(Duration::from_millis(2900)));
    assert!(
        !events
            .try_iter()
            .any(|e| matches!(e, Event::PeerLeft { .. }))
    );
    core.tick(t0.after(Duration::from_millis(3500))); // the next housekeeping
    assert!(
        events.try_iter().any(
            |e| matches!(e, Event::PeerLeft { ref id, reason: LeftReason::Timeout, .. } if **id == bob_id())
        ),
        "timed out"
    );
    let known = core.store.known_peers(10).unwrap();
    assert_eq!(known[0].id, bob_id(), "remembered for later");
    assert_eq!(
        known[0].key,
        Some(bob_keys().public().to_base64()),
        "with its key"
    );
}

/// Bob heard and linked (our dial, his hello): link 1 is his route.
fn linked_bob(core: &mut Core<FakePort>, now: Now) -> SocketAddr {
    heard(core, bob_here(5000), 0, now);
    let bob_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, BOB_LINK_PORT));
    let dialed = NetInput::Dialed {
        peer: bob_id().into(),
        addr: bob_addr,
        result: Ok((Box::new("conn to bob"), bob_keys().public())),
    };
    feed(core, dialed, now);
    let hello = NetInput::Frame {
        link: 1,
        len: 90,
        msg: bob_hello(),
    };
    feed(core, hello, now);
    assert!(routes!(core).route(&bob_id()).is_some(), "linked");
    bob_addr
}

#[test]
fn a_link_closed_by_a_crashed_peer_is_probed_and_a_refusal_takes_it_offline_at_once() {
    let dir = TempDir::new("core-crash");
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    linked_bob(&mut core, t0);
    events.try_iter().count();
    // Where the handshake proved him: the address our dial reached.
    let bob_addr = core.presence.dial_addr(&bob_id()).expect("reachable");

    let down = NetInput::LinkDown {
        link: 1,
        reason: "closed by peer".into(),
    };
    feed(&mut core, down, t0);
    assert_eq!(
        core.port.probes,
        [(bob_id().into(), bob_addr)],
        "probed once"
    );
    assert!(
        core.presence.get(&bob_id()).is_some_and(|p| p.online),
        "not yet"
    );

    let refused = NetInput::Probed {
        peer: bob_id().into(),
        addr: bob_addr,
        refused: true,
    };
    feed(&mut core, refused, t0);
    assert!(
        !events
            .try_iter()
            .any(|e| matches!(e, Event::PeerLeft { .. })),
        "its bye may still be on its way: a grace first"
    );
    core.tick(t0.after(Duration::from_millis(600))); // the next housekeeping after it
    assert!(
        events.try_iter().any(
            |e| matches!(e, Event::PeerLeft { ref id, reason: LeftReason::Gone, .. } if **id == bob_id())
        ),
        "gone, long before three intervals (15 s) pass"
    );
}

#[test]
fn a_link_that_only_broke_leaves_the_peer_online() {
    let dir = TempDir::new("core-broke");
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    let bob_addr = linked_bob(&mut core, t0);
    events.try_iter().count();

    // We closed it (a violation): no probe.
    core.drop_link(1, "a test", true, t0);
    assert!(
        core.port.probes.is_empty(),
        "a link we closed says nothing of bob"
    );

    // He closed a new one, but his port still answers (or says nothing in time).
    let bob_addr2 = linked_bob_again(&mut core, bob_addr, t0);
    feed(
        &mut core,
        NetInput::LinkDown {
            link: 2,
            reason: "closed by peer".into(),
        },
        t0,
    );
    assert_eq!(core.port.probes.len(), 1);
    let answered = NetInput::Probed {
        peer: bob_id().into(),
        addr: bob_addr2,
        refused: false,
    };
    feed(&mut core, answered, t0);
    // A refusal from an address bob is no longer reached at is stale.
    let stale = NetInput::Probed {
        peer: bob_id().into(),
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 9)),
        refused: true,
    };
    feed(&mut core, stale, t0);
    assert!(
        !events
            .try_iter()
            .any(|e| matches!(e, Event::PeerLeft { .. })),
        "a broken link alone is no reason to call bob gone"
    );
    assert!(core.presence.get(&bob_id()).is_some_and(|p| p.online));
}

/// Bob linked again on link 2 (he dialed us this time).
fn linked_bob_again(core: &mut Core<FakePort>, bob_addr: SocketAddr, now: Now) -> SocketAddr {
    let dialed = NetInput::Dialed {
        peer: bob_id().into(),
        addr: bob_addr,
        result: Ok((Box::new("conn to bob again"), bob_keys().public())),
    };
    feed(core, dialed, now);
    let hello = NetInput::Frame {
        link: 2,
        len: 90,
        msg: bob_hello(),
    };
    feed(core, hello, now);
    bob_addr
}

#[test]
fn a_bye_that_arrives_after_the_refusal_is_still_a_bye() {
    let dir = TempDir::new("core-bye-late");
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    linked_bob(&mut core, t0);
    let bob_addr = core.presence.dial_addr(&bob_id()).expect("reachable");
    events.try_iter().count();

    // A clean exit: his link closes and his port refuses before his bye is read here.
    let down = NetInput::LinkDown {
        link: 1,
        reason: "closed by peer".into(),
    };
    feed(&mut core, down, t0);
    let refused = NetInput::Probed {
        peer: bob_id().into(),
        addr: bob_addr,
        refused: true,
    };
    feed(&mut core, refused, t0);
    let mut bye = bob_here(5000);
    bye.kind = BeaconKind::Bye;
    heard(&mut core, bye, 1, t0.after(Duration::from_millis(5)));
    core.tick(t0.after(Duration::from_millis(600)));
    let left: Vec<LeftReason> = events
        .try_iter()
        .filter_map(|e| match e {
            Event::PeerLeft { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(left, [LeftReason::Bye], "said once, as what it was");
}

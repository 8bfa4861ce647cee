//! The links part with made-up times and no sockets: hello, the tie-break between two
//! links, silent links, keepalives, and dials around a link's life.

use std::net::{Ipv4Addr, SocketAddr};

use super::*;
use crate::protocol::PROTOCOL_VERSION;
use crate::trust::keys::test_pair;

/// Lower than any id a key gives (`0` sorts before base32's letters and digits).
const ME: &str = "0000";

/// The peer's key: every link to it proves this one.
fn key() -> PeerKey {
    test_pair(2).public()
}

fn peer_id() -> PeerId {
    key().peer_id().into()
}

/// Both ends of a connection whose handshake proved the peer's key.
fn ends(port: u16) -> (LinkEnds, PeerKey) {
    let ends = LinkEnds {
        local: SocketAddr::from((Ipv4Addr::LOCALHOST, 4000)),
        remote: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    };
    (ends, key())
}

fn hello() -> LinkMsg {
    LinkMsg::Keepalive { interval_ms: 0 } // stands in for our hello: only its route matters
}

fn hello_from(version: u32, peer: &str) -> HelloFrom<'_> {
    HelloFrom {
        version,
        peer,
        instance: "i1",
    }
}

fn closed(out: &mut Out) -> Vec<LinkId> {
    out.take()
        .into_iter()
        .filter_map(|a| match a {
            Action::Close { link, .. } => Some(link),
            _ => None,
        })
        .collect()
}

/// Opens link `id` (dialed by us if `outbound`) and has the peer say hello on it.
fn greeted(links: &mut Links, outbound: bool, now: Instant, out: &mut Out) -> LinkId {
    let id = links.next_id();
    let dialed = outbound.then(peer_id);
    links.opened(id, ends(5000 + id as u16), dialed, hello(), now, out);
    let met = links.greet(id, hello_from(PROTOCOL_VERSION, &peer_id()), ME, now, out);
    assert!(matches!(met, Greeted::Met { ref peer, .. } if *peer == peer_id()));
    id
}

#[test]
fn two_links_to_one_peer_keep_the_one_the_lower_id_dialed() {
    let now = Instant::now();
    let mut out = Out::default();
    let mut links = Links::new(Duration::from_secs(5));
    let peer = peer_id();
    // We are the lower id. The peer's dial arrives first and comes up...
    let theirs = greeted(&mut links, false, now, &mut out);
    assert_eq!(
        links.up(theirs, &peer, ME, &mut out),
        Some(Route::Link(theirs))
    );
    // ...then our own dial says hello: ours wins, theirs is closed.
    let ours = greeted(&mut links, true, now, &mut out);
    out.take();
    assert_eq!(links.up(ours, &peer, ME, &mut out), Some(Route::Link(ours)));
    assert_eq!(closed(&mut out), [theirs]);
    assert_eq!(links.route(&peer_id()), Some(Route::Link(ours)));
    // Closing the loser does not take the winner's route.
    links.forget(theirs, "tie-break", true, now);
    assert_eq!(links.route(&peer_id()), Some(Route::Link(ours)));
    // A third link dialed by the peer loses against ours.
    let late = greeted(&mut links, false, now, &mut out);
    out.take();
    assert_eq!(links.up(late, &peer, ME, &mut out), None);
    assert_eq!(closed(&mut out), [late]);
}

#[test]
fn a_bad_hello_closes_the_link() {
    let now = Instant::now();
    let mut out = Out::default();
    let mut links = Links::new(Duration::from_secs(5));
    let id = links.next_id();
    links.opened(id, ends(5001), None, hello(), now, &mut out);
    out.take();
    assert_eq!(
        links.greet(id, hello_from(1, &peer_id()), ME, now, &mut out),
        Greeted::Refused
    );
    assert_eq!(closed(&mut out), [id]);
    // A hello naming a peer other than the key its handshake proved.
    let other = links.next_id();
    links.opened(other, ends(5002), None, hello(), now, &mut out);
    let someone = test_pair(3).peer_id();
    assert_eq!(
        links.greet(
            other,
            hello_from(PROTOCOL_VERSION, &someone),
            ME,
            now,
            &mut out
        ),
        Greeted::Refused
    );
    assert_eq!(closed(&mut out), [other]);
    assert_eq!(
        links.on_frame(id),
        Arrived::Greeting,
        "closed once the core carries it out"
    );
}

#[test]
fn silent_links_close_and_idle_ones_get_a_keepalive() {
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let mut out = Out::default();
    let mut links = Links::new(secs(5));
    let silent = links.next_id();
    links.opened(silent, ends(5001), None, hello(), t0, &mut out);
    let talking = greeted(&mut links, false, t0, &mut out);
    links.up(talking, &peer_id(), ME, &mut out);
    out.take();
    links.tick(t0 + secs(4), &mut out);
    assert!(out.is_empty(), "nothing due yet");
    links.sent(talking, t0 + secs(3));
    links.tick(t0 + secs(7), &mut out);
    assert!(out.is_empty(), "it carried a frame 4 s ago");
    links.tick(t0 + secs(8), &mut out);
    assert!(matches!(
        &out.take()[..],
        [Action::Send { route: Route::Link(l), msg: LinkMsg::Keepalive { interval_ms: 5000 } }] if *l == talking
    ));
    links.tick(t0 + HELLO_TIMEOUT, &mut out);
    let acts = out.take();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Close { link, .. } if *link == silent)),
        "{acts:?}"
    );
}

#[test]
fn a_peer_is_dialed_once_and_again_after_its_link_drops() {
    let t0 = Instant::now();
    let mut out = Out::default();
    let mut links = Links::new(Duration::from_secs(5));
    let peer = peer_id();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 6000));
    assert!(links.dial(&peer, addr, t0, &mut out));
    assert!(!links.dial(&peer, addr, t0, &mut out), "one dial at a time");
    assert!(
        links.dialed(&peer, true, t0),
        "the connection becomes a link"
    );
    let id = links.next_id();
    links.opened(id, ends(6000), Some(peer.clone()), hello(), t0, &mut out);
    // It never says hello: the dial counts as failed when the link goes.
    links.forget(id, "no hello", true, t0);
    assert!(!links.dial(&peer, addr, t0, &mut out), "backing off");
    assert!(links.dial(&peer, addr, t0 + dials::FIRST_BACKOFF, &mut out));
    // Heard from: at once.
    links.dialed(&peer, false, t0);
    links.reachable(&peer_id(), t0);
    assert!(links.dial(&peer, addr, t0, &mut out));
}

//! Rooms' addresses through the whole core over a port that binds nothing: a member
//! written with no address (bound to 0.0.0.0) filled in from its link, stored, dialled at
//! the next start (only on loopback, where we are confined to it), and its port renewed
//! when it comes back on another. Times are made up.

use std::net::{Ipv4Addr, SocketAddr};

use super::fake::{FakePort, LINK_PORT, TempDir, core_in};
use super::rooms_tests::{change_by, feed, frame, linked, take_written};
use super::*;
use crate::net::NetInput;
use crate::protocol::room::{ChangeOp, Member};
use crate::protocol::{LinkMsg, PROTOCOL_VERSION};
use crate::store::StoredRoom;
use crate::trust::keys::test_pair;

/// bob bound to 0.0.0.0 writes himself into his room with no address: we fill in where
/// his link came from (and keep carol's address as bob wrote it), store it, dial him at
/// the next start (not carol: we are confined to loopback), and renew his port when he
/// comes back on another.
#[test]
fn a_member_written_with_no_address_is_filled_in_from_its_link_and_dialled_at_start() {
    let dir = TempDir::new("core-room-addr");
    let t0 = Now::read();
    let (bob, carol) = (test_pair(0xb3), test_pair(0xc3));
    let entry = |keys: &KeyPair, addr: &str, port: u16| Member {
        id: keys.peer_id(),
        name: "someone".into(),
        key: keys.public().to_base64(),
        addr: addr.into(),
        port,
    };
    let at = |core: &Core<FakePort>, room: &str, id: &str| {
        let r = core.rooms.get(room).expect("in the room");
        let m = r.members.iter().find(|m| m.id == id).expect("a member");
        (m.addr.clone(), m.port)
    };
    let room = {
        let (mut core, events) = core_in(&dir.0, t0);
        core.announce_start(t0);
        linked(&mut core, &bob, "bob", 1, t0);
        core.port.written.clear();
        let me = Member {
            id: core.presence.me().id.to_string(),
            name: "me".into(),
            key: core.presence.key().to_base64(),
            addr: "127.0.0.1".into(),
            port: LINK_PORT,
        };
        let room = StoredRoom {
            id: crate::protocol::room::new_room_id(),
            name: "team".into(),
            joined: true,
            members: vec![entry(&bob, "", 4001), me, entry(&carol, "10.9.9.9", 4002)],
            ..StoredRoom::default()
        };
        frame(
            &mut core,
            1,
            change_by(&bob, &room, ChangeOp::Create, "c1"),
            t0,
        );
        let w = take_written(&mut core, 1);
        assert!(matches!(&w[..], [LinkMsg::Ack { .. }]), "{w:?}");
        assert!(
            events
                .try_iter()
                .any(|e| matches!(e, Event::RoomJoined { .. }))
        );
        assert_eq!(
            at(&core, &room.id, &bob.peer_id()),
            ("127.0.0.1".into(), 4001)
        );
        assert_eq!(
            at(&core, &room.id, &carol.peer_id()),
            ("10.9.9.9".into(), 4002),
            "as bob wrote it"
        );
        room.id
    };

    // At the next start: bob's address was stored, and he is dialled there.
    let (mut core, _events) = core_in(&dir.0, t0);
    assert_eq!(at(&core, &room, &bob.peer_id()), ("127.0.0.1".into(), 4001));
    core.announce_start(t0);
    let dialled: Vec<(String, SocketAddr)> = core
        .port
        .dials
        .iter()
        .map(|(p, a)| (p.to_string(), *a))
        .collect();
    assert!(
        dialled.contains(&(bob.peer_id(), SocketAddr::from((Ipv4Addr::LOCALHOST, 4001)))),
        "{dialled:?}"
    );
    assert!(
        !dialled.iter().any(|(p, _)| *p == carol.peer_id()),
        "a node confined to loopback does not dial 10.9.9.9 because a room says so: {dialled:?}"
    );

    // bob back on another link port: renewed.
    let hello = NetInput::Accepted {
        conn: Box::new("a conn"),
        remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 50_100)),
        key: bob.public(),
        first: LinkMsg::Hello {
            id: bob.peer_id(),
            name: "bob".into(),
            version: PROTOCOL_VERSION,
            instance: "bob-2".into(),
            port: 4999,
        },
    };
    feed(&mut core, hello, t0);
    assert_eq!(at(&core, &room, &bob.peer_id()), ("127.0.0.1".into(), 4999));
}

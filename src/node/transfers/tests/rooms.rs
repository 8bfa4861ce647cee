//! Offers made for a room: a member's leave ends every one of theirs for that room,
//! bytes moving or not, and no other.

use super::*;

#[test]
fn a_members_leave_ends_their_offers_for_the_room_streaming_or_not_and_no_other() {
    let t0 = Now::read();
    let mut f = fixture("room-left", t0);
    let route = Up(Some(L1));
    let ctx = Ctx {
        routes: &route,
        peers: &f.peers,
        now: t0,
    };
    let mut out = Out::default();
    let bob = PeerId::from(BOB);
    let file = |name: &str| {
        let p = f.dir.join(name);
        std::fs::write(&p, name).unwrap();
        p
    };
    let (moving, waiting, also_direct, other_room) =
        (file("a.txt"), file("b.txt"), file("c.txt"), file("d.txt"));
    let mut send = |path: &Path, room: Option<&str>| {
        let sent = (bob.clone(), room);
        f.transfers
            .send_file_for(origin(), sent, path, ctx, &mut out);
    };
    send(&moving, Some("room-team"));
    send(&waiting, Some("room-team"));
    send(&also_direct, Some("room-team"));
    send(&also_direct, None);
    send(&other_room, Some("room-other"));
    let acts = out.take();
    let rooms: Vec<(String, Option<String>)> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Record(Record::NewTransfer(t)) => Some((t.name.clone(), t.room.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        rooms,
        [
            ("a.txt".into(), Some("room-team".into())),
            ("b.txt".into(), Some("room-team".into())),
            ("c.txt".into(), Some("room-team".into())),
            ("c.txt".into(), None),
            ("d.txt".into(), Some("room-other".into())),
        ],
        "recorded with the room they were made for; a direct send makes it theirs"
    );
    let id_of = |path: &Path| f.transfers.outgoing_for(&bob, path).unwrap().0;
    let (a, b) = (id_of(&moving), id_of(&waiting));
    let accept = LinkMsg::FileAccept {
        transfer_id: a.to_string(),
        offset: 0,
    };
    f.transfers.on_message(L1, &bob, accept, ctx, &mut out);
    let stream = stream_of(&out.take());

    assert_eq!(f.transfers.member_left(BOB, "room-team", ctx, &mut out), 2);
    let acts = out.take();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::StopStream(s) if *s == stream)),
        "{acts:?}"
    );
    let mut cancels: Vec<String> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                route: L1,
                msg:
                    LinkMsg::FileCancel {
                        transfer_id,
                        reason,
                    },
            } if reason == "you left the room" => Some(transfer_id.clone()),
            _ => None,
        })
        .collect();
    let mut ended: Vec<String> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Emit(Event::TransferFailed { transfer_id, end })
                if end.to_string() == "cancelled by the receiver: left the room" =>
            {
                Some(transfer_id.to_string())
            }
            _ => None,
        })
        .collect();
    let mut both = vec![a.to_string(), b.to_string()];
    both.sort();
    cancels.sort();
    ended.sort();
    assert_eq!((cancels, ended), (both.clone(), both));
    let mut left: Vec<String> = f
        .transfers
        .outgoing
        .values()
        .map(|o| o.name.clone())
        .collect();
    left.sort();
    assert_eq!(left, ["c.txt", "d.txt"]);
    assert_eq!(f.transfers.member_left(BOB, "room-team", ctx, &mut out), 0);
}

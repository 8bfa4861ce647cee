//! A file sent to a room is the room's: when a member's leave arrives, what of it still
//! waits for them (an offer not yet accepted here; in history, also one queued or broken)
//! is cancelled, live and in the store, so it is not offered again after a restart; the
//! other members' offers stay. Each offer says its room on the wire, also when offered
//! again after a restart; a receiver takes the room from a member of a room it is in
//! only, else the offer is a direct one.

use super::*;
use crate::node::transfers::{Party, TransferEnd};
use crate::protocol::TransferId;
use crate::store::TransferState;

fn offers(w: Vec<LinkMsg>) -> Vec<String> {
    offers_for(w).into_iter().map(|(id, _)| id).collect()
}

/// The `file_offer`s among `w`, with the room each says.
fn offers_for(w: Vec<LinkMsg>) -> Vec<(String, Option<String>)> {
    w.into_iter()
        .filter_map(|m| match m {
            LinkMsg::FileOffer {
                transfer_id, room, ..
            } => Some((transfer_id, room)),
            _ => None,
        })
        .collect()
}

/// The transfer ids of the `offer_sent`s said since the last call, with their recipient.
fn offers_sent(events: &Receiver<Event>) -> Vec<(TransferId, String)> {
    events
        .try_iter()
        .filter_map(|e| match e {
            Event::OfferSent {
                transfer_id, to, ..
            } => Some((transfer_id, to.to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_members_waiting_offer_of_a_room_file_is_cancelled_when_their_leave_arrives() {
    let dir = TempDir::new("core-room-file-leave");
    let files = TempDir::new("core-room-file-src");
    let file = files.0.join("plan.txt");
    std::fs::write(&file, b"the plan").expect("a file to send");
    let t0 = Now::read();
    let (bob, carol) = (test_pair(0xb7), test_pair(0xc7));
    let (bobs, hers, room) = {
        let (mut core, events) = core_in(&dir.0, t0);
        // Carol is away when the file is sent to the room: her offer waits.
        let (room, stored) = team_with_carol_away(&mut core, &events, &bob, &carol, t0);
        events.try_iter().for_each(drop);
        let send = Command::SendFile {
            to: room.clone(),
            path: file.clone(),
        };
        core.handle_command(ME, send, t0);
        let sent = offers_sent(&events);
        let id_for = |who: &KeyPair| {
            sent.iter()
                .find(|(_, to)| *to == who.peer_id())
                .map(|(id, _)| id.clone())
                .expect("an offer to each member")
        };
        let (bobs, hers) = (id_for(&bob), id_for(&carol));
        assert_eq!(
            offers_for(take_written(&mut core, 1)),
            [(bobs.to_string(), Some(room.clone()))],
            "the offer says its room"
        );
        let stored_state = |core: &Core<FakePort>, id: &TransferId| {
            let t = core.store.transfer(id.as_str()).unwrap().expect("recorded");
            (t.state, t.room)
        };
        assert_eq!(
            stored_state(&core, &hers),
            (TransferState::Offered, Some(room.clone())),
            "recorded with its room"
        );
        // She is back: her offer goes out; before she answers it, her leave arrives.
        linked(&mut core, &carol, "carol", 3, t0);
        assert_eq!(offers(take_written(&mut core, 3)), [hers.to_string()]);
        let leave = change_by(&carol, &stored, ChangeOp::Leave, "cl");
        frame(&mut core, 3, leave, t0);
        let w = take_written(&mut core, 3);
        assert!(
            w.iter()
                .any(|m| matches!(m, LinkMsg::FileCancel { transfer_id, reason }
                if transfer_id == hers.as_str() && reason.contains("left the room"))),
            "she is told the offer is withdrawn: {w:?}"
        );
        let ended: Vec<(TransferId, TransferEnd)> = events
            .try_iter()
            .filter_map(|e| match e {
                Event::TransferFailed { transfer_id, end } => Some((transfer_id, end)),
                _ => None,
            })
            .collect();
        let why = TransferEnd::Cancelled {
            by: Party::Receiver,
            said: "left the room".into(),
        };
        assert_eq!(ended, [(hers.clone(), why.clone())]);
        assert_eq!(why.to_string(), "cancelled by the receiver: left the room");
        assert_eq!(stored_state(&core, &hers).0, TransferState::Cancelled);
        assert_eq!(
            stored_state(&core, &bobs).0,
            TransferState::Offered,
            "bob's stays"
        );
        // An accept she sent before her leave reached us starts nothing.
        let late = LinkMsg::FileAccept {
            transfer_id: hers.to_string(),
            offset: 0,
        };
        frame(&mut core, 3, late, t0);
        assert!(
            !events
                .try_iter()
                .any(|e| matches!(e, Event::TransferStarted { .. }))
        );
        // Nor does asking for it again (a receiver's Retry): she is told no.
        take_written(&mut core, 3);
        let resume = LinkMsg::FileResume {
            transfer_id: hers.to_string(),
        };
        frame(&mut core, 3, resume, t0);
        let w = take_written(&mut core, 3);
        assert!(
            matches!(&w[..], [LinkMsg::FileCancel { transfer_id, reason }]
                if transfer_id == hers.as_str() && reason == "plan.txt was cancelled"),
            "{w:?}"
        );
        assert_eq!(stored_state(&core, &hers).0, TransferState::Cancelled);
        (bobs, hers, room)
    };
    // After a restart only bob's offer is taken up again, and only he is offered it.
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    let again: Vec<TransferId> = offers_sent(&events).into_iter().map(|(id, _)| id).collect();
    assert_eq!(again, std::slice::from_ref(&bobs));
    linked(&mut core, &carol, "carol", 1, t0);
    assert!(offers(take_written(&mut core, 1)).is_empty());
    linked(&mut core, &bob, "bob", 2, t0);
    assert_eq!(
        offers_for(take_written(&mut core, 2)),
        [(bobs.to_string(), Some(room))],
        "still the room's after a restart"
    );
    let t = core.store.transfer(hers.as_str()).unwrap().expect("kept");
    assert_eq!(t.state, TransferState::Cancelled);
}

/// The `file_offer` events said since the last call: (transfer, sender, room).
fn offers_heard(events: &Receiver<Event>) -> Vec<(String, String, Option<String>)> {
    events
        .try_iter()
        .filter_map(|e| match e {
            Event::FileOffer {
                transfer_id,
                from,
                room,
                ..
            } => Some((transfer_id.to_string(), from.to_string(), room)),
            _ => None,
        })
        .collect()
}

fn offer_in(id: &str, room: Option<&str>) -> LinkMsg {
    LinkMsg::FileOffer {
        transfer_id: id.into(),
        name: "plan.pdf".into(),
        size: 10,
        mime: "application/pdf".into(),
        folder: None,
        room: room.map(str::to_owned),
    }
}

#[test]
fn an_offer_in_a_room_is_the_rooms_only_from_a_member_of_a_room_we_are_in() {
    let dir = TempDir::new("core-room-offer-in");
    let t0 = Now::read();
    let (bob, carol, dave) = (test_pair(0xb8), test_pair(0xc8), test_pair(0xd8));
    let (mut core, events) = core_in(&dir.0, t0);
    let (room, stored) = team_with_carol_away(&mut core, &events, &bob, &carol, t0);
    linked(&mut core, &dave, "dave", 3, t0);
    events.try_iter().for_each(drop);
    core.port.written.clear();
    let elsewhere = crate::protocol::room::new_room_id();
    // Bob, a member, offers a file in the room: it is the room's, and recorded so.
    frame(&mut core, 1, offer_in("t-bob", Some(&room)), t0);
    // Hostile or mistaken labels: each is a direct offer, never refused for its label.
    frame(&mut core, 3, offer_in("t-dave", Some(&room)), t0); // not a member
    frame(&mut core, 1, offer_in("t-else", Some(&elsewhere)), t0); // not our room
    frame(&mut core, 1, offer_in("t-junk", Some("../room-x\n")), t0); // not a room id
    frame(&mut core, 1, offer_in("t-none", None), t0);
    let (b, d) = (bob.peer_id(), dave.peer_id());
    assert_eq!(
        offers_heard(&events),
        [
            ("t-bob".into(), b.clone(), Some(room.clone())),
            ("t-dave".into(), d.clone(), None),
            ("t-else".into(), b.clone(), None),
            ("t-junk".into(), b.clone(), None),
            ("t-none".into(), b.clone(), None),
        ]
    );
    for link in [1, 3] {
        let w = take_written(&mut core, link);
        assert!(
            !w.iter().any(|m| matches!(m, LinkMsg::FileDecline { .. })),
            "nothing declined for its room: {w:?}"
        );
    }
    let stored_room = |id: &str| {
        let t = core.store.transfer(id).unwrap().expect("recorded");
        assert_eq!(t.dir, crate::store::Direction::In);
        t.room
    };
    assert_eq!(stored_room("t-bob"), Some(room.clone()));
    for id in ["t-dave", "t-else", "t-junk", "t-none"] {
        assert_eq!(stored_room(id), None, "{id}");
    }
    // History: the room's page carries bob's offer in it; bob's own page the rest.
    let history = |core: &mut Core<FakePort>, peer: &str| {
        let ask = Command::History {
            peer: peer.into(),
            limit: 50,
            before: None,
            after: None,
        };
        core.handle_command(ME, ask, t0);
        let mut ids: Vec<String> = events
            .try_iter()
            .find_map(|e| match e {
                Event::History { transfers, .. } => Some(transfers),
                _ => None,
            })
            .expect("history")
            .into_iter()
            .map(|t| t.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(history(&mut core, &room), ["t-bob"]);
    assert_eq!(history(&mut core, &b), ["t-else", "t-junk", "t-none"]);
    assert_eq!(history(&mut core, &d), ["t-dave"]);
    // Bob leaves the room: what he offered us stays ours to take (a leave cancels only
    // our offers to the leaver), live and in history.
    let leave = change_by(&bob, &stored, ChangeOp::Leave, "bl");
    frame(&mut core, 1, leave, t0);
    assert!(
        !events
            .try_iter()
            .any(|e| matches!(e, Event::TransferFailed { .. })),
        "nothing ended"
    );
    let t = core.store.transfer("t-bob").unwrap().expect("kept");
    assert_eq!(t.state, TransferState::Offered);
    core.handle_command(
        ME,
        Command::Accept {
            transfer_id: "t-bob".into(),
        },
        t0,
    );
    assert!(
        take_written(&mut core, 1).iter().any(
            |m| matches!(m, LinkMsg::FileAccept { transfer_id, .. } if transfer_id == "t-bob")
        ),
        "still accepted"
    );
}

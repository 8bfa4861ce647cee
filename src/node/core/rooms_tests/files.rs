//! A file sent to a room is the room's: when a member's leave arrives, what of it still
//! waits for them (an offer not yet accepted here; in history, also one queued or broken)
//! is cancelled, live and in the store, so it is not offered again after a restart; the
//! other members' offers stay.

use super::*;
use crate::node::transfers::{Party, TransferEnd};
use crate::protocol::TransferId;
use crate::store::TransferState;

fn offers(w: Vec<LinkMsg>) -> Vec<String> {
    w.into_iter()
        .filter_map(|m| match m {
            LinkMsg::FileOffer { transfer_id, .. } => Some(transfer_id),
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
    let (bobs, hers) = {
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
        assert_eq!(offers(take_written(&mut core, 1)), [bobs.to_string()]);
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
        (bobs, hers)
    };
    // After a restart only bob's offer is taken up again, and only he is offered it.
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    let again: Vec<TransferId> = offers_sent(&events).into_iter().map(|(id, _)| id).collect();
    assert_eq!(again, std::slice::from_ref(&bobs));
    linked(&mut core, &carol, "carol", 1, t0);
    assert!(offers(take_written(&mut core, 1)).is_empty());
    linked(&mut core, &bob, "bob", 2, t0);
    assert_eq!(offers(take_written(&mut core, 2)), [bobs.to_string()]);
    let t = core.store.transfer(hers.as_str()).unwrap().expect("kept");
    assert_eq!(t.state, TransferState::Cancelled);
}

//! The transfers part with made-up times and no sockets (files are real, in a temporary
//! folder): the sender's retry schedule, a new route ending a wait, and declines that
//! carry their reason as a code.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::net::transfer::{FailureKind, TransferReport};
use crate::node::fanout::SubscriberId;
use crate::node::out::Action;
use crate::node::peer::Protocol;
use crate::node::presence::Sighting;
use crate::protocol::DeclineCode;
use crate::store::TransferState;

const L1: Route = Route::Link(1);
const L2: Route = Route::Link(2);
const BOB: &str = "b0b0";

struct Up(Option<Route>);

impl Routes for Up {
    fn route(&self, _peer: &str) -> Option<Route> {
        self.0
    }
}

struct Fixture {
    dir: PathBuf,
    peers: PeerTable,
    transfers: Transfers,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(tag: &str, now: Now) -> Fixture {
    let dir = std::env::temp_dir().join(format!("lanchat-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = Settings {
        me: "a1a1".into(),
        data_dir: dir.join("data"),
        download_dir: dir.join("dl"),
        auto_accept: crate::config::AutoAccept::Nobody,
        max_file_size: Some(5),
        accept_timeout: Duration::from_secs(120),
        retry_delay: Duration::from_secs(1),
        retry_attempts: 3,
        send_rate_limit: None,
        partial_max_age: Duration::from_secs(7 * 24 * 3600),
    };
    let mut peers = PeerTable::new();
    let bob = Sighting {
        id: BOB,
        protocol: Protocol::Lanchat,
        key: None,
        instance: "i",
        name: "bob",
        host: "h",
        group: "",
        addr: Ipv4Addr::LOCALHOST,
        port: 4001,
        status: "online",
        timeout: Some(Duration::from_secs(15)),
    };
    peers.observe(&bob, now.at, now.wall);
    Fixture {
        dir,
        peers,
        transfers: Transfers::new(settings),
    }
}

fn origin() -> Origin {
    Origin {
        subscriber: SubscriberId(1),
        request_id: None,
    }
}

/// The offers and events a list of actions carries, in a few words each.
fn said(acts: &[Action]) -> Vec<String> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { route, msg } => Some(format!("{} on {route:?}", msg.kind())),
            Action::Emit(Event::TransferInterrupted {
                attempt,
                retry_in_ms,
                ..
            }) => Some(format!("interrupted {attempt} {retry_in_ms:?}")),
            Action::Emit(Event::TransferRetrying { attempt, .. }) => {
                Some(format!("retrying {attempt}"))
            }
            Action::Emit(Event::TransferFailed { end, .. }) => {
                Some(format!("failed: {}", end.kind()))
            }
            Action::StartSend { .. } => Some("start".into()),
            _ => None,
        })
        .collect()
}

fn stream_of(acts: &[Action]) -> StreamId {
    acts.iter()
        .find_map(|a| match a {
            Action::StartSend { stream, .. } => Some(*stream),
            _ => None,
        })
        .expect("a stream started")
}

#[test]
fn a_broken_send_is_offered_again_after_one_two_four_seconds_then_given_up() {
    let t0 = Now::read();
    let mut f = fixture("retry", t0);
    let file = f.dir.join("movie.bin");
    std::fs::write(&file, vec![7u8; 1000]).unwrap();
    let route = Up(Some(L1));
    let ctx = |now| Ctx {
        routes: &route,
        peers: &f.peers,
        now,
    };
    let mut out = Out::default();
    let (bob, mut now) = (PeerId::from(BOB), t0);
    f.transfers
        .send_file(origin(), bob.clone(), &file, ctx(now), &mut out);
    let id = f.transfers.outgoing.keys().next().cloned().unwrap();
    assert_eq!(said(&out.take()), ["file_offer on Link(1)"]);
    for (attempt, wait) in [(1u32, 1u64), (2, 2), (3, 4)] {
        let accept = LinkMsg::FileAccept {
            transfer_id: id.to_string(),
            offset: 0,
        };
        f.transfers.on_message(L1, &bob, accept, ctx(now), &mut out);
        let acts = out.take();
        assert_eq!(said(&acts), ["start"]);
        let broken = TransferReport::Failed {
            transfer_id: id.to_string(),
            outgoing: true,
            stream: stream_of(&acts),
            reason: "the receiver closed the connection".into(),
            kind: FailureKind::Broken,
        };
        f.transfers.on_report(broken, ctx(now), &mut out);
        assert_eq!(
            said(&out.take()),
            [format!("interrupted {attempt} Some({})", wait * 1000)]
        );
        let due = now.after(Duration::from_secs(wait));
        assert_eq!(
            f.transfers.next_wake(),
            Some(due.at),
            "the loop wakes for it"
        );
        f.transfers.tick(
            ctx(now.after(Duration::from_secs(wait) - Duration::from_millis(1))),
            &mut out,
        );
        assert!(said(&out.take()).is_empty(), "not before its time");
        f.transfers.tick(ctx(due), &mut out);
        assert_eq!(
            said(&out.take()),
            [
                format!("retrying {attempt}"),
                "file_offer on Link(1)".into()
            ]
        );
        now = due;
    }
    // A fourth break in a row that moved no byte: given up, and Retry may take it up.
    let accept = LinkMsg::FileAccept {
        transfer_id: id.to_string(),
        offset: 0,
    };
    f.transfers.on_message(L1, &bob, accept, ctx(now), &mut out);
    let stream = stream_of(&out.take());
    let broken = TransferReport::Failed {
        transfer_id: id.to_string(),
        outgoing: true,
        stream,
        reason: "cut".into(),
        kind: FailureKind::Broken,
    };
    f.transfers.on_report(broken, ctx(now), &mut out);
    let acts = out.take();
    assert_eq!(said(&acts), ["failed: gave_up"]);
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Emit(Event::TransferFailed {
            end: TransferEnd::GaveUp { tries: 3, .. },
            ..
        })
    )));
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Record(Record::TransferState(_, TransferState::Failed))
    )));
}

#[test]
fn a_new_route_ends_the_wait_and_stale_reports_are_ignored() {
    let t0 = Now::read();
    let mut f = fixture("newroute", t0);
    let file = f.dir.join("a.bin");
    std::fs::write(&file, b"12345").unwrap();
    let (on_l1, on_l2) = (Up(Some(L1)), Up(Some(L2)));
    let bob = PeerId::from(BOB);
    let mut out = Out::default();
    fn ctx<'a>(routes: &'a Up, peers: &'a PeerTable, now: Now) -> Ctx<'a> {
        Ctx { routes, peers, now }
    }
    let ctx1 = ctx(&on_l1, &f.peers, t0);
    f.transfers
        .send_file(origin(), bob.clone(), &file, ctx1, &mut out);
    let id = f.transfers.outgoing.keys().next().cloned().unwrap();
    let accept = LinkMsg::FileAccept {
        transfer_id: id.to_string(),
        offset: 0,
    };
    f.transfers
        .on_message(L1, &bob, accept, ctx(&on_l1, &f.peers, t0), &mut out);
    let first = stream_of(&out.take());
    let broken = |stream| TransferReport::Failed {
        transfer_id: id.to_string(),
        outgoing: true,
        stream,
        reason: "cut".into(),
        kind: FailureKind::Broken,
    };
    f.transfers
        .on_report(broken(first), ctx(&on_l1, &f.peers, t0), &mut out);
    out.take();
    // The same route again is no news; another one means the network is back.
    f.transfers.pump(&bob, Some(L1), &mut out);
    assert!(said(&out.take()).is_empty());
    f.transfers.pump(&bob, Some(L2), &mut out);
    assert_eq!(said(&out.take()), ["retrying 1", "file_offer on Link(2)"]);
    // The old stream's late report changes nothing.
    f.transfers
        .on_report(broken(first), ctx(&on_l2, &f.peers, t0), &mut out);
    assert!(out.take().is_empty());
}

#[test]
fn declines_carry_their_reason_as_a_code_and_offer_no_retry() {
    let t0 = Now::read();
    let mut f = fixture("decline", t0);
    let route = Up(Some(L1));
    let ctx = Ctx {
        routes: &route,
        peers: &f.peers,
        now: t0,
    };
    let bob = PeerId::from(BOB);
    let mut out = Out::default();
    // An offer over our limit (5 bytes): declined, with the code on the wire.
    let offer = LinkMsg::FileOffer {
        transfer_id: "t0t0".into(),
        name: "big.bin".into(),
        size: 9,
        mime: String::new(),
        folder: None,
        room: None,
    };
    f.transfers.on_message(L1, &bob, offer, ctx, &mut out);
    let acts = out.take();
    assert!(acts.iter().any(|a| matches!(a, Action::Send { msg: LinkMsg::FileDecline { code: Some(DeclineCode::TooLarge), reason, .. }, .. }
        if reason == "the file is 9 bytes; the limit is 5 bytes")), "{acts:?}");
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Record(Record::TransferState(_, TransferState::Declined))
    )));
    // Our own offer declined by the receiver for its size: stored declined, no Retry,
    // whatever its words say.
    let file = f.dir.join("a.bin");
    std::fs::write(&file, b"12345").unwrap();
    f.transfers
        .send_file(origin(), bob.clone(), &file, ctx, &mut out);
    let id = f.transfers.outgoing.keys().next().cloned().unwrap();
    out.take();
    let decline = LinkMsg::FileDecline {
        transfer_id: id.to_string(),
        reason: "hash mismatch, gave up".into(),
        code: Some(DeclineCode::TooLarge),
    };
    f.transfers.on_message(L1, &bob, decline, ctx, &mut out);
    let acts = out.take();
    let end = acts.iter().find_map(|a| match a {
        Action::Emit(Event::TransferFailed { end, .. }) => Some(end.clone()),
        _ => None,
    });
    let end = end.expect("transfer_failed");
    assert_eq!(end.to_string(), "declined: hash mismatch, gave up");
    assert!(!end.retry());
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Record(Record::TransferState(_, TransferState::Declined))
    )));
}

#[test]
fn a_folder_to_an_ipmsg_peer_ends_in_words_and_a_file_still_goes() {
    let t0 = Now::read();
    let mut f = fixture("folder-ipmsg", t0);
    let folder = f.dir.join("相册");
    std::fs::create_dir_all(folder.join("空")).unwrap();
    std::fs::write(folder.join("a.txt"), b"abc").unwrap();
    let file = f.dir.join("one.txt");
    std::fs::write(&file, b"x").unwrap();
    let ipmsg = Route::Ipmsg(std::net::SocketAddrV4::new(Ipv4Addr::LOCALHOST, 2425));
    let route = Up(Some(ipmsg));
    let ctx = Ctx {
        routes: &route,
        peers: &f.peers,
        now: t0,
    };
    let mut out = Out::default();
    let bob = PeerId::from(BOB);
    f.transfers
        .send_file(origin(), bob.clone(), &folder, ctx, &mut out);
    let acts = out.take();
    assert!(
        acts.iter().any(
            |a| matches!(a, Action::Emit(Event::OfferSent { folder: Some(s), mime, .. })
            if s.files == 1 && s.folders == 1 && mime == "inode/directory")
        ),
        "{acts:?}"
    );
    let failed: Vec<String> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Emit(Event::TransferFailed { end, .. }) => Some(end.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        failed.len() == 1 && failed[0].contains("IPMsg peers cannot receive a folder"),
        "{failed:?}"
    );
    assert_eq!(said(&acts), ["failed: failed"], "nothing offered");
    f.transfers.send_file(origin(), bob, &file, ctx, &mut out);
    assert_eq!(said(&out.take()), [format!("file_offer on {ipmsg:?}")]);
}

mod rooms;

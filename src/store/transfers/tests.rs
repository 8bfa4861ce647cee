//! Known peers and transfers as stored: a round trip through every state, and an offer
//! made again.

use crate::store::{Direction, KnownPeer, Store, Transfer, TransferState};

#[test]
fn peers_and_transfers_round_trip() {
    let s = Store::open_in_memory();
    let mut p = KnownPeer {
        id: "p".into(),
        name: "张三".into(),
        host: "lab-07".into(),
        addr: [10, 0, 0, 7].into(),
        port: 47475,
        last_seen: 5,
        key: Some("k".into()),
        protocol: "ipmsg".into(),
        group: "组A".into(),
    };
    s.save_peer(&p).unwrap();
    p.name = "Zhang".into();
    p.last_seen = 9;
    p.key = None;
    s.save_peer(&p).unwrap();
    p.key = Some("k".into()); // a key once known is not forgotten
    assert_eq!(s.known_peers(10).unwrap(), [p]);

    let mut t = Transfer {
        id: "t1".into(),
        peer: "p".into(),
        dir: Direction::In,
        name: "photo.jpg".into(),
        size: 1000,
        mime: "image/jpeg".into(),
        path: "/tmp/photo.jpg.part".into(),
        bytes_done: 0,
        hash: None,
        state: TransferState::Active,
        created_at: 1,
        updated_at: 1,
    };
    s.save_transfer(&t).unwrap();
    assert!(s.transfer_progress("t1", 400, 2).unwrap());
    assert!(
        s.set_transfer_state("t1", TransferState::Paused, None, 3)
            .unwrap()
    );
    t.bytes_done = 400;
    t.state = TransferState::Paused;
    t.updated_at = 3;
    assert_eq!(s.unfinished_transfers().unwrap(), [t.clone()]);
    s.set_transfer_state("t1", TransferState::Done, Some("ab12"), 4)
        .unwrap();
    assert!(s.unfinished_transfers().unwrap().is_empty());
    assert_eq!(
        s.transfer("t1").unwrap().unwrap().hash.as_deref(),
        Some("ab12")
    );
    assert!(!s.transfer_progress("nope", 1, 1).unwrap());
}

#[test]
fn an_offer_made_again_keeps_an_unfinished_transfers_place_but_not_a_finished_ones() {
    let s = Store::open_in_memory();
    let offer = |at: u64, path: &str| Transfer {
        id: "t1".into(),
        peer: "p".into(),
        dir: Direction::Out,
        name: "movie.mkv".into(),
        size: 1000,
        mime: "video/x-matroska".into(),
        path: path.into(),
        bytes_done: 0,
        hash: None,
        state: TransferState::Offered,
        created_at: at,
        updated_at: at,
    };
    s.save_transfer(&offer(1, "/home/a/movie.mkv")).unwrap();
    s.transfer_progress("t1", 600, 2).unwrap();
    s.set_transfer_state("t1", TransferState::Paused, None, 3)
        .unwrap();
    // A retry offers it again: same place, same bytes, same path.
    s.save_transfer(&offer(4, "")).unwrap();
    let t = s.transfer("t1").unwrap().unwrap();
    assert_eq!(
        (t.created_at, t.bytes_done, t.path.as_str(), t.state),
        (1, 600, "/home/a/movie.mkv", TransferState::Offered)
    );
    // Sent again once it is done: a new transfer in the conversation, now.
    s.set_transfer_state("t1", TransferState::Done, None, 5)
        .unwrap();
    s.save_transfer(&offer(6, "")).unwrap();
    let t = s.transfer("t1").unwrap().unwrap();
    assert_eq!((t.created_at, t.bytes_done), (6, 0));
}

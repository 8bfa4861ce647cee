//! Known peers and transfers as stored: a round trip through every state, an offer made
//! again, transfers made for a room (a member's leave cancels ours to them, not theirs to
//! us; a room's page has those offered us in it) and schema step 8.

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
        room: None,
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
        room: None,
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

/// A transfer of ours `id` to `peer`, made for `room`, in `state`.
fn for_room(id: &str, peer: &str, room: Option<&str>, state: TransferState) -> Transfer {
    let mut t = Transfer::offered(
        (id, peer, Direction::Out),
        ("plan.pdf", 10, "application/pdf"),
        "/home/a/plan.pdf".into(),
        1,
    );
    t.room = room.map(str::to_owned);
    t.state = state;
    t
}

/// `t` as offered to us by its peer.
fn incoming(mut t: Transfer) -> Transfer {
    t.dir = Direction::In;
    t.path = String::new();
    t
}

#[test]
fn a_rooms_page_has_the_files_offered_us_in_it_and_the_peers_page_the_rest() {
    let s = Store::open_in_memory();
    let team = "room-0123456789abcdef0123456789abcdef";
    for t in [
        incoming(for_room(
            "hers-in-room",
            "carol",
            Some(team),
            TransferState::Offered,
        )),
        incoming(for_room("hers-direct", "carol", None, TransferState::Done)),
        for_room("ours-in-room", "carol", Some(team), TransferState::Offered),
        for_room("ours-direct", "carol", None, TransferState::Offered),
    ] {
        s.save_transfer(&t).unwrap();
    }
    let ids = |page: Vec<Transfer>| {
        let mut ids: Vec<String> = page.into_iter().map(|t| t.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(s.transfers_between("carol", 0, None, 10).unwrap()),
        ["hers-direct", "ours-direct", "ours-in-room"],
        "ours to a member for a room stays in the member's conversation"
    );
    assert_eq!(
        ids(s.room_transfers_between(team, 0, None, 10).unwrap()),
        ["hers-in-room"]
    );
    assert!(
        s.room_transfers_between(team, 2, None, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_leave_cancels_the_transfers_made_for_the_room_to_whoever_left_and_no_others() {
    use crate::protocol::room::Member;
    use crate::store::{MsgState, NewMessage, StoredRoom};
    let dir = std::env::temp_dir().join(format!("lanchat-tr-left-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = Store::open(&dir.join(crate::store::HISTORY_FILE)).unwrap();
    let (team, other) = ("room-0123456789abcdef0123456789abcdef", "room-other");
    let rows = [
        for_room("queued", "carol", Some(team), TransferState::Offered),
        for_room("broken", "carol", Some(team), TransferState::Paused),
        for_room("gave-up", "carol", Some(team), TransferState::Failed),
        for_room("had-it", "carol", Some(team), TransferState::Done),
        for_room("bobs", "bob", Some(team), TransferState::Offered),
        for_room("direct", "carol", None, TransferState::Offered),
        for_room("elsewhere", "carol", Some(other), TransferState::Offered),
        // Carol's offer to us in the room: hers to withdraw, not ours to cancel.
        incoming(for_room(
            "theirs",
            "carol",
            Some(team),
            TransferState::Offered,
        )),
    ];
    for t in &rows {
        s.save_transfer(t).unwrap();
    }
    assert_eq!(
        s.transfer("queued").unwrap().unwrap().room.as_deref(),
        Some(team)
    );
    let after = StoredRoom {
        id: team.into(),
        name: "team".into(),
        joined: true,
        members: vec![Member {
            id: "bob".into(),
            name: "BOB".into(),
            key: "k".into(),
            addr: "10.0.0.2".into(),
            port: 4000,
        }],
        ..StoredRoom::default()
    };
    let leave = NewMessage {
        peer: team,
        msg_id: "c1",
        dir: Direction::In,
        from: "carol",
        from_name: "CAROL",
        text: "left the room",
        sent_at: 6,
        state: MsgState::Received,
    };
    assert!(s.take_room_change(&leave, &after, Some("carol")).unwrap());
    let states: Vec<(String, TransferState)> = rows
        .iter()
        .map(|t| (t.id.clone(), s.transfer(&t.id).unwrap().unwrap().state))
        .collect();
    let want = [
        ("queued", TransferState::Cancelled),
        ("broken", TransferState::Cancelled),
        ("gave-up", TransferState::Cancelled),
        ("had-it", TransferState::Done),
        ("bobs", TransferState::Offered),
        ("direct", TransferState::Offered),
        ("elsewhere", TransferState::Offered),
        ("theirs", TransferState::Offered),
    ]
    .map(|(id, st)| (id.to_owned(), st));
    assert_eq!(states, want);
    let unfinished: Vec<String> = s
        .unfinished_transfers()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        unfinished,
        ["bobs", "direct", "elsewhere", "theirs"],
        "not offered after a restart"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_7_transfers_migrate_as_direct_ones() {
    let dir = std::env::temp_dir().join(format!("lanchat-mig8-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(crate::store::HISTORY_FILE);
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        crate::store::migrations::migrate_to(&mut conn, 7).unwrap();
        conn.execute_batch(
            "INSERT INTO transfers (id, peer, dir, name, size, mime, path, bytes_done,
                                    hash, state, created_at, updated_at)
             VALUES ('t1', 'bob', 'out', 'a.txt', 3, 'text/plain', '/a.txt', 1,
                     NULL, 'paused', 5, 6);",
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    let mut want = for_room("t1", "bob", None, TransferState::Paused);
    (want.name, want.size, want.mime, want.path) =
        ("a.txt".into(), 3, "text/plain".into(), "/a.txt".into());
    (want.bytes_done, want.created_at, want.updated_at) = (1, 5, 6);
    assert_eq!(s.unfinished_transfers().unwrap(), [want]);
    // A transfer made for a room keeps it.
    s.save_transfer(&for_room(
        "t2",
        "bob",
        Some("room-x"),
        TransferState::Offered,
    ))
    .unwrap();
    assert_eq!(
        s.transfer("t2").unwrap().unwrap().room.as_deref(),
        Some("room-x")
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

use std::fs;
use std::path::PathBuf;

use super::*;

/// A fresh directory of its own, removed on drop.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new() -> TmpDir {
        let dir = std::env::temp_dir().join(format!("lanchat-store-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        TmpDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join(HISTORY_FILE)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn out<'a>(peer: &'a str, msg_id: &'a str, text: &'a str) -> NewMessage<'a> {
    NewMessage {
        peer,
        msg_id,
        dir: Direction::Out,
        from: "me",
        from_name: "Me",
        text,
        sent_at: 1,
        state: MsgState::Pending,
    }
}

fn texts(v: &[StoredMessage]) -> Vec<&str> {
    v.iter().map(|m| m.text.as_str()).collect()
}

#[test]
fn a_version_1_history_keeps_its_peers_as_lanchat_peers() {
    let dir = TmpDir::new();
    {
        let mut conn = rusqlite::Connection::open(dir.db()).unwrap();
        migrations::migrate_to(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO peers (id, name, host, addr, port, last_seen)
             VALUES ('p', '张三', 'lab', '10.0.0.7', 47475, 5)",
            [],
        )
        .unwrap();
    }
    let s = Store::open(&dir.db()).unwrap();
    assert_eq!(migrations::version(&s.conn).unwrap(), migrations::LATEST);
    let [p] = s.known_peers(10).unwrap().try_into().expect("one peer");
    assert_eq!((p.name.as_str(), p.port), ("张三", 47475));
    assert_eq!((p.protocol.as_str(), p.group.as_str()), ("lanchat", ""));
    let ipmsg = KnownPeer {
        id: "ipmsg-1".into(),
        protocol: "ipmsg".into(),
        group: "组A".into(),
        ..p
    };
    s.save_peer(&ipmsg).unwrap();
    let again = s.known_peers(10).unwrap();
    assert!(again.contains(&ipmsg), "{again:?}");
}

#[test]
fn migrates_from_empty_and_reopens() {
    let dir = TmpDir::new();
    let mut s = Store::open(&dir.db()).unwrap();
    assert_eq!(migrations::version(&s.conn).unwrap(), migrations::LATEST);
    let mode: String = s
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    s.insert_message(&out("p", "m1", "hello")).unwrap().unwrap();
    drop(s);
    let s = Store::open(&dir.db()).unwrap();
    assert_eq!(texts(&s.history("p", None, 10).unwrap()), ["hello"]);
}

#[test]
fn duplicates_are_recognised() {
    let mut s = Store::open_in_memory();
    let incoming = NewMessage {
        dir: Direction::In,
        from: "p",
        state: MsgState::Received,
        ..out("p", "m1", "hi")
    };
    assert!(s.insert_message(&incoming).unwrap().is_some());
    assert!(s.insert_message(&incoming).unwrap().is_none());
    // The same msg_id from another author is another message.
    assert!(s.insert_message(&out("p", "m1", "hi")).unwrap().is_some());
    assert_eq!(s.search("hi", 10).unwrap().len(), 2, "indexed once each");
}

#[test]
fn outbox_states() {
    let mut s = Store::open_in_memory();
    for id in ["a", "b", "c"] {
        s.insert_message(&out("p", id, id)).unwrap();
    }
    let shout = NewMessage {
        state: MsgState::Sent,
        ..out(EVERYONE, "s", "shout")
    };
    s.insert_message(&shout).unwrap();
    s.mark_sent("p", "me", &["a", "b"]).unwrap();
    assert!(s.mark_delivered("p", "me", "a").unwrap());
    assert!(!s.mark_delivered("p", "me", "a").unwrap(), "a second ack");
    assert!(
        !s.mark_delivered("q", "me", "b").unwrap(),
        "only from the recipient"
    );
    let unacked = s.unacked(100).unwrap();
    assert_eq!(texts(&unacked), ["b", "c"]);
    assert_eq!(unacked[0].state, MsgState::Sent);
    assert_eq!(unacked[1].state, MsgState::Pending);
}

#[test]
fn commits_leave_checkpoints_to_housekeeping() {
    let dir = TmpDir::new();
    let mut s = Store::open(&dir.db()).unwrap();
    // (busy, WAL pages, pages copied into the file)
    let wal = |s: &Store| -> (i64, i64, i64) {
        s.conn
            .query_row("PRAGMA wal_checkpoint(NOOP)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap_or((0, 0, 0))
    };
    // Past SQLite's default of 1000 pages, a commit would have checkpointed (and the
    // WAL started over).
    let mut i = 0;
    while wal(&s).1 <= 1200 && i < 5000 {
        s.insert_message(&out("p", &format!("m{i}"), "some text"))
            .unwrap();
        i += 1;
    }
    let (_, pages, copied) = wal(&s);
    assert!(
        pages > 1200 && copied == 0,
        "a commit checkpointed by itself: {pages} pages in the WAL, {copied} copied"
    );
    s.checkpoint().unwrap();
    let (busy, pages, copied) = wal(&s);
    assert_eq!((busy, copied), (0, pages), "housekeeping copied the WAL");
    Store::open_in_memory().checkpoint().unwrap();
}

#[test]
fn outbox_updates_look_up_one_row() {
    // A walk over the whole conversation per message made a long conversation slow.
    let s = Store::open_in_memory();
    for sql in [super::messages::MARK_SENT, super::messages::MARK_DELIVERED] {
        let plan: Vec<String> = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(["p", "me", "m"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            [
                "SEARCH messages USING INDEX sqlite_autoindex_messages_1 (peer=? AND author=? AND msg_id=?)"
            ],
            "{sql}"
        );
    }
}

/// 25 messages to `p` ("0" to "24") interleaved with 25 shouts.
fn twenty_five_each() -> Store {
    let mut s = Store::open_in_memory();
    for i in 0..25 {
        s.insert_message(&out("p", &format!("m{i}"), &i.to_string()))
            .unwrap();
        s.insert_message(&out(EVERYONE, &format!("m{i}"), "shout"))
            .unwrap();
    }
    s
}

#[test]
fn history_pages_oldest_first() {
    let s = twenty_five_each();
    let last = s.history("p", None, 10).unwrap();
    assert_eq!(
        texts(&last),
        (15..25).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    let before = s.history("p", Some(last[0].id), 10).unwrap();
    assert_eq!(texts(&before).first(), Some(&"5"));
    let first = s.history("p", Some(before[0].id), 10).unwrap();
    assert_eq!(texts(&first), ["0", "1", "2", "3", "4"]);
    assert!(s.history("p", Some(first[0].id), 10).unwrap().is_empty());
    assert_eq!(s.history(EVERYONE, None, 100).unwrap().len(), 25);
}

#[test]
fn history_after_pages_forward_from_a_row() {
    let s = twenty_five_each();
    let all = s.history("p", None, 100).unwrap();
    let hit = &all[7];
    let next = s.history_after("p", hit.id, 10).unwrap();
    assert_eq!(
        texts(&next),
        (8..18).map(|i| i.to_string()).collect::<Vec<_>>(),
        "the 10 messages after the hit, oldest first, this conversation only"
    );
    let rest = s.history_after("p", next[9].id, 10).unwrap();
    assert_eq!(
        texts(&rest).len(),
        7,
        "a short page: the newest was reached"
    );
    assert!(s.history_after("p", rest[6].id, 10).unwrap().is_empty());
}

#[test]
fn search_finds_chinese_and_english_words() {
    let mut s = Store::open_in_memory();
    let msgs = [
        "明天下午三点开会",
        "The quarterly report is ready",
        "今天的会议取消了 meeting cancelled",
        "你好，世界",
        "Café au lait",
    ];
    for (i, t) in msgs.iter().enumerate() {
        s.insert_message(&out("p", &i.to_string(), t)).unwrap();
    }
    let find = |q: &str| texts(&s.search(q, 10).unwrap()).join("|");
    assert_eq!(find("开会"), msgs[0]);
    assert_eq!(find("会"), [msgs[2], msgs[0]].join("|"), "newest first");
    assert_eq!(find("会议"), msgs[2]);
    assert_eq!(find("议会"), "", "characters in order");
    assert_eq!(find("世界"), msgs[3]);
    assert_eq!(find("report"), msgs[1]);
    assert_eq!(find("REPORT"), msgs[1]);
    assert_eq!(find("quart"), msgs[1], "prefix as the user types");
    assert_eq!(find("会议 meeting"), msgs[2]);
    assert_eq!(find("会议 report"), "", "every term must match");
    assert_eq!(find("cafe"), msgs[4], "accents folded");
    assert_eq!(find("\"OR NEAR("), "", "no FTS syntax from users");
    assert_eq!(find(""), "");
}

#[test]
fn corrupt_file_is_moved_aside_and_reported() {
    let dir = TmpDir::new();
    let garbage = b"this is not a database, and it is long enough to have a header".repeat(100);
    fs::write(dir.db(), &garbage).unwrap();
    assert!(matches!(
        Store::open(&dir.db()),
        Err(StoreError::Corrupt { .. })
    ));
    let (mut s, fallback) = Store::open_or_fallback(&dir.db(), 1_700_000_000);
    let Some(Fallback::MovedAside { moved_to, .. }) = &fallback else {
        panic!("expected the file moved aside, got {fallback:?}");
    };
    assert_eq!(
        moved_to,
        &dir.0.join("history.db.corrupt-1700000000"),
        "named after the time"
    );
    assert_eq!(fs::read(moved_to).unwrap(), garbage, "kept, not deleted");
    let message = fallback.as_ref().unwrap().to_string();
    assert!(message.contains("corrupt") && message.contains("history.db.corrupt-"));
    assert_eq!(s.path(), dir.db(), "a new file in its place");
    s.insert_message(&out("p", "m", "after")).unwrap();
}

#[test]
fn newer_schema_is_refused_and_left_alone() {
    let dir = TmpDir::new();
    let s = Store::open(&dir.db()).unwrap();
    s.conn
        .pragma_update(None, "user_version", migrations::LATEST + 1)
        .unwrap();
    drop(s);
    let err = Store::open(&dir.db()).unwrap_err();
    assert!(matches!(err, StoreError::NewerSchema { .. }));
    assert!(err.to_string().contains("upgrade lanchat"), "{err}");
    let (s, fallback) = Store::open_or_fallback(&dir.db(), 0);
    assert!(matches!(fallback, Some(Fallback::InMemory { .. })));
    assert_eq!(s.path(), std::path::Path::new(":memory:"));
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    assert_eq!(
        migrations::version(&conn).unwrap(),
        migrations::LATEST + 1,
        "untouched"
    );
}

#[test]
fn a_full_disk_is_an_error_and_nothing_is_half_stored() {
    let dir = TmpDir::new();
    let mut s = Store::open(&dir.db()).unwrap();
    let pages: u32 = s
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    s.set_max_pages(pages + 2);
    let big = "x".repeat(4000);
    let mut stored = 0;
    let err = loop {
        match s.insert_message(&out("p", &stored.to_string(), &big)) {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 100, "the limit never hit");
    };
    assert!(matches!(err, StoreError::Full { .. }), "{err}");
    assert!(
        err.is_temporary(),
        "a full disk passes: the sender tries again"
    );
    assert_eq!(err.cause(), "the disk is full");
    assert_eq!(s.history("p", None, 1000).unwrap().len(), stored);
}

#[test]
fn a_burst_is_stored_all_or_nothing() {
    let dir = TmpDir::new();
    let mut s = Store::open(&dir.db()).unwrap();
    let ids: Vec<String> = (0..4).map(|i| format!("m{i}")).collect();
    let burst: Vec<NewMessage> = ids.iter().map(|id| out("p", id, "hi")).collect();
    let rows = s.insert_messages(&burst[..2]).unwrap();
    assert!(rows.iter().all(Option::is_some));
    let rows = s.insert_messages(&burst).unwrap();
    assert_eq!(
        rows.iter().map(Option::is_some).collect::<Vec<_>>(),
        [false, false, true, true],
        "duplicates recognised inside a burst"
    );
    // A burst that does not fit: none of it is stored.
    let pages: u32 = s
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    s.set_max_pages(pages + 2);
    let big = "x".repeat(4000);
    let more: Vec<String> = (0..20).map(|i| format!("big{i}")).collect();
    let burst: Vec<NewMessage> = more.iter().map(|id| out("q", id, &big)).collect();
    let err = s.insert_messages(&burst).unwrap_err();
    assert!(matches!(err, StoreError::Full { .. }), "{err}");
    assert!(
        s.history("q", None, 100).unwrap().is_empty(),
        "nothing half stored"
    );
    assert_eq!(s.history("p", None, 100).unwrap().len(), 4);
}

#[test]
fn a_locked_file_is_reported_and_left_alone() {
    let dir = TmpDir::new();
    let mut other = rusqlite::Connection::open(dir.db()).unwrap();
    other
        .execute_batch("CREATE TABLE theirs (x); INSERT INTO theirs VALUES (1);")
        .unwrap();
    let tx = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .unwrap();
    let err = Store::open(&dir.db()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("locked by another program"));
    let (_store, fallback) = Store::open_or_fallback(&dir.db(), 0);
    assert!(matches!(fallback, Some(Fallback::InMemory { .. })));
    tx.rollback().unwrap();
    let n: i64 = other
        .query_row("SELECT count(*) FROM theirs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "untouched");
}

//! Benchmark: a 100 000-message conversation in the history store.
//!
//! Measures a message insert (each its own transaction, as the core writes them), opening
//! the file, reloading the outbox, paging back through the whole conversation, fetching
//! one screenful at an arbitrary place (what a virtualised list does per frame), and
//! search; then compares the chosen search index with FTS5's `trigram` tokenizer on the
//! same data. Not a test: it prints figures (recorded in `docs/HISTORY.md`).
//!
//! ```text
//! cargo run --release --no-default-features --example history_bench [-- MESSAGES]
//! ```

use std::time::{Duration, Instant};

use lanchat::store::{Direction, MsgState, NewMessage, Store};

#[path = "common/text.rs"]
mod common_text;
use common_text::text;

const PEER: &str = "0123456789abcdef0123456789abcdef";
const ME: &str = "fedcba9876543210fedcba9876543210";

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let sum: Duration = v.iter().sum();
    let pick = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<34} n={:<6} mean={:>9.1?} p50={:>9.1?} p99={:>9.1?} max={:>9.1?}",
        v.len(),
        sum / v.len() as u32,
        pick(0.5),
        pick(0.99),
        v[v.len() - 1]
    );
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("MESSAGES is a number"));
    let dir = std::env::temp_dir().join(format!("lanchat-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.db");

    let mut store = Store::open(&path).unwrap();
    let mut seed = 42;
    let mut inserts = Vec::with_capacity(n);
    for i in 0..n {
        let text = text(&mut seed);
        let msg_id = format!("{i:032x}");
        let (dir, from, state) = if i % 2 == 0 {
            (Direction::Out, ME, MsgState::Delivered)
        } else {
            (Direction::In, PEER, MsgState::Received)
        };
        let m = NewMessage {
            peer: PEER,
            msg_id: &msg_id,
            dir,
            from,
            from_name: "someone",
            text: &text,
            sent_at: 1_700_000_000_000 + i as u64,
            state,
        };
        let (r, d) = timed(|| store.insert_message(&m));
        r.unwrap().expect("new");
        inserts.push(d);
    }
    drop(store);
    println!("{n} messages, one conversation; file {}", path.display());
    stats("insert (one transaction each)", inserts);

    let (store, open) = timed(|| Store::open(&path).unwrap());
    let (unacked, reload) = timed(|| store.unacked(100_000).unwrap());
    println!("open existing file                 {open:.1?}");
    println!(
        "reload outbox ({} waiting)          {reload:.1?}",
        unacked.len()
    );

    let (newest, first_page) = timed(|| store.history(PEER, None, 50).unwrap());
    println!("first page (50 newest)             {first_page:.1?}");
    let mut before = newest.first().map(|m| m.id);
    let mut pages = Vec::new();
    let mut seen = newest.len();
    while let Some(b) = before {
        let (page, d) = timed(|| store.history(PEER, Some(b), 50).unwrap());
        pages.push(d);
        seen += page.len();
        before = page.first().map(|m| m.id);
    }
    assert_eq!(seen, n, "paging reaches every message once");
    stats("page back 50", pages);

    let mut frames = Vec::new();
    for k in 1..=200 {
        let at = (n as i64 * k / 200).max(1);
        frames.push(timed(|| store.history(PEER, Some(at), 40).unwrap()).1);
    }
    stats("one screenful (40 rows) anywhere", frames);

    for q in ["开会", "会", "明天 开会", "report", "quart", "meeting 文件"] {
        let (hits, d) = timed(|| store.search(q, 100).unwrap());
        println!(
            "search {q:<14} {:>4} hits (limit 100) {d:>9.1?}",
            hits.len()
        );
    }
    drop(store);
    compare_trigram(&path);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Builds a `trigram` index over the same messages and compares size and queries.
fn compare_trigram(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let size = |like: &str| -> i64 {
        conn.query_row(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE ?1",
            [like],
            |r| r.get(0),
        )
        .unwrap()
    };
    let count = |sql: &str, arg: &str| -> (i64, Duration) {
        timed(|| conn.query_row(sql, [arg], |r| r.get(0)).unwrap())
    };
    let messages = size("messages");
    let ours = size("messages_fts%");
    let (_, build) = timed(|| {
        conn.execute_batch(
            "CREATE VIRTUAL TABLE tri USING fts5 (text, content = 'messages',
                 content_rowid = 'id', tokenize = 'trigram');
             INSERT INTO tri (tri) VALUES ('rebuild');",
        )
        .unwrap()
    });
    let tri = size("tri%");
    println!(
        "\ntable messages                     {:>6} KiB",
        messages / 1024
    );
    println!("index: CJK-split unicode61         {:>6} KiB", ours / 1024);
    println!(
        "index: trigram                     {:>6} KiB (built in {build:.1?})",
        tri / 1024
    );
    for q in ["开会", "会", "report", "明天下午"] {
        let (ours, d1) = count(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1",
            &if q.is_ascii() {
                format!("\"{q}\"")
            } else {
                let chars: Vec<String> = q.chars().map(String::from).collect();
                format!("\"{}\"", chars.join(" "))
            },
        );
        let (tri_n, d2) = count(
            "SELECT count(*) FROM tri WHERE tri MATCH ?1",
            &format!("\"{q}\""),
        );
        let (like_n, d3) = count(
            "SELECT count(*) FROM messages WHERE text LIKE ?1",
            &format!("%{q}%"),
        );
        let q = if q.is_ascii() {
            q.to_owned()
        } else {
            format!("{q} ({} chars)", q.chars().count())
        };
        println!(
            "count {q:<18} ours {ours:>6} in {d1:>8.1?} | trigram {tri_n:>6} in {d2:>8.1?} \
             | LIKE scan {like_n:>6} in {d3:>8.1?}"
        );
    }
}

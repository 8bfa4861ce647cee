//! Benchmark: the window's conversation view over a 100 000-message history, beside a
//! 10-message one in the same run.
//!
//! Fills a `history.db` with one conversation of N messages (with `bob`) and two of 10
//! (with `alice`, opened first to warm up, and `carol`), starts a real core on it (loopback only: `Config::loopback`), and drives
//! the real window (`lanchat::ui::App`) headless through egui_kittest, with no renderer: a
//! frame here is egui's layout, tessellation and accessibility tree, what the UI thread
//! does before the GPU. For each conversation it reports
//!
//! - *open*: from the frame that clicks the conversation to the end of the first frame that
//!   shows its rows (the `history` command, the core's store query, the event, the layout);
//! - *frame time while scrolling*: the mouse wheel turned up by `STEP` points every frame,
//!   from the newest message to the oldest, with every page of history asked for, answered
//!   by the core and put in place on the way (the 10-message conversation is wheeled for
//!   the same number of frames);
//! - rows laid out per frame, pages read, and the process's resident memory at the end.
//!
//! Not a test: it prints figures (recorded in `docs/HISTORY.md` and `docs/BENCHMARKS.md`).
//!
//! ```text
//! cargo run --release --example history_view_bench [-- MESSAGES [STEP]]
//! ```

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lanchat::config::Config;
use lanchat::store::{Direction, KnownPeer, MsgState, NewMessage, Store};
use lanchat::ui::state::{ConvKey, Paging};
use lanchat::ui::{App, Backend};

#[path = "common/text.rs"]
mod common_text;
use common_text::text;

const BOB: &str = "0123456789abcdef0123456789abcdef";
const CAROL: &str = "00112233445566778899aabbccddeeff";
const ALICE: &str = "ffeeddccbbaa99887766554433221100";

/// Stores `n` messages with `peer`, alternating in and out, one minute apart.
fn fill(store: &mut Store, peer: &str, n: usize, seed: &mut u64) {
    let start = 1_790_000_000_000 - n as u64 * 60_000;
    for i in 0..n {
        let text = text(seed);
        let msg_id = format!("{peer}{i:08x}");
        let (dir, state) = if i % 2 == 0 {
            (Direction::Out, MsgState::Delivered)
        } else {
            (Direction::In, MsgState::Received)
        };
        let m = NewMessage {
            peer,
            msg_id: &msg_id,
            dir,
            from: if dir == Direction::In { peer } else { "me" },
            from_name: "someone",
            text: &text,
            sent_at: start + i as u64 * 60_000,
            state,
        };
        store.insert_message(&m).expect("insert").expect("new");
    }
}

fn known(id: &str, name: &str) -> KnownPeer {
    KnownPeer {
        id: id.into(),
        name: name.into(),
        host: "bench".into(),
        addr: Ipv4Addr::LOCALHOST,
        port: 1,
        last_seen: 1_790_000_000_000,
        key: None,
        protocol: "lanchat".into(),
        group: String::new(),
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What one conversation measured.
struct Run {
    open: Duration,
    open_frames: usize,
    frames: Vec<Duration>,
    /// The frames in which a page of history was put in place.
    page_frames: Vec<Duration>,
    max_rows: usize,
    loaded: usize,
    pages: usize,
    reached_start: bool,
}

/// One frame, timed.
fn step(harness: &mut Harness<'static, App>) -> Duration {
    let t = Instant::now();
    harness.step();
    t.elapsed()
}

fn wheel(harness: &Harness<'static, App>, dy: f32) {
    harness.hover_at(egui::pos2(650.0, 400.0));
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, dy),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
}

/// Opens the conversation with `name`, then wheels up `step_pt` a frame until its oldest
/// message is loaded and on screen, or for `frames` frames if given.
fn measure(
    harness: &mut Harness<'static, App>,
    name: &str,
    id: &str,
    step_pt: f32,
    frames: Option<usize>,
) -> Run {
    let conv = ConvKey::Peer(id.to_owned());
    let deadline = Instant::now() + Duration::from_secs(30);
    while harness
        .query_by_role_and_label(Role::Button, name)
        .is_none()
    {
        assert!(Instant::now() < deadline, "{name} was never listed");
        harness.step();
    }
    harness.get_by_role_and_label(Role::Button, name).click();
    let t = Instant::now();
    let mut open_frames = 0;
    loop {
        harness.step();
        open_frames += 1;
        let app = harness.state();
        if !app.state.messages(&conv).is_empty() && app.view.conversations.rows_laid_out > 0 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{name} never opened");
    }
    let open = t.elapsed();
    let mut times = Vec::new();
    let mut page_frames = Vec::new();
    let mut max_rows = 0;
    let mut reached_start = false;
    let first_row = |h: &Harness<'static, App>| {
        h.state()
            .state
            .conversations
            .get(&conv)
            .and_then(|c| c.oldest_row())
    };
    let mut pages = 0;
    let mut oldest = first_row(harness);
    let limit = frames.unwrap_or(usize::MAX);
    let started = Instant::now();
    while times.len() < limit {
        wheel(harness, step_pt);
        let took = step(harness);
        times.push(took);
        let app = harness.state();
        max_rows = max_rows.max(app.view.conversations.rows_laid_out);
        let now_oldest = first_row(harness);
        if now_oldest != oldest {
            pages += 1;
            oldest = now_oldest;
            page_frames.push(took);
        }
        let c = &harness.state().state.conversations[&conv];
        let at_start = c.older == Paging::End;
        if frames.is_none() && at_start {
            let first = &c.messages[0].text;
            if harness.query_all_by_label(first).next().is_some() {
                reached_start = true;
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "scrolling {name} took too long"
        );
    }
    Run {
        open,
        open_frames,
        frames: times,
        page_frames,
        max_rows,
        loaded: harness.state().state.messages(&conv).len(),
        pages,
        reached_start,
    }
}

fn report(name: &str, r: &Run) -> (Duration, Duration) {
    let mut v = r.frames.clone();
    v.sort();
    let p50 = percentile(&v, 0.5);
    let p99 = percentile(&v, 0.99);
    println!(
        "{name:<22} open {:>8.2?} ({} frames) | {} frames: p50 {:>8.2?} p99 {:>8.2?} max {:>8.2?} \
         | rows laid out ≤ {} | {} rows loaded in {} pages{}",
        r.open,
        r.open_frames,
        v.len(),
        p50,
        p99,
        v[v.len() - 1],
        r.max_rows,
        r.loaded,
        r.pages,
        if r.reached_start {
            ", reached the first message"
        } else {
            ""
        }
    );
    if !r.page_frames.is_empty() {
        let mut p = r.page_frames.clone();
        p.sort();
        println!(
            "{:<22} the {} frames that put a page in place: p50 {:>8.2?} p99 {:>8.2?} max {:>8.2?}",
            "",
            p.len(),
            percentile(&p, 0.5),
            percentile(&p, 0.99),
            p[p.len() - 1]
        );
    }
    (p50, p99)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(100_000, |a| a.parse().expect("MESSAGES is a number"));
    let step_pt: f32 = args
        .next()
        .map_or(600.0, |a| a.parse().expect("STEP is a number of points"));
    let dir = std::env::temp_dir().join(format!("lanchat-view-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();

    let t = Instant::now();
    let mut store = Store::open(&dir.join(lanchat::store::HISTORY_FILE)).unwrap();
    let mut seed = 42;
    fill(&mut store, BOB, n, &mut seed);
    fill(&mut store, CAROL, 10, &mut seed);
    fill(&mut store, ALICE, 10, &mut seed);
    store.save_peer(&known(BOB, "bob")).unwrap();
    store.save_peer(&known(CAROL, "carol")).unwrap();
    store.save_peer(&known(ALICE, "alice")).unwrap();
    drop(store);
    println!(
        "stored {n} messages with bob and 10 with carol in {:.1?} ({})",
        t.elapsed(),
        dir.display()
    );
    let rss_before = rss_mib();

    // Loopback only: nothing leaves the machine.
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free loopback port")
        .port();
    let backend = Backend::spawn(Config::loopback(&dir, port), lanchat::node::no_waker())
        .expect("the core starts");
    let app = App::new(backend).without_notifications();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1100.0, 700.0))
        .with_context_setup(lanchat::ui::install_fonts)
        .build_ui_state(|ui, app: &mut App| app.show(ui), app);

    // alice warms up what every first frame pays once (fonts, glyph atlas).
    let warm = measure(&mut harness, "alice", ALICE, step_pt, Some(200));
    let big = measure(&mut harness, "bob", BOB, step_pt, None);
    let small = measure(
        &mut harness,
        "carol",
        CAROL,
        step_pt,
        Some(big.frames.len()),
    );
    println!("\nwheel {step_pt} pt per frame, window 1100×700");
    report("10 messages (warm-up)", &warm);
    let (b50, b99) = report(&format!("{n} messages"), &big);
    let (s50, s99) = report("10 messages", &small);
    println!(
        "ratio {n} / 10: open {:.2}×, frame p50 {:.2}×, p99 {:.2}×",
        big.open.as_secs_f64() / small.open.as_secs_f64(),
        b50.as_secs_f64() / s50.as_secs_f64(),
        b99.as_secs_f64() / s99.as_secs_f64()
    );
    println!(
        "resident memory: {rss_before:.1} MiB before the window, {:.1} MiB with {} rows loaded",
        rss_mib(),
        big.loaded
    );
    drop(harness);
    std::fs::remove_dir_all(&dir).unwrap();
}

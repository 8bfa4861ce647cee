//! One measured node (a `lanchat --headless` child, so its CPU and memory are its own)
//! under three loads: none (idle), 1 000 forged peers beaconing at the default interval,
//! and a flood of 50 000 datagrams per second. Meanwhile a second node in this process
//! sends it a message every 50 ms and times the round trip, so "keeps answering" is a
//! number. The baseline is the same round trip measured just before the load.
//!
//! The in-process node sits on its own discovery port and learns the measured node
//! from one beacon signed with the measured node's own key (read from its data
//! directory), so the load reaches only the node being measured. Forged peers and the
//! flood's beacons are signed v2 datagrams under keys of their own, signed before the
//! load starts, each counter once: the first pass through them makes the node check
//! signatures (within its per-source budget), every later pass is a replay, dropped
//! before any signature is checked.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, unbounded};
use serde_json::{Value, json};
use socket2::{Domain, Protocol, Socket, Type};

use lanchat::node::MAX_PEERS;
use lanchat::protocol::PROTOCOL_VERSION;
use lanchat::protocol::beacon::{Beacon, BeaconKind};
use lanchat::protocol::signed;
use lanchat::trust::{KeyPair, identity};

use crate::inproc::InProc;
use crate::procfs::{Line, Node, Usage, Window, run_dir, status_kib, wait_line};
use crate::stats::{Percentiles, Row};
use crate::{Report, free_udp_port};

const LOOPBACK_BROADCAST: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 255, 255, 255);
const PROBE_GAP: Duration = Duration::from_millis(50);

/// The node under measurement and the in-process node that chats with it.
struct Bench {
    measured: Node,
    lines: Receiver<Line>,
    prober: InProc,
    discovery_port: u16,
    dir: std::path::PathBuf,
}

impl Bench {
    fn start(scenario: &str) -> Result<Bench> {
        let dir = run_dir(scenario)?;
        let discovery_port = free_udp_port()?;
        let (tx, lines) = unbounded();
        let args: Vec<String> = [
            "--bind",
            "127.0.0.1",
            "--name",
            "measured",
            "--discovery-port",
        ]
        .map(String::from)
        .into_iter()
        .chain([discovery_port.to_string()])
        .collect();
        let mut measured = Node::spawn(&[], &args, &dir.join("measured"), 0, &tx)?;
        let (_, _, ready) = wait_line(&lines, Duration::from_secs(30), "ready", |l| {
            l.2["event"] == "ready"
        })?;
        measured.ready(&ready);
        let prober_port = free_udp_port()?;
        let prober = InProc::start(&dir.join("prober"), "prober", prober_port)?;
        let key_file = dir.join("measured").join(identity::KEY_FILE);
        let own = identity::load(&key_file)
            .with_context(|| format!("the measured node's key {}", key_file.display()))?;
        let beacon = here(&own, "measured", measured.port, 600_000, 1 << 40)?;
        broadcaster()?.send_to(&beacon, (LOOPBACK_BROADCAST, prober_port))?;
        prober.wait_joined(&measured.id)?;
        for _ in 0..20 {
            prober
                .round_trip(&measured.id, "warm-up", Duration::from_secs(30))?
                .context("warm-up message not delivered")?;
        }
        Ok(Bench {
            measured,
            lines,
            prober,
            discovery_port,
            dir,
        })
    }

    fn probe(&self, for_: Duration) -> Result<(Percentiles, usize)> {
        let (mut samples, lost) =
            self.prober
                .probe_until(&self.measured.id, Instant::now() + for_, PROBE_GAP)?;
        Ok((Percentiles::of(&mut samples), lost))
    }

    /// The measured node's `net_status` counters.
    fn counters(&mut self) -> Result<Value> {
        self.measured.send(&json!({"cmd":"net_status"}))?;
        let (_, _, v) = wait_line(&self.lines, Duration::from_secs(30), "net_status", |l| {
            l.2["event"] == "net_status"
        })?;
        Ok(v["counters"].clone())
    }

    fn finish(mut self) {
        self.measured.stop();
        drop(self.prober);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A signed `here` beacon of `keys`' peer with counter `ctr`, stamped now.
fn here(keys: &KeyPair, name: &str, port: u16, interval_ms: u64, ctr: u64) -> Result<Vec<u8>> {
    let beacon = Beacon {
        lanchat: PROTOCOL_VERSION,
        id: keys.peer_id(),
        instance: "bench".into(),
        name: name.into(),
        host: "forged".into(),
        port,
        status: "online".into(),
        interval_ms,
        unicast: None,
        kind: BeaconKind::Here,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    Ok(signed::sign(&beacon, keys, ctr, u64::try_from(now)?)?)
}

/// A v1 beacon (JSON, unsigned), which a v2 node refuses as another version.
fn v1_here(id: &str) -> Vec<u8> {
    json!({"lanchat":1,"kind":"here","id":id,"instance":"bench","name":"v1",
           "host":"forged","port":9,"status":"online","interval_ms":5000})
    .to_string()
    .into_bytes()
}

/// New identity keys.
fn keys(n: usize) -> Result<Vec<KeyPair>> {
    (0..n)
        .map(|_| KeyPair::generate().map_err(|e| anyhow::anyhow!("random keys: {e}")))
        .collect()
}

/// A UDP socket allowed to send to 127.255.255.255 (and nowhere else is ever used).
fn broadcaster() -> Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_broadcast(true)?;
    s.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    Ok(s.into())
}

/// Sends `payloads` round-robin at `rate` per second to the loopback broadcast address
/// until stopped; counts what was sent.
struct Blaster {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Blaster {
    fn start(port: u16, rate: u64, payloads: Vec<Vec<u8>>) -> Result<Blaster> {
        let socket = broadcaster()?;
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let thread = std::thread::Builder::new()
            .name("blaster".into())
            .spawn(move || {
                let start = Instant::now();
                let mut i = 0usize;
                while !stop2.load(Ordering::Relaxed) {
                    // Datagrams due by now at `rate`; then a millisecond's pause.
                    let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
                    while sent2.load(Ordering::Relaxed) < due {
                        let p = &payloads[i % payloads.len()];
                        i += 1;
                        // A full socket buffer is the receiver's problem, not a failure.
                        let _ = socket.send_to(p, (LOOPBACK_BROADCAST, port));
                        sent2.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(())
            })?;
        Ok(Blaster {
            stop,
            sent,
            thread: Some(thread),
        })
    }

    fn stop(mut self) -> Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join()
                .map_err(|_| anyhow::anyhow!("blaster panicked"))??;
        }
        Ok(self.sent.load(Ordering::Relaxed))
    }
}

fn usage_rows(tag: &str, u: &Usage) -> Vec<Row> {
    vec![
        Row::plain(
            format!("{tag}: CPU over {:.0} s", u.seconds),
            format!("{:.2} % of a core", u.cpu_percent),
        ),
        Row::plain(
            format!("{tag}: wake-ups"),
            format!("{:.1} /s", u.wakeups_per_sec),
        ),
        Row::plain(
            format!("{tag}: RSS end / peak"),
            format!("{} / {} KiB", u.rss_kib, u.peak_rss_kib),
        ),
    ]
}

fn rtt_rows(tag: &str, loaded: &Percentiles, lost: usize, base: &Percentiles) -> Vec<Row> {
    vec![
        Row::vs(
            format!("{tag}: round trip p50 under load vs unloaded"),
            loaded.p50_us,
            base.p50_us,
            "µs",
        ),
        Row::vs(
            format!("{tag}: round trip p99 under load vs unloaded"),
            loaded.p99_us,
            base.p99_us,
            "µs",
        ),
        Row::plain(
            format!("{tag}: messages sent / not delivered within 10 s"),
            format!("{} / {lost}", loaded.n + lost),
        ),
    ]
}

/// A headless node alone for `secs`.
pub fn idle(secs: u64) -> Result<Report> {
    let dir = run_dir("idle")?;
    let (tx, lines) = unbounded();
    let args: Vec<String> = ["--bind", "127.0.0.1", "--discovery-port"]
        .map(String::from)
        .into_iter()
        .chain([free_udp_port()?.to_string()])
        .collect();
    let mut node = Node::spawn(&[], &args, &dir.join("idle"), 0, &tx)?;
    wait_line(&lines, Duration::from_secs(30), "ready", |l| {
        l.2["event"] == "ready"
    })?;
    // Let start-up settle (the store opens, the first beacons go out).
    std::thread::sleep(Duration::from_secs(2));
    let window = Window::start(node.pid())?;
    std::thread::sleep(Duration::from_secs(secs));
    let u = window.finish()?;
    node.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let mut rows = usage_rows("idle headless node", &u);
    rows.push(Row::plain(
        "idle window (GUI) CPU and repaints/s",
        "see docs/GUI.md",
    ));
    Ok(Report {
        scenario: "idle".into(),
        rows,
        details: json!({"usage": u}),
    })
}

/// 1 000 forged peers, each beaconing every 5 s (200 datagrams/s in all), for `secs`.
pub fn forged_peers(peers: usize, secs: u64) -> Result<Report> {
    let mut b = Bench::start("forged")?;
    let (base, _) = b.probe(Duration::from_secs(5))?;
    let rss_before = status_kib(b.measured.pid(), "VmRSS")?;
    // One round of beacons every 5 s, each round signed afresh (a repeated datagram is a
    // replay): enough rounds for the fill, the window and a margin.
    let forged = keys(peers)?;
    let rounds = secs / 5 + 4;
    let mut payloads = Vec::with_capacity(peers * rounds as usize);
    for round in 0..rounds {
        for (i, k) in forged.iter().enumerate() {
            payloads.push(here(k, &format!("peer {i}"), 9, 5000, round)?);
        }
    }
    let ids: std::collections::HashSet<String> = forged.iter().map(KeyPair::peer_id).collect();
    let rate = (peers as u64) / 5;
    let blaster = Blaster::start(b.discovery_port, rate, payloads)?;
    // Every forged peer the table can hold is listed before measuring (one full round of
    // beacons, ~5 s): counted from the node's own `peer_joined` lines.
    let fits = peers.min(MAX_PEERS - 1); // the prober holds one place
    for _ in 0..fits {
        wait_line(&b.lines, Duration::from_secs(30), "a forged peer", |l| {
            l.2["event"] == "peer_joined"
                && l.2["peer"]["id"]
                    .as_str()
                    .is_some_and(|id| ids.contains(id))
        })?;
    }
    let window = Window::start(b.measured.pid())?;
    let (loaded, lost) = b.probe(Duration::from_secs(secs))?;
    let u = window.finish()?;
    let sent = blaster.stop()?;
    let counters = b.counters()?;
    b.measured.send(&json!({"cmd":"peers"}))?;
    let (_, _, listed) = wait_line(&b.lines, Duration::from_secs(30), "peers", |l| {
        l.2["event"] == "peers"
    })?;
    let online = listed["peers"]
        .as_array()
        .map_or(0, |p| p.iter().filter(|p| p["online"] == true).count());
    b.finish();
    let tag = format!("{peers} forged peers");
    let mut rows = usage_rows(&tag, &u);
    rows.push(Row::plain(
        format!("{tag}: RSS before the peers"),
        format!("{rss_before} KiB"),
    ));
    rows.push(Row::plain(
        format!("{tag}: listed online at the end"),
        online.to_string(),
    ));
    rows.extend(rtt_rows(&tag, &loaded, lost, &base));
    Ok(Report {
        scenario: "forged-peers".into(),
        rows,
        details: json!({"peers": peers, "rate_per_sec": rate, "datagrams_sent": sent,
                        "usage": u, "rss_before_kib": rss_before, "online_at_end": online,
                        "rtt_unloaded": base, "rtt_loaded": loaded, "lost": lost,
                        "counters": counters}),
    })
}

/// `rate` datagrams per second for `secs`: a quarter each garbage, signed beacons from
/// 1 000 keys (20 counters each, so most sends are replays), protocol v1's unsigned
/// beacons, and valid JSON of the wrong shape.
pub fn flood(rate: u64, secs: u64) -> Result<Report> {
    let mut b = Bench::start("flood")?;
    let (base, _) = b.probe(Duration::from_secs(5))?;
    let pid = b.measured.pid();
    let rss_before = status_kib(pid, "VmRSS")?;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let flooders = keys(1000)?;
    let mut payloads = Vec::with_capacity(4 * 20 * 1000);
    for ctr in 0..20 {
        for (i, k) in flooders.iter().enumerate() {
            let len = 1 + (xorshift(&mut rng) % 1400) as usize;
            payloads.push((0..len).map(|_| xorshift(&mut rng) as u8).collect());
            payloads.push(here(k, "flood", 9, 5000, ctr)?);
            payloads.push(v1_here(&format!("v{i}")));
            payloads.push(
                json!({"lanchat":1,"kind":"here","id":format!("s{i}"),"port":"many"})
                    .to_string()
                    .into_bytes(),
            );
        }
    }
    let before = b.counters()?;
    let blaster = Blaster::start(b.discovery_port, rate, payloads)?;
    let window = Window::start(pid)?;
    let (loaded, lost) = b.probe(Duration::from_secs(secs))?;
    let u = window.finish()?;
    let sent = blaster.stop()?;
    let after = b.counters()?;
    let rss_after_flood = status_kib(pid, "VmRSS")?;
    b.finish();
    let tag = format!("flood {rate}/s");
    let mut rows = usage_rows(&tag, &u);
    rows.push(Row::vs(
        format!("{tag}: RSS after vs before the flood"),
        rss_after_flood as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        "MiB",
    ));
    rows.push(Row::plain(
        format!("{tag}: datagrams sent (achieved rate)"),
        format!("{sent} ({:.0}/s)", sent as f64 / u.seconds),
    ));
    let handled: u64 = ["beacons_received"]
        .iter()
        .map(|k| after[k].as_u64().unwrap_or(0) - before[k].as_u64().unwrap_or(0))
        .sum::<u64>()
        + after["dropped"]
            .as_object()
            .map_or(0, |d| d.values().filter_map(Value::as_u64).sum::<u64>())
        - before["dropped"]
            .as_object()
            .map_or(0, |d| d.values().filter_map(Value::as_u64).sum::<u64>());
    rows.push(Row::plain(
        format!("{tag}: counted by the node (received + dropped)"),
        handled.to_string(),
    ));
    rows.push(Row::plain(
        format!("{tag}: dropped by reason"),
        after["dropped"].to_string(),
    ));
    rows.extend(rtt_rows(&tag, &loaded, lost, &base));
    Ok(Report {
        scenario: "flood".into(),
        rows,
        details: json!({"rate_per_sec": rate, "seconds": secs, "datagrams_sent": sent,
                        "usage": u, "rss_before_kib": rss_before,
                        "rss_after_kib": rss_after_flood, "rtt_unloaded": base,
                        "rtt_loaded": loaded, "lost": lost, "counters_before": before,
                        "counters_after": after}),
    })
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

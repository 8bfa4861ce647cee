//! Benchmark (not a test): a file-to-file transfer between two lanchat nodes on loopback,
//! beside a raw TCP copy of the same file in the same run, reported as a ratio.
//!
//! ```sh
//! cargo run --release --no-default-features --example transfer_bench -- --size-mib 1024 --rounds 5
//! ```
//!
//! The raw copy is as good as plain code gets: `sendfile(2)` on the sending side (the
//! same call lanchat uses), 1 MiB `read`/`write_all` into the file on the receiving side,
//! no hash, no threads beyond one per side.
//! lanchat's time runs from the `send_file` command to the receiver's `transfer_done`
//! (offer, accept, stream, hash check and rename included). Rounds alternate raw and
//! lanchat; medians are reported. It also times the two candidate hashes on one core.
//! Everything stays on 127.0.0.1 and in a temporary folder that is removed at the end.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lanchat::config::Config;
use lanchat::net::transfer::send_range;
use lanchat::node::{self, Command, Event, NodeHandle};

struct Args {
    size_mib: u64,
    rounds: usize,
    json: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        size_mib: 1024,
        rounds: 5,
        json: PathBuf::from("target/transfer_bench.json"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match flag.as_str() {
            "--size-mib" => a.size_mib = value().parse().expect("--size-mib N"),
            "--rounds" => a.rounds = value().parse().expect("--rounds N"),
            "--json" => a.json = PathBuf::from(value()),
            other => panic!("unknown flag {other}; use --size-mib N --rounds N --json PATH"),
        }
    }
    a
}

/// Removes the scratch folder even on a panic.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn main() {
    let args = args();
    let scratch = Scratch(
        std::env::temp_dir().join(format!("lanchat-bench-{}", uuid::Uuid::new_v4().simple())),
    );
    fs::create_dir_all(&scratch.0).unwrap();
    let size = args.size_mib << 20;
    let src = scratch.0.join("source.bin");
    write_noise(&src, size);
    let hashes = hash_speeds(&src, size.min(512 << 20));
    for (name, gbps) in &hashes {
        println!("hash {name:>9}: {gbps:6.2} GB/s on one core");
    }
    let (a, b, bob) = two_nodes(&scratch.0);
    let mut raw = Vec::new();
    let mut ours = Vec::new();
    // One round of each first, not counted: the link is dialed, caches are warm.
    settle();
    raw_copy(&src, &scratch.0.join("raw.bin"));
    settle();
    lanchat_copy(&a, &b, &bob, &src, size);
    for round in 1..=args.rounds {
        settle();
        let c0 = cpu_secs();
        let r = raw_copy(&src, &scratch.0.join("raw.bin"));
        let c1 = cpu_secs();
        settle();
        let c2 = cpu_secs();
        let l = lanchat_copy(&a, &b, &bob, &src, size);
        let c3 = cpu_secs();
        println!(
            "round {round}: raw {:.3} s ({:.2} GB/s, {:.2} CPU s), lanchat {:.3} s ({:.2} GB/s, {:.2} CPU s)",
            r.as_secs_f64(),
            gbps(size, r),
            c1 - c0,
            l.as_secs_f64(),
            gbps(size, l),
            c3 - c2,
        );
        raw.push(r);
        ours.push(l);
    }
    drop((a, b));
    let (raw_med, ours_med) = (median(&mut raw), median(&mut ours));
    let ratio = raw_med.as_secs_f64() / ours_med.as_secs_f64();
    println!(
        "median of {}: raw {:.2} GB/s, lanchat {:.2} GB/s: lanchat = {:.1} % of raw",
        args.rounds,
        gbps(size, raw_med),
        gbps(size, ours_med),
        ratio * 100.0
    );
    let secs = |v: &[Duration]| v.iter().map(Duration::as_secs_f64).collect::<Vec<_>>();
    let report = serde_json::json!({
        "size_bytes": size,
        "rounds": args.rounds,
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "raw_secs": secs(&raw),
        "lanchat_secs": secs(&ours),
        "raw_median_gbps": gbps(size, raw_med),
        "lanchat_median_gbps": gbps(size, ours_med),
        "ratio": ratio,
        "hash_gbps_one_core": hashes.iter().map(|(n, g)| (n.to_string(), serde_json::json!(*g))).collect::<serde_json::Map<_, _>>(),
    });
    if let Some(dir) = args.json.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(&args.json, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("wrote {}", args.json.display());
}

/// Writes back every dirty page before a copy is timed, so no copy pays for the
/// write-back of the one before it (received files are deleted, but pages already under
/// write-back still load the disk).
fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// CPU time (user + system) this process has used, in seconds (Linux; 0 elsewhere).
fn cpu_secs() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0 // utime, stime; USER_HZ is 100 on Linux
}

fn gbps(size: u64, t: Duration) -> f64 {
    size as f64 / t.as_secs_f64() / 1e9
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Incompressible bytes, written in 8 MiB blocks.
fn write_noise(path: &Path, size: u64) {
    let mut f = File::create(path).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 8 << 20];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    f.sync_all().unwrap();
}

/// XXH3-128 (what lanchat uses) and BLAKE3, single-threaded, over bytes in memory.
fn hash_speeds(src: &Path, len: u64) -> Vec<(&'static str, f64)> {
    let mut data = vec![0u8; len as usize];
    File::open(src).unwrap().read_exact(&mut data).unwrap();
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        f();
        gbps(len, t.elapsed())
    };
    let xxh3 = time(&|| {
        let mut h = lanchat::protocol::hash::FileHasher::new();
        for chunk in data.chunks(1 << 20) {
            h.update(chunk);
        }
        std::hint::black_box(h.finish());
    });
    let blake3 = time(&|| {
        let mut h = blake3::Hasher::new();
        for chunk in data.chunks(1 << 20) {
            h.update(chunk);
        }
        std::hint::black_box(h.finalize());
    });
    vec![("xxh3-128", xxh3), ("blake3", blake3)]
}

/// The baseline: sendfile out, 1 MiB reads and writes in, nothing else.
fn raw_copy(src: &Path, dst: &Path) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let start = Instant::now();
    let src = src.to_path_buf();
    let sender = std::thread::Builder::new()
        .name("raw-send".into())
        .spawn(move || {
            let s = TcpStream::connect(addr).unwrap();
            let f = File::open(src).unwrap();
            let len = f.metadata().unwrap().len();
            assert_eq!(send_range(&f, &s, 0, len).unwrap(), len);
        })
        .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut out = File::create(dst).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = conn.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).unwrap();
    }
    drop(out);
    let t = start.elapsed();
    sender.join().unwrap();
    fs::remove_file(dst).unwrap();
    t
}

/// Alice sends, bob auto-accepts, both on loopback with their own discovery port.
fn two_nodes(root: &Path) -> (NodeHandle, NodeHandle, String) {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut ca = Config::loopback(root.join("alice"), port);
    ca.interval = Duration::from_millis(200);
    let mut cb = Config::loopback(root.join("bob"), port);
    cb.interval = Duration::from_millis(200);
    cb.auto_accept = true;
    cb.download_dir = root.join("downloads");
    let a = node::spawn(ca, node::no_waker()).unwrap();
    let b = node::spawn(cb, node::no_waker()).unwrap();
    let bob = loop {
        match b
            .events
            .recv_timeout(Duration::from_secs(10))
            .expect("bob is ready")
        {
            Event::Ready { id, .. } => break id,
            _ => continue,
        }
    };
    loop {
        let e = a.events.recv_timeout(Duration::from_secs(10));
        if matches!(e.expect("alice sees bob"), Event::PeerJoined { ref peer } if peer.id == bob) {
            break;
        }
    }
    (a, b, bob)
}

fn lanchat_copy(a: &NodeHandle, b: &NodeHandle, bob: &str, src: &Path, size: u64) -> Duration {
    let start = Instant::now();
    a.commands
        .send(Command::SendFile {
            to: bob.to_owned(),
            path: src.to_path_buf(),
        })
        .unwrap();
    let path = loop {
        let e = b
            .events
            .recv_timeout(Duration::from_secs(120))
            .expect("transfer_done");
        if std::env::var_os("BENCH_TRACE").is_some() {
            eprintln!("{:8.3} ms {e:?}", start.elapsed().as_secs_f64() * 1e3);
        }
        match e {
            Event::TransferDone { path, .. } => break PathBuf::from(path),
            Event::TransferFailed { reason, .. } => panic!("transfer failed: {reason}"),
            _ => {}
        }
    };
    let t = start.elapsed();
    assert_eq!(fs::metadata(&path).unwrap().len(), size);
    while let Ok(e) = a.events.recv_timeout(Duration::from_secs(10)) {
        if matches!(e, Event::TransferDone { .. }) {
            break;
        }
    }
    fs::remove_file(path).unwrap();
    t
}

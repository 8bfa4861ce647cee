//! A file-to-file transfer between two lanchat nodes on loopback, beside raw TCP copies of
//! the same file in the same run, reported as ratios of medians.
//!
//! Each round, in an order that turns from round to round, each copy after a `sync` so
//! none pays for the write-back of the one before:
//! - **raw**: plain code at its best — `sendfile(2)` out (the call lanchat uses),
//!   `read`/`write_all` in with the same 256 KiB buffer lanchat uses, no hash, one thread
//!   per side;
//! - **raw + reserve**: the same, with the destination's blocks reserved first
//!   (`fallocate`, as lanchat does) — the stricter baseline, so the preallocation's own
//!   gain can be told apart from the rest;
//! - **lanchat**: from the `send_file` command to the receiver's `transfer_done` — offer,
//!   accept, stream, hash check on both sides and rename included.
//! - **lanchat, portable paths**: the same transfer while `platform::set_paths` makes
//!   everything set up meanwhile take the paths Windows and macOS take (the data
//!   connection's stoppable reads in ticks with a peek before each read, plain copies
//!   instead of `sendfile`, the link-based no-replace rename); the link itself was set up
//!   natively. What those paths cost, beside the native ones in the same run.
//!
//! One uncounted round of each goes first (the link is dialed, caches are warm).
//! Everything stays on 127.0.0.1 and in a temporary folder removed at the end.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use lanchat::config::Config;
use lanchat::net::transfer::{RECV_BUF, reserve, send_range};
use lanchat::node::{self, Command, Event, NodeHandle};
use lanchat::platform::{self, Paths};
use lanchat::protocol::hash::FileHasher;
use serde_json::json;

use crate::procfs::{cpu_seconds, run_dir};
use crate::stats::{Row, median};
use crate::{Report, free_udp_port};

/// Removes the scratch folder, also on an error.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Wall and CPU seconds of one copy.
#[derive(Default)]
struct Samples {
    secs: Vec<f64>,
    cpu: Vec<f64>,
}

impl Samples {
    /// Times `copy`, which returns the file it wrote; that file is removed afterwards,
    /// untimed.
    fn time(&mut self, copy: impl FnOnce() -> Result<PathBuf>) -> Result<(f64, f64)> {
        settle();
        let c0 = cpu_seconds(std::process::id())?;
        let t = Instant::now();
        let written = copy()?;
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds(std::process::id())? - c0;
        fs::remove_file(&written)
            .with_context(|| format!("cannot remove {}", written.display()))?;
        self.secs.push(secs);
        self.cpu.push(cpu);
        Ok((secs, cpu))
    }

    fn median_secs(&self) -> f64 {
        median(&mut self.secs.clone())
    }

    fn median_cpu(&self) -> f64 {
        median(&mut self.cpu.clone())
    }
}

pub fn run(size_mib: u64, rounds: usize) -> Result<Report> {
    ensure!(
        size_mib > 0 && rounds > 0,
        "--size-mib and --rounds must be > 0"
    );
    let scratch = Scratch(run_dir("transfer")?);
    let size = size_mib << 20;
    let src = scratch.0.join("source.bin");
    write_noise(&src, size)?;
    let hash_gbps = hash_speed(&src, size.min(256 << 20))?;
    let pair = Pair::start(&scratch.0)?;
    let raw_dst = scratch.0.join("raw.bin");
    let (mut raw, mut reserved, mut ours, mut portable) = (
        Samples::default(),
        Samples::default(),
        Samples::default(),
        Samples::default(),
    );
    for round in 0..=rounds {
        // The order turns each round, so none of the four always runs right after
        // another one's file was deleted (on a VM, freshly freed pages can be slower
        // to touch again).
        let mut took = [(0.0, 0.0); 4];
        for k in 0..4 {
            let which = (round + k) % 4;
            took[which] = match which {
                0 => raw.time(|| raw_copy(&src, &raw_dst, size, false))?,
                1 => reserved.time(|| raw_copy(&src, &raw_dst, size, true))?,
                2 => ours.time(|| pair.copy(&src, size))?,
                _ => portable.time(|| {
                    platform::set_paths(Paths::Portable);
                    let copied = pair.copy(&src, size);
                    platform::set_paths(Paths::Native);
                    copied
                })?,
            };
        }
        if round == 0 {
            for s in [&mut raw, &mut reserved, &mut ours, &mut portable] {
                *s = Samples::default(); // the warm-up round is not counted
            }
            continue;
        }
        let [r, v, l, p] = took;
        println!(
            "round {round}: raw {:.3} s ({:.2} CPU s), raw + reserve {:.3} s ({:.2}), \
             lanchat {:.3} s ({:.2}), portable paths {:.3} s ({:.2})",
            r.0, r.1, v.0, v.1, l.0, l.1, p.0, p.1
        );
    }
    drop(pair);
    let gbps = |secs: f64| size as f64 / secs / 1e9;
    let (raw_s, res_s, ours_s, port_s) = (
        raw.median_secs(),
        reserved.median_secs(),
        ours.median_secs(),
        portable.median_secs(),
    );
    let gib = size as f64 / f64::from(1u32 << 30);
    let rows = vec![
        Row::vs(
            format!("{size_mib} MiB file→file, lanchat vs raw TCP"),
            gbps(ours_s),
            gbps(raw_s),
            "GB/s",
        ),
        Row::vs(
            "lanchat vs raw TCP + reserved blocks",
            gbps(ours_s),
            gbps(res_s),
            "GB/s",
        ),
        Row::vs(
            "CPU seconds per GiB, lanchat vs raw",
            ours.median_cpu() / gib,
            raw.median_cpu() / gib,
            "s",
        ),
        Row::vs(
            "lanchat, portable paths vs native",
            gbps(port_s),
            gbps(ours_s),
            "GB/s",
        ),
        Row::plain(
            "XXH3-128 on one core, in memory",
            format!("{hash_gbps:.1} GB/s"),
        ),
        Row::plain("rounds (medians of)", rounds.to_string()),
    ];
    Ok(Report {
        scenario: "transfer".into(),
        rows,
        details: json!({
            "size_bytes": size,
            "rounds": rounds,
            "raw_secs": raw.secs, "raw_cpu_secs": raw.cpu,
            "raw_reserved_secs": reserved.secs, "raw_reserved_cpu_secs": reserved.cpu,
            "lanchat_secs": ours.secs, "lanchat_cpu_secs": ours.cpu,
            "portable_secs": portable.secs, "portable_cpu_secs": portable.cpu,
            "portable_vs_native": ours_s / port_s,
            "ratio_vs_raw": raw_s / ours_s,
            "ratio_vs_raw_reserved": res_s / ours_s,
            "xxh3_gbps_one_core": hash_gbps,
        }),
    })
}

/// Writes back every dirty page, so no copy is timed while the one before it is still
/// being written to disk (received files are deleted, but pages under write-back still
/// load the disk).
pub fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// Incompressible bytes (xorshift), written in 8 MiB blocks and synced.
fn write_noise(path: &Path, size: u64) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
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
        let n = usize::try_from(left.min(block.len() as u64))?;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    Ok(())
}

/// XXH3-128 (the transfer hash) over `len` bytes in memory, one core, in GB/s.
fn hash_speed(src: &Path, len: u64) -> Result<f64> {
    let mut data = vec![0u8; usize::try_from(len)?];
    File::open(src)?.read_exact(&mut data)?;
    let t = Instant::now();
    let mut h = FileHasher::new();
    for chunk in data.chunks(RECV_BUF) {
        h.update(chunk);
    }
    std::hint::black_box(h.finish());
    Ok(len as f64 / t.elapsed().as_secs_f64() / 1e9)
}

/// The baseline: `sendfile` out, `RECV_BUF` reads and writes in, nothing else
/// (`reserved`: the destination's blocks reserved first, as lanchat does).
fn raw_copy(src: &Path, dst: &Path, size: u64, reserved: bool) -> Result<PathBuf> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    let src = src.to_path_buf();
    let sender =
        std::thread::Builder::new()
            .name("raw-send".into())
            .spawn(move || -> Result<()> {
                let s = TcpStream::connect(addr)?;
                let f = File::open(&src)?;
                let len = f.metadata()?.len();
                ensure!(send_range(&f, &s, 0, len)? == len, "short sendfile");
                Ok(())
            })?;
    let (mut conn, _) = listener.accept()?;
    let mut out = File::create(dst)?;
    if reserved {
        reserve(&out, 0, size)?;
    }
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])?;
    }
    drop(out);
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("raw sender panicked"))??;
    ensure!(fs::metadata(dst)?.len() == size, "raw copy came out short");
    Ok(dst.to_path_buf())
}

/// Alice sends, Bob auto-accepts; both loopback nodes on a discovery port of their own.
pub struct Pair {
    pub alice: NodeHandle,
    pub bob: NodeHandle,
    pub bob_id: String,
}

impl Pair {
    /// Both nodes on loopback, Bob's downloads in `<root>/downloads`.
    pub fn start(root: &Path) -> Result<Pair> {
        let port = free_udp_port()?;
        let mut ca = Config::loopback(root.join("alice"), port);
        ca.interval = Duration::from_millis(200);
        let mut cb = Config::loopback(root.join("bob"), port);
        cb.interval = Duration::from_millis(200);
        cb.auto_accept = true;
        cb.download_dir = root.join("downloads");
        let alice = node::spawn(ca, node::no_waker())?;
        let bob = node::spawn(cb, node::no_waker())?;
        let bob_id = loop {
            if let Event::Ready { id, .. } = bob.events.recv_timeout(Duration::from_secs(30))? {
                break id;
            }
        };
        loop {
            let e = alice
                .events
                .recv_timeout(Duration::from_secs(30))
                .context("alice never saw bob")?;
            if matches!(e, Event::PeerJoined { ref peer } if peer.id == bob_id) {
                break;
            }
        }
        Ok(Pair {
            alice,
            bob,
            bob_id: bob_id.into(),
        })
    }

    /// One transfer of `src`, until Bob reports it done; returns where it landed (Alice's
    /// own `transfer_done` is awaited too, so rounds do not overlap).
    fn copy(&self, src: &Path, size: u64) -> Result<PathBuf> {
        self.alice.commands.send(Command::SendFile {
            to: self.bob_id.clone(),
            path: src.to_path_buf(),
        })?;
        let path = loop {
            match self.bob.events.recv_timeout(Duration::from_secs(300))? {
                Event::TransferDone { path, .. } => break PathBuf::from(path),
                Event::TransferFailed { end, .. } => bail!("transfer failed: {end}"),
                _ => {}
            }
        };
        loop {
            match self.alice.events.recv_timeout(Duration::from_secs(30))? {
                Event::TransferDone { .. } => break,
                Event::TransferFailed { end, .. } => bail!("sender failed: {end}"),
                _ => {}
            }
        }
        ensure!(
            fs::metadata(&path)?.len() == size,
            "received file has the wrong size"
        );
        Ok(path)
    }
}

//! Benchmark (not a test): a file copied file-to-file over loopback TCP three ways, in
//! turns, in one run, reported as medians and as ratios of raw:
//! - **raw**: `sendfile(2)` out, 256 KiB `read`/`write_all` in, nothing else;
//! - **plain**: what lanchat v1 does: `sendfile` plus a thread hashing the file (XXH3)
//!   on the sender; blocks reserved, read, write and hash each read on the receiver;
//! - **sealed**: v2: a Noise handshake, then on the sender one thread reads each 256 KiB
//!   chunk into the frame buffer, hashes it, seals it in place and writes it; on the
//!   receiver one thread reads, opens in place, writes and hashes; a sealed `file_end`
//!   with the hash ends it.
//!
//! Each copy starts after `sync` (no copy pays for the write-back of the one before) and
//! the order turns every round; one uncounted warm-up round goes first. Only 127.0.0.1 and
//! a temporary folder (removed at the end) are used.
//!
//! ```sh
//! cargo run --release --no-default-features --example sealed_transfer -- 1024 5
//! ```

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lanchat::net::transfer::{RECV_BUF, reserve, send_range};
use lanchat::protocol::hash::FileHasher;
use lanchat::trust::KeyPair;
use lanchat::trust::file_stream::{CHUNK, SealedReader, SealedWriter};
use lanchat::trust::frame_io::TcpFrames;
use lanchat::trust::noise;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().map_or(Ok(1024), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let dir = std::env::temp_dir().join(format!("lanchat-sealed-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let result = run(&dir, mib << 20, rounds);
    let _ = fs::remove_dir_all(&dir);
    result
}

fn run(dir: &Path, size: u64, rounds: usize) -> Res<()> {
    let src = dir.join("source.bin");
    write_noise(&src, size)?;
    let dst = dir.join("copy.bin");
    let names = ["raw", "plain", "sealed"];
    let mut secs: [Vec<f64>; 3] = Default::default();
    let mut cpu: [Vec<f64>; 3] = Default::default();
    for round in 0..=rounds {
        let mut line = format!("round {round}:");
        for k in 0..3 {
            let which = (round + k) % 3;
            settle();
            let (c0, r0, t) = (cpu_seconds(), thread_cpu(), Instant::now());
            let split = match which {
                0 => raw(&src, &dst, size).map(|()| None)?,
                1 => plain(&src, &dst, size).map(|()| None)?,
                _ => Some(sealed(&src, &dst, size)?),
            };
            let (s, c) = (t.elapsed().as_secs_f64(), cpu_seconds() - c0);
            let recv = thread_cpu() - r0; // every variant receives on this thread
            if fs::metadata(&dst)?.len() != size {
                return Err(format!("{} copy came out short", names[which]).into());
            }
            fs::remove_file(&dst)?;
            line += &format!(
                " {} {s:.3} s ({c:.2} CPU s, receiver {recv:.2})",
                names[which]
            );
            if let Some((send, _)) = split {
                line += &format!(" [sealing sender {send:.2}]");
            }
            if round > 0 {
                secs[which].push(s);
                cpu[which].push(c);
            }
        }
        println!("{line}{}", if round == 0 { " (warm-up)" } else { "" });
    }
    let gbps = |s: f64| size as f64 / s / 1e9;
    let gib = size as f64 / f64::from(1u32 << 30);
    let med: Vec<f64> = secs.iter_mut().map(|v| median(v)).collect();
    for (i, name) in names.iter().enumerate() {
        println!(
            "{name:>6}: median {:.3} s = {:.2} GB/s, {:.2}x raw, {:.2} CPU s per GiB",
            med[i],
            gbps(med[i]),
            med[0] / med[i],
            median(&mut cpu[i]) / gib
        );
    }
    Ok(())
}

/// The baseline: `sendfile` out, `RECV_BUF` reads and writes in.
fn raw(src: &Path, dst: &Path, size: u64) -> Res<()> {
    receive_with(src, dst, size, |mut conn, dst| {
        let mut out = File::create(dst)?;
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&buf[..n])?;
        }
    })
}

/// lanchat v1's data path: sendfile + a hash thread; reserve, read, write, hash.
fn plain(src: &Path, dst: &Path, size: u64) -> Res<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    let src = src.to_path_buf();
    let sender = spawn("plain-send", move || -> Res<String> {
        let s = TcpStream::connect(addr)?;
        let f = File::open(&src)?;
        std::thread::scope(|scope| {
            let hasher = std::thread::Builder::new()
                .name("plain-hash".into())
                .spawn_scoped(scope, || hash_file(&src))?;
            let sent = send_range(&f, &s, 0, size)?;
            let hash = hasher.join().map_err(|_| "hash thread panicked")??;
            if sent != size {
                return Err("short sendfile".into());
            }
            Ok(hash)
        })
    })?;
    let (mut conn, _) = listener.accept()?;
    let mut out = File::create(dst)?;
    reserve(&out, 0, size)?;
    let mut buf = vec![0u8; RECV_BUF];
    let mut hasher = FileHasher::new();
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])?;
        hasher.update(&buf[..n]);
    }
    let sent = sender.join().map_err(|_| "sender panicked")??;
    check(&sent, &hasher.finish())
}

/// v2's data path: handshake, then read + hash + seal | open + write + hash. Returns the
/// CPU seconds of the sending and the receiving thread.
fn sealed(src: &Path, dst: &Path, size: u64) -> Res<(f64, f64)> {
    let recv_cpu = thread_cpu();
    let (alice, bob) = (keys(), keys());
    let bob_id = bob.peer_id();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    let src = src.to_path_buf();
    let sender = spawn("sealed-send", move || -> Res<f64> {
        let mut io = TcpFrames::new(TcpStream::connect(addr)?);
        let session = noise::initiate(&mut io, &alice, Some(&bob_id), deadline())?;
        let (stream, _) = io.into_parts();
        let mut w = SealedWriter::new(stream, session.seal);
        w.write_frame(br#"{"type":"file_data","transfer_id":"t","offset":0}"#)?;
        let f = File::open(&src)?;
        let mut hasher = FileHasher::new();
        let mut at = 0u64;
        while at < size {
            let want = usize::try_from(size - at)?.min(CHUNK);
            let n = w.write_chunk("t", at, want, |buf| {
                let n = read_at(&f, buf, at)?;
                hasher.update(&buf[..n]);
                Ok(n)
            })?;
            if n == 0 {
                return Err("the file shrank".into());
            }
            at += n as u64;
        }
        w.write_frame(format!(r#"{{"type":"file_end","hash":"{}"}}"#, hasher.finish()).as_bytes())?;
        Ok(thread_cpu())
    })?;
    let (conn, _) = listener.accept()?;
    let mut io = TcpFrames::new(conn);
    let session = noise::respond(&mut io, &bob, deadline())?;
    // The sender goes on right after msg3: what was read past it starts the stream.
    let (stream, rest) = io.into_parts();
    let mut r = SealedReader::new(std::io::Cursor::new(rest).chain(stream), session.open);
    r.read_frame()?;
    let mut out = File::create(dst)?;
    reserve(&out, 0, size)?;
    let mut hasher = FileHasher::new();
    let mut at = 0u64;
    while at < size {
        let left = usize::try_from(size - at)?;
        let chunk = r.read_chunk("t", at, left)?;
        out.write_all(chunk)?;
        hasher.update(chunk);
        at += chunk.len() as u64;
    }
    let end = String::from_utf8(r.read_frame()?.to_vec())?;
    let recv_cpu = thread_cpu() - recv_cpu;
    let send_cpu = sender.join().map_err(|_| "sender panicked")??;
    if !end.contains(&hasher.finish()) {
        return Err(format!("hash mismatch: {end}").into());
    }
    Ok((send_cpu, recv_cpu))
}

fn receive_with(
    src: &Path,
    dst: &Path,
    size: u64,
    recv: impl FnOnce(TcpStream, &Path) -> Res<()>,
) -> Res<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    let src = src.to_path_buf();
    let sender = spawn("raw-send", move || -> Res<()> {
        let s = TcpStream::connect(addr)?;
        let f = File::open(&src)?;
        if send_range(&f, &s, 0, size)? != size {
            return Err("short sendfile".into());
        }
        Ok(())
    })?;
    let (conn, _) = listener.accept()?;
    recv(conn, dst)?;
    sender.join().map_err(|_| "sender panicked")?
}

fn keys() -> KeyPair {
    KeyPair::generate().expect("a random source")
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> Res<T> + Send + 'static,
) -> Res<std::thread::JoinHandle<Res<T>>> {
    Ok(std::thread::Builder::new().name(name.into()).spawn(f)?)
}

fn check(sent: &str, got: &str) -> Res<()> {
    if sent == got {
        Ok(())
    } else {
        Err(format!("hash mismatch: sent {sent}, got {got}").into())
    }
}

fn hash_file(path: &Path) -> Res<String> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 128 << 10];
    let mut h = FileHasher::new();
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], at + done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

#[cfg(not(unix))]
fn read_at(mut f: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(at))?;
    let mut done = 0;
    while done < buf.len() {
        match f.read(&mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    stat_cpu("/proc/self/stat")
}

/// User + system CPU seconds of the calling thread so far.
fn thread_cpu() -> f64 {
    stat_cpu("/proc/thread-self/stat")
}

fn stat_cpu(path: &str) -> f64 {
    let stat = fs::read_to_string(path).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split(' ').collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0 // utime, stime in clock ticks (100 Hz on Linux)
}

/// Incompressible bytes (xorshift), synced.
fn write_noise(path: &PathBuf, size: u64) -> Res<()> {
    let mut f = File::create(path)?;
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

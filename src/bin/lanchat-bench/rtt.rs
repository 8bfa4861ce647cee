//! Message round trip (send → delivered) beside a raw TCP ping-pong of the same sizes in
//! the same run, interleaved one for one: the raw exchange writes one chat-sized frame and reads one ack-sized
//! frame back, which is the least any request/acknowledge protocol over loopback TCP
//! can cost.
//!
//! Beside them, interleaved too, the same round trip between two nodes that take the
//! portable paths (what Windows and macOS take: ticked reads, no `MSG_DONTWAIT`, the
//! loopback multicast group), set up and measured under `platform::set_paths`: what those
//! paths cost, in the same run.
//!
//! Then bursts: [`BURST`] messages sent back to back and the time until the last is
//! delivered, beside the raw connection writing as many requests back to back and
//! reading as many answers: what a burst costs when nothing is shared between requests.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lanchat::platform::{self, Paths};
use lanchat::protocol::{FrameDecoder, LinkMsg};
use serde_json::json;

use crate::inproc::InProc;
use crate::procfs::run_dir;
use crate::stats::{Percentiles, Row};
use crate::{Report, free_udp_port};

/// Chat text in every sample: a typical short message.
const TEXT: &str = "probe: 32 bytes of chat text....";

/// Messages per burst.
const BURST: usize = 1000;

/// Bursts measured (after one warm-up burst).
const BURSTS: usize = 10;

pub fn run(messages: usize) -> Result<Report> {
    let dir = run_dir("rtt")?;
    let port = free_udp_port()?;
    let a = InProc::start(&dir.join("a"), "bench-a", port)?;
    let b = InProc::start(&dir.join("b"), "bench-b", port)?;
    a.wait_joined(&b.id)?;
    let portable = Portable::start(&dir)?;
    let (chat, ack) = frame_sizes();
    let mut raw = RawPair::start(chat, ack)?;
    // Warm-up: the first message dials the link.
    for _ in 0..100 {
        a.round_trip(&b.id, TEXT, Duration::from_secs(30))?
            .context("warm-up message not delivered")?;
        raw.exchange()?;
        portable.round_trip()?;
    }
    // Interleaved one for one, so both see the same machine at the same moments.
    let mut lanchat = Vec::with_capacity(messages);
    let mut tcp = Vec::with_capacity(messages);
    let mut ported = Vec::with_capacity(messages);
    for _ in 0..messages {
        tcp.push(raw.exchange()?);
        lanchat.push(
            a.round_trip(&b.id, TEXT, Duration::from_secs(30))?
                .context("a message was not delivered within 30 s")?,
        );
        ported.push(portable.round_trip()?);
    }
    let lc = Percentiles::of(&mut lanchat);
    let rp = Percentiles::of(&mut tcp);
    let pp = Percentiles::of(&mut ported);
    drop(portable);
    let (mut burst_lc, mut burst_tcp) = (Vec::new(), Vec::new());
    for i in 0..=BURSTS {
        let t = raw.burst(BURST)?;
        let l = a.burst(&b.id, TEXT, BURST, Duration::from_secs(60))?;
        if i > 0 {
            burst_tcp.push(t);
            burst_lc.push(l);
        }
    }
    let bl = Percentiles::of(&mut burst_lc);
    let bt = Percentiles::of(&mut burst_tcp);
    drop((a, b, raw));
    let _ = std::fs::remove_dir_all(&dir);
    let rows = vec![
        Row::vs(
            "round trip p50 (lanchat vs raw TCP)",
            lc.p50_us,
            rp.p50_us,
            "µs",
        ),
        Row::vs("round trip p99", lc.p99_us, rp.p99_us, "µs"),
        Row::vs("round trip p99.9", lc.p999_us, rp.p999_us, "µs"),
        Row::vs("round trip max", lc.max_us, rp.max_us, "µs"),
        Row::vs(
            "round trip p50, portable paths vs native",
            pp.p50_us,
            lc.p50_us,
            "µs",
        ),
        Row::vs(
            "round trip p99, portable paths vs native",
            pp.p99_us,
            lc.p99_us,
            "µs",
        ),
        Row::plain("frame sizes chat / ack", format!("{chat} / {ack} bytes")),
        Row::vs(
            format!("burst of {BURST}, median of {BURSTS}: all delivered"),
            bl.p50_us / 1000.0,
            bt.p50_us / 1000.0,
            "ms",
        ),
    ];
    Ok(Report {
        scenario: "rtt".into(),
        rows,
        details: json!({"messages": messages, "lanchat": lc, "raw_tcp": rp,
                        "lanchat_portable_paths": pp,
                        "chat_frame_bytes": chat, "ack_frame_bytes": ack,
                        "burst": {"messages": BURST, "bursts": BURSTS,
                                  "lanchat": bl, "raw_tcp": bt}}),
    })
}

/// Two nodes on a discovery port of their own, set up with the portable paths, and
/// measured with them (`set_paths` is back to native between their round trips).
struct Portable {
    a: InProc,
    b: InProc,
}

impl Portable {
    fn start(dir: &std::path::Path) -> Result<Portable> {
        platform::set_paths(Paths::Portable);
        let started = (|| {
            let port = free_udp_port()?;
            let a = InProc::start(&dir.join("pa"), "bench-pa", port)?;
            let b = InProc::start(&dir.join("pb"), "bench-pb", port)?;
            a.wait_joined(&b.id)?;
            Ok(Portable { a, b })
        })();
        platform::set_paths(Paths::Native);
        started
    }

    fn round_trip(&self) -> Result<Duration> {
        platform::set_paths(Paths::Portable);
        let took = self.a.round_trip(&self.b.id, TEXT, Duration::from_secs(30));
        platform::set_paths(Paths::Native);
        took?.context("a message (portable paths) was not delivered within 30 s")
    }
}

/// Sizes of a chat frame with [`TEXT`] and of its ack, as lanchat writes them.
fn frame_sizes() -> (usize, usize) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let chat = LinkMsg::Chat {
        msg_id: id.clone(),
        sent_at: 1_795_000_000_000,
        text: TEXT.to_owned(),
        room: None,
        change: None,
    };
    let ack = LinkMsg::Ack { msg_id: id };
    (
        chat.to_frame().map_or(0, |f| f.len()),
        ack.to_frame().map_or(0, |f| f.len()),
    )
}

/// A loopback TCP connection to an echo thread that answers each `chat`-byte frame with
/// an `ack`-byte frame: the least a request/acknowledge exchange can cost here.
struct RawPair {
    client: TcpStream,
    request: Vec<u8>,
    dec: FrameDecoder,
    server: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl RawPair {
    fn start(chat: usize, ack: usize) -> Result<RawPair> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let server = std::thread::Builder::new().name("raw-echo".into()).spawn(
            move || -> std::io::Result<()> {
                let (mut s, _) = listener.accept()?;
                s.set_nodelay(true)?;
                let reply = frame(ack);
                let mut dec = FrameDecoder::new();
                let mut buf = [0u8; 4096];
                loop {
                    let k = s.read(&mut buf)?;
                    if k == 0 {
                        return Ok(());
                    }
                    dec.push(&buf[..k]);
                    while dec.next_frame().ok().flatten().is_some() {
                        s.write_all(&reply)?;
                    }
                }
            },
        )?;
        let client = TcpStream::connect(addr)?;
        client.set_nodelay(true)?;
        Ok(RawPair {
            client,
            request: frame(chat),
            dec: FrameDecoder::new(),
            server: Some(server),
        })
    }

    /// `n` requests written back to back, then their `n` answers read.
    fn burst(&mut self, n: usize) -> Result<Duration> {
        let requests = self.request.repeat(n);
        let mut buf = [0u8; 4096];
        let start = Instant::now();
        self.client.write_all(&requests)?;
        for _ in 0..n {
            while self.dec.next_frame()?.is_none() {
                let k = self.client.read(&mut buf)?;
                anyhow::ensure!(k > 0, "echo server closed");
                self.dec.push(&buf[..k]);
            }
        }
        Ok(start.elapsed())
    }

    /// One request and its answer.
    fn exchange(&mut self) -> Result<Duration> {
        let mut buf = [0u8; 4096];
        let start = Instant::now();
        self.client.write_all(&self.request)?;
        while self.dec.next_frame()?.is_none() {
            let k = self.client.read(&mut buf)?;
            anyhow::ensure!(k > 0, "echo server closed");
            self.dec.push(&buf[..k]);
        }
        Ok(start.elapsed())
    }
}

impl Drop for RawPair {
    fn drop(&mut self) {
        let _ = self.client.shutdown(std::net::Shutdown::Both);
        if let Some(t) = self.server.take() {
            let _ = t.join();
        }
    }
}

/// A frame of `total` bytes (header included).
fn frame(total: usize) -> Vec<u8> {
    let body = total.saturating_sub(4);
    let mut f = (body as u32).to_be_bytes().to_vec();
    f.resize(total.max(4), b' ');
    f
}

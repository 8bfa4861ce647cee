//! Benchmark (not a test): a file through the page for browsers, both ways, beside a raw
//! TCP copy of the same file in the same run (issue 13: goal ≥ 0.7× raw).
//!
//! - **raw**: one loopback TCP connection, 256 KiB `read` from the file / `write_all` to
//!   the socket on one side and the reverse on the other: the least a file-to-file copy
//!   costs here.
//! - **upload**: a browser-like client (ureq) posts the file to `api/upload` of a lanchat
//!   node in this process (`web_port` 0, on 127.0.0.1); timed until lanchat reports the
//!   accepted file in the download folder (`transfer_done`): spooled, size checked,
//!   accepted, moved.
//! - **download**: lanchat offers the file to the visitor (`send_file`); the client, told
//!   by its event stream, fetches `file/ID` into a file; timed from `send_file` to the
//!   last byte written.
//!
//! Each copy starts after `sync`; the order turns each round; one uncounted warm-up round
//! goes first. Only 127.0.0.1 and a temporary folder (removed at the end) are used.
//!
//! ```sh
//! cargo run --release --no-default-features --example web_bench -- 1024 3
//! ```

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lanchat::config::Config;
use lanchat::node::{self, Command, Event, NodeHandle, Protocol};
use serde_json::{Value, json};

const BUF: usize = 256 * 1024;
const PATIENCE: Duration = Duration::from_secs(600);

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().map_or(1024, |a| a.parse().expect("MiB"));
    let rounds: usize = args.next().map_or(3, |a| a.parse().expect("rounds"));
    let scratch = Scratch::new();
    let source = scratch.0.join("source.bin");
    write_source(&source, mib << 20);

    let host = Host::start(&scratch.0);
    let visitor = Visitor::join(&host.url);
    let peer = host.wait_visitor();
    let events = visitor.events();

    let mut times: [Vec<f64>; 3] = Default::default();
    for round in 0..=rounds {
        for k in 0..3 {
            let which = (k + round) % 3;
            sync();
            let took = match which {
                0 => raw_copy(&source, &scratch.0.join("raw.bin")),
                1 => host.upload_timed(&visitor, &source),
                _ => host.download_timed(&peer, &visitor, &events, &source, &scratch.0),
            };
            if round > 0 {
                times[which].push(took.as_secs_f64());
            }
            clean(&scratch.0);
        }
    }
    let size = (mib << 20) as f64;
    let gbps = |t: &mut Vec<f64>| size / median(t) / 1e9;
    let raw = gbps(&mut times[0]);
    let up = gbps(&mut times[1]);
    let down = gbps(&mut times[2]);
    println!("{mib} MiB file → file, medians of {rounds} rounds (after a warm-up round)");
    println!("raw TCP            {raw:6.2} GB/s");
    println!("page upload        {up:6.2} GB/s   {:.2}× raw", up / raw);
    println!(
        "page download      {down:6.2} GB/s   {:.2}× raw",
        down / raw
    );
    host.quit();
}

/// The lanchat node with its page on.
struct Host {
    node: NodeHandle,
    url: String,
    inbox: PathBuf,
}

impl Host {
    fn start(dir: &Path) -> Host {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port")
            .port();
        let mut config = Config::loopback(dir.join("data"), port);
        config.name = Some("host".into());
        config.web_port = Some(0);
        config.download_dir = dir.join("inbox");
        let inbox = config.download_dir.clone();
        let node = node::spawn(config, node::no_waker()).expect("the node starts");
        let mut host = Host {
            node,
            url: String::new(),
            inbox,
        };
        host.url = match host.wait(|e| matches!(e, Event::WebReady { .. })) {
            Event::WebReady { url, .. } => url,
            _ => unreachable!(),
        };
        host
    }

    fn wait(&self, want: impl Fn(&Event) -> bool) -> Event {
        let end = Instant::now() + PATIENCE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let e = self
                .node
                .events
                .recv_timeout(left)
                .expect("an event in time");
            if let Event::Error { message } = &e {
                panic!("lanchat: {message}");
            }
            if want(&e) {
                return e;
            }
        }
    }

    fn wait_visitor(&self) -> String {
        match self
            .wait(|e| matches!(e, Event::PeerJoined { peer } if peer.protocol == Protocol::Web))
        {
            Event::PeerJoined { peer } => peer.id.to_string(),
            _ => unreachable!(),
        }
    }

    /// Upload, accept, landed.
    fn upload_timed(&self, visitor: &Visitor, source: &Path) -> Duration {
        let t = Instant::now();
        visitor.upload(source);
        let id = match self.wait(|e| matches!(e, Event::FileOffer { .. })) {
            Event::FileOffer { transfer_id, .. } => transfer_id,
            _ => unreachable!(),
        };
        self.node
            .commands
            .send(Command::Accept {
                transfer_id: id.clone(),
            })
            .expect("the node takes commands");
        self.wait(|e| matches!(e, Event::TransferDone { transfer_id, .. } if *transfer_id == id));
        t.elapsed()
    }

    /// Offer, the page hears of it, fetched to a file.
    fn download_timed(
        &self,
        peer: &str,
        visitor: &Visitor,
        events: &mpsc::Receiver<Value>,
        source: &Path,
        dir: &Path,
    ) -> Duration {
        let t = Instant::now();
        self.node
            .commands
            .send(Command::SendFile {
                to: peer.to_owned(),
                path: source.to_owned(),
            })
            .expect("the node takes commands");
        let file = loop {
            let e = events.recv_timeout(PATIENCE).expect("a page event");
            if e["kind"] == "file" {
                break e;
            }
        };
        visitor.fetch(
            file["id"].as_str().expect("a file id"),
            &dir.join("down.bin"),
        );
        t.elapsed()
    }

    fn quit(self) {
        let _ = self.node.commands.send(Command::Quit);
        let _ = fs::remove_dir_all(&self.inbox);
    }
}

/// A browser-like client: its link and session cookie.
struct Visitor {
    url: String,
    cookie: String,
    agent: ureq::Agent,
}

impl Visitor {
    fn join(url: &str) -> Visitor {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(true)
            .proxy(None)
            .build()
            .into();
        let r = agent
            .post(&format!("{url}api/join"))
            .header("Content-Type", "application/json")
            .send(json!({"name": "访客"}).to_string())
            .expect("join");
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        Visitor {
            url: url.to_owned(),
            cookie,
            agent,
        }
    }

    fn upload(&self, source: &Path) {
        let len = fs::metadata(source).expect("the source").len();
        let file = File::open(source).expect("open the source");
        self.agent
            .post(&format!("{}api/upload?name=up.bin", self.url))
            .header("Cookie", &self.cookie)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", len.to_string())
            .send(ureq::SendBody::from_owned_reader(file))
            .expect("upload");
    }

    fn fetch(&self, id: &str, to: &Path) {
        let mut r = self
            .agent
            .get(&format!("{}file/{id}", self.url))
            .header("Cookie", &self.cookie)
            .call()
            .expect("download");
        let mut out = File::create(to).expect("create the download");
        let mut body = r.body_mut().as_reader();
        copy(&mut body, &mut out);
    }

    /// The page's event stream on a thread of its own: each `data:` line's JSON.
    fn events(&self) -> mpsc::Receiver<Value> {
        let r = self
            .agent
            .get(&format!("{}api/events?after=0", self.url))
            .header("Cookie", &self.cookie)
            .call()
            .expect("the event stream");
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("bench-sse".into())
            .spawn(move || {
                let lines = BufReader::new(r.into_body().into_reader()).lines();
                for line in lines.map_while(Result::ok) {
                    if let Some(data) = line.strip_prefix("data:") {
                        let Ok(v) = serde_json::from_str(data.trim()) else {
                            continue;
                        };
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            })
            .expect("spawn the stream reader");
        rx
    }
}

/// File → loopback TCP → file, 256 KiB at a time each side.
fn raw_copy(source: &Path, dest: &Path) -> Duration {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let at = listener.local_addr().expect("its address");
    let dest = dest.to_owned();
    let t = Instant::now();
    let receiver = std::thread::Builder::new()
        .name("bench-raw-recv".into())
        .spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut out = File::create(&dest).expect("create the copy");
            copy(&mut s, &mut out);
        })
        .expect("spawn the receiver");
    let mut s = TcpStream::connect(at).expect("connect");
    copy(&mut File::open(source).expect("open the source"), &mut s);
    drop(s);
    receiver.join().expect("the receiver");
    t.elapsed()
}

fn copy(from: &mut impl Read, to: &mut impl Write) {
    let mut buf = vec![0u8; BUF];
    loop {
        let n = from.read(&mut buf).expect("read");
        if n == 0 {
            return;
        }
        to.write_all(&buf[..n]).expect("write");
    }
}

fn write_source(path: &Path, size: u64) {
    let mut f = File::create(path).expect("create the source");
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9e37_79b9_u32;
    for b in block.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    for _ in 0..size >> 20 {
        f.write_all(&block).expect("write the source");
    }
}

/// Removes what a round left behind (the copies, the accepted upload).
fn clean(dir: &Path) {
    let _ = fs::remove_file(dir.join("raw.bin"));
    let _ = fs::remove_file(dir.join("down.bin"));
    if let Ok(entries) = fs::read_dir(dir.join("inbox")) {
        for e in entries.flatten() {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn sync() {
    let _ = std::process::Command::new("sync").status();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The scratch folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("lanchat-web-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("create the scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

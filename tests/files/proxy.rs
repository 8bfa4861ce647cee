//! A TCP proxy in front of a node that cuts one connection on request: once armed with
//! a byte count, the next connection to carry more than that toward the node is cut
//! right there (both sides shut down), and with [`CutProxy::arm_all`] every other open
//! connection too (the link: a network that went away). Links carry a few kilobytes, so
//! with a count in the megabytes only a file's data connection trips it. It also counts
//! the bytes each connection carried toward the node, so a test can tell what a resume
//! sent.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Connections forwarded so far, in the order they came: bytes toward the node each.
type Counts = Arc<Mutex<Vec<Arc<AtomicU64>>>>;

/// Both ends of every connection forwarded so far.
type Open = Arc<Mutex<Vec<TcpStream>>>;

/// What an armed cut takes down.
#[derive(Clone)]
struct Cut {
    /// Bytes toward the node that trip it (0: not armed).
    at: Arc<AtomicU64>,
    /// Every connection, not only the one that tripped it.
    all: Arc<AtomicBool>,
    open: Open,
}

pub struct CutProxy {
    pub addr: SocketAddr,
    cut: Cut,
    counts: Counts,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CutProxy {
    /// Forwards every connection on a new loopback port to `target`.
    pub fn start(target: SocketAddr) -> CutProxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let cut = Cut {
            at: Arc::new(AtomicU64::new(0)),
            all: Arc::new(AtomicBool::new(false)),
            open: Open::default(),
        };
        let counts: Counts = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (k, c, s) = (cut.clone(), counts.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("cut-proxy".into())
            .spawn(move || accept_loop(&listener, target, &k, &c, &s))
            .expect("proxy thread");
        CutProxy {
            addr,
            cut,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    /// The next connection to carry more than `at` bytes toward the node is cut there.
    pub fn arm(&self, at: u64) {
        self.cut.all.store(false, Ordering::SeqCst);
        self.cut.at.store(at, Ordering::SeqCst);
    }

    /// Like [`CutProxy::arm`], and every other open connection is cut at the same time.
    pub fn arm_all(&self, at: u64) {
        self.cut.all.store(true, Ordering::SeqCst);
        self.cut.at.store(at, Ordering::SeqCst);
    }

    /// Whether the armed cut has happened.
    pub fn has_cut(&self) -> bool {
        self.cut.at.load(Ordering::SeqCst) == 0
    }

    /// Bytes each connection carried toward the node, oldest connection first.
    pub fn upstream_bytes(&self) -> Vec<u64> {
        let counts = self.counts.lock().unwrap();
        counts.iter().map(|c| c.load(Ordering::SeqCst)).collect()
    }
}

fn accept_loop(
    listener: &TcpListener,
    target: SocketAddr,
    cut: &Cut,
    counts: &Counts,
    stop: &AtomicBool,
) {
    let mut pumps: Vec<JoinHandle<()>> = Vec::new();
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (Ok(client), Ok(server)) = (conn, TcpStream::connect(target)) else {
            continue;
        };
        let count = Arc::new(AtomicU64::new(0));
        counts.lock().unwrap().push(count.clone());
        let ends = || [client.try_clone().unwrap(), server.try_clone().unwrap()];
        let (up_from, up_to) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let (down_from, down_to) = (server.try_clone().unwrap(), client.try_clone().unwrap());
        let (up_ends, up_cut) = (ends(), cut.clone());
        pumps.push(spawn("cut-proxy-up", move || {
            up(up_from, up_to, &up_ends, &up_cut, &count)
        }));
        pumps.push(spawn("cut-proxy-down", move || down(down_from, down_to)));
        cut.open.lock().unwrap().extend([client, server]);
    }
    for s in cut.open.lock().unwrap().iter() {
        let _ = s.shutdown(Shutdown::Both);
    }
    for t in pumps {
        let _ = t.join();
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .expect("proxy pump thread")
}

/// Toward the node: counts, and cuts when armed and the count would pass the mark.
fn up(mut from: TcpStream, mut to: TcpStream, ends: &[TcpStream; 2], cut: &Cut, count: &AtomicU64) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let sent = count.load(Ordering::SeqCst);
        let at = cut.at.load(Ordering::SeqCst);
        if at > 0
            && sent + n as u64 > at
            && cut
                .at
                .compare_exchange(at, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            let keep = (at - sent.min(at)) as usize;
            count.fetch_add(keep as u64, Ordering::SeqCst);
            let _ = to.write_all(&buf[..keep]);
            for end in ends {
                let _ = end.shutdown(Shutdown::Both);
            }
            if cut.all.load(Ordering::SeqCst) {
                for s in cut.open.lock().unwrap().iter() {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
            return;
        }
        count.fetch_add(n as u64, Ordering::SeqCst);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Toward the client: a plain copy.
fn down(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes accept()
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

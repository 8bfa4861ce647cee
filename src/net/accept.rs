//! The link listener's accept loop and its greeters: each accepted connection gets a
//! short-lived thread that reads its first frame (a link `hello`, or the header of a file
//! stream) before the core sees it, so the core can route the connection without ever
//! blocking on it.
//!
//! Connections waiting for their first frame are capped per source address and in all
//! (`greeting`): silent connections from one host crowd out only each other. Every
//! connection closed before its first frame is counted by reason ([`AcceptStats`]) for
//! `net_status`; nothing is decided here beyond that.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::greeting::{AcceptStats, GreetingPool, Refusal};
use super::{NetInput, spawn_named};
use crate::protocol::{FrameDecoder, LinkMsg};

/// A new connection must send its first frame within this time.
pub const GREETING_TIMEOUT: Duration = Duration::from_secs(10);

/// The accept loop; stopped and joined on drop.
#[derive(Debug)]
pub struct Acceptor {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    stats: Arc<AcceptStats>,
    thread: Option<JoinHandle<()>>,
}

/// Connections still waiting for their first frame. The acceptor keeps a duplicate
/// handle of each so it can shut it down (to make room, or when it stops); each greeter
/// takes its own entry out (closing the duplicate) as soon as it is done, so a
/// connection the node refuses or later drops is closed at once, not when the next
/// connection happens to arrive.
type Greeting = Arc<Mutex<GreetingPool<TcpStream>>>;

impl Acceptor {
    /// Accepts connections on `listener` and forwards each, with its first frame, as
    /// [`NetInput::Accepted`].
    pub fn spawn(listener: TcpListener, tx: Sender<NetInput>) -> io::Result<Acceptor> {
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(AcceptStats::default());
        let (stop2, stats2) = (stop.clone(), stats.clone());
        let thread = spawn_named("link-accept", move || {
            accept_loop(&listener, &tx, &stop2, &stats2);
        })?;
        Ok(Acceptor {
            local,
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// Connections accepted, and those closed before their first frame, so far.
    pub fn stats(&self) -> &AcceptStats {
        &self.stats
    }
}

fn accept_loop(
    listener: &TcpListener,
    tx: &Sender<NetInput>,
    stop: &AtomicBool,
    stats: &Arc<AcceptStats>,
) {
    let greeting: Greeting = Arc::default();
    let mut greeters: HashMap<u64, JoinHandle<()>> = HashMap::new();
    for conn in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        greeters.retain(|_, t| !t.is_finished());
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept: {e}");
                std::thread::park_timeout(Duration::from_millis(100));
                continue;
            }
        };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        stats.accepted();
        let Ok(keep) = stream.try_clone() else {
            stats.refused(Refusal::Failed);
            continue;
        };
        let admitted = greeting.lock().map(|mut g| g.admit(peer.ip(), keep));
        let Ok((key, evicted)) = admitted else {
            stats.refused(Refusal::Failed);
            continue;
        };
        if let Some((old, stream)) = evicted {
            // Its greeter wakes from its read, finds itself displaced and counts it;
            // joining it keeps the greeters at most the pool's size.
            let _ = stream.shutdown(Shutdown::Both);
            if let Some(t) = greeters.remove(&old) {
                let _ = t.join();
            }
        }
        let (tx, greeting2, stats2) = (tx.clone(), greeting.clone(), stats.clone());
        match spawn_named("link-greet", move || {
            greet(stream, peer, &tx, &stats2, || {
                greeting2.lock().is_ok_and(|mut g| g.finish(key).is_some())
            });
        }) {
            Ok(thread) => {
                greeters.insert(key, thread);
            }
            Err(e) => {
                tracing::warn!("cannot start greeter for {peer}: {e}");
                stats.refused(Refusal::Failed);
                if let Ok(mut g) = greeting.lock() {
                    g.finish(key);
                }
            }
        }
    }
    if let Ok(g) = greeting.lock() {
        for s in g.items() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
    for t in greeters.into_values() {
        let _ = t.join();
    }
}

/// Reads the first frame of an accepted connection and hands both to the core. `done`
/// is called once the greeting is over, before the stream is handed on or closed; it
/// says whether the connection still had its place (`false`: it was displaced).
fn greet(
    mut stream: TcpStream,
    peer: SocketAddr,
    tx: &Sender<NetInput>,
    stats: &AcceptStats,
    done: impl FnOnce() -> bool,
) {
    let first = read_first_frame(&mut stream);
    let first = if done() {
        first
    } else {
        Err((
            Refusal::Evicted,
            "silent too long while newer connections needed its place".to_owned(),
        ))
    };
    match first {
        Ok((first, decoder)) => {
            let _ = stream.set_read_timeout(None);
            let _ = tx.send(NetInput::Accepted {
                stream,
                peer,
                first,
                decoder,
            });
        }
        Err((why, reason)) => {
            stats.refused(why);
            tracing::info!("dropping connection from {peer}: {reason}");
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// The whole first frame must arrive within [`GREETING_TIMEOUT`]: the deadline is for
/// the frame, not for each read, so a sender dripping a byte at a time is cut off too.
fn read_first_frame(stream: &mut TcpStream) -> Result<(LinkMsg, FrameDecoder), (Refusal, String)> {
    let invalid = |e: &dyn std::fmt::Display| (Refusal::Invalid, e.to_string());
    let late = || {
        (
            Refusal::Timeout,
            format!("no first frame within {GREETING_TIMEOUT:?}"),
        )
    };
    let deadline = Instant::now() + GREETING_TIMEOUT;
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(body) = decoder.next_frame().map_err(|e| invalid(&e))? {
            let msg = LinkMsg::decode(&body).map_err(|e| invalid(&e))?;
            return Ok((msg, decoder));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| (Refusal::Failed, e.to_string()))?;
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(match decoder.finish() {
                    Ok(()) => (Refusal::Closed, "closed before saying anything".to_owned()),
                    Err(e) => (Refusal::Closed, format!("closed mid-frame: {e}")),
                });
            }
            Ok(n) => decoder.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(late());
            }
            Err(e) => return Err((Refusal::Failed, format!("read failed: {e}"))),
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocked accept() with a connection to ourselves.
        let mut wake = self.local;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! The link listener's accept loop and its greeters: each accepted connection gets a
//! short-lived thread that runs the responder's side of the Noise handshake (`secure`)
//! and reads the first sealed frame (a link `hello`, or the header of a file stream)
//! before the core sees it, so the core can route the connection, and knows whose key
//! proved itself on it, without ever blocking on it.
//!
//! Connections waiting for their greeting are capped per source address and in all
//! (`greeting`) before any cryptography: silent connections from one host crowd out only
//! each other, and the handshake checks each message's length before it computes
//! anything. One deadline covers the handshake and the first frame. Every connection
//! closed before its first frame is counted by reason ([`AcceptStats`]), and every failed
//! handshake by its label ([`HandshakeStats`]), for `net_status`; nothing is decided here
//! beyond that.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::conn::{Conn, ConnErrorKind, Stopper};
use super::greeting::MAX_GREETING;
use super::greeting::{AcceptStats, GreetingPool, Refusal};
use super::input::NetInput;
use super::secure::{self, HandshakeStats};
use super::thread::{Reaper, spawn_named};
use crate::trust::KeyPair;
use crate::trust::noise::HandshakeError;

/// A new connection must finish the handshake and send its first frame within this time.
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
type Greeting = Arc<Mutex<GreetingPool<Stopper>>>;

impl Acceptor {
    /// Accepts connections on `listener`, proves `keys` to each and learns its key, and
    /// forwards each, with its first frame, as [`NetInput::Accepted`]. Failed handshakes
    /// are counted in `handshakes`.
    pub fn spawn(
        listener: TcpListener,
        keys: Arc<KeyPair>,
        handshakes: Arc<HandshakeStats>,
        tx: Sender<NetInput>,
    ) -> io::Result<Acceptor> {
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(AcceptStats::default());
        let stop2 = stop.clone();
        let greeter = Greeter {
            keys,
            handshakes,
            stats: stats.clone(),
        };
        let thread = spawn_named("link-accept", move || {
            accept_loop(&listener, &tx, &stop2, &greeter);
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

    /// Tells the accept loop to stop and its greeters with it, without waiting (dropping
    /// the acceptor waits): a connection to ourselves wakes the blocked `accept` on every
    /// system.
    pub fn signal(&self) {
        if self.stop.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut wake = self.local;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
    }
}

/// What every greeter needs: our keys, and where to count.
#[derive(Clone)]
struct Greeter {
    keys: Arc<KeyPair>,
    handshakes: Arc<HandshakeStats>,
    stats: Arc<AcceptStats>,
}

fn accept_loop(
    listener: &TcpListener,
    tx: &Sender<NetInput>,
    stop: &AtomicBool,
    greeter: &Greeter,
) {
    let stats = &greeter.stats;
    let greeting: Greeting = Arc::default();
    let mut greeters: HashMap<u64, JoinHandle<()>> = HashMap::new();
    // Displaced greeters, told to stop: they end on their own (at once, or within a tick
    // where shutdown() wakes nothing), so accepting never waits for one.
    let mut leaving = Reaper::default();
    for conn in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        greeters.retain(|_, t| !t.is_finished());
        leaving.reap();
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept: {e}");
                std::thread::park_timeout(Duration::from_millis(100));
                continue;
            }
        };
        let Ok(conn) = Conn::new(stream) else {
            continue; // already gone (no peer address)
        };
        let peer = conn.remote();
        stats.accepted();
        let Ok(keep) = conn.stopper() else {
            stats.refused(Refusal::Failed);
            continue;
        };
        let admitted = greeting.lock().map(|mut g| g.admit(peer.ip(), keep));
        let Ok((key, evicted)) = admitted else {
            stats.refused(Refusal::Failed);
            continue;
        };
        if let Some((old, stopper)) = evicted {
            // Its greeter wakes from its read, finds itself displaced and counts it.
            stopper.stop();
            leaving.add(greeters.remove(&old));
            // Threads stay bounded: past twice the pool, wait for the oldest to end.
            leaving.keep_at_most(MAX_GREETING);
        }
        let (tx, greeting2, greeter2) = (tx.clone(), greeting.clone(), greeter.clone());
        match spawn_named("link-greet", move || {
            greet(conn, &tx, &greeter2, || {
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
        for stopper in g.items() {
            stopper.stop();
        }
    }
    leaving.add(greeters.into_values());
    leaving.join_all();
}

/// Runs the handshake on an accepted connection, reads its first sealed frame, and hands
/// the connection, the frame and the proven key to the core. `done` is called once the
/// greeting is over, before the connection is handed on or closed; it says whether the
/// connection still had its place (`false`: it was displaced).
///
/// The handshake and the whole first frame must arrive within [`GREETING_TIMEOUT`]: the
/// deadline is for all of it, not for each read, so a sender dripping a byte at a time
/// is cut off too.
fn greet(mut conn: Conn, tx: &Sender<NetInput>, greeter: &Greeter, done: impl FnOnce() -> bool) {
    let peer = conn.remote();
    let deadline = Instant::now() + GREETING_TIMEOUT;
    let greeted = match secure::respond(&mut conn, &greeter.keys, deadline) {
        Ok(key) => conn
            .recv(Some(deadline))
            .map(|first| (key, first))
            .map_err(|e| refusal(&e.kind)),
        Err(e) => {
            greeter.handshakes.failed(e.label());
            Err(handshake_refusal(&e))
        }
    };
    let greeted = if done() {
        greeted
    } else {
        Err((
            Refusal::Evicted,
            "silent too long while newer connections needed its place".to_owned(),
        ))
    };
    match greeted {
        Ok((key, first)) => {
            let _ = tx.send(NetInput::Accepted {
                conn: Box::new(conn),
                remote: peer,
                key,
                first,
            });
        }
        Err((why, reason)) => {
            greeter.stats.refused(why);
            tracing::info!("dropping connection from {peer}: {reason}");
            if let Ok(stopper) = conn.stopper() {
                stopper.stop();
            }
        }
    }
}

/// Why a connection whose handshake failed is closed.
fn handshake_refusal(e: &HandshakeError) -> (Refusal, String) {
    let why = match e {
        HandshakeError::Version1 => Refusal::Version,
        HandshakeError::Io(io) => match io.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Refusal::Timeout,
            io::ErrorKind::UnexpectedEof => Refusal::Closed,
            io::ErrorKind::InvalidData => Refusal::Invalid,
            _ => Refusal::Failed,
        },
        _ => Refusal::Handshake,
    };
    (why, format!("handshake: {e}"))
}

/// Why a connection whose first sealed frame did not come is closed.
fn refusal(kind: &ConnErrorKind) -> (Refusal, String) {
    match kind {
        ConnErrorKind::Deadline | ConnErrorKind::Stalled(_) => (
            Refusal::Timeout,
            format!("no first frame within {GREETING_TIMEOUT:?}"),
        ),
        ConnErrorKind::Closed => (Refusal::Closed, "closed before saying anything".into()),
        ConnErrorKind::ClosedMidFrame(f) => (Refusal::Closed, format!("closed mid-frame: {f}")),
        ConnErrorKind::Frame(_) | ConnErrorKind::Message(_) | ConnErrorKind::Transport(_) => {
            (Refusal::Invalid, kind.to_string())
        }
        ConnErrorKind::NotSecure | ConnErrorKind::Stopped | ConnErrorKind::Io(_) => {
            (Refusal::Failed, kind.to_string())
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.signal();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

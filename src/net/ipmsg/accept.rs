//! The IPMsg TCP accept loop and its greeters. A peer that wants a file we offered
//! connects to port 2425 and sends one `GETFILEDATA` packet; a short-lived greeter thread
//! reads it (within [`REQUEST_TIMEOUT`], at most [`MAX_PACKET`] bytes) and forwards the
//! stream with the parsed request as [`IpmsgInput::FileRequest`]. Whether that file was
//! offered to that address is the core's question.
//!
//! Waiting connections are capped in all and per source address by the same
//! [`GreetingPool`] as lanchat's own links (a newcomer displaces the oldest silent one of
//! its address, or of the address holding the most), and every connection closed before
//! a usable request is counted by reason in [`IpmsgStats::connections`].

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use super::{IpmsgInput, IpmsgStats, offer};
use crate::net::greeting::{GreetingPool, Refusal};
use crate::net::spawn_named;
use crate::protocol::ipmsg::{FileRequest, MAX_PACKET, Packet, Payload};

/// A connection must send its whole request within this time.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The accept loop; stopped and joined on drop.
#[derive(Debug)]
pub struct Acceptor {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

type Greeting = Arc<Mutex<GreetingPool<TcpStream>>>;

impl Acceptor {
    /// Accepts connections on `listener`; requests go to `tx`.
    pub fn spawn<T>(
        listener: TcpListener,
        tx: Sender<T>,
        stats: Arc<IpmsgStats>,
    ) -> io::Result<Acceptor>
    where
        T: From<IpmsgInput> + Send + 'static,
    {
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = spawn_named("ipmsg-accept", move || {
            accept_loop(&listener, &tx, &stop2, &stats);
        })?;
        Ok(Acceptor {
            local,
            stop,
            thread: Some(thread),
        })
    }
}

fn accept_loop<T>(
    listener: &TcpListener,
    tx: &Sender<T>,
    stop: &AtomicBool,
    stats: &Arc<IpmsgStats>,
) where
    T: From<IpmsgInput> + Send + 'static,
{
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
                tracing::warn!("IPMsg accept: {e}");
                std::thread::park_timeout(Duration::from_millis(100));
                continue;
            }
        };
        let Ok(SocketAddr::V4(peer)) = stream.peer_addr() else {
            continue;
        };
        let refused = |why| stats.connections.refused(why);
        stats.connections.accepted();
        let Ok(keep) = stream.try_clone() else {
            refused(Refusal::Failed);
            continue;
        };
        let admitted = greeting
            .lock()
            .map(|mut g| g.admit((*peer.ip()).into(), keep));
        let Ok((key, evicted)) = admitted else {
            refused(Refusal::Failed);
            continue;
        };
        if let Some((old, stream)) = evicted {
            let _ = stream.shutdown(Shutdown::Both);
            if let Some(t) = greeters.remove(&old) {
                let _ = t.join();
            }
        }
        let (tx, greeting2, stats2) = (tx.clone(), greeting.clone(), stats.clone());
        let spawned = spawn_named("ipmsg-greet", move || {
            greet(stream, peer, &tx, &stats2, || {
                greeting2.lock().is_ok_and(|mut g| g.finish(key).is_some())
            });
        });
        match spawned {
            Ok(thread) => {
                greeters.insert(key, thread);
            }
            Err(e) => {
                tracing::warn!("cannot start an IPMsg greeter for {peer}: {e}");
                refused(Refusal::Failed);
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

/// Reads the request and hands it on, or closes the connection and counts why. `done`
/// says whether the connection still had its place (`false`: it was displaced).
fn greet<T: From<IpmsgInput>>(
    mut stream: TcpStream,
    peer: SocketAddrV4,
    tx: &Sender<T>,
    stats: &IpmsgStats,
    done: impl FnOnce() -> bool,
) {
    let read = read_request(&mut stream);
    let read = if done() {
        read
    } else {
        Err((
            Refusal::Evicted,
            "displaced by newer connections".to_owned(),
        ))
    };
    let refusal = match read {
        Ok((packet, request)) => {
            let _ = stream.set_read_timeout(None);
            let input = IpmsgInput::FileRequest {
                stream,
                peer,
                packet,
                request,
            };
            match offer(tx, input, stats) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                // The stream inside is dropped, which closes it.
                Err(TrySendError::Full(_)) => (Refusal::Failed, "the core is busy".to_owned()),
            }
        }
        Err(refusal) => refusal,
    };
    stats.connections.refused(refusal.0);
    tracing::info!("IPMsg: dropping connection from {peer}: {}", refusal.1);
}

/// Reads bytes until the request's terminating NUL (or the peer's half-close), within
/// [`REQUEST_TIMEOUT`] for the whole request, and parses it. The deadline is for the
/// request, not each read, so a peer dripping a byte at a time is cut off too.
fn read_request(stream: &mut TcpStream) -> Result<(Packet, FileRequest), (Refusal, String)> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut buf = Vec::with_capacity(128);
    let mut chunk = [0u8; 512];
    let whole = loop {
        if let Some(nul) = buf.iter().position(|&b| b == 0) {
            break nul + 1;
        }
        if buf.len() > MAX_PACKET {
            return Err((
                Refusal::Invalid,
                format!("no request in {MAX_PACKET} bytes"),
            ));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| (Refusal::Failed, e.to_string()))?;
        match stream.read(&mut chunk) {
            Ok(0) if buf.is_empty() => {
                return Err((Refusal::Closed, "closed before asking".to_owned()));
            }
            Ok(0) => break buf.len(), // no NUL, but the peer is done: parse what came
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
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
    };
    let packet = Packet::parse(&buf[..whole.min(MAX_PACKET)])
        .map_err(|e| (Refusal::Invalid, e.to_string()))?;
    match packet.payload {
        Payload::GetFileData(request) => Ok((packet, request)),
        _ => Err((
            Refusal::Invalid,
            format!(
                "{} over TCP (only GETFILEDATA is served)",
                packet.command.mode().label()
            ),
        )),
    }
}

fn late() -> (Refusal, String) {
    (
        Refusal::Timeout,
        format!("no whole request within {REQUEST_TIMEOUT:?}"),
    )
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocked accept() with a connection to ourselves.
        let mut wake = self.local;
        if wake.ip().is_unspecified() {
            wake.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

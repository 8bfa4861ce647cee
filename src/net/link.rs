//! TCP links: the listener, dialing, and a reader and a writer thread per connection.
//!
//! The reader loops until a whole frame is in (one `send` is not one `recv`), decodes it
//! and forwards it; end of stream means the peer closed the conversation, never a message.
//! The writer drains a bounded queue, so the core never blocks on a slow peer: when the
//! queue is full the core drops the link instead. A write error (BrokenPipe, reset) is
//! reported as the link going down; the messages stay in the outbox.
//!
//! While the writer has nothing queued, [`Link::send_frame`] writes straight into the
//! socket's buffer without blocking (`MSG_DONTWAIT`), and hands the writer only what the
//! kernel did not take: a chat or an ack leaves without waking a second thread, which
//! was two of a round trip's thread hand-offs.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select};

use super::{LinkId, NetError, NetInput, spawn_named};
use crate::protocol::{FrameDecoder, LinkMsg};

/// Frames a link's writer may have queued before the link counts as stalled.
pub const WRITE_QUEUE: usize = 1024;

/// How long a single blocked write may take before the link is declared dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds the link listener.
pub fn listen(addr: SocketAddr) -> Result<TcpListener, NetError> {
    TcpListener::bind(addr).map_err(|source| NetError::Bind {
        what: "link listener",
        addr,
        source,
    })
}

/// A new connection must send its first frame within this time.
pub const GREETING_TIMEOUT: Duration = Duration::from_secs(10);

/// Most accepted connections waiting for their first frame at once; beyond this, new
/// connections are closed at once (a flood of half-open connections costs bounded memory
/// and threads).
pub const MAX_GREETING: usize = 64;

/// The accept loop; stopped and joined on drop.
///
/// Each accepted connection gets a short-lived greeter thread that reads its first frame
/// (a link `hello`, or the header of a file stream) before the core sees it, so the core
/// can route the connection without ever blocking on it.
#[derive(Debug)]
pub struct Acceptor {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Connections still waiting for their first frame, by number. The acceptor keeps a
/// duplicate handle of each only so it can shut them down when it stops; each greeter
/// takes its own entry out (closing the duplicate) as soon as it is done, so a
/// connection the node refuses or later drops is closed at once, not when the next
/// connection happens to arrive.
type Greeting = Arc<Mutex<HashMap<u64, TcpStream>>>;

impl Acceptor {
    /// Accepts connections on `listener` and forwards each, with its first frame, as
    /// [`NetInput::Accepted`].
    pub fn spawn(listener: TcpListener, tx: Sender<NetInput>) -> io::Result<Acceptor> {
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = spawn_named("link-accept", move || accept_loop(&listener, &tx, &stop2))?;
        Ok(Acceptor {
            local,
            stop,
            thread: Some(thread),
        })
    }
}

fn accept_loop(listener: &TcpListener, tx: &Sender<NetInput>, stop: &AtomicBool) {
    let greeting: Greeting = Arc::default();
    let mut greeters: Vec<JoinHandle<()>> = Vec::new();
    let mut next = 0u64;
    for conn in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        greeters.retain(|t| !t.is_finished());
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
        let waiting = greeting.lock().map_or(MAX_GREETING, |g| g.len());
        if waiting >= MAX_GREETING {
            tracing::warn!("refusing connection from {peer}: {MAX_GREETING} still silent");
            continue;
        }
        let Ok(keep) = stream.try_clone() else {
            continue;
        };
        next += 1;
        let key = next;
        if let Ok(mut g) = greeting.lock() {
            g.insert(key, keep);
        }
        let (tx, greeting2) = (tx.clone(), greeting.clone());
        match spawn_named("link-greet", move || {
            greet(stream, peer, &tx, || {
                if let Ok(mut g) = greeting2.lock() {
                    g.remove(&key);
                }
            });
        }) {
            Ok(thread) => greeters.push(thread),
            Err(e) => {
                tracing::warn!("cannot start greeter for {peer}: {e}");
                if let Ok(mut g) = greeting.lock() {
                    g.remove(&key);
                }
            }
        }
    }
    if let Ok(g) = greeting.lock() {
        for s in g.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
    for t in greeters {
        let _ = t.join();
    }
}

/// Reads the first frame of an accepted connection and hands both to the core. `done`
/// is called once the greeting is over, before the stream is handed on or closed.
fn greet(mut stream: TcpStream, peer: SocketAddr, tx: &Sender<NetInput>, done: impl FnOnce()) {
    let first = read_first_frame(&mut stream);
    done();
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
        Err(reason) => {
            tracing::info!("dropping connection from {peer}: {reason}");
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// The whole first frame must arrive within [`GREETING_TIMEOUT`]: the deadline is for
/// the frame, not for each read, so a sender dripping a byte at a time is cut off too.
fn read_first_frame(stream: &mut TcpStream) -> Result<(LinkMsg, FrameDecoder), String> {
    let deadline = Instant::now() + GREETING_TIMEOUT;
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(body) = decoder.next_frame().map_err(|e| e.to_string())? {
            let msg = LinkMsg::decode(&body).map_err(|e| e.to_string())?;
            return Ok((msg, decoder));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no first frame within {GREETING_TIMEOUT:?}"));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(match decoder.finish() {
                    Ok(()) => "closed before saying anything".to_owned(),
                    Err(e) => format!("closed mid-frame: {e}"),
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
                return Err(format!("no first frame within {GREETING_TIMEOUT:?}"));
            }
            Err(e) => return Err(format!("read failed: {e}")),
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

/// Dials `addr` on a thread of its own and reports [`NetInput::Dialed`] with `peer`.
pub fn dial(peer: String, addr: SocketAddr, tx: Sender<NetInput>) -> io::Result<JoinHandle<()>> {
    spawn_named("link-dial", move || {
        let result = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
            .map_err(|e| format!("cannot connect to {addr}: {e}"));
        let _ = tx.send(NetInput::Dialed { peer, addr, result });
    })
}

/// One live TCP connection: its reader and writer threads. Dropping it closes the
/// socket and joins both threads.
#[derive(Debug)]
pub struct Link {
    stream: TcpStream,
    queue: Option<Sender<Vec<u8>>>,
    /// Frames handed to the writer thread and not yet written by it: while any are, new
    /// frames queue behind them (order); when none are, the core may write directly.
    behind: Arc<AtomicUsize>,
    _closed: Sender<()>,
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
    /// Our end (`getsockname`).
    pub local: SocketAddr,
    /// Their end (`getpeername`).
    pub remote: SocketAddr,
}

/// Why a frame could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The writer is behind by [`WRITE_QUEUE`] frames: the peer is not reading.
    Stalled,
    /// The writer has stopped (the link is going down).
    Closed,
}

impl Link {
    /// Starts the reader and writer threads for `stream`. `decoder` holds whatever was
    /// already read from it (bytes after the first frame of an accepted connection).
    pub fn spawn(
        id: LinkId,
        stream: TcpStream,
        decoder: FrameDecoder,
        tx: Sender<NetInput>,
    ) -> io::Result<Link> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        let (queue, queue_rx) = bounded::<Vec<u8>>(WRITE_QUEUE);
        let (closed, closed_rx) = bounded::<()>(0);
        let read_half = stream.try_clone()?;
        let write_half = stream.try_clone()?;
        let tx2 = tx.clone();
        let behind = Arc::new(AtomicUsize::new(0));
        let behind2 = behind.clone();
        let reader = spawn_named(&format!("link{id}-read"), move || {
            read_loop(id, read_half, decoder, &tx2, &closed_rx)
        })?;
        let writer = spawn_named(&format!("link{id}-write"), move || {
            write_loop(id, write_half, &queue_rx, &behind2, &tx)
        })?;
        Ok(Link {
            stream,
            queue: Some(queue),
            behind,
            _closed: closed,
            reader: Some(reader),
            writer: Some(writer),
            local,
            remote,
        })
    }

    /// Sends one encoded frame without blocking: straight into the socket when the
    /// writer is idle, the rest (or all of it) through the writer's queue.
    pub fn send_frame(&self, mut frame: Vec<u8>) -> Result<(), QueueError> {
        let Some(q) = &self.queue else {
            return Err(QueueError::Closed);
        };
        // Acquire: the writer's last write happened before its count reached zero.
        if self.behind.load(Ordering::Acquire) == 0 {
            let n = write_now(&self.stream, &frame);
            if n == frame.len() {
                return Ok(());
            }
            frame.drain(..n);
        }
        self.behind.fetch_add(1, Ordering::AcqRel);
        q.try_send(frame).map_err(|e| {
            self.behind.fetch_sub(1, Ordering::AcqRel);
            match e {
                TrySendError::Full(_) => QueueError::Stalled,
                TrySendError::Disconnected(_) => QueueError::Closed,
            }
        })
    }

    /// Encodes and queues a message.
    pub fn send(&self, msg: &LinkMsg) -> Result<(), QueueError> {
        let frame = msg.to_frame().map_err(|_| QueueError::Closed)?;
        self.send_frame(frame)
    }

    /// The socket's file descriptor, for the network panel.
    #[cfg(unix)]
    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.stream.as_raw_fd()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Frames still queued are dropped with the link: whatever they carried is either
        // in the outbox (chats, resent on the next link) or safe to lose (acks: the sender
        // resends and the receiver drops the duplicate).
        drop(self.queue.take());
        let _ = self.stream.shutdown(Shutdown::Both);
        for t in [self.writer.take(), self.reader.take()]
            .into_iter()
            .flatten()
        {
            let _ = t.join();
        }
    }
}

fn read_loop(
    id: LinkId,
    mut stream: TcpStream,
    mut decoder: FrameDecoder,
    tx: &Sender<NetInput>,
    closed: &Receiver<()>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let reason = 'outer: loop {
        // Frames already buffered first (the greeter may have read past the first one).
        loop {
            let input = match decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(body)) => match LinkMsg::decode(&body) {
                    Ok(msg) => NetInput::Frame {
                        link: id,
                        len: body.len(),
                        msg,
                    },
                    Err(e) => break 'outer format!("{e}"),
                },
                Err(e) => break 'outer format!("{e}"),
            };
            // Blocks while the core is busy (back-pressure on the peer), but never after
            // the link has been dropped.
            select! {
                send(tx, input) -> r => if r.is_err() { return },
                recv(closed) -> _ => return,
            }
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => match decoder.finish() {
                Ok(()) => break "closed by peer".to_owned(),
                Err(e) => break format!("closed by peer mid-frame: {e}"),
            },
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break format!("read failed: {e}"),
        };
        decoder.push(&buf[..n]);
    };
    select! {
        send(tx, NetInput::LinkDown { link: id, reason }) -> _ => {},
        recv(closed) -> _ => {},
    }
}

/// Writes as much of `frame` as the socket's buffer takes now, without blocking. Any
/// error counts as "nothing taken": the frame then goes through the writer thread, which
/// meets the same error and reports the link down with its reason.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn write_now(stream: &TcpStream, frame: &[u8]) -> usize {
    let sock = socket2::SockRef::from(stream);
    loop {
        match sock.send_with_flags(frame, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
            Ok(n) => return n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return 0,
        }
    }
}

/// Elsewhere every frame goes through the writer thread.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn write_now(_stream: &TcpStream, _frame: &[u8]) -> usize {
    0
}

fn write_loop(
    id: LinkId,
    mut stream: TcpStream,
    queue: &Receiver<Vec<u8>>,
    behind: &AtomicUsize,
    tx: &Sender<NetInput>,
) {
    for frame in queue {
        if let Err(e) = stream.write_all(&frame) {
            let reason = match e.kind() {
                io::ErrorKind::BrokenPipe => "broken pipe: the peer is gone".to_owned(),
                io::ErrorKind::ConnectionReset => "connection reset by peer".to_owned(),
                _ => format!("write failed: {e}"),
            };
            let _ = stream.shutdown(Shutdown::Both);
            let _ = tx.try_send(NetInput::LinkDown { link: id, reason });
            return;
        }
        // Release: the core sees the frame written before it sees the count drop.
        behind.fetch_sub(1, Ordering::AcqRel);
    }
    // Queue closed by the core: flush is done, say goodbye politely.
    let _ = stream.shutdown(Shutdown::Write);
}

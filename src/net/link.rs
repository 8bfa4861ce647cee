//! TCP links: the listener, dialing, and a reader and a writer thread per connection
//! (the accept loop and its greeters are in `accept`).
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

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

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

pub use super::accept::{Acceptor, GREETING_TIMEOUT};
pub use super::greeting::{MAX_GREETING, MAX_GREETING_PER_ADDR};

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

//! TCP links: the listener, dialing, and a reader and a writer thread per connection
//! (the accept loop and its greeters are in `accept`).
//!
//! Each link is one [`Conn`] split in two: the reader thread reads whole frames from its
//! half (one `send` is not one `recv`) and forwards them; end of stream means the peer
//! closed the conversation, never a message.
//! The writer drains a bounded queue, so the core never blocks on a slow peer: when the
//! queue is full the core drops the link instead. A write error (BrokenPipe, reset) is
//! reported as the link going down; the messages stay in the outbox.
//!
//! Frames are made (and sealed, on a secure transport) on the calling thread by
//! [`Link::send`], in order. While the writer has nothing queued, a frame goes straight
//! into the socket's buffer without blocking (`MSG_DONTWAIT`), and the writer gets only
//! what the kernel did not take: a chat or an ack leaves without waking a second thread,
//! which was two of a round trip's thread hand-offs.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select};

use super::conn::{Conn, ConnErrorKind, ReadHalf, Stopper, WriteHalf};
use super::error::NetError;
use super::input::{LinkId, NetInput};
use super::secure::{self, HandshakeStats};
use super::thread::spawn_named;
use crate::protocol::{LinkMsg, PeerId};
use crate::trust::KeyPair;

/// Frames a link's writer may have queued before the link counts as stalled.
pub const WRITE_QUEUE: usize = 1024;

/// How long a single blocked write may take before the link is declared dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a dial may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

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

/// How long a probe may wait for an answer: a refusal on a LAN comes back at once; a
/// peer that neither accepts nor refuses is not taken for gone.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a probe that connected listens for the port closing under it (see `dying`).
const PROBE_SETTLE: Duration = Duration::from_millis(300);

/// Connects to `addr` and hangs up, on a thread of its own, and reports
/// [`NetInput::Probed`]: `refused` when the connection was refused (a reset: nothing
/// listens there), or taken and then closed under us at once (a dying process's
/// listener, see `dying`). Timeouts and other errors are not a refusal.
pub fn probe(peer: PeerId, addr: SocketAddr, tx: Sender<NetInput>) -> io::Result<JoinHandle<()>> {
    spawn_named("link-probe", move || {
        let refused = match TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) {
            Ok(conn) => dying(&conn),
            Err(e) => e.kind() == io::ErrorKind::ConnectionRefused,
        };
        let _ = tx.send(NetInput::Probed {
            peer,
            addr,
            refused,
        });
    })
}

/// Whether a port that took our probe's connection is closing: a killed process's
/// sockets close one by one, so its link can close before its listener, which still
/// completes our connect from its backlog and resets it a moment later. A live node's
/// greeter stays silent, waiting for our handshake, until we hang up ([`PROBE_SETTLE`]).
fn dying(conn: &TcpStream) -> bool {
    use std::io::Read as _;
    if conn.set_read_timeout(Some(PROBE_SETTLE)).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    match (&*conn).read(&mut byte) {
        Ok(0) => true,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        ),
        Ok(_) => false,
    }
}

/// Dials `addr` on a thread of its own, runs the handshake as the initiator (only
/// `peer` may answer), and reports [`NetInput::Dialed`]. A failed handshake is counted
/// in `handshakes`.
pub fn dial(
    peer: PeerId,
    addr: SocketAddr,
    keys: Arc<KeyPair>,
    handshakes: Arc<HandshakeStats>,
    tx: Sender<NetInput>,
) -> io::Result<JoinHandle<()>> {
    spawn_named("link-dial", move || {
        let result = secure::connect(addr, DIAL_TIMEOUT, &keys, &peer)
            .map(|(conn, key)| (Box::new(conn), key));
        if let Err(e) = &result
            && e.is_handshake()
        {
            handshakes.failed(e.label());
        }
        let _ = tx.send(NetInput::Dialed { peer, addr, result });
    })
}

/// One live TCP connection: its reader and writer threads. [`Link::stop`] tells both to
/// stop and hands them over without waiting; dropping it stops and joins them.
pub struct Link {
    /// Frames are made (and sealed, on a secure transport) here, in order, before they
    /// go straight into the socket or to the writer thread.
    write: WriteHalf,
    /// Stops the reader (flag, and shutdown where that wakes it).
    stopper: Stopper,
    queue: Option<Sender<Vec<u8>>>,
    /// Frames handed to the writer thread and not yet written by it: while any are, new
    /// frames queue behind them (order); when none are, the core may write directly.
    behind: Arc<AtomicUsize>,
    _closed: Sender<()>,
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("local", &self.write.local())
            .field("remote", &self.write.remote())
            .finish()
    }
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
    /// Starts the reader and writer threads for `conn` (whatever it already read past
    /// its first frame is read first).
    pub fn spawn(id: LinkId, conn: Conn, tx: Sender<NetInput>) -> io::Result<Link> {
        conn.set_nodelay(true)?;
        let stopper = conn.stopper()?;
        let (read, write) = conn.split();
        write.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let (queue, queue_rx) = bounded::<Vec<u8>>(WRITE_QUEUE);
        let (closed, closed_rx) = bounded::<()>(0);
        let write_stream = write.try_clone_stream()?;
        let tx2 = tx.clone();
        let behind = Arc::new(AtomicUsize::new(0));
        let behind2 = behind.clone();
        let reader = spawn_named(&format!("link{id}-read"), move || {
            read_loop(id, read, &tx2, &closed_rx)
        })?;
        let writer = spawn_named(&format!("link{id}-write"), move || {
            write_loop(id, write_stream, &queue_rx, &behind2, &tx)
        })?;
        Ok(Link {
            write,
            stopper,
            queue: Some(queue),
            behind,
            _closed: closed,
            reader: Some(reader),
            writer: Some(writer),
        })
    }

    /// Sends one message without blocking: straight into the socket when the writer is
    /// idle, the rest (or all of it) through the writer's queue. Returns the frame's
    /// size on the wire.
    pub fn send(&mut self, msg: &LinkMsg) -> Result<usize, QueueError> {
        let Some(q) = &self.queue else {
            return Err(QueueError::Closed);
        };
        let mut frame = match self.write.frame(msg) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("cannot frame {}: {e}", msg.kind());
                return Err(QueueError::Closed);
            }
        };
        let len = frame.len();
        // Acquire: the writer's last write happened before its count reached zero.
        if self.behind.load(Ordering::Acquire) == 0 {
            let n = self.write.write_now(&frame);
            if n == len {
                return Ok(len);
            }
            frame.drain(..n);
        }
        self.behind.fetch_add(1, Ordering::AcqRel);
        q.try_send(frame).map(|()| len).map_err(|e| {
            self.behind.fetch_sub(1, Ordering::AcqRel);
            match e {
                TrySendError::Full(_) => QueueError::Stalled,
                TrySendError::Disconnected(_) => QueueError::Closed,
            }
        })
    }

    /// Our end (`getsockname`).
    pub fn local(&self) -> SocketAddr {
        self.write.local()
    }

    /// Their end (`getpeername`).
    pub fn remote(&self) -> SocketAddr {
        self.write.remote()
    }

    /// The socket's number (file descriptor, Windows `SOCKET`), for the network panel.
    pub fn fd(&self) -> i64 {
        self.write.fd()
    }
}

impl Link {
    /// Tells both threads to stop and returns them, not waiting: the reader returns at
    /// once (or within a tick where `shutdown()` wakes nothing); the writer when its
    /// queue is closed, or when its blocked write fails or times out. The socket closes
    /// with the last of them. So closing a link never waits on its peer, on any system.
    pub fn stop(mut self) -> Vec<JoinHandle<()>> {
        self.signal();
        [self.writer.take(), self.reader.take()]
            .into_iter()
            .flatten()
            .collect()
    }

    fn signal(&mut self) {
        // Frames still queued are dropped with the link: whatever they carried is either
        // in the outbox (chats, resent on the next link) or safe to lose (acks: the sender
        // resends and the receiver drops the duplicate).
        drop(self.queue.take());
        self.stopper.stop();
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.signal();
        for t in [self.writer.take(), self.reader.take()]
            .into_iter()
            .flatten()
        {
            let _ = t.join();
        }
    }
}

fn read_loop(id: LinkId, mut read: ReadHalf, tx: &Sender<NetInput>, closed: &Receiver<()>) {
    let reason = loop {
        let input = match read.recv(None) {
            Ok((len, msg)) => NetInput::Frame { link: id, len, msg },
            Err(e) => {
                break match e.kind {
                    ConnErrorKind::Closed => "closed by peer".to_owned(),
                    ConnErrorKind::ClosedMidFrame(f) => format!("closed by peer mid-frame: {f}"),
                    ConnErrorKind::Io(e) => format!("read failed: {e}"),
                    kind => kind.to_string(),
                };
            }
        };
        // Blocks while the core is busy (back-pressure on the peer), but never after
        // the link has been dropped.
        select! {
            send(tx, input) -> r => if r.is_err() { return },
            recv(closed) -> _ => return,
        }
    };
    select! {
        send(tx, NetInput::LinkDown { link: id, reason }) -> _ => {},
        recv(closed) -> _ => {},
    }
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

//! IPMsg file bytes over TCP: one thread per file, serving or fetching.
//!
//! IPMsg has no framing and no checksum on the data connection: after the `GETFILEDATA`
//! request the offering side writes the raw bytes from the offset to the end of the file
//! and closes. So the server sends exactly `size - offset` bytes of the file as it was
//! offered (a file that changed since is refused), and the fetcher reads exactly that
//! many into the `.part` (anything after is ignored) and reports; renaming the finished
//! `.part`, and deciding anything, is the core's. Threads are named, report to the
//! caller's channel as [`IpmsgInput::File`], and stop and are joined when their
//! [`FileThread`] is dropped.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use socket2::{Domain, Protocol, Socket, Type};

use super::IpmsgInput;
use crate::net::spawn_named;

/// A stalled peer: no byte moving for this long ends the transfer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a fetch waits for the connection to the offering peer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most progress reports per second and transfer.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Bytes per read or `sendfile` call: cancellation and progress are seen between them.
const CHUNK: usize = 256 << 10;

/// A file to serve on an accepted `GETFILEDATA` connection.
#[derive(Debug, Clone)]
pub struct ServeJob {
    /// The caller's id for this transfer, echoed in every report.
    pub job: u64,
    /// The file.
    pub path: PathBuf,
    /// Its size when offered (a file of another size now is refused).
    pub size: u64,
    /// First byte asked for.
    pub offset: u64,
}

/// A file to fetch from the peer that offered it.
#[derive(Debug, Clone)]
pub struct FetchJob {
    /// The caller's id for this transfer, echoed in every report.
    pub job: u64,
    /// The offering peer's IPMsg TCP address.
    pub addr: SocketAddrV4,
    /// The whole `GETFILEDATA` packet to send (built by the caller with the codec).
    pub request: Vec<u8>,
    /// The `.part` file: created if missing; bytes past `offset` are cut off.
    pub part: PathBuf,
    /// The offered size.
    pub size: u64,
    /// Bytes already in `.part`, asked for from there.
    pub offset: u64,
}

/// What a file thread says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The job's id.
    pub job: u64,
    /// Whether we are serving (`true`) or fetching.
    pub outgoing: bool,
    /// What happened.
    pub event: FileEvent,
}

/// Progress, or how a file thread ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEvent {
    /// Bytes of the file sent or received so far, counted from its start (at most every
    /// [`PROGRESS_EVERY`]; dropped when the channel is full).
    Progress {
        /// Bytes done, the offset included.
        bytes: u64,
    },
    /// All of it: served (and the receiver closed the connection, or did not within
    /// [`IO_TIMEOUT`] after the last byte), or in the `.part` (which the core renames).
    Done {
        /// The file's size.
        bytes: u64,
    },
    /// It stopped. A fetcher's `.part` keeps what arrived, for a resume.
    Failed {
        /// Bytes done, the offset included.
        bytes: u64,
        /// Why, in words (naming the peer or the path).
        reason: String,
        /// The connection broke or stalled: another try may finish it. Otherwise it is
        /// final (the file changed, a disk error, cancelled).
        broken: bool,
    },
}

/// A running file thread. Dropping it cancels the transfer (the socket is shut down so
/// a blocked read or write returns) and joins the thread.
#[derive(Debug)]
pub struct FileThread {
    cancel: Arc<AtomicBool>,
    socket: Arc<Mutex<Option<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FileThread {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        if let Ok(slot) = self.socket.lock()
            && let Some(s) = slot.as_ref()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How a transfer body reports: progress on the way, and the bytes done so far.
struct Run<'a, T> {
    job: u64,
    outgoing: bool,
    tx: &'a Sender<T>,
    cancel: &'a AtomicBool,
    bytes: u64,
    last: Instant,
}

impl<T: From<IpmsgInput>> Run<'_, T> {
    fn advance(&mut self, n: u64) -> Result<(), (String, bool)> {
        self.bytes += n;
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            let _ = self.tx.try_send(T::from(IpmsgInput::File(
                self.report(FileEvent::Progress { bytes: self.bytes }),
            )));
        }
        if self.cancel.load(Ordering::Relaxed) {
            return Err(("cancelled".into(), false));
        }
        Ok(())
    }

    fn report(&self, event: FileEvent) -> FileReport {
        FileReport {
            job: self.job,
            outgoing: self.outgoing,
            event,
        }
    }
}

/// Runs `body` on a thread named `name`, and reports how it ended.
fn spawn<T, F>(
    name: &str,
    job: u64,
    outgoing: bool,
    socket: Option<TcpStream>,
    tx: Sender<T>,
    body: F,
) -> io::Result<FileThread>
where
    T: From<IpmsgInput> + Send + 'static,
    F: FnOnce(&mut Run<'_, T>, &Mutex<Option<TcpStream>>) -> Result<(), (String, bool)>
        + Send
        + 'static,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let slot = Arc::new(Mutex::new(socket));
    let (c, s) = (cancel.clone(), slot.clone());
    let thread = spawn_named(name, move || {
        let mut run = Run {
            job,
            outgoing,
            tx: &tx,
            cancel: &c,
            bytes: 0,
            last: Instant::now(),
        };
        let result = body(&mut run, &s);
        // Close the connection now, not when the handle is dropped: the peer is waiting
        // for the end of the stream.
        if let Ok(mut slot) = s.lock()
            && let Some(sock) = slot.take()
        {
            let _ = sock.shutdown(Shutdown::Both);
        }
        let event = match result {
            Ok(()) => FileEvent::Done { bytes: run.bytes },
            Err((reason, broken)) => FileEvent::Failed {
                bytes: run.bytes,
                reason,
                broken,
            },
        };
        // The core may be stopping and joining us: do not wait for it for long.
        let report = T::from(IpmsgInput::File(run.report(event)));
        let _ = tx.send_timeout(report, Duration::from_secs(2));
    })?;
    Ok(FileThread {
        cancel,
        socket: slot,
        thread: Some(thread),
    })
}

/// Serves `job` on `stream` on a thread named `ipmsg-serve`.
pub fn spawn_serve<T>(job: ServeJob, stream: TcpStream, tx: Sender<T>) -> io::Result<FileThread>
where
    T: From<IpmsgInput> + Send + 'static,
{
    let keep = stream.try_clone().ok();
    spawn("ipmsg-serve", job.job, true, keep, tx, move |run, _| {
        serve(&job, stream, run)
    })
}

fn serve<T: From<IpmsgInput>>(
    job: &ServeJob,
    mut stream: TcpStream,
    run: &mut Run<'_, T>,
) -> Result<(), (String, bool)> {
    let path = job.path.display();
    let fatal = |what: String| (what, false);
    let mut file = File::open(&job.path).map_err(|e| fatal(format!("cannot open {path}: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| fatal(format!("{path}: {e}")))?
        .len();
    if len != job.size {
        return Err(fatal(format!(
            "{path} changed since it was offered ({} bytes then, {len} now)",
            job.size
        )));
    }
    if job.offset > job.size {
        return Err(fatal(format!(
            "offset {} is past the end of {path} ({} bytes)",
            job.offset, job.size
        )));
    }
    file.seek(SeekFrom::Start(job.offset))
        .map_err(|e| fatal(format!("cannot seek in {path}: {e}")))?;
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "the peer".to_owned(), |a| a.to_string());
    run.bytes = job.offset;
    let mut left = job.size - job.offset;
    while left > 0 {
        let want = left.min(CHUNK as u64);
        // io::copy from a file to a socket is sendfile(2) on Linux.
        let n = io::copy(&mut (&mut file).take(want), &mut stream)
            .map_err(|e| (format!("sending to {peer}: {e}"), true))?;
        if n == 0 {
            return Err(fatal(format!("{path} ended early")));
        }
        left -= n;
        run.advance(n)?;
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    await_close(&mut stream);
    Ok(())
}

/// Waits (at most [`IO_TIMEOUT`]) for the receiver to close its side, which it does
/// once it has every byte, so `Done` means "received" rather than "in our send buffer".
/// Whatever it sends meanwhile is read and dropped, up to 64 KiB.
fn await_close(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let mut sink = [0u8; 4096];
    let mut budget = 64 << 10;
    while budget > 0 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => budget -= n.min(budget),
        }
    }
}

/// Fetches `job` on a thread named `ipmsg-fetch`, connecting from `from` when given.
pub fn spawn_fetch<T>(
    job: FetchJob,
    from: Option<Ipv4Addr>,
    tx: Sender<T>,
) -> io::Result<FileThread>
where
    T: From<IpmsgInput> + Send + 'static,
{
    spawn("ipmsg-fetch", job.job, false, None, tx, move |run, slot| {
        fetch(&job, from, run, slot)
    })
}

fn fetch<T: From<IpmsgInput>>(
    job: &FetchJob,
    from: Option<Ipv4Addr>,
    run: &mut Run<'_, T>,
    slot: &Mutex<Option<TcpStream>>,
) -> Result<(), (String, bool)> {
    let part = job.part.display();
    let fatal = |what: String| (what, false);
    if job.offset > job.size {
        return Err(fatal(format!(
            "offset {} is past the offered size {}",
            job.offset, job.size
        )));
    }
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&job.part)
        .map_err(|e| fatal(format!("cannot open {part}: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| fatal(format!("{part}: {e}")))?
        .len();
    if len < job.offset {
        return Err(fatal(format!(
            "{part} holds {len} bytes, fewer than the offset {}",
            job.offset
        )));
    }
    if len > job.offset {
        file.set_len(job.offset)
            .map_err(|e| fatal(format!("cannot truncate {part}: {e}")))?;
    }
    file.seek(SeekFrom::Start(job.offset))
        .map_err(|e| fatal(format!("cannot seek in {part}: {e}")))?;
    run.bytes = job.offset;
    let addr = job.addr;
    let mut stream =
        connect(addr, from).map_err(|e| (format!("cannot connect to {addr}: {e}"), true))?;
    if let Ok(mut s) = slot.lock() {
        *s = stream.try_clone().ok();
    }
    if run.cancel.load(Ordering::Relaxed) {
        return Err(("cancelled".into(), false));
    }
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    stream
        .write_all(&job.request)
        .map_err(|e| (format!("cannot ask {addr} for the file: {e}"), true))?;
    let mut buf = vec![0u8; CHUNK];
    let mut left = job.size - job.offset;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match stream.read(&mut buf[..want]) {
            Ok(0) => {
                return Err((
                    format!("{addr} closed the connection {left} bytes before the end"),
                    true,
                ));
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((format!("reading from {addr}: {e}"), true)),
        };
        file.write_all(&buf[..n])
            .map_err(|e| fatal(format!("cannot write {part}: {e}")))?;
        left -= n as u64;
        run.advance(n as u64)?;
    }
    file.flush()
        .map_err(|e| fatal(format!("cannot write {part}: {e}")))?;
    Ok(())
}

/// Connects to `addr` within [`CONNECT_TIMEOUT`], from `from` when given (so
/// loopback-only mode never leaves loopback).
fn connect(addr: SocketAddrV4, from: Option<Ipv4Addr>) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(ip) = from {
        socket.bind(&SocketAddr::V4(SocketAddrV4::new(ip, 0)).into())?;
    }
    socket.connect_timeout(&SocketAddr::V4(addr).into(), CONNECT_TIMEOUT)?;
    Ok(socket.into())
}

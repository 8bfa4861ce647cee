//! File data connections: one thread per transfer moves the bytes, hashing beside the copy.
//!
//! Sending: the file goes to the socket with `std::io::copy`, which is `sendfile(2)` on
//! Linux (no copy through user space), in chunks so progress and cancellation are seen
//! between them; a second thread reads the same file (from the page cache) and hashes it
//! at the same time. Receiving: the socket is read into large pooled buffers, and a second
//! thread writes them to `<name>.part` and hashes them, so reading, writing and hashing
//! overlap. Neither side ever holds the core thread: results arrive as
//! [`NetInput::Transfer`]. Why it is built this way, and what it costs, is in
//! `docs/TRANSFERS.md`.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};

use super::{NetInput, spawn_named};
use crate::protocol::hash::FileHasher;
use crate::protocol::{FrameDecoder, LinkMsg, sanitize};

/// Most progress reports per second and transfer.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Bytes per `sendfile` call: small enough to see a cancel soon, large enough to cost
/// nothing.
const SEND_CHUNK: u64 = 8 << 20;

/// Receive buffers: size and how many are in flight between reader and writer.
const RECV_BUF: usize = 1 << 20;
const RECV_BUFS: usize = 8;

/// A stalled peer: no byte for this long ends the transfer.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// What a transfer thread tells the core.
#[derive(Debug)]
pub enum TransferReport {
    /// Bytes of the file now on the other side (sending) or received (receiving),
    /// counted from the start of the file, at most every [`PROGRESS_EVERY`].
    Progress {
        /// The transfer.
        transfer_id: String,
        /// Whether we are the sender.
        outgoing: bool,
        /// Bytes done, resumed ones included.
        bytes: u64,
    },
    /// The receiver verified the hash and stored the file.
    Done {
        /// The transfer.
        transfer_id: String,
        /// Whether we are the sender.
        outgoing: bool,
        /// Where the file landed (receiver), or the file sent (sender).
        path: PathBuf,
    },
    /// The transfer stopped. `keep_part`: the receiver kept the bytes to resume.
    Failed {
        /// The transfer.
        transfer_id: String,
        /// Whether we are the sender.
        outgoing: bool,
        /// Why, in words.
        reason: String,
    },
}

/// A running transfer thread. Dropping it stops the transfer (the socket is shut down,
/// so blocked reads and writes return) and joins the thread.
#[derive(Debug)]
pub struct StreamThread {
    cancel: Arc<AtomicBool>,
    socket: Arc<Mutex<Option<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        if let Some(s) = self.socket.lock().expect("socket slot").as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the sender needs to stream an accepted offer.
#[derive(Debug, Clone)]
pub struct SendJob {
    /// The transfer.
    pub transfer_id: String,
    /// The file.
    pub path: PathBuf,
    /// Its size when offered.
    pub size: u64,
    /// First byte the receiver wants.
    pub offset: u64,
    /// The receiver's link port.
    pub addr: SocketAddr,
    /// Bytes per second at most (`None`: as fast as the network goes).
    pub rate_limit: Option<u64>,
}

/// Starts streaming `job` on a thread named `xfer-send`; reports to `tx`.
pub fn spawn_send(job: SendJob, tx: Sender<NetInput>) -> io::Result<StreamThread> {
    let cancel = Arc::new(AtomicBool::new(false));
    let socket = Arc::new(Mutex::new(None));
    let (c, s) = (cancel.clone(), socket.clone());
    let thread = spawn_named("xfer-send", move || {
        let (id, path) = (job.transfer_id.clone(), job.path.clone());
        let report = match send(&job, &c, &s, &tx) {
            Ok(()) => TransferReport::Done {
                transfer_id: id,
                outgoing: true,
                path,
            },
            Err(reason) => TransferReport::Failed {
                transfer_id: id,
                outgoing: true,
                reason,
            },
        };
        finish(&tx, report);
    })?;
    Ok(StreamThread {
        cancel,
        socket,
        thread: Some(thread),
    })
}

fn send(
    job: &SendJob,
    cancel: &AtomicBool,
    slot: &Mutex<Option<TcpStream>>,
    tx: &Sender<NetInput>,
) -> Result<(), String> {
    let path = job.path.display();
    let mut file = File::open(&job.path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
    if len != job.size {
        return Err(format!(
            "{path} changed since it was offered ({} bytes then, {len} now)",
            job.size
        ));
    }
    let mut stream = TcpStream::connect_timeout(&job.addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot connect to {}: {e}", job.addr))?;
    *slot.lock().expect("socket slot") = stream.try_clone().ok();
    if cancel.load(Ordering::Relaxed) {
        return Err("cancelled".into());
    }
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let head = LinkMsg::FileData {
        transfer_id: job.transfer_id.clone(),
        offset: job.offset,
    };
    write_frame(&mut stream, &head)?;
    let hash = std::thread::scope(|s| {
        let hasher = std::thread::Builder::new()
            .name("xfer-hash".into())
            .spawn_scoped(s, || hash_file(&job.path, job.size, cancel))
            .map_err(|e| format!("cannot start the hash thread: {e}"))?;
        let sent = copy_out(job, &mut file, &mut stream, cancel, tx);
        if sent.is_err() {
            cancel.store(true, Ordering::Relaxed); // stop hashing too
        }
        let hash = hasher.join().map_err(|_| "the hash thread panicked")?;
        sent.and(hash)
    })?;
    write_frame(&mut stream, &LinkMsg::FileEnd { hash })?;
    match read_frame(&mut stream, &mut FrameDecoder::new())? {
        LinkMsg::FileDone { .. } => Ok(()),
        LinkMsg::FileCancel { reason, .. } => Err(format!("the receiver refused it: {reason}")),
        other => Err(format!("unexpected {:?} after file_end", other.kind())),
    }
}

/// Copies `[offset, size)` of the file to the socket with `sendfile`, in chunks.
fn copy_out(
    job: &SendJob,
    file: &mut File,
    stream: &mut TcpStream,
    cancel: &AtomicBool,
    tx: &Sender<NetInput>,
) -> Result<(), String> {
    file.seek(SeekFrom::Start(job.offset))
        .map_err(|e| format!("cannot seek in {}: {e}", job.path.display()))?;
    let chunk = job
        .rate_limit
        .map_or(SEND_CHUNK, |r| (r / 10).clamp(16 << 10, SEND_CHUNK));
    let started = Instant::now();
    let mut progress = Progress::new(&job.transfer_id, true, tx);
    let mut done = job.offset;
    while done < job.size {
        if cancel.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        let want = chunk.min(job.size - done);
        let n =
            io::copy(&mut Read::by_ref(file).take(want), stream).map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                    format!("the receiver closed the connection after {done} bytes")
                }
                _ => format!("sending failed after {done} bytes: {e}"),
            })?;
        if n == 0 {
            return Err(format!("{} shrank while being sent", job.path.display()));
        }
        done += n;
        progress.report(done, false);
        if let Some(rate) = job.rate_limit {
            let due = Duration::from_secs_f64((done - job.offset) as f64 / rate.max(1) as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait.min(PROGRESS_EVERY)); // pacing, not waiting
            }
        }
    }
    progress.report(done, true);
    Ok(())
}

/// Hashes `[0, size)` of the file at `path` (read again, from the page cache).
fn hash_file(path: &Path, size: u64, cancel: &AtomicBool) -> Result<String, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut hasher = FileHasher::new();
    hash_prefix(&mut file, size, &mut hasher, cancel)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(hasher.finish())
}

/// Feeds the first `len` bytes of `file` to `hasher`.
fn hash_prefix(
    file: &mut File,
    len: u64,
    hasher: &mut FileHasher,
    cancel: &AtomicBool,
) -> io::Result<()> {
    let mut buf = vec![0u8; RECV_BUF];
    let mut left = len;
    while left > 0 {
        if cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("cancelled"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// Where an accepted stream goes.
#[derive(Debug)]
pub struct RecvJob {
    /// The transfer.
    pub transfer_id: String,
    /// The `.part` file (exists; its first `offset` bytes are kept).
    pub part: PathBuf,
    /// Resume notes beside the data, removed when the file is complete.
    pub sidecar: PathBuf,
    /// The download folder.
    pub dir: PathBuf,
    /// The safe name the file should get.
    pub name: String,
    /// File size.
    pub size: u64,
    /// Bytes already in `.part`; the stream starts there.
    pub offset: u64,
}

/// Receives the raw bytes of `job` from `stream` (`pending`: bytes already read past the
/// `file_data` frame) on a thread named `xfer-recv`; reports to `tx`.
pub fn spawn_recv(
    job: RecvJob,
    stream: TcpStream,
    pending: Vec<u8>,
    tx: Sender<NetInput>,
) -> io::Result<StreamThread> {
    let cancel = Arc::new(AtomicBool::new(false));
    let socket = Arc::new(Mutex::new(stream.try_clone().ok()));
    let c = cancel.clone();
    let thread = spawn_named("xfer-recv", move || {
        let id = job.transfer_id.clone();
        let report = match receive(&job, stream, pending, &c, &tx) {
            Ok(path) => TransferReport::Done {
                transfer_id: id,
                outgoing: false,
                path,
            },
            Err(reason) => TransferReport::Failed {
                transfer_id: id,
                outgoing: false,
                reason,
            },
        };
        finish(&tx, report);
    })?;
    Ok(StreamThread {
        cancel,
        socket,
        thread: Some(thread),
    })
}

fn receive(
    job: &RecvJob,
    mut stream: TcpStream,
    pending: Vec<u8>,
    cancel: &AtomicBool,
    tx: &Sender<NetInput>,
) -> Result<PathBuf, String> {
    let part = job.part.display();
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(&job.part)
        .map_err(|e| format!("cannot open {part}: {e}"))?;
    file.set_len(job.offset)
        .and_then(|()| file.seek(SeekFrom::Start(job.offset)).map(drop))
        .map_err(|e| format!("cannot prepare {part}: {e}"))?;
    let mut raw_left = job.size - job.offset;
    let take = pending
        .len()
        .min(usize::try_from(raw_left).unwrap_or(usize::MAX));
    let mut decoder = FrameDecoder::new();
    decoder.push(&pending[take..]); // the trailer may already be here
    let (full_tx, full_rx) = bounded::<Vec<u8>>(RECV_BUFS);
    let (free_tx, free_rx) = bounded::<Vec<u8>>(RECV_BUFS);
    for _ in 0..RECV_BUFS {
        let _ = free_tx.send(Vec::with_capacity(RECV_BUF));
    }
    let hashed = std::thread::scope(|s| -> Result<String, String> {
        // Writer and hasher: the prefix already on disk first, then each buffer.
        let writer = std::thread::Builder::new()
            .name("xfer-write".into())
            .spawn_scoped(s, move || -> Result<String, String> {
                let mut hasher = FileHasher::new();
                let mut reader = File::open(&job.part).map_err(|e| format!("{part}: {e}"))?;
                hash_prefix(&mut reader, job.offset, &mut hasher, cancel)
                    .map_err(|e| format!("cannot read back {part}: {e}"))?;
                for buf in full_rx {
                    file.write_all(&buf)
                        .map_err(|e| format!("cannot write {part}: {e}"))?;
                    hasher.update(&buf);
                    let _ = free_tx.send(buf);
                }
                Ok(hasher.finish())
            })
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        let mut progress = Progress::new(&job.transfer_id, false, tx);
        let mut got = job.offset;
        let mut first = Some(pending[..take].to_vec());
        let read = (|| -> Result<(), String> {
            while raw_left > 0 {
                let mut buf = free_rx.recv().map_err(|_| "the writer stopped")?;
                buf.clear();
                if let Some(head) = first.take() {
                    buf.extend_from_slice(&head);
                }
                let want = RECV_BUF.min(usize::try_from(raw_left).unwrap_or(usize::MAX));
                fill(&mut stream, &mut buf, want, cancel).map_err(|e| {
                    format!("stream ended after {} of {} bytes: {e}", got, job.size)
                })?;
                raw_left -= buf.len() as u64;
                got += buf.len() as u64;
                progress.report(got, raw_left == 0);
                full_tx.send(buf).map_err(|_| "the writer stopped")?;
            }
            Ok(())
        })();
        drop(full_tx);
        let written = writer.join().map_err(|_| "the writer thread panicked")?;
        // A disk error explains a stopped read better than the read's own error.
        written.and_then(|hash| read.map(|()| hash))
    })?;
    let LinkMsg::FileEnd { hash } = read_frame(&mut stream, &mut decoder)? else {
        return Err("expected file_end after the data".into());
    };
    if hash != hashed {
        let reason = format!("hash mismatch (sent {hash}, received {hashed})");
        let _ = fs::remove_file(&job.part);
        let _ = fs::remove_file(&job.sidecar);
        let _ = write_frame(
            &mut stream,
            &LinkMsg::FileCancel {
                transfer_id: job.transfer_id.clone(),
                reason: reason.clone(),
            },
        );
        return Err(format!(
            "{reason}: the file arrived corrupted and was not kept"
        ));
    }
    let path = promote(&job.part, &job.dir, &job.name)?;
    let _ = fs::remove_file(&job.sidecar);
    let done = LinkMsg::FileDone {
        transfer_id: job.transfer_id.clone(),
    };
    let _ = write_frame(&mut stream, &done);
    Ok(path)
}

/// Reads until `buf` holds `want` bytes.
fn fill(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    want: usize,
    cancel: &AtomicBool,
) -> io::Result<()> {
    while buf.len() < want {
        if cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("cancelled"));
        }
        let have = buf.len();
        buf.resize(want, 0);
        match stream.read(&mut buf[have..]) {
            Ok(0) => {
                buf.truncate(have);
                return Err(io::Error::other("closed by the sender"));
            }
            Ok(n) => buf.truncate(have + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(have),
            Err(e) => {
                buf.truncate(have);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Renames a verified `.part` to the first free name in `dir`, never replacing a file:
/// the name is claimed with `create_new` first, then the part is renamed over the claim.
pub fn promote(part: &Path, dir: &Path, name: &str) -> Result<PathBuf, String> {
    for candidate in sanitize::candidates(name) {
        let path = dir.join(&candidate);
        match File::options().write(true).create_new(true).open(&path) {
            Ok(_) => {
                return fs::rename(part, &path)
                    .map(|()| path)
                    .map_err(|e| format!("cannot rename {} to {candidate}: {e}", part.display()));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    }
    Err(format!("no free name for {name} in {}", dir.display()))
}

fn write_frame(stream: &mut TcpStream, msg: &LinkMsg) -> Result<(), String> {
    let frame = msg.to_frame().map_err(|e| e.to_string())?;
    stream
        .write_all(&frame)
        .map_err(|e| format!("cannot send {}: {e}", msg.kind()))
}

fn read_frame(stream: &mut TcpStream, decoder: &mut FrameDecoder) -> Result<LinkMsg, String> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(body) = decoder.next_frame().map_err(|e| e.to_string())? {
            return LinkMsg::decode(&body).map_err(|e| e.to_string());
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err("the connection closed before the final frame".into()),
            Ok(n) => decoder.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("waiting for the final frame: {e}")),
        }
    }
}

/// Sends the final report; gives up after a while if the core has stopped reading (it is
/// shutting down and joining this thread).
fn finish(tx: &Sender<NetInput>, report: TransferReport) {
    let _ = tx.send_timeout(NetInput::Transfer(report), Duration::from_secs(2));
}

/// Rate-limited progress reports.
struct Progress<'a> {
    transfer_id: &'a str,
    outgoing: bool,
    tx: &'a Sender<NetInput>,
    last: Instant,
}

impl<'a> Progress<'a> {
    fn new(transfer_id: &'a str, outgoing: bool, tx: &'a Sender<NetInput>) -> Self {
        let last = Instant::now();
        Progress {
            transfer_id,
            outgoing,
            tx,
            last,
        }
    }

    fn report(&mut self, bytes: u64, last: bool) {
        if !last && self.last.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.last = Instant::now();
        // A progress report may be dropped when the core is busy; the next one says more.
        let _ = self
            .tx
            .try_send(NetInput::Transfer(TransferReport::Progress {
                transfer_id: self.transfer_id.to_owned(),
                outgoing: self.outgoing,
                bytes,
            }));
    }
}

//! The sending side: `sendfile` to the socket, a hash thread reading the same file.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::{
    Failure, IO_TIMEOUT, PROGRESS_EVERY, Progress, StreamId, StreamThread, hash_prefix, read_final,
};
use crate::net::conn::{Conn, Stopper};
use crate::net::input::NetInput;
use crate::protocol::LinkMsg;
use crate::protocol::hash::FileHasher;

/// Bytes per `sendfile` call: small enough to see a cancel soon, large enough to cost
/// nothing.
const SEND_CHUNK: u64 = 8 << 20;

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

/// Starts streaming `job` on a thread named `xfer-send`; reports to `tx` as `stream`.
pub fn spawn_send(
    stream: StreamId,
    job: SendJob,
    tx: Sender<NetInput>,
) -> io::Result<StreamThread> {
    let id = job.transfer_id.clone();
    StreamThread::spawn(
        "xfer-send",
        stream,
        id,
        true,
        None,
        tx,
        move |cancel, slot, tx| send(&job, cancel, slot, tx).map(|()| job.path.clone()),
    )
}

fn send(
    job: &SendJob,
    cancel: &AtomicBool,
    slot: &Mutex<Option<Stopper>>,
    tx: &Sender<NetInput>,
) -> Result<(), Failure> {
    let path = job.path.display();
    let mut file = File::open(&job.path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
    if len != job.size {
        return Err(Failure::changed(format!(
            "{path} changed since it was offered ({} bytes then, {len} now)",
            job.size
        )));
    }
    let mut conn = Conn::connect(job.addr, Duration::from_secs(5))
        .map_err(|e| Failure::broken(format!("cannot connect to {}: {e}", job.addr)))?;
    *slot.lock().expect("socket slot") = conn.stopper().ok();
    if cancel.load(Ordering::Relaxed) {
        return Err("cancelled".into());
    }
    let _ = conn.set_idle_timeout(Some(IO_TIMEOUT));
    let head = LinkMsg::FileData {
        transfer_id: job.transfer_id.clone(),
        offset: job.offset,
    };
    conn.send(&head)
        .map_err(|e| Failure::broken(format!("cannot send file_data: {}", e.kind)))?;
    let hash = std::thread::scope(|s| -> Result<String, Failure> {
        let hasher = std::thread::Builder::new()
            .name("xfer-hash".into())
            .spawn_scoped(s, || hash_file(&job.path, job.size, cancel))
            .map_err(|e| format!("cannot start the hash thread: {e}"))?;
        let sent = match conn.raw_stream() {
            Ok(stream) => copy_out(job, &mut file, stream, cancel, tx),
            Err(e) => Err(e.to_string()),
        };
        if sent.is_err() {
            cancel.store(true, Ordering::Relaxed); // stop hashing too
        }
        let hash = hasher.join().map_err(|_| "the hash thread panicked")?;
        sent.map_err(Failure::broken)
            .and(hash.map_err(Failure::from))
    })?;
    // Nagle let the bulk go in full segments; the trailer goes out at once.
    let _ = conn.set_nodelay(true);
    conn.send(&LinkMsg::FileEnd { hash })
        .map_err(|e| Failure::broken(format!("cannot send file_end: {}", e.kind)))?;
    match read_final(&mut conn).map_err(Failure::broken)? {
        LinkMsg::FileDone { .. } => Ok(()),
        LinkMsg::FileCancel { reason, .. } => Err(Failure::mismatch(format!(
            "the receiver refused it: {reason}"
        ))),
        other => Err(format!("unexpected {:?} after file_end", other.kind()).into()),
    }
}

/// Sends `len` bytes of `file` starting at `offset` to `stream`, returning how many went
/// (fewer only if the file ends first). On Linux this is `sendfile(2)`: the kernel moves
/// page-cache pages to the socket with no copy through user space. (`std::io::copy`
/// refuses sendfile from a file to a socket, because a later change to the file could
/// still reach the peer; here the hash catches that.) Elsewhere, a plain copy
/// ([`crate::platform::files::send_file`]).
pub fn send_range(file: &File, stream: &TcpStream, offset: u64, len: u64) -> io::Result<u64> {
    let mut at = offset;
    send_from(file, stream, &mut at, offset + len)?;
    Ok(at - offset)
}

/// [`send_range`] from `*at` to `end`, moving `*at` past every byte the socket took, also
/// when it fails part-way (so an error can say how far it got).
fn send_from(file: &File, stream: &TcpStream, at: &mut u64, end: u64) -> io::Result<()> {
    crate::platform::files::send_file(file, stream, at, end)
}

/// Copies `[offset, size)` of the file to the socket with `sendfile`, in chunks.
fn copy_out(
    job: &SendJob,
    file: &mut File,
    stream: &TcpStream,
    cancel: &AtomicBool,
    tx: &Sender<NetInput>,
) -> Result<(), String> {
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
        let before = done;
        send_from(file, stream, &mut done, before + want).map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                format!("the receiver closed the connection after {done} bytes")
            }
            _ => format!("sending failed after {done} bytes: {e}"),
        })?;
        if done == before {
            return Err(format!("{} shrank while being sent", job.path.display()));
        }
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

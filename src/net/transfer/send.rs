//! The sending side: a handshake that proves the receiver, then the file as sealed
//! chunks (read, hashed while in the cache, sealed in place, written), then the hash.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::folder_send::{FolderSend, send_folder};
use super::{Failure, IO_TIMEOUT, PROGRESS_EVERY, Progress, StreamId, StreamThread, hash_prefix};
use crate::net::conn::{FileReader, FileWriter, Stopper};
use crate::net::input::NetInput;
use crate::net::secure::{self, HandshakeStats};
use crate::protocol::hash::FileHasher;
use crate::protocol::{LinkMsg, PeerId};
use crate::trust::KeyPair;
use crate::trust::file_stream::CHUNK;

/// How long connecting to the receiver may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the sender needs to stream an accepted offer.
#[derive(Debug, Clone)]
pub struct SendJob {
    /// The transfer.
    pub transfer_id: String,
    /// The receiver: only this peer's key may answer the data connection.
    pub peer: PeerId,
    /// The file.
    pub path: PathBuf,
    /// Its size when offered.
    pub size: u64,
    /// First byte the receiver wants.
    pub offset: u64,
    /// The receiver's link port.
    pub addr: SocketAddr,
    /// Bytes per second at most (`None`: as fast as the network goes). Single files only.
    pub rate_limit: Option<u64>,
    /// A folder: its manifest and files (`path` is then the folder, `size` the sum).
    pub folder: Option<Arc<FolderSend>>,
}

/// Starts streaming `job` on a thread named `xfer-send`, proving `keys`; reports to `tx`
/// as `stream`. A failed handshake is counted in `handshakes`.
pub fn spawn_send(
    stream: StreamId,
    job: SendJob,
    keys: Arc<KeyPair>,
    handshakes: Arc<HandshakeStats>,
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
        move |cancel, slot, tx| {
            let ours = Ours {
                keys: &keys,
                handshakes: &handshakes,
                cancel,
                tx,
            };
            send(&job, &ours, slot).map(|()| job.path.clone())
        },
    )
}

/// What a sending thread works with besides its job.
pub(super) struct Ours<'a> {
    keys: &'a KeyPair,
    handshakes: &'a HandshakeStats,
    pub(super) cancel: &'a AtomicBool,
    pub(super) tx: &'a Sender<NetInput>,
}

fn send(job: &SendJob, ours: &Ours<'_>, slot: &Mutex<Option<Stopper>>) -> Result<(), Failure> {
    let path = job.path.display();
    let file = match &job.folder {
        Some(_) => None,
        None => Some(File::open(&job.path).map_err(|e| format!("cannot open {path}: {e}"))?),
    };
    if let Some(file) = &file {
        let len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
        if len != job.size {
            return Err(Failure::changed(format!(
                "{path} changed since it was offered ({} bytes then, {len} now)",
                job.size
            )));
        }
    }
    let (mut conn, _) =
        secure::connect(job.addr, CONNECT_TIMEOUT, ours.keys, &job.peer).map_err(|e| {
            if e.is_handshake() {
                ours.handshakes.failed(e.label());
            }
            Failure::broken(e.to_string())
        })?;
    *slot.lock().expect("socket slot") = conn.stopper().ok();
    if ours.cancel.load(Ordering::Relaxed) {
        return Err("cancelled".into());
    }
    let _ = conn.set_idle_timeout(Some(IO_TIMEOUT));
    let head = LinkMsg::FileData {
        transfer_id: job.transfer_id.clone(),
        offset: job.offset,
    };
    conn.send(&head)
        .map_err(|e| Failure::broken(format!("cannot send file_data: {}", e.kind)))?;
    let (mut out, mut back) = conn.into_file_stream().map_err(|e| e.to_string())?;
    let (Some(mut file), None) = (file, &job.folder) else {
        let folder = job
            .folder
            .as_deref()
            .expect("a folder when there is no file");
        let conn = (&mut out, &mut back);
        return send_folder(&job.transfer_id, job.offset, folder, conn, ours);
    };
    let hash = if job.offset == 0 {
        // Hashed as it is read, while each chunk is still in the cache.
        let mut hasher = FileHasher::new();
        copy_out(job, &mut file, &mut out, ours, Some(&mut hasher)).map_err(Failure::broken)?;
        hasher.finish()
    } else {
        // A resume: the hash covers the bytes the receiver already has too, so a second
        // thread reads the whole file (from the page cache, usually) meanwhile.
        std::thread::scope(|s| -> Result<String, Failure> {
            let hasher = std::thread::Builder::new()
                .name("xfer-hash".into())
                .spawn_scoped(s, || hash_file(&job.path, job.size, ours.cancel))
                .map_err(|e| format!("cannot start the hash thread: {e}"))?;
            let sent = copy_out(job, &mut file, &mut out, ours, None);
            if sent.is_err() {
                ours.cancel.store(true, Ordering::Relaxed); // stop hashing too
            }
            let hash = hasher.join().map_err(|_| "the hash thread panicked")?;
            sent.map_err(Failure::broken)
                .and(hash.map_err(Failure::from))
        })?
    };
    // Nagle let the bulk go in full segments; the trailer goes out at once.
    let _ = out.get_mut().set_nodelay(true);
    out.write_frame(&LinkMsg::FileEnd { hash }.to_body())
        .map_err(|e| Failure::broken(format!("cannot send file_end: {e}")))?;
    match read_verdict(&mut back).map_err(Failure::broken)? {
        LinkMsg::FileDone { .. } => Ok(()),
        LinkMsg::FileCancel { reason, .. } => Err(Failure::mismatch(format!(
            "the receiver refused it: {reason}"
        ))),
        other => Err(format!("unexpected {:?} after file_end", other.kind()).into()),
    }
}

/// The receiver's answer after `file_end`, within [`IO_TIMEOUT`] (the socket's timeout).
pub(super) fn read_verdict(back: &mut FileReader) -> Result<LinkMsg, String> {
    let body = back.read_frame().map_err(|e| match e.label() {
        "truncated" => "the connection closed before the final frame".to_owned(),
        _ => format!("waiting for the final frame: {e}"),
    })?;
    LinkMsg::decode(body).map_err(|e| format!("the final frame: {e}"))
}

/// Sends `len` bytes of `file` starting at `offset` to `stream` in clear, returning how
/// many went (fewer only if the file ends first). **Not used by lanchat** (its file bytes
/// are sealed): the raw baseline its benchmarks compare with. On Linux this is
/// `sendfile(2)`: the kernel moves
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

/// Sends `[offset, size)` of the file as sealed chunks, each read straight into the
/// frame buffer and, with `hasher`, hashed there before it is sealed.
fn copy_out(
    job: &SendJob,
    file: &mut File,
    out: &mut FileWriter,
    ours: &Ours<'_>,
    mut hasher: Option<&mut FileHasher>,
) -> Result<(), String> {
    let chunk = job
        .rate_limit
        .map_or(CHUNK as u64, |r| (r / 10).clamp(16 << 10, CHUNK as u64));
    file.seek(SeekFrom::Start(job.offset))
        .map_err(|e| format!("cannot seek in {}: {e}", job.path.display()))?;
    let started = Instant::now();
    let mut progress = Progress::new(&job.transfer_id, true, ours.tx);
    let mut done = job.offset;
    while done < job.size {
        if ours.cancel.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        let want = usize::try_from(chunk.min(job.size - done)).unwrap_or(CHUNK);
        let n = out
            .write_chunk(&job.transfer_id, done, want, |buf| {
                let n = read_full(file, buf)?;
                if let Some(h) = hasher.as_deref_mut() {
                    h.update(&buf[..n]);
                }
                Ok(n)
            })
            .map_err(|e| match e.label() {
                "io" => format!("sending failed after {done} bytes: {e}"),
                _ => format!("cannot send after {done} bytes: {e}"),
            })?;
        if n == 0 {
            return Err(format!("{} shrank while being sent", job.path.display()));
        }
        done += n as u64;
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

/// Reads until `buf` is full or the file ends; returns how many bytes.
pub(super) fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Hashes `[0, size)` of the file at `path` (read again, from the page cache).
fn hash_file(path: &Path, size: u64, cancel: &AtomicBool) -> Result<String, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut hasher = FileHasher::new();
    hash_prefix(&mut file, size, &mut hasher, cancel)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(hasher.finish())
}

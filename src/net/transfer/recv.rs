//! The receiving side: each sealed chunk opened, written to the `.part` and hashed while
//! it is hot.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};

use super::folder_recv::{FolderRecv, receive_folder};
use super::{Failure, IO_TIMEOUT, Progress, StreamId, StreamThread, promote};
use crate::net::conn::{Conn, FileReader, FileWriter};
use crate::net::input::NetInput;
use crate::protocol::LinkMsg;
use crate::protocol::hash::FileHasher;
use crate::trust::file_stream::CHUNK;

/// Most bytes read, written and hashed at a time: small enough to stay in the L2 cache
/// between the read, the write and the hash. (1 MiB measured up to twice the CPU time in
/// the page-cache copy on this machine, whose L2 is 1 MiB per core.)
pub const RECV_BUF: usize = 256 << 10;

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
    /// A folder: `part` is then the `.part` folder, `size` the sum of its files and
    /// `offset` the folder stream's ([`super::resume_offset`]).
    pub folder: Option<FolderRecv>,
}

/// Receives the sealed chunks of `job` from `conn` (secure, and which already read the
/// `file_data` frame, and maybe bytes past it) on a thread named `xfer-recv`; reports to
/// `tx` as `stream`.
pub fn spawn_recv(
    stream: StreamId,
    job: RecvJob,
    conn: Conn,
    tx: Sender<NetInput>,
) -> io::Result<StreamThread> {
    let id = job.transfer_id.clone();
    let slot = conn.stopper().ok();
    StreamThread::spawn(
        "xfer-recv",
        stream,
        id,
        false,
        slot,
        tx,
        move |cancel, _, tx| receive(&job, conn, cancel, tx),
    )
}

fn receive(
    job: &RecvJob,
    mut conn: Conn,
    cancel: &AtomicBool,
    tx: &Sender<NetInput>,
) -> Result<PathBuf, Failure> {
    let part = job.part.display();
    let _ = conn.set_idle_timeout(Some(IO_TIMEOUT));
    let (mut back, mut stream) = conn.into_file_stream().map_err(|e| e.to_string())?;
    if let Some(info) = &job.folder {
        return receive_folder(job, info, (&mut back, &mut stream), cancel, tx);
    }
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(&job.part)
        .map_err(|e| format!("cannot open {part}: {e}"))?;
    // Cut anything past the offset, but never truncate when there is nothing to cut: on
    // ext4, a file truncated and rewritten is flushed to disk in full when closed.
    let len = file.metadata().map_err(|e| format!("{part}: {e}"))?.len();
    if len != job.offset {
        file.set_len(job.offset)
            .map_err(|e| format!("cannot truncate {part}: {e}"))?;
    }
    file.seek(SeekFrom::Start(job.offset))
        .map_err(|e| format!("cannot seek in {part}: {e}"))?;
    reserve(&file, job.offset, job.size - job.offset).map_err(|e| {
        format!(
            "cannot reserve {} bytes for {part}: {e}",
            job.size - job.offset
        )
    })?;
    let hashed = copy_in(job, &mut file, &mut stream, cancel, tx)?;
    let end = stream
        .read_frame()
        .map_err(|e| Failure::broken(format!("waiting for file_end: {e}")))
        .and_then(|body| LinkMsg::decode(body).map_err(|e| Failure::from(e.to_string())))?;
    let LinkMsg::FileEnd { hash } = end else {
        return Err("expected file_end after the data".into());
    };
    if hash != hashed {
        let reason = format!("hash mismatch (sent {hash}, received {hashed})");
        let _ = fs::remove_file(&job.part);
        let _ = fs::remove_file(&job.sidecar);
        verdict(
            &mut back,
            &LinkMsg::FileCancel {
                transfer_id: job.transfer_id.clone(),
                reason: reason.clone(),
            },
        );
        return Err(Failure::mismatch(format!(
            "{reason}: the file arrived corrupted and was not kept"
        )));
    }
    let path = promote(&job.part, &job.dir, &job.name)?;
    let _ = fs::remove_file(&job.sidecar);
    let done = LinkMsg::FileDone {
        transfer_id: job.transfer_id.clone(),
    };
    verdict(&mut back, &done);
    Ok(path)
}

/// Tells the sender how it ended (best effort: the file is kept or refused either way).
fn verdict(back: &mut FileWriter, msg: &LinkMsg) {
    if let Err(e) = back.write_frame(&msg.to_body()) {
        tracing::debug!("cannot send {}: {e}", msg.kind());
    }
}

/// Reserves the disk blocks for `[offset, offset + len)` before the bytes arrive, without
/// changing the file's length (which stays "bytes received", the resume offset).
///
/// Two reasons: a full disk shows up now, as a clear failure, instead of gigabytes later;
/// and writing into reserved blocks skips ext4's per-page delayed-allocation bookkeeping,
/// which measured ~0.07 s of CPU per GiB here (a quarter of the write path's system
/// time; `docs/TRANSFERS.md`). File systems without `fallocate` (FAT, some network file
/// systems) just write as before; so does every system but Linux
/// ([`crate::platform::files::reserve`]).
pub fn reserve(file: &File, offset: u64, len: u64) -> io::Result<()> {
    crate::platform::files::reserve(file, offset, len)
}

/// Opens each chunk in one buffer, writes and hashes it while it is still in the CPU's
/// cache; returns the hash of the whole file.
/// On a resume the prefix already on disk must be hashed first, which takes as long as
/// reading it: rather than leave the sender blocked (and timing out) meanwhile, a
/// `xfer-rehash` thread reads the `.part` from the start, following the bytes written,
/// while they keep arriving. What arrived before a break is written, so a resume starts
/// after it.
fn copy_in(
    job: &RecvJob,
    file: &mut File,
    conn: &mut FileReader,
    cancel: &AtomicBool,
    tx: &Sender<NetInput>,
) -> Result<String, Failure> {
    if job.offset == 0 {
        let mut hasher = FileHasher::new();
        receive_into(job, file, conn, cancel, tx, &mut |b| hasher.update(b))?;
        return Ok(hasher.finish());
    }
    let written = AtomicU64::new(job.offset);
    let (more_tx, more_rx) = bounded::<()>(1);
    std::thread::scope(|s| -> Result<String, Failure> {
        let rehash = std::thread::Builder::new()
            .name("xfer-rehash".into())
            .spawn_scoped(s, || follow_and_hash(job, &written, &more_rx, cancel))
            .map_err(|e| format!("cannot start the hash thread: {e}"))?;
        let received = receive_into(job, file, conn, cancel, tx, &mut |b| {
            written.fetch_add(b.len() as u64, Ordering::Release);
            let _ = more_tx.try_send(()); // a wake-up is already pending if full
        });
        drop(more_tx);
        if received.is_err() {
            cancel.store(true, Ordering::Relaxed); // the transfer is over: stop re-reading
        }
        let hash = rehash.join().map_err(|_| "the hash thread panicked")?;
        received.and(hash.map_err(Failure::from))
    })
}

/// Hashes `[0, size)` of the `.part`, never reading past what `written` says is there;
/// waits on `more` when it has caught up. Ends with an error if the writer stops early.
fn follow_and_hash(
    job: &RecvJob,
    written: &AtomicU64,
    more: &Receiver<()>,
    cancel: &AtomicBool,
) -> Result<String, String> {
    let part = job.part.display();
    let mut f = File::open(&job.part).map_err(|e| format!("cannot read back {part}: {e}"))?;
    let mut hasher = FileHasher::new();
    let mut buf = vec![0u8; RECV_BUF];
    let mut done = 0u64;
    while done < job.size {
        if cancel.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        let avail = written.load(Ordering::Acquire);
        if avail == done {
            if more.recv().is_err() && written.load(Ordering::Acquire) == done {
                return Err("the stream stopped".into());
            }
            continue;
        }
        let want = buf
            .len()
            .min(usize::try_from(avail - done).unwrap_or(usize::MAX));
        f.read_exact(&mut buf[..want])
            .map_err(|e| format!("cannot read back {part}: {e}"))?;
        hasher.update(&buf[..want]);
        done += want as u64;
    }
    Ok(hasher.finish())
}

/// The receive loop: each chunk from the connection is written, then handed to `seen`.
fn receive_into(
    job: &RecvJob,
    file: &mut File,
    conn: &mut FileReader,
    cancel: &AtomicBool,
    tx: &Sender<NetInput>,
    seen: &mut dyn FnMut(&[u8]),
) -> Result<(), Failure> {
    let part = job.part.display();
    let mut left = job.size - job.offset;
    let mut got = job.offset;
    let mut progress = Progress::new(&job.transfer_id, false, tx);
    while left > 0 {
        if cancel.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        let max = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        // Each chunk is opened, written and hashed at once, while it is still in this
        // core's cache: gathering a larger buffer over several reads first measured up
        // to 4x the CPU time in the page-cache copy, because the other threads of the
        // transfer evict it in between.
        let chunk = conn.read_chunk(&job.transfer_id, got, max).map_err(|e| {
            let why = match e.label() {
                "truncated" => "closed by the sender".to_owned(),
                _ => e.to_string(),
            };
            Failure::broken(format!(
                "stream ended after {got} of {} bytes: {why}",
                job.size
            ))
        })?;
        file.write_all(chunk)
            .map_err(|e| format!("cannot write {part}: {e}"))?;
        seen(chunk);
        got += chunk.len() as u64;
        left -= chunk.len() as u64;
        progress.report(got, left == 0);
    }
    Ok(())
}

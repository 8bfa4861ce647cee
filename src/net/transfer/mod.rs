//! File data connections: one thread per transfer moves the bytes, hashing beside the copy.
//!
//! Every data connection starts with the Noise handshake (`net::secure`): the sender
//! dials, and only the receiver's key may answer; the receiver's greeter learns the
//! sender's key, which the core checks against the transfer's peer. Then the bytes travel
//! as sealed chunks (`trust::file_stream`), each bound to the transfer and its offset.
//!
//! Sending: each chunk (256 KiB) is read from the file straight into the frame buffer,
//! hashed there while it is in the L2 cache, sealed in place and written; on a resume a
//! second thread hashes the whole file meanwhile. Receiving: each chunk is read into one
//! reused buffer, opened in place, written to `<name>.part` and hashed while it is still
//! in the cache (XXH3 runs at ~29 GB/s on one core here; AES-256-GCM at several GB/s).
//! Neither side ever holds the core thread: results arrive as [`NetInput::Transfer`].
//! Why it is built this way, and what it costs, is in `docs/TRANSFERS.md`.
//! [`send_range`] (`sendfile(2)`, in clear) stays only as the benchmarks' raw baseline.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

mod folder_recv;
mod folder_send;
mod recv;
mod send;

pub use super::report::{Failure, FailureKind, StreamId, TransferReport};
pub use folder_recv::{FolderRecv, resume_offset};
pub use folder_send::FolderSend;
pub use recv::{RECV_BUF, RecvJob, reserve, spawn_recv};
pub use send::{SendJob, send_range, spawn_send};

use super::conn::Stopper;
use super::input::NetInput;
use super::thread::spawn_named;
use crate::platform::{self, files::NoReplace};
use crate::protocol::hash::FileHasher;
use crate::protocol::sanitize;

/// Most progress reports per second and transfer.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// A stalled peer: no byte for this long ends the transfer.
pub(super) const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes per read when hashing a file from disk (the page cache, usually): small enough
/// that the buffer stays in the core's L2 cache while it is hashed.
const HASH_BUF: usize = 128 << 10;

/// A running transfer thread. [`StreamThread::stop`] stops the transfer and hands the
/// thread over without waiting; dropping it stops it and joins the thread.
#[derive(Debug)]
pub struct StreamThread {
    cancel: Arc<AtomicBool>,
    socket: Arc<Mutex<Option<Stopper>>>,
    thread: Option<JoinHandle<()>>,
}

impl StreamThread {
    /// Runs `body` on a thread named `name` for transfer `transfer_id`, and reports how
    /// it ended to `tx`, tagged `stream`. `body` gets the cancel flag and the socket
    /// slot: a connection whose stopper is put there (`socket`, or one `body` connects
    /// later) is shut down when the handle is dropped, so a blocked read or write
    /// returns at once.
    pub(super) fn spawn(
        name: &str,
        stream: StreamId,
        transfer_id: String,
        outgoing: bool,
        socket: Option<Stopper>,
        tx: Sender<NetInput>,
        body: impl FnOnce(
            &AtomicBool,
            &Mutex<Option<Stopper>>,
            &Sender<NetInput>,
        ) -> Result<PathBuf, Failure>
        + Send
        + 'static,
    ) -> io::Result<StreamThread> {
        let cancel = Arc::new(AtomicBool::new(false));
        let socket = Arc::new(Mutex::new(socket));
        let (c, s) = (cancel.clone(), socket.clone());
        let thread = spawn_named(name, move || {
            let result = body(&c, &s, &tx);
            finish(
                &tx,
                TransferReport::ended(transfer_id, outgoing, stream, result),
            );
        })?;
        Ok(StreamThread {
            cancel,
            socket,
            thread: Some(thread),
        })
    }
}

impl StreamThread {
    /// Stops the transfer and returns its thread, not waiting: a read returns at once (or
    /// within a tick where `shutdown()` wakes nothing), a blocked write when it fails or
    /// times out ([`IO_TIMEOUT`]).
    pub fn stop(mut self) -> Option<JoinHandle<()>> {
        self.signal();
        self.thread.take()
    }

    fn signal(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        if let Some(s) = self.socket.lock().expect("socket slot").as_ref() {
            s.stop();
        }
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.signal();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Feeds the first `len` bytes of `file` to `hasher`.
pub(super) fn hash_prefix(
    file: &mut File,
    len: u64,
    hasher: &mut FileHasher,
    cancel: &AtomicBool,
) -> io::Result<()> {
    let mut buf = vec![0u8; HASH_BUF];
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

/// Renames a verified `.part` to the first free name in `dir`, never replacing a file.
///
/// The ways are the system's, best first ([`platform::files::no_replace_ways`]): on Linux
/// `renameat2(RENAME_NOREPLACE)`, elsewhere a hard link then removing the `.part`, and on
/// file systems that have neither (FAT, exFAT, some SMB shares) a claim file created
/// and closed, then the `.part` renamed over it. A way that does not work here is
/// followed by the next, for the rest of the names.
pub fn promote(part: &Path, dir: &Path, name: &str) -> Result<PathBuf, String> {
    promote_with(platform::files::no_replace_ways(), part, dir, name)
}

/// [`promote`] with the given ways (tests try each).
pub fn promote_with(
    ways: &[NoReplace],
    part: &Path,
    dir: &Path,
    name: &str,
) -> Result<PathBuf, String> {
    let mut ways = ways.iter().copied().peekable();
    for candidate in sanitize::candidates(name) {
        let path = dir.join(&candidate);
        while let Some(way) = ways.peek() {
            match way.rename(part, &path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => break,
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    ways.next();
                }
                Err(e) => {
                    return Err(format!(
                        "cannot rename {} to {}: {e}",
                        platform::dirs::shown(part),
                        platform::dirs::shown(&path)
                    ));
                }
            }
        }
        if ways.peek().is_none() {
            return Err(format!(
                "cannot rename {}: no way to rename without replacing works in {}",
                platform::dirs::shown(part),
                platform::dirs::shown(dir)
            ));
        }
    }
    Err(format!(
        "no free name for {name} in {}",
        platform::dirs::shown(dir)
    ))
}

/// Sends the final report; gives up after a while if the core has stopped reading (it is
/// shutting down and joining this thread).
fn finish(tx: &Sender<NetInput>, report: TransferReport) {
    let _ = tx.send_timeout(NetInput::Transfer(report), Duration::from_secs(2));
}

/// Rate-limited progress reports.
pub(super) struct Progress<'a> {
    transfer_id: &'a str,
    outgoing: bool,
    tx: &'a Sender<NetInput>,
    last: Instant,
    /// A folder: files done so far, sent along.
    pub(super) files: Option<u64>,
}

impl<'a> Progress<'a> {
    pub(super) fn new(transfer_id: &'a str, outgoing: bool, tx: &'a Sender<NetInput>) -> Self {
        let last = Instant::now();
        Progress {
            transfer_id,
            outgoing,
            tx,
            last,
            files: None,
        }
    }

    pub(super) fn report(&mut self, bytes: u64, last: bool) {
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
                files: self.files,
            }));
    }
}

#[cfg(test)]
mod tests;

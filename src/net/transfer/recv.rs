//! The receiving side: big reads into pooled buffers; a writer thread writes and hashes.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Sender, bounded};

use super::{
    IO_TIMEOUT, Progress, StreamThread, TransferReport, finish, hash_prefix, promote, read_frame,
    write_frame,
};
use crate::net::{NetInput, spawn_named};
use crate::protocol::hash::FileHasher;
use crate::protocol::{FrameDecoder, LinkMsg};

/// Receive buffers: size and how many are in flight between reader and writer.
pub(super) const RECV_BUF: usize = 1 << 20;
const RECV_BUFS: usize = 8;

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

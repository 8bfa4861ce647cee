//! Sending a folder on an open data connection: the manifest, the receiver's go, then
//! every file from the accepted offset on as sealed chunks, each file followed by its
//! own `file_end` hash.
//!
//! The chunks carry the folder stream's offset (files one after the other, in manifest
//! order), so a chunk can only be opened at its place in the whole transfer. A file
//! that changed since the folder was offered (another size) ends the transfer as
//! changed. Never called for a single file (`send.rs`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::send::{Ours, read_full, read_verdict};
use super::{Failure, Progress, hash_prefix};
use crate::net::conn::{FileReader, FileWriter};
use crate::protocol::LinkMsg;
use crate::protocol::folder::{self, Manifest};
use crate::protocol::hash::FileHasher;
use crate::trust::file_stream::CHUNK;

/// A folder to send: its manifest and where each of its files is here.
#[derive(Debug)]
pub struct FolderSend {
    /// What the receiver is told (relative paths and sizes).
    pub manifest: Manifest,
    /// The files on this disk, one per file entry of the manifest, in its order.
    pub files: Vec<PathBuf>,
}

impl FolderSend {
    /// The file sizes, in manifest order.
    pub fn sizes(&self) -> Vec<u64> {
        self.manifest
            .entries
            .iter()
            .filter_map(|e| e.size)
            .collect()
    }
}

/// Sends `folder` for `transfer_id` from `offset` on (`out`/`back` just past the
/// `file_data` frame); `Ok` once the receiver said `file_done`.
pub(super) fn send_folder(
    transfer_id: &str,
    offset: u64,
    folder: &FolderSend,
    (out, back): (&mut FileWriter, &mut FileReader),
    ours: &Ours<'_>,
) -> Result<(), Failure> {
    // Many small files make many small frames: each goes out at once.
    let _ = out.get_mut().set_nodelay(true);
    for part in folder.manifest.parts() {
        let body = serde_json::to_vec(&part).expect("serialises");
        out.write_frame(&body)
            .map_err(|e| Failure::broken(format!("cannot send the folder's manifest: {e}")))?;
    }
    match read_verdict(back).map_err(Failure::broken)? {
        LinkMsg::FileAccept { .. } => {}
        LinkMsg::FileCancel { reason, .. } => {
            return Err(Failure::mismatch(format!(
                "the receiver refused the folder: {reason}"
            )));
        }
        other => return Err(format!("unexpected {:?} after the manifest", other.kind()).into()),
    }
    let sizes = folder.sizes();
    let (first, within) = folder::position(&sizes, offset);
    let mut progress = Progress::new(transfer_id, true, ours.tx);
    progress.files = Some(first as u64);
    let mut at = offset;
    for (i, path) in folder.files.iter().enumerate().skip(first) {
        let skip = if i == first { within } else { 0 };
        let hash = send_one(transfer_id, path, sizes[i], skip, &mut at, out, ours)?;
        out.write_frame(&LinkMsg::FileEnd { hash }.to_body())
            .map_err(|e| Failure::broken(format!("cannot send file_end: {e}")))?;
        progress.files = Some(i as u64 + 1);
        progress.report(at, false);
    }
    progress.report(at, true);
    match read_verdict(back).map_err(Failure::broken)? {
        LinkMsg::FileDone { .. } => Ok(()),
        LinkMsg::FileCancel { reason, .. } => Err(Failure::mismatch(format!(
            "the receiver refused it: {reason}"
        ))),
        other => Err(format!("unexpected {:?} after the last file", other.kind()).into()),
    }
}

/// Sends one file of the folder from byte `skip` (the bytes before it are hashed only);
/// `at` is the folder stream's offset, moved past every byte sent. Returns its hash.
fn send_one(
    transfer_id: &str,
    path: &PathBuf,
    size: u64,
    skip: u64,
    at: &mut u64,
    out: &mut FileWriter,
    ours: &Ours<'_>,
) -> Result<String, Failure> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{shown}: {e}"))?.len();
    if len != size {
        return Err(Failure::changed(format!(
            "{shown} changed since the folder was offered ({size} bytes then, {len} now)"
        )));
    }
    let mut hasher = FileHasher::new();
    if skip > 0 {
        hash_prefix(&mut file, skip, &mut hasher, ours.cancel)
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        file.seek(SeekFrom::Start(skip))
            .map_err(|e| format!("cannot seek in {shown}: {e}"))?;
    }
    let mut done = skip;
    while done < size {
        if ours.cancel.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        let want = usize::try_from((size - done).min(CHUNK as u64)).unwrap_or(CHUNK);
        let n = out
            .write_chunk(transfer_id, *at, want, |buf| {
                let n = read_full(&mut file, buf)?;
                hasher.update(&buf[..n]);
                Ok(n)
            })
            .map_err(|e| Failure::broken(format!("sending {shown} failed: {e}")))?;
        if n == 0 {
            return Err(Failure::changed(format!("{shown} shrank while being sent")));
        }
        done += n as u64;
        *at += n as u64;
    }
    // A file that grew is caught here: its end must be where the manifest says.
    let mut probe = [0u8; 1];
    if matches!(file.read(&mut probe), Ok(1)) {
        return Err(Failure::changed(format!("{shown} grew while being sent")));
    }
    Ok(hasher.finish())
}

//! Receiving a folder on an accepted data connection: the manifest (checked, kept for a
//! resume, answered), the tree of folders, then each file into a scratch name inside
//! the `.part` folder, its hash checked, then moved to its place; at the end the `.part`
//! folder gets a free name in the download folder, never replacing anything.
//!
//! Everything is created below the `.part` folder this transfer claimed, from the safe
//! components [`Manifest::check`] made; no symlink is ever created. A resume finds where
//! it stopped from the disk alone ([`resume_offset`]): the files already in their place
//! are done, the scratch file holds the one in progress.

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;

use super::{Failure, Progress, RecvJob, hash_prefix, promote};
use crate::net::conn::{FileReader, FileWriter};
use crate::net::input::NetInput;
use crate::protocol::LinkMsg;
use crate::protocol::folder::{self, FolderSummary, Manifest, SafeEntry};
use crate::protocol::hash::FileHasher;
use crate::trust::file_stream::CHUNK;

/// The file being received, inside the `.part` folder. Safe names never start with a
/// dot, so no entry of a manifest can be called this.
pub const SCRATCH: &str = ".lanchat-incoming";

/// What a folder download needs besides the [`RecvJob`].
#[derive(Debug, Clone)]
pub struct FolderRecv {
    /// What the offer said: the manifest must list exactly this many entries.
    pub summary: FolderSummary,
    /// Where the checked manifest is kept for a resume (beside the resume note).
    pub manifest_note: PathBuf,
}

/// Where a folder download stands on disk: the folder stream's offset to resume from.
/// 0 when the manifest was never kept (nothing was written yet). A file whose bytes are
/// all in the scratch file but not yet checked is resumed one byte before its end, so
/// its hash is still checked.
pub fn resume_offset(root: &Path, manifest_note: &Path) -> u64 {
    let Some(manifest) = read_manifest(manifest_note) else {
        return 0;
    };
    let Ok(safe) = manifest.check(manifest.summary(), manifest.total()) else {
        return 0;
    };
    let mut at = 0u64;
    for e in safe.iter().filter(|e| e.size.is_some()) {
        let size = e.size.unwrap_or_default();
        let placed =
            fs::symlink_metadata(place(root, e)).is_ok_and(|m| m.is_file() && m.len() == size);
        if !placed {
            let scratch = fs::symlink_metadata(root.join(SCRATCH))
                .ok()
                .filter(|m| m.is_file())
                .map_or(0, |m| m.len());
            return at + scratch.min(size.saturating_sub(1));
        }
        at += size;
    }
    at
}

fn read_manifest(note: &Path) -> Option<Manifest> {
    serde_json::from_slice(&fs::read(note).ok()?).ok()
}

/// Where an entry goes below `root`.
fn place(root: &Path, e: &SafeEntry) -> PathBuf {
    e.parts.iter().fold(root.to_path_buf(), |p, c| p.join(c))
}

/// Receives the folder of `job` (whose `.part` is the folder's root) from `stream`,
/// past the `file_data` frame; answers on `back`.
pub(super) fn receive_folder(
    job: &RecvJob,
    info: &FolderRecv,
    (back, stream): (&mut FileWriter, &mut FileReader),
    cancel: &AtomicBool,
    tx: &Sender<NetInput>,
) -> Result<PathBuf, Failure> {
    let checked = read_manifest_frames(stream, info.summary)?.and_then(|manifest| {
        let safe = manifest.check(info.summary, job.size)?;
        keep_manifest(info, &manifest).map(|()| safe)
    });
    let safe = match checked {
        Ok(safe) => safe,
        Err(reason) => return Err(refuse(job, info, back, reason)),
    };
    make_tree(&job.part, &safe)?;
    let go = LinkMsg::FileAccept {
        transfer_id: job.transfer_id.clone(),
        offset: job.offset,
    };
    back.write_frame(&go.to_body())
        .map_err(|e| Failure::broken(format!("cannot answer the manifest: {e}")))?;
    let files: Vec<&SafeEntry> = safe.iter().filter(|e| e.size.is_some()).collect();
    let sizes: Vec<u64> = files.iter().filter_map(|e| e.size).collect();
    let (first, within) = folder::position(&sizes, job.offset);
    let mut progress = Progress::new(&job.transfer_id, false, tx);
    progress.files = Some(first as u64);
    let mut at = job.offset;
    for (i, entry) in files.iter().enumerate().skip(first) {
        let skip = if i == first { within } else { 0 };
        let scratch = job.part.join(SCRATCH);
        let hashed = receive_one(job, &scratch, sizes[i], skip, &mut at, stream, cancel)?;
        let end = stream
            .read_frame()
            .map_err(|e| Failure::broken(format!("waiting for file_end: {e}")))
            .and_then(|body| LinkMsg::decode(body).map_err(|e| Failure::from(e.to_string())))?;
        let LinkMsg::FileEnd { hash } = end else {
            return Err(refuse(
                job,
                info,
                back,
                "expected file_end after a file".into(),
            ));
        };
        if hash != hashed {
            let reason = format!(
                "hash mismatch for {} (sent {hash}, received {hashed})",
                entry.shown()
            );
            return Err(refuse(job, info, back, reason));
        }
        let to = place(&job.part, entry);
        fs::rename(&scratch, &to)
            .map_err(|e| format!("cannot move {} to {}: {e}", scratch.display(), to.display()))?;
        progress.files = Some(i as u64 + 1);
        progress.report(at, false);
    }
    progress.report(at, true);
    let path = promote(&job.part, &job.dir, &job.name)?;
    let _ = fs::remove_file(&job.sidecar);
    let _ = fs::remove_file(&info.manifest_note);
    let done = LinkMsg::FileDone {
        transfer_id: job.transfer_id.clone(),
    };
    if let Err(e) = back.write_frame(&done.to_body()) {
        tracing::debug!("cannot send file_done: {e}");
    }
    Ok(path)
}

/// Reads the manifest's frames: never more entries than the offer announced. The outer
/// error is a broken stream; the inner one a manifest refused, with the reason.
fn read_manifest_frames(
    stream: &mut FileReader,
    summary: FolderSummary,
) -> Result<Result<Manifest, String>, Failure> {
    let mut manifest = Manifest::default();
    loop {
        let body = stream
            .read_frame()
            .map_err(|e| Failure::broken(format!("waiting for the folder's manifest: {e}")))?;
        match manifest.push_part(body, summary.entries()) {
            Ok(true) => return Ok(Ok(manifest)),
            Ok(false) => {}
            Err(why) => return Ok(Err(why)),
        }
    }
}

/// Keeps the checked manifest for a resume; a resumed transfer's must be the same.
fn keep_manifest(info: &FolderRecv, manifest: &Manifest) -> Result<(), String> {
    let note = &info.manifest_note;
    match read_manifest(note) {
        Some(kept) if kept == *manifest => Ok(()),
        Some(_) => Err("the folder changed since the transfer began".to_owned()),
        None => fs::write(note, serde_json::to_vec(manifest).expect("serialises"))
            .map_err(|e| format!("cannot keep the manifest in {}: {e}", note.display())),
    }
}

/// Refuses the folder: tells the sender why, deletes what arrived.
fn refuse(job: &RecvJob, info: &FolderRecv, back: &mut FileWriter, reason: String) -> Failure {
    let cancel = LinkMsg::FileCancel {
        transfer_id: job.transfer_id.clone(),
        reason: reason.clone(),
    };
    if let Err(e) = back.write_frame(&cancel.to_body()) {
        tracing::debug!("cannot send file_cancel: {e}");
    }
    let _ = fs::remove_dir_all(&job.part);
    let _ = fs::remove_file(&job.sidecar);
    let _ = fs::remove_file(&info.manifest_note);
    Failure::mismatch(format!("refused the folder: {reason}"))
}

/// Creates every folder of the tree below `root` (and the parents of every file), each
/// once.
fn make_tree(root: &Path, safe: &[SafeEntry]) -> Result<(), Failure> {
    let mut made = std::collections::HashSet::new();
    for e in safe {
        let dir = match e.size {
            None => place(root, e),
            Some(_) => match place(root, e).parent() {
                Some(p) => p.to_path_buf(),
                None => continue,
            },
        };
        if made.contains(&dir) {
            continue;
        }
        fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        made.insert(dir);
    }
    Ok(())
}

/// Receives one file into `scratch` from byte `skip` on (the bytes before it are on
/// disk already, and hashed first); returns its hash.
fn receive_one(
    job: &RecvJob,
    scratch: &Path,
    size: u64,
    skip: u64,
    at: &mut u64,
    stream: &mut FileReader,
    cancel: &AtomicBool,
) -> Result<String, Failure> {
    let shown = scratch.display();
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(skip == 0)
        .open(scratch)
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut hasher = FileHasher::new();
    if skip > 0 {
        file.set_len(skip)
            .map_err(|e| format!("cannot truncate {shown}: {e}"))?;
        hash_prefix(&mut file, skip, &mut hasher, cancel)
            .map_err(|e| format!("cannot read back {shown}: {e}"))?;
        file.seek(SeekFrom::Start(skip))
            .map_err(|e| format!("cannot seek in {shown}: {e}"))?;
    }
    let mut done = skip;
    while done < size {
        if cancel.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        let max = usize::try_from(size - done).unwrap_or(CHUNK).min(CHUNK);
        let chunk = stream.read_chunk(&job.transfer_id, *at, max).map_err(|e| {
            let why = match e.label() {
                "truncated" => "closed by the sender".to_owned(),
                _ => e.to_string(),
            };
            Failure::broken(format!(
                "stream ended after {at} of {} bytes: {why}",
                job.size
            ))
        })?;
        file.write_all(chunk)
            .map_err(|e| write_failed(scratch, e))?;
        hasher.update(chunk);
        done += chunk.len() as u64;
        *at += chunk.len() as u64;
    }
    Ok(hasher.finish())
}

fn write_failed(path: &Path, e: io::Error) -> Failure {
    Failure::from(format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::folder::Entry;

    #[test]
    fn a_resume_starts_at_the_first_file_not_in_its_place() {
        let root = std::env::temp_dir().join(format!("lanchat-fresume-{}", uuid::Uuid::new_v4()));
        let tree = root.join("gift.part");
        fs::create_dir_all(tree.join("a")).unwrap();
        let note = root.join("t.manifest.json");
        let file = |path: &str, size| Entry {
            path: path.into(),
            size: Some(size),
        };
        let manifest = Manifest {
            entries: vec![file("a/one", 3), file("empty", 0), file("a/two", 5)],
        };
        assert_eq!(
            resume_offset(&tree, &note),
            0,
            "no manifest kept: from the start"
        );
        fs::write(&note, serde_json::to_vec(&manifest).unwrap()).unwrap();
        assert_eq!(resume_offset(&tree, &note), 0);
        fs::write(tree.join(SCRATCH), b"12").unwrap();
        assert_eq!(resume_offset(&tree, &note), 2, "inside the first file");
        fs::write(tree.join(SCRATCH), b"123").unwrap();
        assert_eq!(
            resume_offset(&tree, &note),
            2,
            "all there, not checked: checked again"
        );
        fs::write(tree.join("a/one"), b"123").unwrap();
        fs::remove_file(tree.join(SCRATCH)).unwrap();
        assert_eq!(
            resume_offset(&tree, &note),
            3,
            "the empty file is sent again"
        );
        fs::write(tree.join("empty"), b"").unwrap();
        fs::write(tree.join(SCRATCH), b"4").unwrap();
        assert_eq!(resume_offset(&tree, &note), 4);
        fs::write(tree.join("a/two"), b"45678").unwrap();
        assert_eq!(resume_offset(&tree, &note), 8, "all in place");
        fs::remove_dir_all(root).unwrap();
    }
}

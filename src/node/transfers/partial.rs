//! Notes about unfinished downloads, so a transfer broken by a link drop, a crash or a
//! restart of either side resumes from the bytes already on disk.
//!
//! One small JSON file per transfer in `<data_dir>/partial/<transfer_id>.json` names the
//! `.part` file, the sender and the size. When the same offer comes again (the sender
//! derives the transfer id from the file and both peers, so a restarted sender offers the
//! same id), the receiver answers `file_accept` with the `.part`'s length as the offset.
//! The notes live in the data directory, not beside the downloads, so the download folder
//! holds only the `.part` files a user can recognise.
//!
//! Only files named in a note, and ending in `.part`, are ever deleted: a cancelled or
//! refused download ([`discard`]), or one untouched for longer than
//! `Config::partial_max_age`, swept at start ([`sweep`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// What is known about one unfinished download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// The `.part` file.
    pub part: PathBuf,
    /// Sender peer id.
    pub from: String,
    /// File size (a folder: the sum of its files).
    pub size: u64,
    /// Whether `part` is the `.part` folder of a folder transfer.
    #[serde(default)]
    pub folder: bool,
}

/// Where the note for `transfer_id` lives. The id must be a valid wire id (checked by
/// the caller), so it is a safe file name.
pub fn note_path(data_dir: &Path, transfer_id: &str) -> PathBuf {
    data_dir.join("partial").join(format!("{transfer_id}.json"))
}

/// Where a folder download keeps its checked manifest, beside its note (not a note
/// itself: its stem is not a valid id, so [`sweep`] passes it by).
pub fn manifest_path(data_dir: &Path, transfer_id: &str) -> PathBuf {
    data_dir
        .join("partial")
        .join(format!("{transfer_id}.manifest.json"))
}

/// Writes the note (directory created as needed).
pub fn save(data_dir: &Path, transfer_id: &str, p: &Partial) -> io::Result<PathBuf> {
    let path = note_path(data_dir, transfer_id);
    fs::create_dir_all(path.parent().expect("has a parent"))?;
    fs::write(&path, serde_json::to_vec(p).expect("serialises"))?;
    Ok(path)
}

/// The resumable download for this offer, with the bytes already in its `.part`: only
/// when the note matches sender, size and kind (`folder`) and the `.part` is still in
/// `download_dir`. A folder's offset is where its files stand on disk
/// ([`crate::net::transfer::resume_offset`]).
pub fn resumable(
    data_dir: &Path,
    download_dir: &Path,
    transfer_id: &str,
    from: &str,
    (size, folder): (u64, bool),
) -> Option<(Partial, u64)> {
    let bytes = fs::read(note_path(data_dir, transfer_id)).ok()?;
    let p: Partial = serde_json::from_slice(&bytes).ok()?;
    if p.from != from || p.size != size || p.folder != folder {
        return None;
    }
    if p.part.parent() != Some(download_dir) {
        return None;
    }
    let meta = fs::symlink_metadata(&p.part).ok()?;
    let len = match folder {
        true if meta.is_dir() => {
            crate::net::transfer::resume_offset(&p.part, &manifest_path(data_dir, transfer_id))
        }
        false if meta.is_file() => meta.len(),
        _ => return None,
    };
    Some((p, len.min(size)))
}

/// The note for `transfer_id`, if there is a readable one.
pub fn read(data_dir: &Path, transfer_id: &str) -> Option<Partial> {
    read_note(&note_path(data_dir, transfer_id))
}

fn read_note(note: &Path) -> Option<Partial> {
    fs::read(note)
        .ok()
        .and_then(|b| serde_json::from_slice::<Partial>(&b).ok())
}

/// Whether a note for `transfer_id` from `from` exists (a broken download the sender
/// now cancels).
pub fn resumable_from(data_dir: &Path, transfer_id: &str, from: &str) -> bool {
    read(data_dir, transfer_id).is_some_and(|p| p.from == from)
}

/// Deletes the note and its `.part` (a cancelled download).
pub fn discard(data_dir: &Path, transfer_id: &str) {
    remove_note(&note_path(data_dir, transfer_id));
}

/// Deletes a note and the `.part` it names (only if that is a `.part`: a file, or for
/// a folder transfer the `.part` folder it made), and a folder's kept manifest.
fn remove_note(note: &Path) {
    if let Some(p) = read_note(note)
        && p.part.extension().is_some_and(|e| e == "part")
    {
        let is_dir = fs::symlink_metadata(&p.part).is_ok_and(|m| m.is_dir());
        let _ = match (p.folder, is_dir) {
            (true, true) => fs::remove_dir_all(&p.part),
            (false, false) => fs::remove_file(&p.part),
            _ => Ok(()),
        };
    }
    if let Some(stem) = note.file_stem().and_then(|s| s.to_str()) {
        let _ = fs::remove_file(note.with_file_name(format!("{stem}.manifest.json")));
    }
    let _ = fs::remove_file(note);
}

/// Deletes the unfinished downloads whose note and `.part` have both been untouched for
/// longer than `max_age` at `now`, and notes whose `.part` is gone or that cannot be
/// read; returns the notes removed. Files in `<data_dir>/partial` that are not notes
/// (not `<valid id>.json`) are left alone.
pub fn sweep(data_dir: &Path, now: SystemTime, max_age: Duration) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(data_dir.join("partial")) else {
        return Vec::new();
    };
    let touched = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let old = |t: SystemTime| now.duration_since(t).is_ok_and(|age| age > max_age);
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let note = entry.path();
        let ours = note.extension().is_some_and(|e| e == "json")
            && note
                .file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(crate::protocol::beacon::valid_id);
        if !ours {
            continue;
        }
        let stale = match read_note(&note) {
            None => touched(&note).is_none_or(old),
            Some(p) => match touched(&p.part) {
                None => true, // the .part is gone: nothing to resume
                Some(part) => old(part) && touched(&note).is_none_or(old),
            },
        };
        if stale {
            remove_note(&note);
            removed.push(note);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_resumes_only_the_same_offer() {
        let root = std::env::temp_dir().join(format!("lanchat-partial-{}", uuid::Uuid::new_v4()));
        let (data, dl) = (root.join("data"), root.join("dl"));
        fs::create_dir_all(&dl).unwrap();
        let part = dl.join("a.bin.part");
        fs::write(&part, b"12345").unwrap();
        let p = Partial {
            part: part.clone(),
            from: "peer".into(),
            size: 10,
            folder: false,
        };
        save(&data, "t1", &p).unwrap();
        assert_eq!(
            resumable(&data, &dl, "t1", "peer", (10, false)),
            Some((p, 5))
        );
        assert_eq!(resumable(&data, &dl, "t1", "other", (10, false)), None);
        assert_eq!(resumable(&data, &dl, "t1", "peer", (11, false)), None);
        assert_eq!(resumable(&data, &root, "t1", "peer", (10, false)), None);
        assert_eq!(resumable(&data, &dl, "t2", "peer", (10, false)), None);
        discard(&data, "t1");
        assert!(!part.exists() && !note_path(&data, "t1").exists());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn sweep_removes_only_old_notes_and_their_parts() {
        let root = std::env::temp_dir().join(format!("lanchat-sweep-{}", uuid::Uuid::new_v4()));
        let (data, dl) = (root.join("data"), root.join("dl"));
        fs::create_dir_all(&dl).unwrap();
        let week = Duration::from_secs(7 * 24 * 3600);
        let now = SystemTime::now() + week + Duration::from_secs(60);
        let note = |id: &str, part: &Path| {
            let p = Partial {
                part: part.to_path_buf(),
                from: "peer".into(),
                size: 10,
                folder: false,
            };
            save(&data, id, &p).unwrap()
        };
        let (old_part, fresh_part) = (dl.join("old.bin.part"), dl.join("fresh.bin.part"));
        fs::write(&old_part, b"123").unwrap();
        fs::write(&fresh_part, b"456").unwrap();
        note("a0", &old_part);
        note("b0", &fresh_part);
        note("c0", &dl.join("gone.bin.part"));
        // Not a .part: never deleted, even when a note names it.
        let mine = dl.join("mine.txt");
        fs::write(&mine, b"the user's").unwrap();
        note("d0", &mine);
        fs::write(data.join("partial").join("README"), b"not a note").unwrap();
        // "Now" is a week and a minute ahead: everything written so far is old, except
        // what is touched at "now".
        let later = fs::File::options().write(true).open(&fresh_part).unwrap();
        later.set_modified(now).unwrap();
        let mut removed = sweep(&data, now, week);
        removed.sort();
        let names: Vec<_> = removed.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, ["a0.json", "c0.json", "d0.json"]);
        assert!(!old_part.exists() && fresh_part.exists() && mine.exists());
        assert!(note_path(&data, "b0").exists());
        assert!(data.join("partial").join("README").exists());
        fs::remove_dir_all(root).unwrap();
    }
}

//! Notes about unfinished downloads, so a transfer broken by a link drop, a crash or a
//! restart of either side resumes from the bytes already on disk.
//!
//! One small JSON file per transfer in `<data_dir>/partial/<transfer_id>.json` names the
//! `.part` file, the sender and the size. When the same offer comes again (the sender
//! derives the transfer id from the file and both peers, so a restarted sender offers the
//! same id), the receiver answers `file_accept` with the `.part`'s length as the offset.
//! The notes live in the data directory, not beside the downloads, so the download folder
//! holds only the `.part` files a user can recognise.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What is known about one unfinished download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// The `.part` file.
    pub part: PathBuf,
    /// Sender peer id.
    pub from: String,
    /// File size.
    pub size: u64,
}

/// Where the note for `transfer_id` lives. The id must be a valid wire id (checked by
/// the caller), so it is a safe file name.
pub fn note_path(data_dir: &Path, transfer_id: &str) -> PathBuf {
    data_dir.join("partial").join(format!("{transfer_id}.json"))
}

/// Writes the note (directory created as needed).
pub fn save(data_dir: &Path, transfer_id: &str, p: &Partial) -> io::Result<PathBuf> {
    let path = note_path(data_dir, transfer_id);
    fs::create_dir_all(path.parent().expect("has a parent"))?;
    fs::write(&path, serde_json::to_vec(p).expect("serialises"))?;
    Ok(path)
}

/// The resumable download for this offer, with the bytes already in its `.part`: only
/// when the note matches sender and size and the `.part` is still in `download_dir`.
pub fn resumable(
    data_dir: &Path,
    download_dir: &Path,
    transfer_id: &str,
    from: &str,
    size: u64,
) -> Option<(Partial, u64)> {
    let bytes = fs::read(note_path(data_dir, transfer_id)).ok()?;
    let p: Partial = serde_json::from_slice(&bytes).ok()?;
    if p.from != from || p.size != size || p.part.parent() != Some(download_dir) {
        return None;
    }
    let len = fs::metadata(&p.part).ok().filter(|m| m.is_file())?.len();
    Some((p, len.min(size)))
}

/// Whether a note for `transfer_id` from `from` exists (a broken download the sender
/// now cancels).
pub fn resumable_from(data_dir: &Path, transfer_id: &str, from: &str) -> bool {
    fs::read(note_path(data_dir, transfer_id))
        .ok()
        .and_then(|b| serde_json::from_slice::<Partial>(&b).ok())
        .is_some_and(|p| p.from == from)
}

/// Deletes the note and its `.part` (a cancelled download).
pub fn discard(data_dir: &Path, transfer_id: &str) {
    let note = note_path(data_dir, transfer_id);
    if let Some(p) = fs::read(&note)
        .ok()
        .and_then(|b| serde_json::from_slice::<Partial>(&b).ok())
    {
        let _ = fs::remove_file(p.part);
    }
    let _ = fs::remove_file(note);
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
        };
        save(&data, "t1", &p).unwrap();
        assert_eq!(resumable(&data, &dl, "t1", "peer", 10), Some((p, 5)));
        assert_eq!(resumable(&data, &dl, "t1", "other", 10), None);
        assert_eq!(resumable(&data, &dl, "t1", "peer", 11), None);
        assert_eq!(resumable(&data, &root, "t1", "peer", 10), None);
        assert_eq!(resumable(&data, &dl, "t2", "peer", 10), None);
        discard(&data, "t1");
        assert!(!part.exists() && !note_path(&data, "t1").exists());
        fs::remove_dir_all(root).unwrap();
    }
}

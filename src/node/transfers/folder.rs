//! A folder to send, read from the disk: its manifest (every folder and file below it,
//! in name order), the files' paths here, and what makes its transfer id.
//!
//! Symlinks are never followed (so nothing outside the folder is sent, and a link loop
//! cannot hang the walk); they, and anything that is neither a file nor a folder
//! (sockets, devices), are skipped and counted. The limits of `protocol::folder` are
//! checked here too, so a folder the receiver would refuse is refused before it is
//! offered, with the same reason.

use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::net::transfer::FolderSend;
use crate::protocol::folder::{self, Entry, Manifest};

/// A folder read for sending.
pub(super) struct Walked {
    /// The manifest and the files.
    pub(super) send: FolderSend,
    /// Symlinks and special files left out.
    pub(super) skipped: u64,
    /// What identifies this state of the folder: every path, size and modification
    /// time (fed to the transfer id).
    pub(super) fingerprint: Vec<u8>,
}

/// Reads the folder at `root` (not following symlinks below it).
pub(super) fn walk(root: &Path) -> Result<Walked, String> {
    let mut w = Walked {
        send: FolderSend {
            manifest: Manifest::default(),
            files: Vec::new(),
        },
        skipped: 0,
        fingerprint: Vec::new(),
    };
    visit(root, "", 0, &mut w)?;
    let m = &w.send.manifest;
    m.check(m.summary(), m.total())
        .map_err(|e| format!("{} cannot be sent as it is: {e}", root.display()))?;
    Ok(w)
}

fn visit(dir: &Path, rel: &str, depth: usize, w: &mut Walked) -> Result<(), String> {
    let shown = dir.display();
    if depth >= folder::MAX_DEPTH {
        return Err(format!(
            "{shown} is nested deeper than {}",
            folder::MAX_DEPTH
        ));
    }
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read {shown}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let meta = fs::symlink_metadata(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if rel.len() > folder::MAX_PATH {
            return Err(format!(
                "{} has a path longer than {} bytes",
                path.display(),
                folder::MAX_PATH
            ));
        }
        let size = if meta.is_dir() {
            None
        } else if meta.is_file() {
            Some(meta.len())
        } else {
            w.skipped += 1;
            tracing::info!(path = %path.display(), "not sent with its folder: not a file or folder");
            continue;
        };
        if w.send.manifest.entries.len() as u64 >= folder::MAX_ENTRIES {
            return Err(format!(
                "{} holds more than {} files and folders",
                dir.display(),
                folder::MAX_ENTRIES
            ));
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        w.fingerprint.extend_from_slice(rel.as_bytes());
        w.fingerprint.push(0);
        w.fingerprint
            .extend_from_slice(&size.unwrap_or(u64::MAX).to_le_bytes());
        w.fingerprint.extend_from_slice(&mtime.to_le_bytes());
        w.send.manifest.entries.push(Entry {
            path: rel.clone(),
            size,
        });
        match size {
            Some(_) => w.send.files.push(path),
            None => visit(&path, &rel, depth + 1, w)?,
        }
    }
    Ok(())
}

/// Whether `send_file` names a folder (a symlink to one counts: the user named it).
pub(super) fn is_folder(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
        || fs::metadata(path).is_ok_and(|m| m.is_dir())
}

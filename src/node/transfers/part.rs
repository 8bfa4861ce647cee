//! The `.part` of a download: where it goes, and what it already holds. A new one is
//! claimed under a free name in the download folder (never replacing a file), with its
//! resume note; an earlier try's is found again, and only the rest is asked for. The
//! free-space check is here too: it is about where the `.part` will grow.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::partial::{self, Partial};
use super::{TransferEnd, Transfers};
use crate::protocol::{DeclineCode, PeerId, TransferId, sanitize};

impl Transfers {
    /// The `.part` to write and the bytes it already holds: an earlier try's, or a new
    /// empty one under a free name (claimed with `create_new`, so two offers of one name
    /// never share a file), with its resume note. For a `folder` the `.part` is a
    /// folder (claimed with `create_dir`), and the bytes are the folder stream's.
    pub(super) fn prepare_part(
        &self,
        id: &TransferId,
        peer: &PeerId,
        (name, size): (&str, u64),
        folder: bool,
    ) -> Result<(PathBuf, u64), TransferEnd> {
        let (data, dir) = (&self.settings.data_dir, &self.settings.download_dir);
        let failed = |reason: String| TransferEnd::declined(DeclineCode::Failed, reason);
        if let Some((p, offset)) = partial::resumable(data, dir, id, peer, (size, folder)) {
            tracing::info!(transfer_id = %id, offset, part = %p.part.display(), "resuming");
            return Ok((p.part, offset));
        }
        match partial::read(data, id) {
            // Another peer's download has this id: never replace its note or bytes.
            Some(p) if p.from != **peer => {
                return Err(TransferEnd::declined(
                    DeclineCode::IdInUse,
                    "transfer id in use",
                ));
            }
            // Ours, but not resumable (another folder, another size): its .part would
            // never be finished, so it goes before the new note replaces this one.
            Some(_) => partial::discard(data, id),
            None => {}
        }
        for candidate in sanitize::candidates(name) {
            let part = dir.join(format!("{candidate}.part"));
            if dir.join(&candidate).exists() {
                continue; // the final name is taken: keep the pair together
            }
            let claimed = match folder {
                true => fs::create_dir(&part),
                false => File::options()
                    .write(true)
                    .create_new(true)
                    .open(&part)
                    .map(drop),
            };
            match claimed {
                Ok(()) => {
                    let note = Partial {
                        part: part.clone(),
                        from: peer.to_string(),
                        size,
                        folder,
                    };
                    partial::save(data, id, &note).map_err(|e| {
                        let _ = if folder {
                            fs::remove_dir(&part)
                        } else {
                            fs::remove_file(&part)
                        };
                        failed(format!(
                            "cannot write the resume note in {}: {e}",
                            data.display()
                        ))
                    })?;
                    return Ok((part, 0));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(failed(format!("cannot create {}: {e}", part.display()))),
            }
        }
        Err(failed(format!(
            "no free name for {name} in {}",
            dir.display()
        )))
    }
}

/// Refuses when the download folder's file system has less than `need` bytes free
/// (plus a small margin, so the disk is never filled to the last byte).
pub(super) fn check_space(dir: &Path, need: u64) -> Result<(), String> {
    const MARGIN: u64 = 16 << 20;
    match fs4::available_space(dir) {
        Ok(free) if free < need.saturating_add(MARGIN) => Err(format!(
            "not enough free space in {}: {need} bytes needed, {free} free",
            dir.display()
        )),
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!("cannot tell free space in {}: {e}", dir.display());
            Ok(())
        }
    }
}

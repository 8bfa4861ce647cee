//! A small disk for a test: a tmpfs mounted as root (unmounted on drop, even after a
//! failure), and a file that fills what is left of it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted for one test (as root), unmounted when dropped, even after a failure.
pub struct SmallDisk(pub PathBuf);

impl SmallDisk {
    /// Mounts a tmpfs of `size` at `at`, or says why it cannot.
    pub fn mount(at: &Path, size: &str) -> Result<SmallDisk, String> {
        std::fs::create_dir_all(at).map_err(|e| format!("create {}: {e}", at.display()))?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .map_err(|e| format!("run mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount tmpfs at {} failed: {status}", at.display()));
        }
        Ok(SmallDisk(at.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills what is left of the disk holding `dir` with one file; returns its path.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("ballast");
    let mut file = std::fs::File::create(&path).expect("create the ballast");
    for chunk in [64 * 1024, 4096, 512, 1] {
        let block = vec![0u8; chunk];
        while file.write_all(&block).is_ok() {}
    }
    let _ = file.sync_all();
    path
}

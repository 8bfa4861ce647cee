//! Changing the download folder while the node runs (`set_download_dir`).
//!
//! The folder is checked before it is taken: it is created if missing, must be a folder,
//! and a probe file is created in it and deleted again, so "not writable" is found now
//! and not when a file arrives. Downloads already accepted finish in the folder they
//! started in (their `.part` is there); offers accepted from now on land in the new one.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::platform;

/// Creates `dir` if needed and proves it is a writable folder; returns it absolute.
pub fn check_download_dir(dir: &Path) -> Result<PathBuf, String> {
    let shown = platform::dirs::shown(dir);
    if dir.as_os_str().is_empty() {
        return Err("the download folder is empty".to_owned());
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {shown}: {e}"))?;
    let dir = platform::dirs::canonicalize(dir).map_err(|e| format!("cannot use {shown}: {e}"))?;
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", platform::dirs::shown(&dir)));
    }
    let probe = dir.join(format!(".lanchat-probe-{}", uuid::Uuid::new_v4().simple()));
    File::options()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| format!("cannot write in {}: {e}", platform::dirs::shown(&dir)))?;
    let _ = fs::remove_file(&probe);
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_folder_must_be_a_writable_folder() {
        let root = std::env::temp_dir().join(format!("lanchat-dldir-{}", uuid::Uuid::new_v4()));
        let made = check_download_dir(&root.join("a").join("b")).unwrap();
        assert!(made.is_dir() && made.is_absolute());
        assert_eq!(fs::read_dir(&made).unwrap().count(), 0, "the probe is gone");
        let file = root.join("file.txt");
        fs::write(&file, b"x").unwrap();
        let e = check_download_dir(&file).unwrap_err();
        assert!(e.contains("file.txt"), "{e}");
        let e = check_download_dir(&file.join("below")).unwrap_err();
        assert!(e.starts_with("cannot create") && e.contains("below"), "{e}");
        let locked = root.join("locked");
        fs::create_dir(&locked).unwrap();
        if crate::platform::files::set_mode(&locked, 0o500).unwrap() {
            // Root may write anywhere; everyone else is refused, naming the folder.
            if let Err(e) = check_download_dir(&locked) {
                assert!(
                    e.starts_with("cannot write in") && e.contains("locked"),
                    "{e}"
                );
            }
            crate::platform::files::set_mode(&locked, 0o700).unwrap();
        }
        fs::remove_dir_all(root).unwrap();
    }
}

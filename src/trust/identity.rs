//! The key pair on disk: `identity.key` in the data directory, owner-only.
//!
//! Owns reading, creating and permission-checking that one file; it must not decide what
//! a node does with the keys. A key file that exists but cannot be used is an error, never
//! silently replaced: a new key is a new peer id, and every peer that verified the old one
//! would see a stranger (the opposite of `identity.json`, whose random id v1 could lose).
//!
//! Format (JSON, so a person can see what it is):
//! `{"lanchat_identity":1,"ed25519":"<base64url seed>","x25519":"<base64url secret>"}`.
//! Written to a temporary file created 0600, synced, then renamed into place. On load a
//! file readable by group or others is narrowed to 0600 (with a warning); if that fails,
//! loading fails with the path and the mode. (Windows: no mode bits; the data directory
//! sits in the user's profile.)

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

use super::keys::{KEY_LEN, KeyPair};
use crate::platform;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "identity.key";

/// Format version inside the key file.
const KEY_FILE_VERSION: u32 = 1;

/// Why the key pair could not be loaded or stored.
#[derive(Debug, Error)]
pub enum IdentityError {
    /// The file exists but could not be read.
    #[error("cannot read the key file {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A new key file could not be written.
    #[error("cannot write the key file {path}: {source}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Others may read the file and its mode could not be narrowed.
    #[error(
        "the key file {path} is readable by others (mode {mode:o}) and could not be made private: {source}"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// Why `chmod` failed.
        source: io::Error,
    },
    /// The file is not a key file of this version (kept as it is: move it away to start
    /// a new identity).
    #[error("the key file {path} is unusable ({reason}); move it away to start a new identity")]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system gave no random bytes.
    #[error("no random source for a new key: {0}")]
    Random(String),
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    lanchat_identity: u32,
    ed25519: String,
    x25519: String,
}

/// Loads the key pair in `dir`, or creates and stores one if there is none. Returns the
/// pair and whether it was created now (phase 2 migrates a v1 history on that).
pub fn load_or_create(dir: &Path) -> Result<(KeyPair, bool), IdentityError> {
    let path = dir.join(KEY_FILE);
    match load(&path) {
        Ok(pair) => Ok((pair, false)),
        Err(IdentityError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            let pair = KeyPair::generate().map_err(|e| IdentityError::Random(e.to_string()))?;
            store(&pair, &path)?;
            Ok((pair, true))
        }
        Err(e) => Err(e),
    }
}

/// Loads the key pair stored at `path`, narrowing the file's permissions first if needed.
pub fn load(path: &Path) -> Result<KeyPair, IdentityError> {
    let read_err = |source| IdentityError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::metadata(path).map_err(read_err)?;
    make_private(path)?;
    if meta.len() > 4096 {
        return Err(corrupt(
            path,
            format!("{} bytes is not a key file", meta.len()),
        ));
    }
    let bytes = Zeroizing::new(fs::read(path).map_err(read_err)?);
    let file: KeyFile =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(path, format!("not JSON: {e}")))?;
    if file.lanchat_identity != KEY_FILE_VERSION {
        return Err(corrupt(
            path,
            format!("version {} (this build reads 1)", file.lanchat_identity),
        ));
    }
    let ed = secret(&file.ed25519).ok_or_else(|| corrupt(path, "bad ed25519 seed".into()))?;
    let dh = secret(&file.x25519).ok_or_else(|| corrupt(path, "bad x25519 secret".into()))?;
    Ok(KeyPair::from_secrets(&ed, &dh))
}

/// Writes `pair` to `path` (which must not be in use): a 0600 temporary file, synced,
/// renamed into place.
pub fn store(pair: &KeyPair, path: &Path) -> Result<(), IdentityError> {
    let write_err = |source| IdentityError::Write {
        path: path.to_path_buf(),
        source,
    };
    let body = Zeroizing::new(
        serde_json::to_vec(&KeyFile {
            lanchat_identity: KEY_FILE_VERSION,
            ed25519: BASE64URL_NOPAD.encode(pair.ed25519_seed().as_ref()),
            x25519: BASE64URL_NOPAD.encode(pair.x25519_secret()),
        })
        .expect("a key file serialises"),
    );
    let tmp = path.with_extension("key.tmp");
    let _ = fs::remove_file(&tmp); // a leftover from a crash; we hold the data dir lock
    let mut options = File::options();
    options.write(true).create_new(true);
    platform::files::owner_only(&mut options);
    let mut file = options.open(&tmp).map_err(write_err)?;
    file.write_all(&body)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(write_err)
}

fn secret(text: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let bytes = Zeroizing::new(BASE64URL_NOPAD.decode(text.as_bytes()).ok()?);
    let array: [u8; KEY_LEN] = bytes.as_slice().try_into().ok()?;
    Some(Zeroizing::new(array))
}

fn corrupt(path: &Path, reason: String) -> IdentityError {
    IdentityError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}

/// Narrows a key file readable or writable by group or others to 0600.
/// (Windows has no mode bits: the key file is in the user's own profile.)
fn make_private(path: &Path) -> Result<(), IdentityError> {
    let mode = match platform::files::mode(path) {
        Ok(Some(mode)) if mode & 0o077 != 0 => mode,
        Ok(_) | Err(_) => return Ok(()),
    };
    platform::files::set_mode(path, 0o600).map_err(|source| IdentityError::Permissions {
        path: path.to_path_buf(),
        mode,
        source,
    })?;
    tracing::warn!(
        "{} was readable by others (mode {mode:o}); it is now 0600",
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lanchat-keys-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn created_once_then_loaded_the_same() {
        let dir = tmp();
        let (a, created) = load_or_create(&dir).unwrap();
        assert!(created);
        let (b, created) = load_or_create(&dir).unwrap();
        assert!(!created);
        assert_eq!(a.public(), b.public());
        assert_eq!(a.x25519_public(), b.x25519_public());
        assert!(!dir.join("identity.key.tmp").exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn key_file_is_owner_only_and_is_narrowed_on_load() {
        let dir = tmp();
        let path = dir.join(KEY_FILE);
        load_or_create(&dir).unwrap();
        let mode = |p: &Path| platform::files::mode(p).unwrap().map(|m| m & 0o777);
        if mode(&path).is_none() {
            return fs::remove_dir_all(dir).unwrap(); // no mode bits on this system
        }
        assert_eq!(mode(&path), Some(0o600));
        platform::files::set_mode(&path, 0o644).unwrap();
        load(&path).unwrap();
        assert_eq!(mode(&path), Some(0o600), "narrowed on load");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unusable_key_file_is_an_error_naming_it_and_is_kept() {
        let dir = tmp();
        let path = dir.join(KEY_FILE);
        for (bytes, want) in [
            (&b"\x00garbage"[..], "not JSON"),
            (
                br#"{"lanchat_identity":9,"ed25519":"","x25519":""}"#,
                "version 9",
            ),
            (
                br#"{"lanchat_identity":1,"ed25519":"AAAA","x25519":""}"#,
                "ed25519",
            ),
        ] {
            fs::write(&path, bytes).unwrap();
            let err = load_or_create(&dir).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, IdentityError::Corrupt { .. }), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(want), "{text}");
            assert_eq!(fs::read(&path).unwrap(), bytes, "left as it was");
        }
        fs::write(&path, vec![b' '; 10_000]).unwrap();
        assert!(matches!(load(&path), Err(IdentityError::Corrupt { .. })));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_a_write_error_naming_the_file() {
        let parent = tmp();
        let err = load_or_create(&parent.join("missing")).unwrap_err();
        assert!(matches!(err, IdentityError::Write { .. }), "{err}");
        assert!(err.to_string().contains("identity.key"), "{err}");
        fs::remove_dir_all(parent).unwrap();
    }
}

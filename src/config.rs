//! Settings, the data directory, and the persisted identity (peer id and name).
//!
//! The data directory is the platform default (`directories` crate) unless `--data-dir`
//! overrides it. It holds `identity.json` and is locked for the life of the node, so two
//! instances never share an id by accident: the second one is told to pick another
//! directory.

use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::net::interfaces::InterfaceFilter;
use crate::protocol::beacon::clean_name;

/// Default UDP discovery port.
pub const DEFAULT_DISCOVERY_PORT: u16 = 47474;

/// Default interval between `here` beacons.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Default for [`Config::accept_timeout`].
pub const DEFAULT_ACCEPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Default for [`Config::retry_delay`].
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Default for [`Config::retry_attempts`].
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 8;

/// Default for [`Config::partial_max_age`]: a week.
pub const DEFAULT_PARTIAL_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name to use and remember; `None` keeps the stored one (or a default).
    pub name: Option<String>,
    /// Where identity, history and settings live.
    pub data_dir: PathBuf,
    /// Address to bind; `None` = all interfaces. A loopback address confines the node to
    /// this host: TCP on that address, beacons only to 127.255.255.255.
    pub bind: Option<Ipv4Addr>,
    /// TCP port for links; 0 = any free port.
    pub port: u16,
    /// UDP port shared by every instance for discovery.
    pub discovery_port: u16,
    /// Interval between `here` beacons; a peer unheard for three intervals is offline.
    pub interval: Duration,
    /// Which interfaces to announce on.
    pub interfaces: InterfaceFilter,
    /// Where received files land (changed at run time by `set_download_dir`).
    pub download_dir: PathBuf,
    /// `download_dir` was chosen on the command line (`--download-dir`): a front end's
    /// saved preference does not replace it.
    pub download_dir_pinned: bool,
    /// Accept every file offer at once (scripts, tests); otherwise the user decides.
    pub auto_accept: bool,
    /// Offers of larger files are declined (`None`: no limit but free space).
    pub max_file_size: Option<u64>,
    /// Bytes per second each outgoing transfer may send at most (`None`: no limit).
    pub send_rate_limit: Option<u64>,
    /// How long a receiver waits for the data connection after accepting, or for the
    /// sender to offer again after a break, before it calls the transfer failed. The
    /// bytes that arrived are kept: a later offer of the same file resumes them.
    pub accept_timeout: Duration,
    /// The sender's wait before its first automatic retry of a broken transfer; doubled
    /// for each further try, up to a minute (or this, if longer).
    pub retry_delay: Duration,
    /// Tries in a row that move no byte before the sender gives up on a broken
    /// transfer (0: no automatic retry).
    pub retry_attempts: u32,
    /// Unfinished downloads (a `.part` and its resume note) untouched for this long are
    /// deleted at start.
    pub partial_max_age: Duration,
}

impl Config {
    /// Defaults around a data directory.
    /// Files land in `<data_dir>/downloads` until a front end sets `download_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Config {
            name: None,
            download_dir: data_dir.join("downloads"),
            download_dir_pinned: false,
            auto_accept: false,
            max_file_size: None,
            send_rate_limit: None,
            accept_timeout: DEFAULT_ACCEPT_TIMEOUT,
            retry_delay: DEFAULT_RETRY_DELAY,
            retry_attempts: DEFAULT_RETRY_ATTEMPTS,
            partial_max_age: DEFAULT_PARTIAL_MAX_AGE,
            data_dir,
            bind: None,
            port: 0,
            discovery_port: DEFAULT_DISCOVERY_PORT,
            interval: DEFAULT_INTERVAL,
            interfaces: InterfaceFilter::default(),
        }
    }

    /// A node confined to loopback: the configuration every test uses.
    pub fn loopback(data_dir: impl Into<PathBuf>, discovery_port: u16) -> Self {
        Config {
            bind: Some(Ipv4Addr::LOCALHOST),
            discovery_port,
            ..Config::new(data_dir)
        }
    }
}

/// The platform's data directory for lanchat (e.g. `~/.local/share/lanchat`; on Windows
/// the local, not the roaming, application data: see [`crate::platform::dirs::data_dir`]).
pub fn default_data_dir() -> Option<PathBuf> {
    crate::platform::dirs::data_dir()
}

/// The platform's downloads folder (e.g. `~/Downloads`), where the app puts files by
/// default.
pub fn default_download_dir() -> Option<PathBuf> {
    crate::platform::dirs::download_dir()
}

/// Errors while preparing the data directory.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The directory could not be created or read.
    #[error("cannot use data directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another running instance holds the directory.
    #[error(
        "data directory {0} is in use by another lanchat; give this one its own with --data-dir"
    )]
    Locked(PathBuf),
    /// The identity file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Who this node is: kept in `identity.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Stable random peer id (32 hex digits).
    pub id: String,
    /// Display name.
    pub name: String,
}

const IDENTITY_FILE: &str = "identity.json";
const LOCK_FILE: &str = "lock";

/// An exclusive hold on a data directory, released on drop.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Creates `dir` if needed and locks it against a second instance.
pub fn lock_data_dir(dir: &Path) -> Result<DataDirLock, ConfigError> {
    let dir_err = |source| ConfigError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(dir_err)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(dir_err)?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(ConfigError::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(e)) => Err(dir_err(e)),
    }
}

impl Identity {
    /// Loads the identity in `dir`, creating one if there is none or it is unreadable
    /// (the unreadable file is kept beside as `identity.json.bad`). `name`, if given,
    /// replaces and is stored as the name.
    pub fn load_or_create(dir: &Path, name: Option<&str>) -> Result<Identity, ConfigError> {
        let path = dir.join(IDENTITY_FILE);
        let stored = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Identity>(&bytes) {
                Ok(id) if crate::protocol::beacon::valid_id(&id.id) => Some(id),
                Ok(_) | Err(_) => {
                    tracing::warn!(
                        "{} is unreadable; moving it aside and starting a new identity",
                        path.display()
                    );
                    let _ = fs::rename(&path, path.with_extension("json.bad"));
                    None
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(ConfigError::Dir { path, source }),
        };
        let mut identity = stored.clone().unwrap_or_else(|| Identity {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: default_name(),
        });
        if let Some(name) = name.map(clean_name).filter(|n| !n.is_empty()) {
            identity.name = name;
        }
        if stored.as_ref() != Some(&identity) {
            identity.save(dir)?;
        }
        Ok(identity)
    }

    /// Writes `identity.json` atomically (temp file, then rename).
    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let path = dir.join(IDENTITY_FILE);
        let tmp = dir.join(format!("{IDENTITY_FILE}.tmp"));
        let body = serde_json::to_vec_pretty(self).expect("identity serialises");
        fs::write(&tmp, body)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|source| ConfigError::Write { path, source })
    }
}

/// The login name, else the host name, else "lanchat user".
fn default_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .map(|n| clean_name(&n))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            let host = host_name();
            if host.is_empty() {
                "lanchat user".to_owned()
            } else {
                host
            }
        })
}

/// This machine's host name, cleaned for display.
pub fn host_name() -> String {
    clean_name(&gethostname::gethostname().to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lanchat-cfg-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn identity_is_stable_across_loads() {
        let dir = tmp();
        let a = Identity::load_or_create(&dir, Some("张三")).unwrap();
        let b = Identity::load_or_create(&dir, None).unwrap();
        assert_eq!(a, b);
        assert_eq!(b.name, "张三");
        assert_eq!(a.id.len(), 32);
        let c = Identity::load_or_create(&dir, Some("Li Si")).unwrap();
        assert_eq!((c.id.as_str(), c.name.as_str()), (a.id.as_str(), "Li Si"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_identity_is_moved_aside() {
        let dir = tmp();
        fs::write(dir.join(IDENTITY_FILE), b"\x00garbage").unwrap();
        let id = Identity::load_or_create(&dir, None).unwrap();
        assert!(crate::protocol::beacon::valid_id(&id.id));
        assert_eq!(
            fs::read(dir.join("identity.json.bad")).unwrap(),
            b"\x00garbage"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn data_dir_is_locked_once() {
        let dir = tmp();
        let lock = lock_data_dir(&dir).unwrap();
        assert!(matches!(lock_data_dir(&dir), Err(ConfigError::Locked(_))));
        drop(lock);
        lock_data_dir(&dir).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }
}

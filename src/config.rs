//! Settings, the data directory, and the persisted name and id.
//!
//! The data directory is the platform default (`directories` crate) unless `--data-dir`
//! overrides it. It holds the identity key (`identity.key`, `crate::trust::identity`),
//! `identity.json` (our name, and the id our history is written under) and is locked for
//! the life of the node, so two instances never share an identity by accident: the second
//! one is told to pick another directory.

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
    /// TCP port for links; 0 = the one of last time if it is free (the data directory's
    /// `link-port`), else any free port.
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
    /// Accept offers at once from peers whose key the user verified (a setting; the
    /// others still ask). `auto_accept` goes further.
    pub auto_accept_verified: bool,
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
    /// IPMsg (iptux, FeiQ, IP Messenger) on this UDP and TCP port, on the same address
    /// as everything else (`bind`); `None`: off. On by default on 2425; 0 = any free
    /// port (tests). If the port is taken the node says so once and runs without IPMsg.
    pub ipmsg_port: Option<u16>,
    /// Start the page for browsers at once on this TCP port (0: any free port); `None`:
    /// off until a front end starts it.
    pub web_port: Option<u16>,
    /// Addresses to reach by unicast besides the broadcast (`--peer HOST[:PORT]`,
    /// reach by address), added at start as `add_peer` would.
    pub peers: Vec<String>,
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
            auto_accept_verified: false,
            max_file_size: None,
            send_rate_limit: None,
            accept_timeout: DEFAULT_ACCEPT_TIMEOUT,
            retry_delay: DEFAULT_RETRY_DELAY,
            retry_attempts: DEFAULT_RETRY_ATTEMPTS,
            partial_max_age: DEFAULT_PARTIAL_MAX_AGE,
            web_port: None,
            peers: Vec::new(),
            data_dir,
            bind: None,
            port: 0,
            discovery_port: DEFAULT_DISCOVERY_PORT,
            interval: DEFAULT_INTERVAL,
            interfaces: InterfaceFilter::default(),
            ipmsg_port: Some(crate::protocol::ipmsg::DEFAULT_PORT),
        }
    }

    /// A node confined to loopback: the configuration every test uses. IPMsg is off
    /// (port 2425 is one per address: tests that want it set [`Config::ipmsg_port`]).
    pub fn loopback(data_dir: impl Into<PathBuf>, discovery_port: u16) -> Self {
        Config {
            bind: Some(Ipv4Addr::LOCALHOST),
            discovery_port,
            ipmsg_port: None,
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

/// Whose file offers are accepted without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoAccept {
    /// Nobody's: every offer waits for the user.
    #[default]
    Nobody,
    /// Offers from peers whose key the user verified.
    Verified,
    /// Everyone's (`--auto-accept`, for scripts and tests).
    Everyone,
}

impl AutoAccept {
    /// What `config` asks for.
    pub fn of(config: &Config) -> AutoAccept {
        if config.auto_accept {
            AutoAccept::Everyone
        } else if config.auto_accept_verified {
            AutoAccept::Verified
        } else {
            AutoAccept::Nobody
        }
    }
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

/// Who this node is, as `identity.json` keeps it: the peer id its history is written
/// under, and its name. Since protocol v2 the id is the identity key's
/// (`crate::trust::keys::peer_id_of`); a v1 file holds the random id v1 made up, which
/// the node moves its history from once (`Identity::load`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Peer id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// What [`Identity::load`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedIdentity {
    /// Who we are now: the key's id, and the name.
    pub identity: Identity,
    /// The id the history was written under, when it is not the key's (a v1 data
    /// directory): move the history to the new id, then [`Identity::save`].
    pub previous: Option<String>,
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
    /// Loads `identity.json` in `dir` for the identity key whose peer id is `key_id`.
    /// A missing or unreadable file (kept beside as `identity.json.bad`) gives a new one.
    /// `name`, if given, replaces and is stored as the name. The file is written at once,
    /// unless the history must first move from a previous id ([`LoadedIdentity`]).
    pub fn load(
        dir: &Path,
        name: Option<&str>,
        key_id: &str,
    ) -> Result<LoadedIdentity, ConfigError> {
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
        let mut identity = Identity {
            id: key_id.to_owned(),
            name: stored
                .as_ref()
                .map_or_else(default_name, |s| s.name.clone()),
        };
        if let Some(name) = name.map(clean_name).filter(|n| !n.is_empty()) {
            identity.name = name;
        }
        let previous = stored
            .as_ref()
            .map(|s| s.id.clone())
            .filter(|old| old != key_id);
        if previous.is_none() && stored.as_ref() != Some(&identity) {
            identity.save(dir)?;
        }
        Ok(LoadedIdentity { identity, previous })
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

    const KEY_ID: &str = "abcdefghijklmnopqrstuvwxyz234567";

    #[test]
    fn identity_is_stable_across_loads() {
        let dir = tmp();
        let a = Identity::load(&dir, Some("张三"), KEY_ID).unwrap();
        assert_eq!(a.previous, None);
        let b = Identity::load(&dir, None, KEY_ID).unwrap();
        assert_eq!(a, b);
        assert_eq!(b.identity.name, "张三");
        assert_eq!(a.identity.id, KEY_ID);
        let c = Identity::load(&dir, Some("Li Si"), KEY_ID)
            .unwrap()
            .identity;
        assert_eq!((c.id.as_str(), c.name.as_str()), (KEY_ID, "Li Si"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_v1_id_is_reported_for_the_history_to_move_and_kept_until_then() {
        let dir = tmp();
        let v1 = r#"{"id":"5f0c1d2e3f405162738495a6b7c8d9e0","name":"ann"}"#;
        fs::write(dir.join(IDENTITY_FILE), v1).unwrap();
        let loaded = Identity::load(&dir, None, KEY_ID).unwrap();
        assert_eq!(
            loaded.previous.as_deref(),
            Some("5f0c1d2e3f405162738495a6b7c8d9e0")
        );
        assert_eq!(loaded.identity.id, KEY_ID);
        assert_eq!(loaded.identity.name, "ann", "the name is kept");
        assert_eq!(
            fs::read_to_string(dir.join(IDENTITY_FILE)).unwrap(),
            v1,
            "not yet"
        );
        loaded.identity.save(&dir).unwrap();
        assert_eq!(Identity::load(&dir, None, KEY_ID).unwrap().previous, None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_identity_is_moved_aside() {
        let dir = tmp();
        fs::write(dir.join(IDENTITY_FILE), b"\x00garbage").unwrap();
        let id = Identity::load(&dir, None, KEY_ID).unwrap();
        assert_eq!(id.identity.id, KEY_ID);
        assert_eq!(id.previous, None);
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

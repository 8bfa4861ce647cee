//! History and the durable outbox, in one SQLite file (`history.db` in the data directory).
//!
//! The store owns the database and nothing else: it knows no sockets, no peers table and
//! no clock (times are parameters). The core thread is its only user and calls it
//! synchronously; every write is one short transaction in WAL mode with
//! `synchronous=NORMAL`, which keeps a message insert in the tens of microseconds
//! (`docs/HISTORY.md` has the measurements).
//!
//! - [`migrations`]: the versioned schema (`PRAGMA user_version`).
//! - `messages`: direct messages and Everyone shouts, the unacknowledged ones (the
//!   outbox), history pages and full-text search.
//! - `peers`: known peers, so they show as offline with their last-seen time, with their
//!   keys; the keys the user verified; our own id's change (v1 → v2).
//! - `rooms`: rooms, their members, and one outbox row per member of our room messages.
//! - `transfers`: file transfers and their progress, so a broken one can resume.
//! - `reach`: the addresses presence reaches by unicast (reach by address).
//!
//! A database that cannot be used never stops the app: [`Store::open_or_fallback`] moves
//! a corrupt file aside (never deletes it) and starts a new one, and for a locked or
//! newer-schema file runs on an in-memory database, saying so in a [`Fallback`].

mod messages;
pub mod migrations;
mod peers;
mod reach;
mod rooms;
mod search;
mod transfers;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};
use thiserror::Error;

pub use messages::{Direction, MsgState, NewMessage, StoredMessage};
pub use peers::{KnownPeer, TrustedKey};
pub use reach::ReachAddr;
pub use rooms::{Mark, MemberDelivery, RoomDelivery, StoredRoom};
pub use transfers::{Transfer, TransferState};

/// The file name of the database inside the data directory.
pub const HISTORY_FILE: &str = "history.db";

/// The conversation key of the Everyone room (direct conversations use the peer id).
pub const EVERYONE: &str = "everyone";

/// WAL pages after which a commit checkpoints by itself (4 KiB pages: 40 MiB).
const WAL_BACKSTOP_PAGES: u32 = 10_000;

/// How long to wait for another process (an `sqlite3` shell, a backup tool) that holds a
/// lock on the file before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// What can go wrong with the history database.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Not an SQLite database, or damaged.
    #[error("history database {path} is corrupt: {source}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Another process holds a lock on the file.
    #[error("history database {path} is locked by another program: {source}")]
    Locked {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Written by a newer lanchat whose schema this build does not know.
    #[error(
        "history database {path} has schema version {found}, newer than this lanchat knows \
         ({supported}); upgrade lanchat to use it"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// `user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The disk (or the database's size limit) is full.
    #[error("history database {path} is full (no space left on the disk?)")]
    Full {
        /// The database file.
        path: PathBuf,
    },
    /// Any other SQLite failure.
    #[error("history database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Moving a corrupt file aside failed.
    #[error("cannot move the corrupt history database {path} aside: {source}")]
    MoveAside {
        /// The database file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the same write may succeed later: the database or its disk is the
    /// problem (full, locked by another program, an I/O error, even damaged: it may be
    /// repaired), not the data. `false` when SQLite refuses the data itself (too big, a
    /// constraint): writing it again would fail the same way.
    pub fn is_temporary(&self) -> bool {
        match self {
            StoreError::Sqlite { source, .. } => !matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::TooBig | ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch)
                    // Not SQLite's answer: a value rusqlite could not bind.
                    | None
            ),
            _ => true,
        }
    }

    /// What went wrong in a few words, without the path: what a peer is told when its
    /// message could not be saved here.
    pub fn cause(&self) -> String {
        match self {
            StoreError::Corrupt { .. } => "the history database is damaged".to_owned(),
            StoreError::Locked { .. } => {
                "the history database is locked by another program".to_owned()
            }
            StoreError::NewerSchema { .. } => {
                "the history database belongs to a newer lanchat".to_owned()
            }
            StoreError::Full { .. } => "the disk is full".to_owned(),
            StoreError::Sqlite { source, .. } => match source.sqlite_error_code() {
                Some(ErrorCode::TooBig) => "the message is too big to save".to_owned(),
                Some(ErrorCode::ConstraintViolation) => {
                    "the history database refuses the message".to_owned()
                }
                Some(code) => format!("the history database cannot be written ({code:?})"),
                None => format!("the message cannot be saved ({source})"),
            },
            StoreError::MoveAside { .. } => "the history database cannot be used".to_owned(),
        }
    }
}

/// The history database.
pub struct Store {
    conn: Connection,
    /// The file, or `:memory:`.
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// How [`Store::open_or_fallback`] got a usable store when the file was not usable.
#[derive(Debug)]
pub enum Fallback {
    /// The file was corrupt: it was moved to `moved_to` and a new history started.
    MovedAside {
        /// Why it was unusable.
        error: StoreError,
        /// Where the old file is now.
        moved_to: PathBuf,
    },
    /// The file is kept untouched and this run keeps history in memory only.
    InMemory {
        /// Why the file could not be used.
        error: StoreError,
    },
}

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::MovedAside { error, moved_to } => write!(
                f,
                "{error}; it was moved to {} and a new history was started",
                moved_to.display()
            ),
            Fallback::InMemory { error } => write!(
                f,
                "{error}; the file is left untouched and this session's messages are kept \
                 in memory only (lost when lanchat quits)"
            ),
        }
    }
}

impl Store {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|e| classify(path, e))?;
        Store::init(conn, path.to_path_buf())
    }

    /// A store that lives in memory only: for running without a usable file, and tests.
    pub fn open_in_memory() -> Store {
        let conn = Connection::open_in_memory().expect("an in-memory database opens");
        Store::init(conn, PathBuf::from(":memory:")).expect("a new in-memory database migrates")
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Store, StoreError> {
        let err = |e| classify(&path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Reading the journal mode reads the header: a file that is not a database
        // fails here, before anything is written.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        // Checkpoints (copying the WAL into the file, with an fsync) run from the core's
        // housekeeping ([`Store::checkpoint`]), not inside whichever message's commit
        // crosses the default 1000 pages; this backstop bounds the WAL if housekeeping
        // cannot keep up.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        let mut store = Store { conn, path };
        migrations::migrate(&mut store.conn).map_err(|e| match e {
            migrations::MigrateError::Newer(found) => StoreError::NewerSchema {
                path: store.path.clone(),
                found,
                supported: migrations::LATEST,
            },
            migrations::MigrateError::Sqlite(e) => classify(&store.path, e),
        })?;
        Ok(store)
    }

    /// Opens `path`; if it cannot be used, still returns a working store and says what
    /// happened. `now_secs` (Unix seconds) names the moved-aside file
    /// (`history.db.corrupt-<now_secs>`).
    pub fn open_or_fallback(path: &Path, now_secs: u64) -> (Store, Option<Fallback>) {
        match Store::open(path) {
            Ok(store) => (store, None),
            Err(error @ StoreError::Corrupt { .. }) => match move_aside(path, now_secs) {
                Ok(moved_to) => match Store::open(path) {
                    Ok(store) => (store, Some(Fallback::MovedAside { error, moved_to })),
                    Err(error) => (Store::open_in_memory(), Some(Fallback::InMemory { error })),
                },
                Err(error) => (Store::open_in_memory(), Some(Fallback::InMemory { error })),
            },
            Err(error) => (Store::open_in_memory(), Some(Fallback::InMemory { error })),
        }
    }

    /// The database file (`:memory:` when running without one).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Maps an SQLite error on this store to a [`StoreError`].
    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    /// Copies what the WAL holds into the database file, if no reader is in the way
    /// (`PRAGMA wal_checkpoint(PASSIVE)`). Cheap when there is nothing to copy; the core
    /// calls it from housekeeping so the fsync it costs falls between messages.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// Limits the file to `pages` pages: lets tests run out of space without filling a disk.
    #[doc(hidden)]
    pub fn set_max_pages(&self, pages: u32) {
        let _ = self.conn.pragma_update(None, "max_page_count", pages);
    }
}

/// Sorts an SQLite error into the cases a user can act on.
fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::Corrupt { path, source }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Locked { path, source }
        }
        Some(ErrorCode::DiskFull) => StoreError::Full { path },
        _ => StoreError::Sqlite { path, source },
    }
}

/// Renames `path` (and its `-wal` and `-shm` companions) to `<path>.corrupt-<now_secs>`,
/// adding `-1`, `-2`, … if that name is taken. Nothing is deleted.
fn move_aside(path: &Path, now_secs: u64) -> Result<PathBuf, StoreError> {
    let base = format!("{}.corrupt-{now_secs}", path.display());
    let target = (0..)
        .map(|n| match n {
            0 => PathBuf::from(&base),
            n => PathBuf::from(format!("{base}-{n}")),
        })
        .find(|p| !p.exists())
        .expect("some name is free");
    fs::rename(path, &target).map_err(|source| StoreError::MoveAside {
        path: path.to_path_buf(),
        source,
    })?;
    for suffix in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            let _ = fs::rename(&from, format!("{}{suffix}", target.display()));
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests;

//! What a transfer's stream thread tells the core: progress, done, or how it stopped
//! (broken, worth another try, or final), tagged with the stream's id.

use std::path::PathBuf;

/// What a transfer thread tells the core.
#[derive(Debug)]
pub enum TransferReport {
    /// Bytes of the file now on the other side (sending) or received (receiving),
    /// counted from the start of the file, at most every [`PROGRESS_EVERY`](super::transfer::PROGRESS_EVERY).
    Progress {
        /// The transfer.
        transfer_id: String,
        /// Whether we are the sender.
        outgoing: bool,
        /// Bytes done, resumed ones included.
        bytes: u64,
        /// A folder: files done so far.
        files: Option<u64>,
    },
    /// The receiver verified the hash and stored the file.
    Done {
        /// The transfer.
        transfer_id: String,
        /// Whether we are the sender.
        outgoing: bool,
        /// Which stream this was: a report from a stream the core has already replaced
        /// is stale.
        stream: StreamId,
        /// Where the file landed (receiver), or the file sent (sender).
        path: PathBuf,
    },
    /// The transfer stopped. The receiver keeps the bytes that arrived unless the hash
    /// did not match.
    Failed {
        /// The transfer.
        transfer_id: String,
        /// Whether we are the sender.
        outgoing: bool,
        /// Which stream this was.
        stream: StreamId,
        /// Why, in words.
        reason: String,
        /// What kind of ending: a broken connection may be tried again.
        kind: FailureKind,
    },
}

impl TransferReport {
    /// How a transfer thread ended: `Done` with the file's path, or `Failed` with why.
    pub fn ended(
        transfer_id: String,
        outgoing: bool,
        stream: StreamId,
        result: Result<PathBuf, Failure>,
    ) -> Self {
        match result {
            Ok(path) => TransferReport::Done {
                transfer_id,
                outgoing,
                stream,
                path,
            },
            Err(f) => TransferReport::Failed {
                transfer_id,
                outgoing,
                stream,
                reason: f.reason,
                kind: f.kind,
            },
        }
    }
}

/// What kind of ending a stream had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The connection broke, stalled or could not be made: the same offer tried again
    /// may finish it.
    Broken,
    /// The file changed since it was offered (or shrank while being sent).
    FileChanged,
    /// The hash over the whole file did not match (the receiver refused the bytes).
    HashMismatch,
    /// A local failure: the file cannot be read, the disk failed, a protocol violation.
    Local,
}

/// Why a stream stopped without the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why, in words.
    pub reason: String,
    /// What kind of ending; only a broken one is worth another try.
    pub kind: FailureKind,
}

impl Failure {
    /// A broken connection: worth another try.
    pub fn broken(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            kind: FailureKind::Broken,
        }
    }

    /// The file changed since it was offered.
    pub fn changed(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            kind: FailureKind::FileChanged,
        }
    }

    /// The hash did not match.
    pub fn mismatch(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            kind: FailureKind::HashMismatch,
        }
    }
}

impl From<String> for Failure {
    /// A local failure.
    fn from(reason: String) -> Failure {
        Failure {
            reason,
            kind: FailureKind::Local,
        }
    }
}

impl From<&str> for Failure {
    /// A local failure.
    fn from(reason: &str) -> Failure {
        Failure::from(reason.to_owned())
    }
}

/// Names one stream (one data connection's thread) for the life of a node; chosen by
/// whoever starts it, so a report can be matched to the stream it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

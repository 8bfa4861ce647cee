//! The boundary between the web server and its host (the core, or a test's fake host).
//!
//! The server reports what visitors do as [`WebInput`]s on a channel the host gives it;
//! the host answers through methods of [`super::WebServer`], [`WebOutput`] among them.
//! Every policy (who may join, what is kept in history, ids of the host's messages, consent
//! for files) stays with the host: these types only carry what happened.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crossbeam_channel::{Sender, TrySendError};
use serde::Serialize;

/// A visitor: one browser session (a cookie), from join until it leaves or the link is
/// revoked. Random, so it can name a peer without clashing across runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VisitorId(pub(crate) String);

/// A file a visitor uploaded, waiting in the spool for the host's accept or decline.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UploadId(pub(crate) String);

/// A file the host offered to a visitor; the page fetches it by this id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DownloadId(pub(crate) String);

macro_rules! id_impls {
    ($($t:ident),*) => {$(
        impl $t {
            /// The id as text (random hex, safe in a URL or a file name).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
id_impls!(VisitorId, UploadId, DownloadId);

/// Where the server's reports go: the host's channel, or the host's own input channel
/// through a wrapper (the core wraps each report in its input type).
pub trait Report: Send + Sync + 'static {
    /// Offers one report without blocking. `Full` gives it back when the host has no room
    /// now (the server answers 503 or keeps it to offer again); `Disconnected` when the
    /// host is gone.
    // The error hands the report back (a channel's TrySendError), as large as a report.
    #[allow(clippy::result_large_err)]
    fn try_report(&self, input: WebInput) -> Result<(), TrySendError<WebInput>>;
}

impl Report for Sender<WebInput> {
    fn try_report(&self, input: WebInput) -> Result<(), TrySendError<WebInput>> {
        self.try_send(input)
    }
}

/// What a visitor did, for the host. Sent with `try_send`: the server never blocks on the
/// host; a full channel turns the visitor's request away with 503 (lifecycle reports are
/// retried instead, so none is lost).
#[derive(Debug, Clone, PartialEq)]
pub enum WebInput {
    /// A visitor typed a name and joined (or a new session after the old one left).
    Joined {
        /// The new visitor.
        visitor: VisitorId,
        /// The name they typed, cleaned (no control characters, at most 64 characters).
        name: String,
        /// Where their browser connects from.
        addr: SocketAddr,
    },
    /// A visitor sent a message. `client_msg_id` is the page's own id for it: a retried
    /// send repeats it and is not reported twice; answer with [`WebOutput::Delivered`].
    Said {
        /// Who sent it.
        visitor: VisitorId,
        /// The page's id for the message (1–64 characters of `[A-Za-z0-9_-]`).
        client_msg_id: String,
        /// The text, non-empty, at most [`super::MAX_TEXT_BYTES`] bytes.
        text: String,
    },
    /// The page has shown these messages of the host (their ids from
    /// [`WebOutput::Message`]), in order: the host may mark them delivered.
    Seen {
        /// Who saw them.
        visitor: VisitorId,
        /// The host's message ids, each reported once.
        ids: Vec<String>,
    },
    /// A visitor's file arrived whole in the spool: an offer. Answer with
    /// [`super::WebServer::accept_upload`] or [`super::WebServer::decline_upload`].
    Uploaded {
        /// Who sent it.
        visitor: VisitorId,
        /// Its id.
        upload: UploadId,
        /// Its name, made safe as one path component.
        name: String,
        /// Its size in bytes, checked against what the browser declared.
        size: u64,
        /// Its media type, sniffed from its first bytes, else from its name.
        mime: String,
        /// Where it waits (a `.part` file the server deletes on decline, leave or stop).
        spool_path: PathBuf,
    },
    /// A visitor's browser started fetching a file the host offered (a click on its link,
    /// or a picture shown inline). Each fetch is reported; a picture may be fetched again.
    Fetching {
        /// Who fetches it.
        visitor: VisitorId,
        /// Which offer.
        download: DownloadId,
        /// Its size in bytes.
        size: u64,
    },
    /// How far a fetch has got, at most a few times a second (dropped when the host's
    /// channel is full: the next one or the end says more).
    Fetched {
        /// Who fetches it.
        visitor: VisitorId,
        /// Which offer.
        download: DownloadId,
        /// Bytes written to the browser so far.
        bytes: u64,
    },
    /// A download of a file the host offered ended.
    Downloaded {
        /// Who fetched it.
        visitor: VisitorId,
        /// Which offer.
        download: DownloadId,
        /// Bytes written to the browser.
        bytes: u64,
        /// Whether that was the whole file.
        complete: bool,
    },
    /// A visitor is gone: tab closed (no event stream for a while), left, link revoked or
    /// server stopped. Their files still waiting in the spool were deleted.
    Left {
        /// Who left.
        visitor: VisitorId,
    },
}

/// What the host shows a visitor, through [`super::WebServer::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebOutput {
    /// A message from the host. `id` comes back in [`WebInput::Seen`] once the page shows it.
    Message {
        /// The host's id for it.
        id: String,
        /// The text.
        text: String,
        /// When it was written, milliseconds since the Unix epoch.
        time_ms: u64,
    },
    /// The host has the visitor's message `client_msg_id`.
    Delivered {
        /// The page's id from [`WebInput::Said`].
        client_msg_id: String,
    },
    /// One of the visitor's own earlier messages, shown again (a returning visitor's
    /// conversation, read back from the host's history).
    Mine {
        /// The page's id for it (as it was sent).
        id: String,
        /// The text.
        text: String,
        /// When it was written, milliseconds since the Unix epoch.
        time_ms: u64,
    },
    /// One of the visitor's earlier uploads, shown again with how it ended.
    Upload {
        /// The upload's id (for later [`WebOutput::Transfer`]s; any unique text).
        id: String,
        /// Its name.
        name: String,
        /// Its size in bytes.
        size: u64,
        /// How it stands.
        state: TransferState,
    },
    /// A transfer (an upload or a download, by its id) changed state.
    Transfer {
        /// The upload's or download's id.
        id: String,
        /// Its new state.
        state: TransferState,
    },
}

/// The states of a transfer the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// Waiting for the host to accept it.
    Waiting,
    /// The host accepted it (an upload landed).
    Accepted,
    /// The host declined it.
    Declined,
    /// It is complete.
    Done,
    /// It failed.
    Failed,
    /// The host took it back (a file offered) or stopped it.
    Cancelled,
}

/// A file the host offers a visitor through [`super::WebServer::offer_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOffer {
    /// Where it is on disk; read when the page fetches it.
    pub path: PathBuf,
    /// The name the browser saves it under.
    pub name: String,
    /// Its media type; pictures (PNG, JPEG, GIF, WebP) are shown inline.
    pub mime: String,
}

//! A page for browsers: a visitor with only a browser joins the host's conversation.
//!
//! Owns the HTTP server (hyper's HTTP/1 on a tokio runtime of its own thread), the link's
//! token, visitors' sessions and logs, uploads in the spool until the host decides, and the
//! page itself (`page/`, embedded). It reports what visitors do as [`WebInput`]s on the
//! host's channel and takes the host's answers through [`WebServer`]'s methods.
//!
//! It must not decide anything that is the host's: who is a peer, what goes in history,
//! whether a file is wanted, the ids of the host's messages. It only serves, limits and
//! reports. It never blocks on the host (`try_send`), and the host never waits on it for
//! longer than a mutex held for bookkeeping.
//!
//! Layout: `api` (the boundary types), `route`/`headers` (pure request parsing, fuzzed),
//! `limits`, `hub` (visitors), `log` (a visitor's events), `files` (spool and offers),
//! `server` (threads, sockets, connections), `handlers`/`transfer` (endpoints), `body`,
//! `host` (the methods the host calls), [`qr`] (the link as a QR code).

mod api;
mod body;
mod files;
pub mod fuzzing;
mod handlers;
pub mod headers;
mod host;
mod hub;
mod limits;
mod log;
pub mod qr;
pub mod route;
mod server;
mod token;
mod transfer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use api::{
    DownloadId, FileOffer, Report, TransferState, UploadId, VisitorId, WebInput, WebOutput,
};
pub use host::{Taken, WebStats, land};
pub use limits::Rate;
pub use server::WebServer;

/// Longest message a visitor may send, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// Largest JSON request body read (join, say, seen), in bytes.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Largest request head (request line and headers), in bytes; larger gets 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most headers in a request; more gets 431.
pub const MAX_HEADERS: usize = 64;

/// What the server is given to start.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where to listen; port 0 picks a free port. Use the addresses lanchat uses
    /// (`127.0.0.1` in loopback mode).
    pub bind: SocketAddr,
    /// The host's name, shown on the page (only to requests with the token).
    pub host_name: String,
    /// Where uploads wait as `web-*.part` files; created if missing, and such files left
    /// by an earlier run are deleted at start. Best on the same file system as the
    /// download folder, so an accepted upload is renamed, not copied.
    pub spool_dir: PathBuf,
    /// Caps and times.
    pub limits: WebLimits,
}

impl WebConfig {
    /// A server on `bind` with the default limits.
    pub fn new(bind: SocketAddr, host_name: impl Into<String>, spool_dir: PathBuf) -> Self {
        Self {
            bind,
            host_name: host_name.into(),
            spool_dir,
            limits: WebLimits::default(),
        }
    }
}

/// Caps and times; the defaults suit a LAN (docs/WEB.md explains each).
#[derive(Debug, Clone)]
pub struct WebLimits {
    /// Largest upload, in bytes (413 above it).
    pub max_upload: u64,
    /// Bytes all uploads waiting in the spool may hold (507 above it).
    pub max_spool: u64,
    /// Visitors at once (503 for one more).
    pub max_visitors: usize,
    /// Open connections from one address (more are closed at once).
    pub max_conns_per_addr: usize,
    /// Open connections in all.
    pub max_conns: usize,
    /// Time to send a request's head; after it, 408 and the connection closes.
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed (a slow or
    /// stuck client, a stalled upload, a reader that stopped reading).
    pub idle_timeout: Duration,
    /// With no event stream open, a visitor is gone this long after their last request.
    pub leave_after: Duration,
    /// A comment line on every event stream this often, so a closed tab is noticed.
    pub heartbeat: Duration,
    /// Requests per address, every endpoint and wrong tokens included (429 above it).
    pub requests: Rate,
    /// Messages per address.
    pub messages: Rate,
    /// Joins per address.
    pub joins: Rate,
}

impl Default for WebLimits {
    fn default() -> Self {
        Self {
            max_upload: 4 << 30,
            max_spool: 16 << 30,
            max_visitors: 32,
            max_conns_per_addr: 16,
            max_conns: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            leave_after: Duration::from_secs(30),
            heartbeat: Duration::from_secs(15),
            requests: Rate {
                per_sec: 20.0,
                burst: 100.0,
            },
            messages: Rate {
                per_sec: 5.0,
                burst: 30.0,
            },
            joins: Rate {
                per_sec: 0.5,
                burst: 5.0,
            },
        }
    }
}

/// What went wrong, naming the address, path or id.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The listening socket could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The spool folder could not be created.
    #[error("cannot create the upload spool {path}: {source}")]
    Spool {
        /// Which folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The server's thread or runtime could not start.
    #[error("cannot start the web server's thread: {0}")]
    Thread(std::io::Error),
    /// The server is not running.
    #[error("the page for browsers is off")]
    Off,
    /// No such visitor (gone, or never joined).
    #[error("no visitor {0}")]
    UnknownVisitor(VisitorId),
    /// No such upload waiting (declined, taken, its visitor left).
    #[error("no upload {0} waiting")]
    UnknownUpload(UploadId),
    /// No such offer (withdrawn, or its visitor left).
    #[error("no file offer {0}")]
    UnknownDownload(DownloadId),
    /// The upload is still arriving.
    #[error("upload {0} has not arrived whole yet")]
    UploadIncomplete(UploadId),
    /// A file could not be read, moved or deleted.
    #[error("{path}: {source}")]
    File {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Every free name for an accepted upload in the folder was taken.
    #[error("no free name for {name} in {dir}")]
    NoFreeName {
        /// The folder.
        dir: PathBuf,
        /// The upload's name.
        name: String,
    },
    /// The link does not fit in a QR code.
    #[error("the link does not fit in a QR code: {0}")]
    Qr(String),
}

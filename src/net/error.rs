//! Why sockets or threads could not be set up.

use std::io;
use std::net::SocketAddr;

use thiserror::Error;

/// Socket set-up errors, naming what was bound where.
#[derive(Debug, Error)]
pub enum NetError {
    /// A bind failed.
    #[error("cannot bind {what} to {addr}: {source}")]
    Bind {
        /// Which socket.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start thread: {0}")]
    Thread(#[from] io::Error),
}

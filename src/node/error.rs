//! Why a node could not start.

use thiserror::Error;

use crate::config::ConfigError;
use crate::net::NetError;

/// Why a node could not start.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The data directory or identity.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A socket or thread.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Starting an I/O thread or reading a socket's address.
    #[error("cannot start the node: {0}")]
    Io(#[from] std::io::Error),
}

//! Why a node could not start.

use thiserror::Error;

use crate::config::ConfigError;
use crate::net::NetError;
use crate::trust::identity::IdentityError;

/// Why a node could not start.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The data directory or identity.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The identity key in the data directory (unreadable, not private, corrupt).
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A socket or thread.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Starting an I/O thread or reading a socket's address.
    #[error("cannot start the node: {0}")]
    Io(#[from] std::io::Error),
}

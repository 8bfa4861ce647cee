//! The Noise handshake (protocol v2) where connections are made: the dialler's side right
//! after it connects (a link's dial, a file's data connection), the greeter's side on
//! what an accepted connection sends first. It runs on the port's threads, never on the
//! core's, and one deadline bounds the whole handshake.
//!
//! Owns nothing but the glue and the failure counts: the handshake itself is
//! `crate::trust::noise`, the frames are [`Conn`]'s. After a handshake the connection is
//! [`Conn::secure`]: every later frame is sealed, and the remote's identity key, proven,
//! travels beside it to the core.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use thiserror::Error;

use super::conn::Conn;
use crate::trust::noise::{self, HandshakeError};
use crate::trust::{KeyPair, PeerKey};

/// How long a dialler's handshake may take once connected.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection we made did not become a secure one.
#[derive(Debug, Error)]
pub enum DialError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Where.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// Connected, but the handshake failed (someone else answered, a v1 peer, a
    /// timeout…): nothing of ours was sent.
    #[error("handshake with {addr} failed: {source}")]
    Handshake {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: HandshakeError,
    },
}

impl DialError {
    /// Short stable label: `connect`, or the handshake's (`wrong_peer`, `timeout`, …).
    pub fn label(&self) -> &'static str {
        match self {
            DialError::Connect { .. } => "connect",
            DialError::Handshake { source, .. } => source.label(),
        }
    }

    /// Whether something answered at the address but could not prove it was the peer.
    pub fn is_handshake(&self) -> bool {
        matches!(self, DialError::Handshake { .. })
    }
}

/// Connects to `addr` within `timeout`, then proves, as the initiator, that we are `keys`
/// and that the other end is `expect` (a peer id), all of the handshake before
/// `Instant::now() + HANDSHAKE_TIMEOUT`. A wrong responder is refused before it learns
/// who called.
pub fn connect(
    addr: SocketAddr,
    timeout: Duration,
    keys: &KeyPair,
    expect: &str,
) -> Result<(Conn, PeerKey), DialError> {
    let mut conn =
        Conn::connect(addr, timeout).map_err(|source| DialError::Connect { addr, source })?;
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    match noise::initiate(&mut conn, keys, Some(expect), deadline) {
        Ok(session) => {
            conn.secure(Box::new(session.seal), Box::new(session.open));
            Ok((conn, session.remote))
        }
        Err(source) => Err(DialError::Handshake { addr, source }),
    }
}

/// The responder's side on an accepted connection, its first frame not read yet: the
/// whole handshake before `deadline`. Returns the remote's proven identity; the
/// connection is secure from here on.
pub fn respond(
    conn: &mut Conn,
    keys: &KeyPair,
    deadline: Instant,
) -> Result<PeerKey, HandshakeError> {
    let session = noise::respond(conn, keys, deadline)?;
    conn.secure(Box::new(session.seal), Box::new(session.open));
    Ok(session.remote)
}

/// Failed handshakes by label, both ways (the greeters', the dialers', the file
/// senders'), for `net_status`. Shared by the port's threads.
#[derive(Debug, Default)]
pub struct HandshakeStats {
    failed: Mutex<BTreeMap<&'static str, u64>>,
}

impl HandshakeStats {
    /// One more failed handshake.
    pub fn failed(&self, label: &'static str) {
        if let Ok(mut m) = self.failed.lock() {
            *m.entry(label).or_default() += 1;
        }
    }

    /// The counts so far, by label (labels that happened only).
    pub fn by_label(&self) -> BTreeMap<String, u64> {
        self.failed
            .lock()
            .map(|m| m.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
            .unwrap_or_default()
    }
}

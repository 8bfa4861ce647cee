//! Known peers: who we have met, so they can be listed (offline, with their last-seen
//! time) and written to after a restart.

use rusqlite::params;

use super::{Store, StoreError, classify};

/// A peer as remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPeer {
    /// Stable peer id.
    pub id: String,
    /// Last name it used.
    pub name: String,
    /// Last host name it announced.
    pub host: String,
    /// Last IPv4 address it was heard from.
    pub addr: std::net::Ipv4Addr,
    /// Last link port it announced.
    pub port: u16,
    /// When it was last heard, in milliseconds since the Unix epoch.
    pub last_seen: u64,
    /// Its identity key (base64url), once known (`None`: met before protocol v2).
    pub key: Option<String>,
    /// How it is known: `lanchat` or `ipmsg` (`node::Protocol::label`).
    pub protocol: String,
    /// The group it announced (IPMsg; empty for lanchat peers).
    pub group: String,
}

/// A key the user verified (compared safety codes with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The ed25519 public key, base64url.
    pub key: String,
    /// The peer id it speaks for.
    pub peer: String,
    /// What the peer was called when it was verified.
    pub name: String,
    /// When, in milliseconds since the Unix epoch.
    pub verified_at: u64,
}

impl Store {
    /// Records (or updates) a peer.
    pub fn save_peer(&self, p: &KnownPeer) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO peers (id, name, host, addr, port, last_seen, key, protocol, grp)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET name = ?2, host = ?3, addr = ?4, port = ?5,
                     last_seen = max(last_seen, ?6), key = coalesce(?7, key), protocol = ?8,
                     grp = ?9",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p.id,
                    p.name,
                    p.host,
                    p.addr.to_string(),
                    p.port,
                    p.last_seen as i64,
                    p.key,
                    p.protocol,
                    p.group
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every remembered peer, most recently seen first, at most `limit`.
    pub fn known_peers(&self, limit: usize) -> Result<Vec<KnownPeer>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id, name, host, addr, port, last_seen, key, protocol, grp FROM peers
                 ORDER BY last_seen DESC LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map([limit as i64], |r| {
                    Ok(KnownPeer {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        host: r.get(2)?,
                        addr: r
                            .get::<_, String>(3)?
                            .parse()
                            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                        port: r.get(4)?,
                        last_seen: r.get::<_, i64>(5)? as u64,
                        key: r.get(6)?,
                        protocol: r.get(7)?,
                        group: r.get(8)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }
}

impl Store {
    /// Remembers that the user verified `t.key` (again: the notes are replaced).
    pub fn trust_key(&self, t: &TrustedKey) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO trusted_keys (key, peer, name, verified_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET peer = ?2, name = ?3, verified_at = ?4",
            )
            .and_then(|mut s| s.execute(params![t.key, t.peer, t.name, t.verified_at as i64]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forgets that the user verified `key`.
    pub fn untrust_key(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM trusted_keys WHERE key = ?1")
            .and_then(|mut s| s.execute([key]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every key the user verified, oldest first.
    pub fn trusted_keys(&self) -> Result<Vec<TrustedKey>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT key, peer, name, verified_at FROM trusted_keys ORDER BY verified_at",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(TrustedKey {
                        key: r.get(0)?,
                        peer: r.get(1)?,
                        name: r.get(2)?,
                        verified_at: r.get::<_, i64>(3)? as u64,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }

    /// Our own peer id changed from `old` to `new` (protocol v2 derives it from the
    /// identity key, v1 made it up): the messages we wrote, the outbox among them, are
    /// ours under the new id. One transaction; returns how many rows moved. Everything
    /// else in the history is keyed by the *other* peer's id and stays as it is.
    pub fn rename_author(&mut self, old: &str, new: &str) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| classify(&self.path, e))?;
        let n = tx
            .execute(
                "UPDATE messages SET author = ?2 WHERE author = ?1",
                [old, new],
            )
            .map_err(|e| classify(&self.path, e))?;
        tx.commit().map_err(|e| classify(&self.path, e))?;
        Ok(n)
    }
}

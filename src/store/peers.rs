//! Known peers: who we have met, so they can be listed (offline, with their last-seen
//! time) and written to after a restart.

use rusqlite::params;

use super::{Store, StoreError};

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
    /// How it is known: `lanchat` or `ipmsg` (`node::Protocol::label`).
    pub protocol: String,
    /// The group it announced (IPMsg; empty for lanchat peers).
    pub group: String,
}

impl Store {
    /// Records (or updates) a peer.
    pub fn save_peer(&self, p: &KnownPeer) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO peers (id, name, host, addr, port, last_seen, protocol, grp)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET name = ?2, host = ?3, addr = ?4, port = ?5,
                     last_seen = max(last_seen, ?6), protocol = ?7, grp = ?8",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p.id,
                    p.name,
                    p.host,
                    p.addr.to_string(),
                    p.port,
                    p.last_seen as i64,
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
                "SELECT id, name, host, addr, port, last_seen, protocol, grp FROM peers
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
                        protocol: r.get(6)?,
                        group: r.get(7)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }
}

//! The unicast list (reach by address): addresses added by the user, learned (they
//! reached us by unicast) or removed, remembered until `remove_peer` (schema v5).

use rusqlite::params;

use super::{Store, StoreError};

/// One remembered address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachAddr {
    /// The normalised address (`host:port`).
    pub addr: String,
    /// `added`, `learned` or `removed`.
    pub origin: String,
}

impl Store {
    /// Remembers `addr` as `origin` (`added`, `learned`, `removed`) since `at` (ms since
    /// the Unix epoch); a learned address never overrides an added one.
    pub fn save_reach(&self, addr: &str, origin: &str, at: u64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO reach (addr, origin, since) VALUES (?1, ?2, ?3)
                 ON CONFLICT (addr) DO UPDATE SET origin = ?2, since = ?3
                     WHERE NOT (origin = 'added' AND ?2 = 'learned')",
            )
            .and_then(|mut s| s.execute(params![addr, origin, at as i64]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forgets `addr` altogether.
    pub fn forget_reach(&self, addr: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM reach WHERE addr = ?1")
            .and_then(|mut s| s.execute([addr]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every remembered address, oldest first.
    pub fn reach_list(&self) -> Result<Vec<ReachAddr>, StoreError> {
        self.conn
            .prepare_cached("SELECT addr, origin FROM reach ORDER BY since, addr")
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(ReachAddr {
                        addr: r.get(0)?,
                        origin: r.get(1)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_remembered_until_forgotten_and_learned_never_demotes_added() {
        let store = Store::open_in_memory();
        store.save_reach("10.0.2.7:47474", "added", 1).unwrap();
        store.save_reach("10.0.2.7:47474", "learned", 2).unwrap();
        store.save_reach("10.0.3.9:47474", "learned", 3).unwrap();
        store.save_reach("10.0.3.9:47474", "removed", 4).unwrap();
        let list = store.reach_list().unwrap();
        let pairs: Vec<(&str, &str)> = list
            .iter()
            .map(|r| (r.addr.as_str(), r.origin.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("10.0.2.7:47474", "added"), ("10.0.3.9:47474", "removed")]
        );
        store.forget_reach("10.0.2.7:47474").unwrap();
        assert_eq!(store.reach_list().unwrap().len(), 1);
    }

    #[test]
    fn a_version_4_history_keeps_its_peers_and_gets_an_empty_list() {
        use super::super::migrations;
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrations::migrate_to(&mut conn, 4).unwrap();
        conn.execute(
            "INSERT INTO peers (id, name, host, addr, port, last_seen, protocol, grp)
             VALUES ('p', '张三', 'lab', '10.0.0.7', 47475, 5, 'lanchat', '')",
            [],
        )
        .unwrap();
        migrations::migrate(&mut conn)
            .map_err(|_| "migrate")
            .unwrap();
        assert_eq!(migrations::version(&conn).unwrap(), migrations::LATEST);
        let peers: i64 = conn
            .query_row("SELECT count(*) FROM peers", [], |r| r.get(0))
            .unwrap();
        let reach: i64 = conn
            .query_row("SELECT count(*) FROM reach", [], |r| r.get(0))
            .unwrap();
        assert_eq!((peers, reach), (1, 0));
    }
}

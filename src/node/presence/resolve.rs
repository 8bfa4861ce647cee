//! Turning what a user typed into a peer: a full id, a unique name among online peers,
//! or a unique id prefix of at least 4 characters (`send`, `send_file`, `history`).

use super::table::PeerTable;
use crate::node::peer::PeerInfo;

impl PeerTable {
    /// Resolves what a user typed: a full id, a unique name among online peers, or a
    /// unique id prefix of at least 4 characters.
    pub fn resolve(&self, key: &str) -> Result<&PeerInfo, ResolveError> {
        if let Some(p) = self.get(key) {
            return Ok(p);
        }
        let by_name: Vec<&PeerInfo> = self.infos().filter(|p| p.online && p.name == key).collect();
        match by_name.len() {
            1 => return Ok(by_name[0]),
            n if n > 1 => {
                let mut ids: Vec<&str> = by_name.iter().map(|p| p.id.as_str()).collect();
                ids.sort();
                return Err(ResolveError::Ambiguous {
                    key: key.to_owned(),
                    ids: ids.into_iter().map(str::to_owned).collect(),
                });
            }
            _ => {}
        }
        if key.len() >= 4 {
            let by_prefix: Vec<&PeerInfo> =
                self.infos().filter(|p| p.id.starts_with(key)).collect();
            if by_prefix.len() == 1 {
                return Ok(by_prefix[0]);
            }
        }
        Err(ResolveError::Unknown(key.to_owned()))
    }
}

/// Why a peer reference did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No such id, name or prefix.
    #[error("unknown peer {0:?}: not an id, nor the name of an online peer")]
    Unknown(String),
    /// Several online peers have that name.
    #[error("peer name {key:?} is ambiguous: use one of the ids {ids:?}")]
    Ambiguous {
        /// The name.
        key: String,
        /// The peers that have it.
        ids: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::table::test_sighting as s;
    use super::*;

    #[test]
    fn resolve_by_id_name_and_prefix() {
        let now = Instant::now();
        let mut t = PeerTable::new();
        t.observe(&s("abcd1111", "i", "张三", 1), now, 0);
        t.observe(&s("abcd2222", "i", "Li", 1), now, 0);
        t.observe(&s("ffff0000", "i", "Li", 1), now, 0);
        assert_eq!(t.resolve("abcd1111").unwrap().name, "张三");
        assert_eq!(t.resolve("张三").unwrap().id, "abcd1111");
        assert!(matches!(
            t.resolve("Li"),
            Err(ResolveError::Ambiguous { .. })
        ));
        assert_eq!(t.resolve("ffff").unwrap().name, "Li");
        assert!(matches!(t.resolve("abcd"), Err(ResolveError::Unknown(_))));
        assert!(matches!(t.resolve("nobody"), Err(ResolveError::Unknown(_))));
        // Names resolve among online peers only.
        t.set_offline("abcd1111");
        assert!(t.resolve("张三").is_err());
        assert!(t.resolve("abcd1111").is_ok(), "ids resolve offline too");
    }
}

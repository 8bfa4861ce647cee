//! The keys the user verified (compared safety codes with), per key and never per name,
//! and the one question names still answer: does another key go by a name the user
//! verified? Pure: loaded from the store at start, changed by `verify` / `unverify`
//! (the core records the change).

use std::collections::HashMap;

use crate::protocol::PeerId;
use crate::store::TrustedKey;
use crate::trust::PeerKey;

/// What is noted beside a verified key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The peer id the key speaks for.
    pub peer: PeerId,
    /// Its name when the user verified it.
    pub name: String,
}

/// The verified keys.
#[derive(Debug, Default)]
pub struct TrustBook {
    keys: HashMap<PeerKey, Verified>,
}

impl TrustBook {
    /// The book as stored; rows whose key does not parse or does not speak for their
    /// peer id are skipped (a hand-edited file cannot make a key trusted for another id).
    pub fn from_stored(rows: Vec<TrustedKey>) -> TrustBook {
        let keys = rows
            .into_iter()
            .filter_map(|r| {
                let key = PeerKey::from_base64(&r.key).ok()?;
                (key.peer_id() == r.peer).then(|| {
                    let v = Verified {
                        peer: r.peer.into(),
                        name: r.name,
                    };
                    (key, v)
                })
            })
            .collect();
        TrustBook { keys }
    }

    /// Whether the user verified `key`.
    pub fn is_verified(&self, key: &PeerKey) -> bool {
        self.keys.contains_key(key)
    }

    /// Marks `key` verified, noting its peer and name.
    pub fn verify(&mut self, key: PeerKey, name: &str) {
        let v = Verified {
            peer: key.peer_id().into(),
            name: name.to_owned(),
        };
        self.keys.insert(key, v);
    }

    /// Forgets that `key` was verified; `true` if it was.
    pub fn unverify(&mut self, key: &PeerKey) -> bool {
        self.keys.remove(key).is_some()
    }

    /// A verified peer other than `key`'s that goes by `name` (the name it was verified
    /// under, or its name now, from `name_now`): a warning that `key` is not that peer.
    /// Names compare without case and surrounding spaces.
    pub fn name_taken<'a>(
        &self,
        name: &str,
        key: Option<&PeerKey>,
        name_now: impl Fn(&PeerId) -> Option<&'a str>,
    ) -> Option<PeerId> {
        let same = |other: &str| other.trim().to_lowercase() == name.trim().to_lowercase();
        if name.trim().is_empty() {
            return None;
        }
        let mut taken: Vec<&PeerId> = self
            .keys
            .iter()
            .filter(|(k, _)| Some(*k) != key)
            .filter(|(_, v)| same(&v.name) || name_now(&v.peer).is_some_and(same))
            .map(|(_, v)| &v.peer)
            .collect();
        taken.sort();
        taken.first().map(|p| (*p).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::KeyPair;

    fn key(n: u8) -> PeerKey {
        KeyPair::from_secrets(&[n; 32], &[n; 32]).public()
    }

    #[test]
    fn trust_is_per_key_and_a_name_taken_by_another_key_is_told() {
        let (bob, mallory) = (key(1), key(2));
        let mut book = TrustBook::default();
        book.verify(bob, "Bob");
        assert!(book.is_verified(&bob));
        assert!(
            !book.is_verified(&mallory),
            "the name does not make it verified"
        );
        let nobody = |_: &PeerId| None;
        assert_eq!(
            book.name_taken("bob ", Some(&mallory), nobody),
            Some(bob.peer_id().into())
        );
        assert_eq!(
            book.name_taken("Bob", Some(&bob), nobody),
            None,
            "bob is bob"
        );
        assert_eq!(book.name_taken("carol", Some(&mallory), nobody), None);
        // Bob renamed himself: his new name is his too.
        let bob_id = PeerId::from(bob.peer_id());
        let now = |p: &PeerId| (*p == bob_id).then_some("Robert");
        assert_eq!(
            book.name_taken("robert", Some(&mallory), now),
            Some(bob_id.clone())
        );
        assert!(book.unverify(&bob));
        assert_eq!(book.name_taken("Bob", Some(&mallory), nobody), None);
    }

    #[test]
    fn stored_rows_must_speak_for_their_peer() {
        let bob = key(1);
        let row = |peer: String| TrustedKey {
            key: bob.to_base64(),
            peer,
            name: "bob".into(),
            verified_at: 1,
        };
        let book = TrustBook::from_stored(vec![row("someone-else".into())]);
        assert!(!book.is_verified(&bob));
        let book = TrustBook::from_stored(vec![row(bob.peer_id())]);
        assert!(book.is_verified(&bob));
    }
}

//! The user's trust, as presence keeps it: the safety code for us and a peer, marking
//! its key verified (or not), and telling when a peer goes by the name of a verified
//! peer with another key. Per key, never per name (`trust.rs` holds the keys).

use super::Presence;
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::out::{Out, Record};
use crate::node::peer::PeerInfo;
use crate::protocol::PeerId;
use crate::store::TrustedKey;
use crate::trust::{SafetyCode, safety_code};

impl Presence {
    /// The safety code for us and `peer` (a reference as for `send`, offline peers
    /// too), with the peer as it is now.
    pub fn safety_code(&self, peer: &str) -> Result<(PeerInfo, SafetyCode), String> {
        let info = self.table.resolve(peer).map_err(|e| e.to_string())?;
        let key = self
            .table
            .key(&info.id)
            .ok_or_else(|| format!("{} has no key yet (met before protocol 2)", info.name))?;
        Ok((info.clone(), safety_code(&self.keys.public(), &key)))
    }

    /// The user verified `peer`'s key (`true`) or takes that back (`false`): recorded
    /// per key, told as `peer_changed` (for it, and for any peer whose warning changed
    /// with it). Returns the peer.
    pub fn set_verified(
        &mut self,
        peer: &str,
        verified: bool,
        now: Now,
        out: &mut Out,
    ) -> Result<PeerInfo, String> {
        let info = self.table.resolve(peer).map_err(|e| e.to_string())?.clone();
        let key = self
            .table
            .key(&info.id)
            .ok_or_else(|| format!("{} has no key yet (met before protocol 2)", info.name))?;
        if verified {
            self.trust.verify(key, &info.name);
            out.record(Record::Trust(TrustedKey {
                key: key.to_base64(),
                peer: info.id.to_string(),
                name: info.name.clone(),
                verified_at: now.wall,
            }));
        } else {
            self.trust.unverify(&key);
            out.record(Record::Untrust(key.to_base64()));
        }
        let mut changed = self.refresh_all_trust(out);
        changed.retain(|id| *id != info.id);
        let peer = self.table.get(&info.id).cloned().expect("resolved");
        tracing::info!(peer = %peer.id, name = %peer.name, verified, "trust changed");
        out.emit(Event::PeerChanged { peer: peer.clone() });
        for id in changed {
            if let Some(other) = self.table.get(&id).cloned() {
                out.emit(Event::PeerChanged { peer: other });
            }
        }
        Ok(peer)
    }

    /// Works out what the user's trust says of peer `id` (verified; goes by a verified
    /// peer's name with another key) and tells `key_changed` when that warning is new.
    /// Returns whether anything changed.
    pub(super) fn refresh_trust(&mut self, id: &str, out: &mut Out) -> bool {
        let Some(info) = self.table.get(id) else {
            return false;
        };
        let key = self.table.key(id);
        let verified = key.is_some_and(|k| self.trust.is_verified(&k));
        let was_warned = info.trust.key_changed_from.clone();
        let taken = self.trust.name_taken(&info.name, key.as_ref(), |p| {
            self.table.get(p).map(|i| i.name.as_str())
        });
        let changed = self.table.set_trust(id, verified, taken.clone());
        if let Some(verified_peer) = taken.filter(|t| was_warned.as_ref() != Some(t)) {
            let peer = self.table.get(id).cloned().expect("known");
            tracing::warn!(peer = %peer.id, name = %peer.name, %verified_peer,
                "a peer goes by the name of a verified peer, with another key");
            out.emit(Event::KeyChanged {
                name: peer.name.clone(),
                verified_peer,
                peer,
            });
        }
        changed
    }

    /// [`Presence::refresh_trust`] for every known peer; returns those that changed.
    pub(super) fn refresh_all_trust(&mut self, out: &mut Out) -> Vec<PeerId> {
        let ids: Vec<PeerId> = self.table.infos().map(|p| p.id.clone()).collect();
        ids.into_iter()
            .filter(|id| self.refresh_trust(id, out))
            .collect()
    }
}

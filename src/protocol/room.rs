//! Rooms on the wire: a room's id, its members as each member needs them to reach the
//! others, and a signed change of its member list or name (`create`, `add`, `rename`,
//! `leave`).
//!
//! Pure code. A change travels inside a `chat` frame's `change` field (so it is stored,
//! acknowledged and resent like a message) and is signed by its author's identity key
//! over [`RoomChange::signed_bytes`]: a domain tag, then the JSON of every field but the
//! signature, in the struct's fixed field order. Who may make which change (a member, for
//! a room the receiver knows) is the rooms part's rule; this file only says whether the
//! bytes are a well-formed change by the key its author's id is derived from.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::trust::keys::{KeyPair, PeerKey, SIGNATURE_LEN, peer_id_of};

/// Most members a room has.
pub const MAX_MEMBERS: usize = 256;

/// Longest room name, in characters.
pub const MAX_ROOM_NAME: usize = 64;

/// What a room id starts with (then 32 hex digits), so it is never taken for a peer id.
pub const ROOM_PREFIX: &str = "room-";

/// Domain tag of a change's signature.
const CHANGE_TAG: &[u8] = b"lanchat room change v1\0";

/// Longest peer id a change may name in `name_by` (ids are 32 base32 characters; IPMsg
/// and visitor ids are never members).
const MAX_ID_LEN: usize = 64;

/// Whether a number field is left off the wire (zero: unknown).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Whether `id` is shaped like a room id.
pub fn is_room_id(id: &str) -> bool {
    id.strip_prefix(ROOM_PREFIX)
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A new random room id.
pub fn new_room_id() -> String {
    format!("{ROOM_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// One member as the room carries it: enough to find and check them without having met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Peer id (derived from `key`).
    pub id: String,
    /// Display name when they were added.
    pub name: String,
    /// ed25519 public key, base64url.
    pub key: String,
    /// Last known IPv4 address (may be empty).
    #[serde(default)]
    pub addr: String,
    /// Last known link port (0: unknown).
    #[serde(default)]
    pub port: u16,
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// The room is made, with `members` (the author among them).
    Create,
    /// `members` are the room's members now, the added ones among them.
    Add,
    /// The room is called `name` now.
    Rename,
    /// The author left.
    Leave,
}

/// A signed change of a room (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomChange {
    /// The room.
    pub room: String,
    /// What changed.
    pub op: ChangeOp,
    /// The room's name after the change.
    pub name: String,
    /// The members after the change, as the author knows them.
    pub members: Vec<Member>,
    /// Who made the change (a peer id).
    pub author: String,
    /// Milliseconds since the Unix epoch at the author.
    pub at: u64,
    /// The message id the change travels under (binds the signature to one delivery).
    pub msg_id: String,
    /// For `add`: the ids it adds (each among `members`). A receiver adds only these, not
    /// everyone `members` lists that it lacks: the list may still hold someone who left
    /// after its author wrote it, and must not bring them back. Empty (and absent on the
    /// wire, so older changes still verify): the receiver takes the union, as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// For `add`: when the name it carries was set (`at` of the create or rename that set
    /// it; 0 and absent when unknown), so a member who joins by it orders the renames that
    /// reach them later as every other member does (see `node::rooms::order`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub name_at: u64,
    /// For `add`: who set the name it carries (empty and absent when unknown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_by: String,
    /// The author's signature, base64url (absent while it is made).
    #[serde(default)]
    pub sig: String,
}

/// Why a change is not taken.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ChangeError {
    /// Not a room id.
    #[error("{0:?} is not a room id")]
    BadRoom(String),
    /// A member's key is not valid, or its id is not derived from it.
    #[error("member {0} does not match its key")]
    BadMember(String),
    /// The author is not among the members it carries (create, add, rename).
    #[error("the author {0} is not a member")]
    AuthorNotMember(String),
    /// An id in `added` that the change's `members` do not list.
    #[error("{0} is added but not listed as a member")]
    AddedNotMember(String),
    /// No signature, or one that does not verify against the author's key.
    #[error("the signature of {0} does not verify")]
    BadSignature(String),
    /// Over [`MAX_MEMBERS`] or a name over [`MAX_ROOM_NAME`].
    #[error("too large: {0}")]
    TooLarge(&'static str),
}

impl RoomChange {
    /// The bytes the signature covers: a domain tag and the change without `sig`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.sig = String::new();
        let mut bytes = CHANGE_TAG.to_vec();
        serde_json::to_writer(&mut bytes, &unsigned).expect("a change always serialises");
        bytes
    }

    /// Signs the change with our identity (the author must be `keys`' id).
    pub fn sign(&mut self, keys: &KeyPair) {
        debug_assert_eq!(self.author, keys.peer_id());
        let sig = keys.sign(&self.signed_bytes());
        self.sig = data_encoding::BASE64URL_NOPAD.encode(&sig);
    }

    /// The author's member entry.
    pub fn author_entry(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.id == self.author)
    }

    /// Checks the shape, every member's key against its id, and the signature against
    /// `author_key` (the key the author's id is derived from: from the members for
    /// create, add and rename; the receiver's copy of the room for leave). Returns the
    /// author's key.
    pub fn verify(&self, author_key: Option<&str>) -> Result<PeerKey, ChangeError> {
        if !is_room_id(&self.room) {
            return Err(ChangeError::BadRoom(self.room.clone()));
        }
        if self.members.len() > MAX_MEMBERS {
            return Err(ChangeError::TooLarge("members"));
        }
        if self.name.chars().count() > MAX_ROOM_NAME {
            return Err(ChangeError::TooLarge("name"));
        }
        for m in &self.members {
            member_key(m)?;
        }
        if self.added.len() > MAX_MEMBERS {
            return Err(ChangeError::TooLarge("added"));
        }
        if self.name_by.len() > MAX_ID_LEN {
            return Err(ChangeError::TooLarge("name_by"));
        }
        if let Some(id) = self
            .added
            .iter()
            .find(|id| !self.members.iter().any(|m| &m.id == *id))
        {
            return Err(ChangeError::AddedNotMember(id.clone()));
        }
        let key_text = match (self.op, self.author_entry()) {
            (ChangeOp::Leave, _) => author_key,
            (_, Some(m)) => Some(m.key.as_str()),
            (_, None) => return Err(ChangeError::AuthorNotMember(self.author.clone())),
        };
        let bad = || ChangeError::BadSignature(self.author.clone());
        let key = key_text
            .and_then(|k| PeerKey::from_base64(k).ok())
            .filter(|k| k.peer_id() == self.author)
            .ok_or_else(bad)?;
        let sig: [u8; SIGNATURE_LEN] = data_encoding::BASE64URL_NOPAD
            .decode(self.sig.as_bytes())
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        if !key.verify(&self.signed_bytes(), &sig) {
            return Err(bad());
        }
        Ok(key)
    }
}

/// A member's key, checked to be the one their id is derived from.
pub fn member_key(m: &Member) -> Result<PeerKey, ChangeError> {
    PeerKey::from_base64(&m.key)
        .ok()
        .filter(|k| peer_id_of(k.as_bytes()) == m.id)
        .ok_or_else(|| ChangeError::BadMember(m.id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(seed: u8) -> KeyPair {
        KeyPair::from_secrets(&[seed; 32], &[seed + 1; 32])
    }

    fn member(k: &KeyPair, name: &str) -> Member {
        Member {
            id: k.peer_id(),
            name: name.into(),
            key: k.public().to_base64(),
            addr: "127.0.0.1".into(),
            port: 4000,
        }
    }

    fn create(author: &KeyPair, others: &[&KeyPair]) -> RoomChange {
        let mut members = vec![member(author, "a")];
        members.extend(others.iter().map(|k| member(k, "o")));
        let mut c = RoomChange {
            room: new_room_id(),
            op: ChangeOp::Create,
            name: "team".into(),
            members,
            author: author.peer_id(),
            at: 1,
            msg_id: "m1".into(),
            added: Vec::new(),
            name_at: 0,
            name_by: String::new(),
            sig: String::new(),
        };
        c.sign(author);
        c
    }

    #[test]
    fn a_signed_change_verifies_and_any_edit_breaks_it() {
        let (a, b) = (keys(1), keys(3));
        let c = create(&a, &[&b]);
        assert_eq!(c.verify(None).unwrap().peer_id(), a.peer_id());
        let mut renamed = c.clone();
        renamed.name = "other".into();
        assert_eq!(
            renamed.verify(None),
            Err(ChangeError::BadSignature(a.peer_id()))
        );
        let mut unsigned = c.clone();
        unsigned.sig.clear();
        assert!(unsigned.verify(None).is_err());
    }

    #[test]
    fn a_change_signed_by_someone_else_is_refused() {
        let (a, b, mallory) = (keys(1), keys(3), keys(5));
        let mut c = create(&a, &[&b]);
        // Mallory signs a change in a's name.
        c.sig = data_encoding::BASE64URL_NOPAD.encode(&mallory.sign(&c.signed_bytes()));
        assert!(matches!(c.verify(None), Err(ChangeError::BadSignature(_))));
        // Or claims a's id with her own key.
        let mut c = create(&mallory, &[&b]);
        c.members[0].id = a.peer_id();
        c.author = a.peer_id();
        assert!(matches!(c.verify(None), Err(ChangeError::BadMember(_))));
    }

    #[test]
    fn leave_is_checked_against_the_key_the_receiver_knows() {
        let (a, b) = (keys(1), keys(3));
        let mut c = create(&b, &[&a]);
        c.op = ChangeOp::Leave;
        c.author = a.peer_id();
        c.members.retain(|m| m.id != a.peer_id());
        c.sign(&a);
        let key = a.public().to_base64();
        assert!(c.verify(Some(&key)).is_ok());
        assert!(c.verify(None).is_err(), "no key known: refused");
        assert!(c.verify(Some(&b.public().to_base64())).is_err());
    }

    /// A peer on the LAN who changes the name's mark of someone's signed add (to make an
    /// old name outlast newer ones at whoever joins by it) breaks its signature, and an
    /// oversized `name_by` is refused before any signature is checked.
    #[test]
    fn the_names_mark_is_signed_and_bounded() {
        let (alice, bob) = (keys(1), keys(3));
        let mut c = create(&alice, &[&bob]);
        c.op = ChangeOp::Add;
        c.added = vec![bob.peer_id()];
        (c.name_at, c.name_by) = (5, alice.peer_id());
        c.sign(&alice);
        assert!(c.verify(None).is_ok());
        let mut forged = c.clone();
        forged.name_at = u64::MAX;
        assert_eq!(
            forged.verify(None),
            Err(ChangeError::BadSignature(alice.peer_id()))
        );
        let mut forged = c.clone();
        forged.name_by = bob.peer_id();
        assert!(matches!(
            forged.verify(None),
            Err(ChangeError::BadSignature(_))
        ));
        let mut huge = c;
        huge.name_by = "x".repeat(MAX_ID_LEN + 1);
        huge.sign(&alice);
        assert_eq!(huge.verify(None), Err(ChangeError::TooLarge("name_by")));
    }

    #[test]
    fn room_ids_are_told_from_peer_ids() {
        assert!(is_room_id(&new_room_id()));
        assert!(!is_room_id(&keys(1).peer_id()));
        assert!(!is_room_id("room-xyz"));
    }

    #[test]
    fn change_shape() {
        let a = keys(1);
        let c = create(&a, &[]);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            json!({"room": c.room, "op":"create", "name":"team", "members":[{"id": a.peer_id(),
                "name":"a", "key": a.public().to_base64(), "addr":"127.0.0.1", "port":4000}],
                "author": a.peer_id(), "at":1, "msg_id":"m1", "sig": c.sig})
        );
    }
}

//! The ids the wire carries, as types: a peer's stable id, a message's id, a transfer's
//! id. Each is a string on the wire and in JSON (`serde(transparent)`), so the contract
//! is byte for byte what it was; in the code they cannot be mixed up.
//!
//! No validation happens here: ids from the network are checked where they arrive
//! ([`super::beacon::valid_id`]) before they are trusted as file names or keys.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(s.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }
    };
}

id_type!(
    /// A peer's stable id (lanchat: 32 hex digits, kept in its data directory).
    PeerId
);
id_type!(
    /// A message's id, chosen by its sender; receivers drop duplicates by it.
    MsgId
);
id_type!(
    /// A file transfer's id, derived by the sender from both peers and the file.
    TransferId
);

impl MsgId {
    /// A fresh random id (32 hex digits).
    pub fn random() -> MsgId {
        MsgId(uuid::Uuid::new_v4().simple().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_in_json() {
        let p = PeerId::from("0fa3");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"0fa3\"");
        assert_eq!(serde_json::from_str::<PeerId>("\"0fa3\"").unwrap(), p);
        assert_eq!(p, "0fa3");
        assert_eq!(p.len(), 4, "derefs to str");
        assert_eq!(format!("{p}"), "0fa3");
        let mut by_id = std::collections::HashMap::new();
        by_id.insert(TransferId::from("t1"), 1);
        assert_eq!(by_id.get("t1"), Some(&1), "looked up by &str");
        assert_ne!(MsgId::random(), MsgId::random());
    }
}

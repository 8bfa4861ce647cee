//! Discovery datagrams: `hello`, `here`, `bye` and Everyone `shout`s.
//!
//! One datagram is one JSON object of at most [`MAX_DATAGRAM`] bytes tagged
//! `"lanchat": 2`. UDP keeps message boundaries but promises no delivery, so everything
//! here is idempotent: a lost `here` is repeated, a duplicated `shout` is dropped by
//! `msg_id`. Pure code: bytes in, [`Beacon`] out, with the reason when a datagram is
//! refused.
//!
//! Since protocol v2 every datagram on the wire is *signed* (`signed.rs`: the sender's
//! key, a freshness guard and a signature around these fields); [`Beacon`] is what it
//! says inside. [`Beacon::parse`] reads a beacon without a signature: fuzzing and tests
//! use it, the node never does.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Wire protocol version carried in every datagram and link hello (2: signed datagrams,
/// Noise-encrypted links and files; v1 is refused as `version`).
pub const PROTOCOL_VERSION: u32 = 2;

/// Largest datagram lanchat sends or accepts; fits one Ethernet frame with room for
/// IP/UDP headers and common tunnels, so a beacon is never fragmented.
pub const MAX_DATAGRAM: usize = 1400;

/// Longest peer id accepted from the wire.
pub const MAX_ID_LEN: usize = 64;

/// Longest name accepted (in bytes); longer names are cut at a character boundary.
pub const MAX_NAME_LEN: usize = 128;

/// A discovery datagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// Protocol version; always [`PROTOCOL_VERSION`] when sent.
    pub lanchat: u32,
    /// Stable peer id (persisted in the data directory).
    pub id: String,
    /// Random per start, so a restart is noticed even at the same address.
    pub instance: String,
    /// Display name chosen by the user.
    pub name: String,
    /// Host name of the machine, shown beside the name as IP Messenger does.
    #[serde(default)]
    pub host: String,
    /// TCP port of the sender's link listener.
    pub port: u16,
    /// Presence status, e.g. `online` or `away`.
    #[serde(default = "default_status")]
    pub status: String,
    /// The sender's announce interval in milliseconds (0 = not said): receivers mark it
    /// offline after three of *its* intervals, whatever their own setting.
    #[serde(default)]
    pub interval_ms: u64,
    /// Set only on a beacon sent by unicast to an address (reach by address,
    /// `docs/PROTOCOL.md`): where the sender listens, and whether this is an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast: Option<Unicast>,
    /// What the datagram says.
    #[serde(flatten)]
    pub kind: BeaconKind,
}

/// What a beacon sent by unicast says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unicast {
    /// The sender's discovery port: where it listens for unicast beacons (its own
    /// address is the datagram's source).
    pub port: u16,
    /// An answer to a unicast beacon: never answered itself.
    #[serde(default)]
    pub answer: bool,
    /// Spaces, so that the answer (never larger than what it answers, but for a small
    /// constant) has room for the answerer's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pad: String,
}

fn default_status() -> String {
    "online".to_owned()
}

/// The kinds of discovery datagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BeaconKind {
    /// "I just started; answer me": every peer replies with a unicast `here`.
    Hello,
    /// Periodic presence, and the unicast answer to a `hello`.
    Here,
    /// "I am leaving": receivers mark the sender offline at once.
    Bye,
    /// A message to everyone on the subnet, best effort.
    Shout {
        /// Unique id; receivers drop duplicates by (sender id, msg_id).
        msg_id: String,
        /// Sender's shout counter, for gap detection.
        seq: u64,
        /// Milliseconds since the Unix epoch at the sender.
        #[serde(default)]
        sent_at: u64,
        /// The message.
        text: String,
    },
}

/// Why a datagram was dropped. Counted per reason for the network panel.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BeaconError {
    /// Larger than [`MAX_DATAGRAM`].
    #[error("datagram of {0} bytes exceeds the {MAX_DATAGRAM}-byte limit")]
    Oversized(usize),
    /// Not JSON, or not an object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// JSON without the `lanchat` tag: some other program's broadcast.
    #[error("not a lanchat datagram (no \"lanchat\" tag)")]
    Foreign,
    /// A lanchat datagram of a version this build does not speak.
    #[error("protocol version {0} is not supported (this build speaks {PROTOCOL_VERSION})")]
    Version(u64),
    /// Right version, wrong shape: missing or mistyped fields, unknown kind.
    #[error("malformed beacon: {0}")]
    Malformed(String),
}

impl BeaconError {
    /// Short stable label for counters (`oversized`, `not_json`, ...).
    pub fn label(&self) -> &'static str {
        match self {
            BeaconError::Oversized(_) => "oversized",
            BeaconError::NotJson(_) => "not_json",
            BeaconError::Foreign => "foreign",
            BeaconError::Version(_) => "version",
            BeaconError::Malformed(_) => "malformed",
        }
    }
}

impl Beacon {
    /// Serialises to the datagram payload (no size check; see [`Beacon::encode_checked`]).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a beacon always serialises")
    }

    /// Serialises and refuses a payload larger than [`MAX_DATAGRAM`], returning its size.
    pub fn encode_checked(&self) -> Result<Vec<u8>, usize> {
        let bytes = self.encode();
        if bytes.len() > MAX_DATAGRAM {
            Err(bytes.len())
        } else {
            Ok(bytes)
        }
    }

    /// Parses and validates one datagram.
    pub fn parse(bytes: &[u8]) -> Result<Beacon, BeaconError> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(BeaconError::Oversized(bytes.len()));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| BeaconError::NotJson(e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| BeaconError::NotJson("not an object".into()))?;
        match obj.get("lanchat") {
            None => return Err(BeaconError::Foreign),
            Some(v) => match v.as_u64() {
                Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
                Some(v) => return Err(BeaconError::Version(v)),
                None => return Err(BeaconError::Malformed(format!("bad version tag {v}"))),
            },
        }
        let mut beacon: Beacon =
            serde_json::from_value(value).map_err(|e| BeaconError::Malformed(e.to_string()))?;
        if !valid_id(&beacon.id) {
            return Err(BeaconError::Malformed(format!(
                "bad peer id {:?}",
                truncate(&beacon.id, 80)
            )));
        }
        if beacon.instance.len() > MAX_ID_LEN {
            return Err(BeaconError::Malformed("instance id too long".into()));
        }
        beacon.name = clean_name(&beacon.name);
        beacon.host = clean_name(&beacon.host);
        Ok(beacon)
    }
}

/// A peer id is 1..=64 ASCII letters, digits, `-` or `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Makes a name from the wire safe to show: control characters removed, whitespace
/// trimmed, length capped at [`MAX_NAME_LEN`] bytes on a character boundary.
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).collect();
    // Trimmed again after the cut: a cut inside a run of spaces must not leave them at
    // the end, or cleaning a cleaned name would change it (found by fuzzing).
    truncate(cleaned.trim(), MAX_NAME_LEN).trim_end().to_owned()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn beacon(kind: BeaconKind) -> Beacon {
        Beacon {
            lanchat: PROTOCOL_VERSION,
            id: "5f0c".into(),
            instance: "a91e".into(),
            name: "张三".into(),
            host: "lab-07".into(),
            port: 47475,
            status: "online".into(),
            interval_ms: 5000,
            unicast: None,
            kind,
        }
    }

    fn wire(b: &Beacon) -> serde_json::Value {
        serde_json::from_slice(&b.encode()).unwrap()
    }

    #[test]
    fn here_shape() {
        assert_eq!(
            wire(&beacon(BeaconKind::Here)),
            json!({"lanchat":2,"kind":"here","id":"5f0c","instance":"a91e","name":"张三",
                   "host":"lab-07","port":47475,"status":"online","interval_ms":5000})
        );
    }

    #[test]
    fn hello_and_bye_shape() {
        assert_eq!(wire(&beacon(BeaconKind::Hello))["kind"], json!("hello"));
        assert_eq!(wire(&beacon(BeaconKind::Bye))["kind"], json!("bye"));
    }

    #[test]
    fn shout_shape() {
        let b = beacon(BeaconKind::Shout {
            msg_id: "m1".into(),
            seq: 3,
            sent_at: 1_700_000_000_000,
            text: "大家好".into(),
        });
        assert_eq!(
            wire(&b),
            json!({"lanchat":2,"kind":"shout","id":"5f0c","instance":"a91e","name":"张三",
                   "host":"lab-07","port":47475,"status":"online","interval_ms":5000,"msg_id":"m1","seq":3,
                   "sent_at":1_700_000_000_000u64,"text":"大家好"})
        );
    }

    #[test]
    fn round_trip_every_kind() {
        for kind in [
            BeaconKind::Hello,
            BeaconKind::Here,
            BeaconKind::Bye,
            BeaconKind::Shout {
                msg_id: "x".into(),
                seq: 0,
                sent_at: 1,
                text: "hi".into(),
            },
        ] {
            let b = beacon(kind);
            assert_eq!(Beacon::parse(&b.encode()).unwrap(), b);
        }
    }

    #[test]
    fn refusals_name_their_reason() {
        assert_eq!(
            Beacon::parse(&[b' '; MAX_DATAGRAM + 1]),
            Err(BeaconError::Oversized(MAX_DATAGRAM + 1))
        );
        assert!(matches!(
            Beacon::parse(b"\xff\xfe"),
            Err(BeaconError::NotJson(_))
        ));
        assert!(matches!(
            Beacon::parse(b"[1,2]"),
            Err(BeaconError::NotJson(_))
        ));
        assert_eq!(Beacon::parse(b"{\"x\":1}"), Err(BeaconError::Foreign));
        let mut v = wire(&beacon(BeaconKind::Here));
        v["lanchat"] = json!(1);
        assert_eq!(
            Beacon::parse(v.to_string().as_bytes()),
            Err(BeaconError::Version(1))
        );
        v["lanchat"] = json!(2);
        v["kind"] = json!("dance");
        assert!(matches!(
            Beacon::parse(v.to_string().as_bytes()),
            Err(BeaconError::Malformed(_))
        ));
        let mut v = wire(&beacon(BeaconKind::Here));
        v["port"] = json!("many");
        assert!(matches!(
            Beacon::parse(v.to_string().as_bytes()),
            Err(BeaconError::Malformed(_))
        ));
        v["port"] = json!(1);
        v["id"] = json!("../../etc");
        assert!(matches!(
            Beacon::parse(v.to_string().as_bytes()),
            Err(BeaconError::Malformed(_))
        ));
    }

    #[test]
    fn names_are_cleaned() {
        let mut v = wire(&beacon(BeaconKind::Here));
        v["name"] = json!(" bad\u{0}\u{7}name\n ");
        let b = Beacon::parse(v.to_string().as_bytes()).unwrap();
        assert_eq!(b.name, "badname");
        assert_eq!(
            clean_name(&"名".repeat(100)).len(),
            126,
            "cut on a char boundary"
        );
    }

    #[test]
    fn a_cut_name_does_not_end_in_spaces() {
        let name = format!("{}{}x", "a".repeat(120), " ".repeat(20));
        let once = clean_name(&name);
        assert_eq!(once, "a".repeat(120));
        assert_eq!(clean_name(&once), once, "cleaning is idempotent");
    }

    #[test]
    fn status_defaults_to_online() {
        let mut v = wire(&beacon(BeaconKind::Here));
        v.as_object_mut().unwrap().remove("status");
        assert_eq!(
            Beacon::parse(v.to_string().as_bytes()).unwrap().status,
            "online"
        );
    }

    #[test]
    fn encode_checked_reports_the_size() {
        let b = beacon(BeaconKind::Shout {
            msg_id: "m".into(),
            seq: 1,
            sent_at: 1,
            text: "x".repeat(2000),
        });
        let len = b.encode_checked().unwrap_err();
        assert!(len > MAX_DATAGRAM);
    }
}

//! Whether a message can go before the user tries, and why not: the composer's rules.
//! Pure functions over [`ChatState`]; the shout size comes from the real beacon encoder.
//!
//! Limits are told in characters of the message, the one thing the person can change:
//! how many to remove, and near the limit how many are left (the datagram's size also
//! depends on our name and host, which the person cannot see in the message box).

use super::state::{ChatState, ConvKey, Me};
use crate::protocol::beacon::{Beacon, BeaconKind, MAX_DATAGRAM, PROTOCOL_VERSION};
use crate::protocol::message::MAX_TEXT_LEN;

/// Why the composer refuses to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// Nothing but whitespace.
    Empty,
    /// The peer is not in the peer table (never heard, or forgotten).
    UnknownPeer,
    /// Over the core's limit for one direct message.
    TooLong {
        /// Characters to remove from the end for it to fit.
        remove: usize,
    },
    /// The shout would not fit in one datagram.
    ShoutTooLong {
        /// Characters to remove from the end for it to fit.
        remove: usize,
    },
    /// The core has not said `ready` yet, or has stopped.
    NotRunning,
    /// A room we are not in (we left it).
    NotInRoom,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocked::Empty => f.write_str("Type a message"),
            Blocked::UnknownPeer => {
                f.write_str("This peer is unknown: it has not been heard on the network")
            }
            Blocked::NotInRoom => f.write_str("You are not in this room"),
            Blocked::TooLong { remove } => {
                write!(f, "Too long: remove {} to send it", characters(*remove))
            }
            Blocked::ShoutTooLong { remove } => write!(
                f,
                "Too long for Everyone: remove {}, or send it to each person",
                characters(*remove)
            ),
            Blocked::NotRunning => f.write_str("lanchat is not running"),
        }
    }
}

impl ChatState {
    /// Whether `text` can go to `conv` now, and if not, why.
    pub fn check_send(&self, conv: &ConvKey, text: &str) -> Result<(), Blocked> {
        let Some(me) = self.me.as_ref().filter(|_| !self.stopped) else {
            return Err(Blocked::NotRunning);
        };
        if text.trim().is_empty() {
            return Err(Blocked::Empty);
        }
        match conv {
            ConvKey::Peer(id) if !self.peers.contains_key(id) => Err(Blocked::UnknownPeer),
            ConvKey::Peer(_) if text.len() > MAX_TEXT_LEN => Err(Blocked::TooLong {
                remove: to_remove(text, |t| t.len() <= MAX_TEXT_LEN),
            }),
            ConvKey::Peer(_) => Ok(()),
            ConvKey::Room(id) if !self.rooms.contains_key(id) => Err(Blocked::NotInRoom),
            ConvKey::Room(_) if text.len() > MAX_TEXT_LEN => Err(Blocked::TooLong {
                remove: to_remove(text, |t| t.len() <= MAX_TEXT_LEN),
            }),
            ConvKey::Room(_) => Ok(()),
            ConvKey::Everyone if shout_datagram_len(me, text) > MAX_DATAGRAM => {
                Err(Blocked::ShoutTooLong {
                    remove: to_remove(text, |t| shout_datagram_len(me, t) <= MAX_DATAGRAM),
                })
            }
            ConvKey::Everyone => Ok(()),
        }
    }

    /// For a shout that fits: about how many more characters like the ones typed fit in
    /// its datagram (`None` before a `ready`).
    pub fn shout_left(&self, text: &str) -> Option<usize> {
        let me = self.me.as_ref()?;
        let base = shout_datagram_len(me, "");
        let used = shout_datagram_len(me, text).saturating_sub(base);
        let room = MAX_DATAGRAM.saturating_sub(base + used);
        // Each character costs what the ones typed cost on average (a Chinese character
        // three bytes, a Latin letter one), at least one byte.
        let chars = text.chars().count();
        let per_char = if chars == 0 {
            1.0
        } else {
            (used as f64 / chars as f64).max(1.0)
        };
        Some((room as f64 / per_char).floor() as usize)
    }
}

/// "1 character", "12 characters".
pub fn characters(n: usize) -> String {
    if n == 1 {
        "1 character".to_owned()
    } else {
        format!("{n} characters")
    }
}

/// How many characters to remove from the end of `text` for `fits` to hold (a binary
/// search over the number kept: `fits` is asked about log2(len) times).
fn to_remove(text: &str, fits: impl Fn(&str) -> bool) -> usize {
    let ends: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let total = ends.len() - 1;
    // The largest `keep` such that the first `keep` characters fit.
    let (mut lo, mut hi) = (0, total);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(&text[..ends[mid]]) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    total - lo
}

/// The size of the datagram a shout of `text` would be, computed with the real encoder
/// and worst-case values for the fields the core fills in (instance, ids, counters).
pub fn shout_datagram_len(me: &Me, text: &str) -> usize {
    let id32 = "f".repeat(32);
    Beacon {
        lanchat: PROTOCOL_VERSION,
        id: me.id.clone(),
        instance: id32.clone(),
        name: me.name.clone(),
        host: me.host.clone(),
        port: me.port,
        status: me.status.clone(),
        interval_ms: u64::from(u32::MAX),
        unicast: None,
        kind: BeaconKind::Shout {
            msg_id: id32,
            seq: u64::MAX,
            sent_at: u64::MAX,
            text: text.to_owned(),
        },
    }
    .encode()
    .len()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::node::{Event, PeerInfo};

    fn ready() -> Event {
        Event::Ready {
            id: "me000000".into(),
            fingerprint: "12345 67890 12345 67890 12345 67890".into(),
            name: "我".into(),
            host: "lab".into(),
            addr: "127.0.0.1".into(),
            port: 4000,
            discovery_port: 47474,
            data_dir: "/tmp/x".into(),
        }
    }

    fn peer(id: &str, name: &str, online: bool) -> PeerInfo {
        PeerInfo {
            id: id.into(),
            name: name.into(),
            host: "host".into(),
            group: String::new(),
            addr: Ipv4Addr::LOCALHOST,
            port: 4000,
            online,
            status: "online".into(),
            last_seen: 0,
            protocol: Default::default(),
            trust: Default::default(),
        }
    }

    #[test]
    fn composer_reasons() {
        let mut s = ChatState::default();
        let a1 = ConvKey::Peer("a1".into());
        assert_eq!(s.check_send(&a1, "hi"), Err(Blocked::NotRunning));
        s.apply(ready(), true);
        assert_eq!(s.check_send(&a1, "  \n"), Err(Blocked::Empty));
        assert_eq!(s.check_send(&a1, "hi"), Err(Blocked::UnknownPeer));
        s.apply(
            Event::PeerJoined {
                peer: peer("a1", "张三", false),
            },
            true,
        );
        assert_eq!(
            s.check_send(&a1, "hi"),
            Ok(()),
            "offline peers get it later"
        );
        assert_eq!(s.check_send(&ConvKey::Everyone, "大家好"), Ok(()));
        let long = "字".repeat(500); // 1500 bytes of text
        let Err(Blocked::ShoutTooLong { remove }) = s.check_send(&ConvKey::Everyone, &long) else {
            panic!("a shout of 500 Chinese characters does not fit");
        };
        let kept = "字".repeat(500 - remove);
        assert_eq!(
            s.check_send(&ConvKey::Everyone, &kept),
            Ok(()),
            "removing them fits"
        );
        let one_more = "字".repeat(500 - remove + 1);
        assert!(
            s.check_send(&ConvKey::Everyone, &one_more).is_err(),
            "the fewest to remove"
        );
        assert_eq!(s.check_send(&a1, &long), Ok(()));
    }

    #[test]
    fn characters_left_count_what_was_typed_not_the_name() {
        let mut s = ChatState::default();
        s.apply(ready(), true);
        let latin = s.shout_left("hello").expect("ready");
        let chinese = s.shout_left("你好").expect("ready");
        assert!(
            latin > 2 * chinese,
            "a Chinese character costs three bytes: {latin} {chinese}"
        );
        // Typing the characters said to be left fits, one more does not.
        let full = format!("{}{}", "你好", "字".repeat(chinese));
        assert_eq!(s.check_send(&ConvKey::Everyone, &full), Ok(()));
        assert_eq!(
            s.check_send(&ConvKey::Everyone, &format!("{full}字")),
            Err(Blocked::ShoutTooLong { remove: 1 })
        );
    }

    #[test]
    fn shout_size_matches_the_core_limit() {
        let me = Me {
            id: "f".repeat(32),
            name: "张三".into(),
            host: "lab-07".into(),
            port: 47475,
            status: "online".into(),
            ..Me::default()
        };
        let base = shout_datagram_len(&me, "");
        let fits = "a".repeat(MAX_DATAGRAM - base);
        assert_eq!(shout_datagram_len(&me, &fits), MAX_DATAGRAM);
        // Quotes and newlines are escaped on the wire, so they count double.
        assert_eq!(shout_datagram_len(&me, "\"\n"), base + 4);
    }
}

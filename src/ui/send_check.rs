//! Whether a message can go before the user tries, and why not: the composer's rules.
//! Pure functions over [`ChatState`]; the shout size comes from the real beacon encoder.

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
        /// The text's size in bytes.
        len: usize,
    },
    /// The shout would not fit in one datagram.
    ShoutTooLong {
        /// The whole datagram's size in bytes.
        datagram: usize,
    },
    /// The core has not said `ready` yet, or has stopped.
    NotRunning,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocked::Empty => f.write_str("Type a message"),
            Blocked::UnknownPeer => {
                f.write_str("This peer is unknown: it has not been heard on the network")
            }
            Blocked::TooLong { len } => write!(
                f,
                "Too long: {len} bytes, a message holds at most {MAX_TEXT_LEN} bytes"
            ),
            Blocked::ShoutTooLong { datagram } => write!(
                f,
                "Too long for Everyone: a shout is one UDP datagram of at most \
                 {MAX_DATAGRAM} bytes, this one would be {datagram} bytes. \
                 Shorten it, or send it to each peer"
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
            ConvKey::Peer(_) if text.len() > MAX_TEXT_LEN => {
                Err(Blocked::TooLong { len: text.len() })
            }
            ConvKey::Peer(_) => Ok(()),
            ConvKey::Everyone => match shout_datagram_len(me, text) {
                n if n > MAX_DATAGRAM => Err(Blocked::ShoutTooLong { datagram: n }),
                _ => Ok(()),
            },
        }
    }
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
            addr: Ipv4Addr::LOCALHOST,
            port: 4000,
            online,
            status: "online".into(),
            last_seen: 0,
            protocol: Default::default(),
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
        assert!(matches!(
            s.check_send(&ConvKey::Everyone, &long),
            Err(Blocked::ShoutTooLong { datagram }) if datagram > MAX_DATAGRAM
        ));
        assert_eq!(s.check_send(&a1, &long), Ok(()));
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

//! The start of a link: what a `hello` must be, and which of two links to one peer
//! stays (the tie-break), the same choice on both ends with no extra round trip.

use crate::protocol::{PROTOCOL_VERSION, beacon::valid_id};

/// Why a `hello` is refused, or `None` if it may open a link. `proven` is the peer id
/// of the key the connection's handshake proved: the `hello` must name it.
pub fn refusal(version: u32, peer: &str, me: &str, proven: &str) -> Option<String> {
    if version != PROTOCOL_VERSION {
        Some(format!("protocol version {version} not supported"))
    } else if !valid_id(peer) {
        Some("hello with an invalid peer id".to_owned())
    } else if peer == me {
        Some("connected to ourselves".to_owned())
    } else if peer != proven {
        Some(format!(
            "hello says it is {peer}, but the handshake proved {proven}"
        ))
    } else {
        None
    }
}

/// Two links to one peer: whether the new one stays (and the old one goes).
///
/// Keep the link dialled by the lower id: both ends compute the same answer. Two links
/// dialled by the same side: the newer wins (the older is from before a restart or a
/// network change).
pub fn keep_new(me: &str, peer: &str, new_outbound: bool, old_outbound: bool) -> bool {
    if new_outbound == old_outbound {
        return true;
    }
    let dialer = |outbound: bool| if outbound { me } else { peer };
    dialer(new_outbound) < dialer(old_outbound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_keep_the_link_the_lower_id_dialed() {
        let (low, high) = ("aaaa", "bbbb");
        // Both dialed at once: each has its own outbound link and the other's inbound.
        // On the low end: the new link is its own dial (outbound), the old one inbound.
        assert!(keep_new(low, high, true, false), "low keeps its own dial");
        assert!(
            !keep_new(low, high, false, true),
            "and drops the high one's"
        );
        // On the high end the same two links, seen the other way round.
        assert!(!keep_new(high, low, true, false), "high drops its own dial");
        assert!(keep_new(high, low, false, true), "and keeps the low one's");
        // Two links dialed by the same side: the newer one.
        assert!(keep_new(low, high, true, true));
        assert!(keep_new(low, high, false, false));
    }

    #[test]
    fn a_hello_must_be_this_version_a_valid_id_not_us_and_the_proven_one() {
        let v = PROTOCOL_VERSION;
        assert_eq!(refusal(v, "bbbb", "aaaa", "bbbb"), None);
        assert!(
            refusal(1, "bbbb", "aaaa", "bbbb")
                .unwrap()
                .contains("version 1")
        );
        assert!(
            refusal(v, "../x", "aaaa", "../x")
                .unwrap()
                .contains("invalid")
        );
        assert!(
            refusal(v, "aaaa", "aaaa", "aaaa")
                .unwrap()
                .contains("ourselves")
        );
        let why = refusal(v, "bbbb", "aaaa", "cccc").unwrap();
        assert!(why.contains("proved cccc"), "{why}");
    }
}

//! Our packets that wait for a `RECVMSG`: messages (a long one split in several
//! packets) and file offers, and their retries.
//!
//! IPMsg clients send a message up to four times a second apart until it is
//! acknowledged, and so does lanchat ([`TRIES`], [`RETRY_AFTER`]). A retry reuses the
//! packet number when nothing was sent to that peer since (a receiver that had it shows
//! it once); otherwise it takes a new number, because iptux silently drops a message
//! whose number is not above the last it had from us (acknowledging it all the same):
//! a message shown twice is better than one lost. An acknowledgement of any number a
//! packet had counts. When the tries are used up the peer is taken for gone: its
//! packets here are dropped and the outbox keeps the messages for when it is back.
//! Pure: time is a parameter.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::protocol::ipmsg::{Charset, Packet, charset};
use crate::protocol::{MsgId, PeerId, TransferId};

/// Transmissions of a packet before its peer is taken for gone.
pub const TRIES: u32 = 4;

/// The wait for an acknowledgement before the next transmission.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Most bytes of text in one packet (the packet is at most 8192 bytes with its header;
/// a longer message goes in several packets).
pub const TEXT_BUDGET: usize = 7000;

/// What a packet of ours that waits for an acknowledgement carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carries {
    /// A part of a message.
    Chat(MsgId),
    /// A file offer.
    Offer(TransferId),
}

/// What an acknowledgement completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acked {
    /// One part of a message; others still wait.
    Part,
    /// All of a message.
    Chat(PeerId, MsgId),
    /// A file offer reached its peer.
    Offer(PeerId, TransferId),
}

/// What is due at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Transmit packet `key` again; `number` is the one it has now.
    Resend {
        /// The packet.
        key: u64,
        /// Its peer.
        peer: PeerId,
        /// Its number now.
        number: u32,
    },
    /// Every try of a packet to this peer went unanswered.
    GiveUp(PeerId),
}

#[derive(Debug)]
struct Pending {
    peer: PeerId,
    to: SocketAddrV4,
    carries: Carries,
    packet: Packet,
    sends: u32,
    next_at: Instant,
}

/// Packets waiting for their acknowledgement.
#[derive(Debug, Default)]
pub struct Sending {
    pending: HashMap<u64, Pending>,
    /// Every number a waiting packet had, to its key.
    numbers: HashMap<u32, u64>,
    /// Parts of each message still unacknowledged.
    parts: HashMap<MsgId, usize>,
    next_key: u64,
}

impl Sending {
    /// A packet just sent to `to` for `peer` waits for its acknowledgement.
    pub fn start(
        &mut self,
        peer: &PeerId,
        to: SocketAddrV4,
        carries: Carries,
        packet: Packet,
        now: Instant,
    ) {
        self.next_key += 1;
        let key = self.next_key;
        if let Carries::Chat(msg) = &carries {
            *self.parts.entry(msg.clone()).or_default() += 1;
        }
        self.numbers.insert(packet.packet_no, key);
        self.pending.insert(
            key,
            Pending {
                peer: peer.clone(),
                to,
                carries,
                packet,
                sends: 1,
                next_at: now + RETRY_AFTER,
            },
        );
    }

    /// A `RECVMSG` for number `no` from `from`: what it completed, if it acknowledges a
    /// waiting packet sent to that address.
    pub fn ack(&mut self, from: Ipv4Addr, no: u32) -> Option<Acked> {
        let key = *self.numbers.get(&no)?;
        if *self.pending.get(&key)?.to.ip() != from {
            return None; // an ack counts only from the recipient
        }
        let p = self.remove(key)?;
        Some(match p.carries {
            Carries::Offer(t) => Acked::Offer(p.peer, t),
            Carries::Chat(msg) => {
                let left = self.parts.get_mut(&msg).map_or(0, |n| {
                    *n = n.saturating_sub(1);
                    *n
                });
                if left > 0 {
                    return Some(Acked::Part);
                }
                self.parts.remove(&msg);
                Acked::Chat(p.peer, msg)
            }
        })
    }

    fn remove(&mut self, key: u64) -> Option<Pending> {
        let p = self.pending.remove(&key)?;
        self.numbers.retain(|_, k| *k != key);
        Some(p)
    }

    /// What is due at `now`, each peer given up at most once.
    pub fn due(&self, now: Instant) -> Vec<Due> {
        let mut due: Vec<Due> = Vec::new();
        let mut keys: Vec<(&u64, &Pending)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.next_at <= now)
            .collect();
        keys.sort_by_key(|(k, _)| **k); // in the order they were sent
        for (key, p) in keys {
            if p.sends >= TRIES {
                let gone = Due::GiveUp(p.peer.clone());
                if !due.contains(&gone) {
                    due.push(gone);
                }
            } else {
                due.push(Due::Resend {
                    key: *key,
                    peer: p.peer.clone(),
                    number: p.packet.packet_no,
                });
            }
        }
        due
    }

    /// Transmits packet `key` again, with `renumber` as its new number if given; the
    /// packet and where it goes.
    pub fn resend(
        &mut self,
        key: u64,
        renumber: Option<u32>,
        now: Instant,
    ) -> Option<(SocketAddrV4, &Packet)> {
        let p = self.pending.get_mut(&key)?;
        if let Some(no) = renumber {
            p.packet.packet_no = no;
            self.numbers.insert(no, key);
        }
        p.sends += 1;
        p.next_at = now + RETRY_AFTER;
        Some((p.to, &p.packet))
    }

    /// Drops every packet waiting for `peer` (it is gone; the outbox keeps the messages).
    pub fn forget_peer(&mut self, peer: &str) {
        let keys: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.peer == peer)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            if let Some(Pending {
                carries: Carries::Chat(msg),
                ..
            }) = self.remove(key)
            {
                self.parts.remove(&msg);
            }
        }
    }

    /// When the next retry is due.
    pub fn next_wake(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.next_at).min()
    }

    /// Packets waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pending.len()
    }
}

/// `text` in pieces of at most `budget` bytes each once encoded in `cs`, cut between
/// characters (one piece when it fits). A character that alone is over the budget (it
/// never is: the budget is thousands of bytes) goes alone.
pub fn split(text: &str, cs: Charset, budget: usize) -> Vec<String> {
    if charset::encode(text, cs).len() <= budget {
        return vec![text.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut size = 0;
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let width = charset::encode(c.encode_utf8(&mut buf), cs).len();
        if size + width > budget && !piece.is_empty() {
            pieces.push(std::mem::take(&mut piece));
            size = 0;
        }
        piece.push(c);
        size += width;
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ipmsg::{Command, Mode, Payload};

    fn packet(no: u32) -> Packet {
        Packet {
            version: "1".into(),
            packet_no: no,
            user: "u".into(),
            host: "h".into(),
            command: Command::new(Mode::SendMsg, &[]),
            payload: Payload::Other,
            charset: None,
        }
    }

    fn to(last: u8) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, last), 2425)
    }

    #[test]
    fn a_message_in_two_parts_is_acked_when_both_are() {
        let t = Instant::now();
        let mut s = Sending::default();
        let (peer, msg) = (PeerId::from("p"), MsgId::from("m"));
        s.start(&peer, to(1), Carries::Chat(msg.clone()), packet(10), t);
        s.start(&peer, to(1), Carries::Chat(msg.clone()), packet(11), t);
        assert_eq!(s.ack(*to(2).ip(), 10), None, "only from the recipient");
        assert_eq!(s.ack(*to(1).ip(), 10), Some(Acked::Part));
        assert_eq!(s.ack(*to(1).ip(), 10), None, "a duplicate ack");
        assert_eq!(s.ack(*to(1).ip(), 11), Some(Acked::Chat(peer, msg)));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn four_transmissions_a_second_apart_then_the_peer_is_given_up() {
        let t = Instant::now();
        let mut s = Sending::default();
        let peer = PeerId::from("p");
        s.start(&peer, to(1), Carries::Chat("m".into()), packet(10), t);
        s.start(&peer, to(1), Carries::Chat("n".into()), packet(11), t);
        assert!(s.due(t + Duration::from_millis(999)).is_empty());
        for i in 1..TRIES {
            let at = t + RETRY_AFTER * i;
            let due = s.due(at);
            assert_eq!(due.len(), 2, "try {i}: {due:?}");
            let Due::Resend { key, number, .. } = due[0].clone() else {
                panic!("{due:?}")
            };
            assert_eq!(number, 10);
            // The first keeps its number, the second is renumbered (something was sent
            // to the peer after it).
            assert_eq!(s.resend(key, None, at).unwrap().1.packet_no, 10);
            let Due::Resend { key, .. } = due[1] else {
                panic!()
            };
            let renumbered = 100 + i;
            assert_eq!(
                s.resend(key, Some(renumbered), at).unwrap().1.packet_no,
                renumbered
            );
        }
        assert_eq!(s.next_wake(), Some(t + RETRY_AFTER * TRIES));
        assert_eq!(s.due(t + RETRY_AFTER * TRIES), [Due::GiveUp(peer.clone())]);
        assert_eq!(
            s.ack(*to(1).ip(), 11),
            Some(Acked::Chat(peer.clone(), "n".into())),
            "an old number still counts"
        );
        s.forget_peer(&peer);
        assert_eq!(s.len(), 0);
        assert_eq!(s.next_wake(), None);
    }

    #[test]
    fn long_text_is_cut_between_characters_within_the_budget() {
        assert_eq!(split("short", Charset::Utf8, 10), ["short"]);
        let text = "长".repeat(10) + "abc";
        let utf8 = split(&text, Charset::Utf8, 7);
        assert_eq!(utf8.concat(), text);
        assert!(utf8.iter().all(|p| p.len() <= 7), "{utf8:?}");
        let gbk = split(&text, Charset::Gb18030, 7);
        assert_eq!(gbk.concat(), text);
        assert!(
            gbk.iter()
                .all(|p| charset::encode(p, Charset::Gb18030).len() <= 7)
        );
        assert!(
            gbk.len() < utf8.len(),
            "two bytes a character in GBK, three in UTF-8"
        );
    }
}

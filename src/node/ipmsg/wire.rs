//! Our face on the IPMsg wire: the header every packet of ours carries (version, user,
//! host), our nickname and group, our packet numbers (strictly increasing, as iptux
//! demands), and the encoding each peer gets. Pure: no socket, no clock.
//!
//! The version field says `1_lanchat#<our lanchat id>`. IPMsg clients only look at its
//! leading `1` (IP Messenger parses it with `atoi`, iptux not at all); another lanchat
//! reads the id and knows the packet is from a lanchat peer, which it lists once, as a
//! lanchat peer, never as an IPMsg one. Our own broadcasts heard back are recognised the
//! same way.

use crate::protocol::ipmsg::{Charset, Command, Entry, MAX_NAME_FIELD, Mode, Opt, Packet, Payload};

/// What our version field starts with; the lanchat id follows.
const LANCHAT_VERSION: &str = "1_lanchat#";

/// Our user, host, nickname and group are cut to this many bytes (IPMsg clients show
/// short names; the codec's limit is [`MAX_NAME_FIELD`]).
const MAX_OUR_FIELD: usize = 64;

/// Who we are on IPMsg, and our packet counter.
#[derive(Debug, Clone)]
pub struct Face {
    version: String,
    user: String,
    host: String,
    nick: String,
    /// Our group (empty: none).
    pub group: String,
    /// Away (any status but `online`): entries carry ABSENCEOPT.
    pub away: bool,
    last: u32,
}

impl Face {
    /// Our face: `id` is our lanchat id, `user` our login, `host` our host name, `nick`
    /// our lanchat name. Packet numbers start above `first` (seconds since the Unix
    /// epoch at start, the usual choice: a restarted node goes on above its last run).
    pub fn new(id: &str, user: &str, host: &str, nick: &str, first: u32) -> Face {
        Face {
            version: format!("{LANCHAT_VERSION}{id}"),
            user: fit(user, "lanchat"),
            host: fit(host, "lanchat"),
            nick: fit(nick, "lanchat"),
            group: String::new(),
            away: false,
            last: first,
        }
    }

    /// A new nickname (the user renamed us).
    pub fn rename(&mut self, nick: &str) {
        self.nick = fit(nick, "lanchat");
    }

    /// The next packet number: each one above the last, skipping 0.
    pub fn next_number(&mut self) -> u32 {
        self.last = self.last.wrapping_add(1).max(1);
        self.last
    }

    /// A packet of ours with the next number, its text in `charset`.
    pub fn packet(&mut self, command: Command, payload: Payload, charset: Charset) -> Packet {
        Packet {
            version: self.version.clone(),
            packet_no: self.next_number(),
            user: self.user.clone(),
            host: self.host.clone(),
            command,
            payload,
            charset: Some(charset),
        }
    }

    /// An entry-type packet (`BR_ENTRY`, `ANSENTRY`, `BR_ABSENCE`) in `charset`: our
    /// nickname and group, CAPUTF8OPT (we read UTF-8), ABSENCEOPT when away. Never
    /// UTF8OPT: old clients cannot read it on entries.
    pub fn entry(&mut self, mode: Mode, charset: Charset) -> Packet {
        let mut opts = vec![Opt::CapUtf8];
        if self.away {
            opts.push(Opt::Absence);
        }
        let payload = Payload::Entry(Entry::new(self.nick.clone(), self.group.clone()));
        self.packet(Command::new(mode, &opts), payload, charset)
    }

    /// Whether a packet is one of ours, heard back (a broadcast loops back to us).
    pub fn is_ours(&self, packet: &Packet) -> bool {
        packet.version == self.version
    }
}

/// The lanchat id a packet's version field names, if it comes from a lanchat.
pub fn lanchat_id(version: &str) -> Option<&str> {
    version.strip_prefix(LANCHAT_VERSION)
}

/// What a message to a peer is written in, and with which flag: UTF-8 with UTF8OPT to a
/// peer that said it reads UTF-8 (CAPUTF8OPT), else the encoding the peer itself uses
/// (mirrored; UTF-8 while unknown).
pub fn message_encoding(cap_utf8: bool, seen: Option<Charset>) -> (Charset, Option<Opt>) {
    if cap_utf8 {
        (Charset::Utf8, Some(Opt::Utf8))
    } else {
        (seen.unwrap_or(Charset::Utf8), None)
    }
}

/// `s` without `:` (it would shift the header), cut to [`MAX_OUR_FIELD`] bytes on a
/// character boundary; `fallback` when nothing is left.
fn fit(s: &str, fallback: &str) -> String {
    let s: String = s.chars().filter(|c| *c != ':' && !c.is_control()).collect();
    let mut cut = s.trim().to_owned();
    let max = MAX_OUR_FIELD.min(MAX_NAME_FIELD);
    if cut.len() > max {
        let mut end = max;
        while !cut.is_char_boundary(end) {
            end -= 1;
        }
        cut.truncate(end);
    }
    if cut.is_empty() {
        fallback.to_owned()
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_only_grow_and_skip_zero() {
        let mut f = Face::new("abc", "u", "h", "n", u32::MAX - 1);
        assert_eq!(f.next_number(), u32::MAX);
        assert_eq!(f.next_number(), 1, "wraps past 0 after 2106");
        let mut f = Face::new("abc", "u", "h", "n", 1_700_000_000);
        let a = f.entry(Mode::BrEntry, Charset::Utf8).packet_no;
        let b = f.entry(Mode::BrEntry, Charset::Utf8).packet_no;
        assert!(a > 1_700_000_000 && b > a);
    }

    #[test]
    fn our_version_names_us_and_other_lanchats() {
        let mut f = Face::new("0410c0ffee", "u", "h", "张三", 1);
        let p = f.entry(Mode::BrEntry, Charset::Utf8);
        assert!(f.is_ours(&p));
        assert_eq!(lanchat_id(&p.version), Some("0410c0ffee"));
        assert_eq!(lanchat_id("1_iptux 0.8.3"), None);
        let bytes = p.encode().unwrap();
        assert!(bytes.starts_with(b"1_lanchat#0410c0ffee:"));
        let again = Packet::parse(&bytes).unwrap();
        assert!(f.is_ours(&again));
        assert!(again.command.has(Opt::CapUtf8) && !again.command.has(Opt::Utf8));
        assert!(!again.command.has(Opt::Absence));
        f.away = true;
        assert!(
            f.entry(Mode::BrAbsence, Charset::Utf8)
                .command
                .has(Opt::Absence)
        );
    }

    #[test]
    fn names_are_cut_and_never_shift_the_header() {
        let f = Face::new("x", "a:b", "", &"长".repeat(40), 1);
        assert_eq!(f.user, "ab");
        assert_eq!(f.host, "lanchat");
        assert!(f.nick.len() <= MAX_OUR_FIELD && f.nick.chars().all(|c| c == '长'));
    }

    #[test]
    fn peers_get_utf8_when_they_can_read_it_else_their_own_encoding() {
        assert_eq!(
            message_encoding(true, Some(Charset::Gb18030)),
            (Charset::Utf8, Some(Opt::Utf8))
        );
        assert_eq!(
            message_encoding(false, Some(Charset::Gb18030)),
            (Charset::Gb18030, None)
        );
        assert_eq!(message_encoding(false, None), (Charset::Utf8, None));
    }
}

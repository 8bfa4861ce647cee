//! The payload of presence packets (`BR_ENTRY`, `ANSENTRY`, `BR_ABSENCE`).
//!
//! Three shapes are in use, all read and written here:
//! - plain IPMsg: `nick\0group\0`;
//! - iptux: `nick\0group\0icon-file\0encoding\0` (the encoding field says `utf-8` even
//!   when iptux converted the packet to GB18030: it is kept, never trusted);
//! - IP Messenger for Windows with CAPUTF8OPT: `nick\0group\0` in the legacy code page,
//!   then one more field `\nUN:user\nHN:host\nNN:nick\nGN:group[\nVS:version]` in UTF-8
//!   (its `ANSENTRY` carries only `\nVS:`).
//!
//! Pure code; the strings are returned as they arrived (see the module docs of
//! [`super`]).

use super::MAX_NAME_FIELD;
use super::charset::{self, Charset};

/// Nickname, group and extensions of a presence packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    /// The nickname (the body), in the packet's encoding.
    pub nick: String,
    /// The group (first extra field); empty when absent.
    pub group: String,
    /// iptux's extra fields, when present.
    pub iptux: Option<IptuxInfo>,
    /// IP Messenger's UTF-8 block, when present and readable.
    pub win: Option<WinInfo>,
}

/// iptux's two extra entry fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IptuxInfo {
    /// Its icon's file name (e.g. `icon-tux.png`).
    pub icon: String,
    /// The encoding it claims (always `utf-8` in iptux 0.8.3, whatever it sent).
    pub encoding: String,
}

/// IP Messenger's UTF-8 entry block (`\nUN:..\nHN:..\nNN:..\nGN:..\nVS:..`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WinInfo {
    /// `UN`: login name.
    pub user: String,
    /// `HN`: host name.
    pub host: String,
    /// `NN`: nickname.
    pub nick: String,
    /// `GN`: group.
    pub group: String,
    /// `VS`: version, when given.
    pub version: Option<String>,
}

impl Entry {
    /// A plain entry: nickname and group.
    pub fn new(nick: impl Into<String>, group: impl Into<String>) -> Entry {
        Entry {
            nick: nick.into(),
            group: group.into(),
            iptux: None,
            win: None,
        }
    }

    /// The nickname to show: IP Messenger's UTF-8 `NN` when it has one (the body is then
    /// in a legacy code page that may not hold every character), else the body.
    pub fn display_nick(&self) -> &str {
        match &self.win {
            Some(w) if !w.nick.is_empty() => &w.nick,
            _ => &self.nick,
        }
    }

    /// The group to show, preferring IP Messenger's UTF-8 `GN` likewise.
    pub fn display_group(&self) -> &str {
        match &self.win {
            Some(w) if !w.group.is_empty() => &w.group,
            _ => &self.group,
        }
    }

    /// Appends the body and extra fields, each NUL-terminated, with the text in
    /// `charset` (IP Messenger's block is always UTF-8, as it says).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>, cs: Charset) {
        push_field(out, &self.nick, cs);
        push_field(out, &self.group, cs);
        if let Some(i) = &self.iptux {
            push_field(out, &i.icon, cs);
            push_field(out, &i.encoding, cs);
        }
        if let Some(w) = &self.win {
            push_field(out, &w.encode(), Charset::Utf8);
        }
    }
}

/// Appends `text` in `cs` and its NUL terminator; NULs inside `text` are dropped, as
/// they would end the field early.
pub(crate) fn push_field(out: &mut Vec<u8>, text: &str, cs: Charset) {
    if text.contains('\0') {
        out.extend_from_slice(&charset::encode(&text.replace('\0', ""), cs));
    } else {
        out.extend_from_slice(&charset::encode(text, cs));
    }
    out.push(0);
}

impl WinInfo {
    /// The block as IP Messenger writes it (without the terminating NUL).
    pub fn encode(&self) -> String {
        let mut s = format!(
            "\nUN:{}\nHN:{}\nNN:{}\nGN:{}",
            one_line(&self.user),
            one_line(&self.host),
            one_line(&self.nick),
            one_line(&self.group)
        );
        if let Some(v) = &self.version {
            s.push_str("\nVS:");
            s.push_str(&one_line(v));
        }
        s
    }

    /// Reads a block; `None` when it is not UTF-8, has no known key, or a value is longer
    /// than [`MAX_NAME_FIELD`] (the block is a nicety: the packet is still good).
    pub fn parse(raw: &[u8]) -> Option<WinInfo> {
        let text = std::str::from_utf8(raw).ok()?;
        let mut info = WinInfo::default();
        let mut known = false;
        for line in text.split('\n') {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if value.len() > MAX_NAME_FIELD {
                return None;
            }
            let slot = match key {
                "UN" => &mut info.user,
                "HN" => &mut info.host,
                "NN" => &mut info.nick,
                "GN" => &mut info.group,
                "VS" => info.version.insert(String::new()),
                _ => continue, // `IP:` (a base64 dictionary) and newer keys
            };
            value.clone_into(slot);
            known = true;
        }
        known.then_some(info)
    }
}

/// A value inside the block cannot hold a line break (it would start a new key) or a
/// NUL (it would end the field).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\0'], " ")
}

/// The raw extra fields of an entry, sorted into text (read in the packet's encoding)
/// and IP Messenger's UTF-8 block.
#[derive(Debug, Default)]
pub(crate) struct EntryFields<'a> {
    /// Group, then iptux's icon and encoding when present.
    pub text: Vec<&'a [u8]>,
    /// The `\n…` block.
    pub win: Option<&'a [u8]>,
}

/// Sorts an entry's extra fields (after the body): the first field starting with `\n`
/// is IP Messenger's block; of the others, the first is the group and the next two are
/// iptux's icon and encoding. Fields past those are ignored.
pub(crate) fn sort_fields<'a>(extras: &[&'a [u8]]) -> EntryFields<'a> {
    let mut out = EntryFields::default();
    for field in extras {
        if field.first() == Some(&b'\n') {
            out.win.get_or_insert(field);
        } else if out.text.len() < 3 {
            out.text.push(field);
        }
    }
    out
}

/// Builds the entry from the decoded body and text fields (as sorted by
/// [`sort_fields`]) and the raw block. (The packet checks the lengths.)
pub(crate) fn from_parts(nick: String, text: Vec<String>, win: Option<&[u8]>) -> Entry {
    let mut text = text.into_iter();
    let group = text.next().unwrap_or_default();
    // Empty fields after the group are padding, not iptux's (whose icon is never empty).
    let iptux = text.next().map(|icon| IptuxInfo {
        icon,
        encoding: text.next().unwrap_or_default(),
    });
    let iptux = iptux.filter(|i| !i.icon.is_empty() || !i.encoding.is_empty());
    Entry {
        nick,
        group,
        iptux,
        win: win.and_then(WinInfo::parse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_messengers_block_reads_and_writes() {
        let raw = "\nUN:taro\nHN:PC-01\nNN:太郎\nGN:開発\nVS:0x30500:IP:abc\nIP:QUJD";
        let info = WinInfo::parse(raw.as_bytes()).expect("block");
        assert_eq!(
            (&*info.user, &*info.host, &*info.nick, &*info.group),
            ("taro", "PC-01", "太郎", "開発")
        );
        assert_eq!(info.version.as_deref(), Some("0x30500:IP:abc"));
        let again = WinInfo::parse(info.encode().as_bytes()).unwrap();
        assert_eq!(again, info);
    }

    #[test]
    fn an_ansentry_block_with_only_a_version_is_kept() {
        let info = WinInfo::parse(b"\nVS:0x30500").expect("block");
        assert_eq!(info.version.as_deref(), Some("0x30500"));
        assert!(info.nick.is_empty());
    }

    #[test]
    fn a_broken_block_is_ignored_not_fatal() {
        assert_eq!(WinInfo::parse(b"\nUN:\xff\xfe"), None);
        assert_eq!(WinInfo::parse(b"\nno keys here"), None);
        let long = format!("\nNN:{}", "x".repeat(MAX_NAME_FIELD + 1));
        assert_eq!(WinInfo::parse(long.as_bytes()), None);
    }

    #[test]
    fn values_cannot_smuggle_a_key() {
        let info = WinInfo {
            nick: "eve\nGN:admins".into(),
            ..WinInfo::default()
        };
        let again = WinInfo::parse(info.encode().as_bytes()).unwrap();
        assert_eq!(again.nick, "eve GN:admins");
        assert_eq!(again.group, "");
    }

    #[test]
    fn fields_are_sorted_into_group_iptux_and_block() {
        let f = sort_fields(&[b"g", b"icon.png", b"utf-8"]);
        assert_eq!(f.text, [&b"g"[..], b"icon.png", b"utf-8"]);
        assert_eq!(f.win, None);
        let f = sort_fields(&[b"", b"\nUN:u", b"extra"]);
        assert_eq!(f.text, [&b""[..], b"extra"]);
        assert_eq!(f.win, Some(&b"\nUN:u"[..]));
    }

    #[test]
    fn the_utf8_names_are_preferred_for_display() {
        let mut e = Entry::new("?", "??");
        assert_eq!((e.display_nick(), e.display_group()), ("?", "??"));
        e.win = Some(WinInfo {
            nick: "李雷".into(),
            group: "二班".into(),
            ..WinInfo::default()
        });
        assert_eq!((e.display_nick(), e.display_group()), ("李雷", "二班"));
    }
}

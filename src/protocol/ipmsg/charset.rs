//! Text encodings on the IPMsg wire: UTF-8 or GB18030 (a superset of GBK/CP936).
//!
//! The base protocol has no charset field. Decoding follows what interoperates with
//! iptux, FeiQ and IP Messenger (docs/IPMSG.md, "Encodings"): UTF-8 when the packet has
//! UTF8OPT; otherwise strict UTF-8 if *all* of the packet's text is valid UTF-8, else
//! GB18030 for all of it. Deciding once per packet, over all its text, makes a short GBK
//! string that happens to be valid UTF-8 much less likely to be misread than deciding
//! field by field. Pure ASCII says nothing about the sender's encoding (`None`).

use std::borrow::Cow;

use encoding_rs::GB18030;

/// An encoding IPMsg peers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// UTF-8 (iptux's default, IP Messenger with UTF8OPT).
    Utf8,
    /// GB18030, which reads GBK/CP936 (FeiQ, 飞鸽传书, Chinese Windows, iptux set to
    /// gb18030).
    Gb18030,
}

impl Charset {
    /// Short stable name (`utf-8`, `gb18030`).
    pub fn label(self) -> &'static str {
        match self {
            Charset::Utf8 => "utf-8",
            Charset::Gb18030 => "gb18030",
        }
    }
}

/// Some of a packet's text could not be read in the encoding chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    /// Index of the first field (in the order given) that failed.
    pub field: usize,
    /// The encoding that was tried.
    pub charset: Charset,
}

/// Decodes the text fields of one packet with one encoding (see the module docs).
/// Returns the strings in order and the encoding they told (`None`: all ASCII and no
/// UTF8OPT, which tells nothing).
pub fn decode_fields(
    fields: &[&[u8]],
    utf8_flag: bool,
) -> Result<(Vec<String>, Option<Charset>), Undecodable> {
    let all_utf8 = fields.iter().all(|f| std::str::from_utf8(f).is_ok());
    let charset = if utf8_flag || all_utf8 {
        Charset::Utf8
    } else {
        Charset::Gb18030
    };
    let mut out = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        match decode(field, charset) {
            Some(s) => out.push(s),
            None => return Err(Undecodable { field: i, charset }),
        }
    }
    let told = if utf8_flag || !fields.iter().all(|f| f.is_ascii()) {
        Some(charset)
    } else {
        None
    };
    Ok((out, told))
}

/// Decodes `bytes` strictly as `charset`; `None` if they are not valid in it.
pub fn decode(bytes: &[u8], charset: Charset) -> Option<String> {
    match charset {
        Charset::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
        Charset::Gb18030 => GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(Cow::into_owned),
    }
}

/// Encodes `text` in `charset`. GB18030 covers all of Unicode, so nothing is lost.
pub fn encode(text: &str, charset: Charset) -> Cow<'_, [u8]> {
    match charset {
        Charset::Utf8 => Cow::Borrowed(text.as_bytes()),
        Charset::Gb18030 => GB18030.encode(text).0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_bytes_of_a_peer_decode_as_gb18030() {
        // 测试 in GBK, as iptux sent it to a GBK peer.
        let (text, cs) = decode_fields(&[b"\xb2\xe2\xca\xd4"], false).unwrap();
        assert_eq!((text[0].as_str(), cs), ("测试", Some(Charset::Gb18030)));
        assert_eq!(&*encode("测试", Charset::Gb18030), b"\xb2\xe2\xca\xd4");
    }

    #[test]
    fn utf8_wins_when_all_of_it_is_utf8() {
        let (text, cs) = decode_fields(&["组A".as_bytes(), b"root"], false).unwrap();
        assert_eq!(text, ["组A", "root"]);
        assert_eq!(cs, Some(Charset::Utf8));
    }

    #[test]
    fn one_gbk_field_makes_the_whole_packet_gbk() {
        // "中" in GBK is d6 d0: not UTF-8, so the other field is read as GB18030 too.
        let (text, cs) = decode_fields(&[b"\xd6\xd0", b"abc"], false).unwrap();
        assert_eq!(text, ["中", "abc"]);
        assert_eq!(cs, Some(Charset::Gb18030));
    }

    #[test]
    fn ascii_tells_nothing_unless_the_packet_says_utf8() {
        assert_eq!(decode_fields(&[b"hi", b""], false).unwrap().1, None);
        assert_eq!(
            decode_fields(&[b"hi"], true).unwrap().1,
            Some(Charset::Utf8)
        );
    }

    #[test]
    fn utf8opt_with_bytes_that_are_not_utf8_is_refused() {
        assert_eq!(
            decode_fields(&[b"ok", b"\xb2\xe2"], true),
            Err(Undecodable {
                field: 1,
                charset: Charset::Utf8
            })
        );
    }

    #[test]
    fn bytes_invalid_in_both_encodings_are_refused() {
        // 0xFF is never valid in GB18030; a lone lead byte at the end neither.
        for bad in [&b"\xff\xff"[..], b"ab\x81", b"\x81\x30\x81"] {
            let err = decode_fields(&[b"fine", bad], false).unwrap_err();
            assert_eq!(err.charset, Charset::Gb18030, "{bad:?}");
        }
    }

    #[test]
    fn gb18030_round_trips_all_of_unicode() {
        let text = "汉字 emoji 😀 and é, 가";
        let bytes = encode(text, Charset::Gb18030);
        assert_eq!(decode(&bytes, Charset::Gb18030).as_deref(), Some(text));
    }
}

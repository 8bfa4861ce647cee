//! Files in IPMsg: the attachment list of an offer and the `GETFILEDATA` request.
//!
//! An offer (`SENDMSG|FILEATTACHOPT`) carries, as the field after the text, one entry per
//! file, each ending in `\a`:
//! `fileID:name:size(hex):mtime(hex):attr(hex)[:key=value…]:\a`. A `:` inside a name is
//! written `::`. Some clients put a `:` after the `\a` before the next entry. File IDs are
//! decimal in practice (iptux, IP Messenger) and read as hex only when they cannot be
//! decimal.
//!
//! The receiver asks for the bytes over TCP with a `GETFILEDATA` packet whose body is
//! `packetNo(hex):fileID(hex):offset(hex)`; iptux reads the file ID as hex and falls back
//! to decimal, so [`HexOrDecimal`] keeps both readings and the offering side matches
//! either against what it offered. Pure code.

use std::fmt::Write as _;

use super::{IpmsgError, MAX_EXT_ATTRS, MAX_FILE_NAME, MAX_FILES};

/// One offered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The offerer's id for it, unique within the offer.
    pub id: u64,
    /// Its name as the offerer has it: never a path until sanitised by the receiver.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (0 when not given).
    pub mtime: u64,
    /// Attribute word; the low byte is the [`FileKind`].
    pub attr: u32,
    /// Extended attributes (`key=value`), kept as text; at most [`MAX_EXT_ATTRS`].
    pub ext: Vec<(String, String)>,
}

/// What an offered entry is (`attr & 0xFF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// 1: a regular file.
    Regular,
    /// 2: a directory (fetched with `GETDIRFILES`, which lanchat does not support).
    Directory,
    /// Anything else (return-parent markers, links, ...).
    Other(u8),
}

impl FileInfo {
    /// A regular file with no extended attributes.
    pub fn regular(id: u64, name: impl Into<String>, size: u64, mtime: u64) -> FileInfo {
        FileInfo {
            id,
            name: name.into(),
            size,
            mtime,
            attr: 1,
            ext: Vec::new(),
        }
    }

    /// What the entry is.
    pub fn kind(&self) -> FileKind {
        match (self.attr & 0xFF) as u8 {
            1 => FileKind::Regular,
            2 => FileKind::Directory,
            b => FileKind::Other(b),
        }
    }
}

/// Reads an attachment list (already decoded to text). Empty entries are skipped.
pub fn parse_file_list(list: &str) -> Result<Vec<FileInfo>, IpmsgError> {
    let mut files = Vec::new();
    for chunk in list.split('\x07') {
        let chunk = chunk.strip_prefix(':').unwrap_or(chunk);
        if chunk.is_empty() {
            continue;
        }
        if files.len() == MAX_FILES {
            return Err(IpmsgError::TooMany {
                what: "files in one offer",
                max: MAX_FILES,
            });
        }
        files.push(parse_entry(chunk)?);
    }
    Ok(files)
}

fn parse_entry(entry: &str) -> Result<FileInfo, IpmsgError> {
    let bad = |why: &str| IpmsgError::FileList(format!("{why} in {:?}", cut(entry)));
    let (id, rest) = entry.split_once(':').ok_or_else(|| bad("no name"))?;
    let id = parse_id(id).ok_or_else(|| bad("bad file id"))?;
    let (name, rest) = take_name(rest);
    if name.is_empty() {
        return Err(bad("empty name"));
    }
    if name.len() > MAX_FILE_NAME {
        return Err(IpmsgError::TooLong {
            field: "file name",
            len: name.len(),
        });
    }
    let mut fields = rest.split(':').filter(|f| !f.is_empty());
    let size = fields.next().ok_or_else(|| bad("no size"))?;
    let size = hex_u64(size).ok_or_else(|| bad("bad size"))?;
    let mtime = match fields.next() {
        Some(m) => hex_u64(m).ok_or_else(|| bad("bad mtime"))?,
        None => 0,
    };
    let attr = match fields.next() {
        Some(a) => u32::from_str_radix(a, 16).map_err(|_| bad("bad attribute"))?,
        None => 1,
    };
    let ext = fields
        .filter_map(|kv| kv.split_once('='))
        .take(MAX_EXT_ATTRS)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(FileInfo {
        id,
        name,
        size,
        mtime,
        attr,
        ext,
    })
}

/// The name field: up to the first single `:`, with `::` standing for `:`.
fn take_name(s: &str) -> (String, &str) {
    let mut name = String::new();
    let mut rest = s;
    loop {
        match rest.find(':') {
            None => {
                name.push_str(rest);
                return (name, "");
            }
            Some(i) if rest[i + 1..].starts_with(':') => {
                name.push_str(&rest[..=i]);
                rest = &rest[i + 2..];
            }
            Some(i) => {
                name.push_str(&rest[..i]);
                return (name, &rest[i + 1..]);
            }
        }
    }
}

/// Writes an attachment list. `:` in names is doubled; `\a` and NUL, which would end
/// the entry or the field, are dropped.
pub fn encode_file_list(files: &[FileInfo]) -> String {
    let mut out = String::new();
    for f in files {
        let name = f.name.replace(['\x07', '\0'], "").replace(':', "::");
        let _ = write!(
            out,
            "{}:{name}:{:x}:{:x}:{:x}:",
            f.id, f.size, f.mtime, f.attr
        );
        for (k, v) in &f.ext {
            // A key ends at the first `=`; a value may hold more of them.
            let key = k.replace([':', '\x07', '\0', '='], "");
            let value = v.replace([':', '\x07', '\0'], "");
            let _ = write!(out, "{key}={value}:");
        }
        out.push('\x07');
    }
    out
}

/// A number the protocol writes in hex but some clients write in decimal: both readings
/// are kept (hex first), and the side that offered matches either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexOrDecimal {
    /// The hex reading, if the text is hex digits that fit.
    pub hex: Option<u64>,
    /// The decimal reading, if the text is decimal digits that fit.
    pub decimal: Option<u64>,
}

impl HexOrDecimal {
    /// A number to send (written in hex).
    pub fn exact(n: u64) -> HexOrDecimal {
        HexOrDecimal {
            hex: Some(n),
            decimal: None,
        }
    }

    /// Reads `text`; `None` when neither reading works.
    pub fn parse(text: &str) -> Option<HexOrDecimal> {
        let decimal = if text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().ok()
        } else {
            None
        };
        let n = HexOrDecimal {
            hex: hex_u64(text),
            decimal,
        };
        (n.hex.is_some() || n.decimal.is_some()).then_some(n)
    }

    /// Whether either reading is `n` (the hex one is the protocol's).
    pub fn matches(self, n: u64) -> bool {
        self.hex == Some(n) || self.decimal == Some(n)
    }

    /// The number: the hex reading, else the decimal one.
    pub fn value(self) -> u64 {
        self.hex.or(self.decimal).unwrap_or_default()
    }

    /// As written on the wire: hex, unless only the decimal reading exists (a decimal
    /// number too large to be hex), which is written back as it came.
    fn wire(self) -> String {
        match (self.hex, self.decimal) {
            (Some(h), _) => format!("{h:x}"),
            (None, d) => d.unwrap_or_default().to_string(),
        }
    }
}

/// The body of a `GETFILEDATA` request: which file of which offer, from which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRequest {
    /// The packet number of the offer.
    pub packet_no: HexOrDecimal,
    /// The file's id in the offer.
    pub file_id: HexOrDecimal,
    /// First byte wanted (hex on the wire).
    pub offset: u64,
}

impl FileRequest {
    /// A request to send: file `file_id` of offer `packet_no`, from `offset`.
    pub fn new(packet_no: u32, file_id: u64, offset: u64) -> FileRequest {
        FileRequest {
            packet_no: HexOrDecimal::exact(u64::from(packet_no)),
            file_id: HexOrDecimal::exact(file_id),
            offset,
        }
    }

    /// Reads `packetNo:fileID:offset` (fields after those are ignored).
    pub fn parse(body: &str) -> Result<FileRequest, IpmsgError> {
        let bad = |why: &str| IpmsgError::FileRequest(format!("{why} in {:?}", cut(body)));
        let mut fields = body.split(':');
        let mut next = |what: &str| {
            fields
                .next()
                .and_then(HexOrDecimal::parse)
                .ok_or_else(|| bad(what))
        };
        let packet_no = next("bad packet number")?;
        let file_id = next("bad file id")?;
        let offset = next("bad offset")?.hex.ok_or_else(|| bad("bad offset"))?;
        Ok(FileRequest {
            packet_no,
            file_id,
            offset,
        })
    }

    /// The body as written on the wire: the three numbers in hex.
    pub fn encode(&self) -> String {
        format!(
            "{}:{}:{:x}",
            self.packet_no.wire(),
            self.file_id.wire(),
            self.offset
        )
    }
}

/// A file id in an offer: decimal, or hex when it cannot be decimal.
fn parse_id(s: &str) -> Option<u64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        hex_u64(s)
    }
}

/// Strict hex: hex digits only (no sign, no `0x`), at most 16 after leading zeros.
fn hex_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16).ok()
}

/// At most 40 characters of hostile text, for error messages.
fn cut(s: &str) -> String {
    s.chars().take(40).collect()
}

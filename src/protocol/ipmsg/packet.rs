//! One IPMsg packet: the header, and the payload its mode carries.
//!
//! `version:packetNo:user:host:command:body\0ext1\0…`. The header is split on the first
//! five `:` before the first NUL; the body runs from there to the first NUL (and may hold
//! `:`); the extra fields follow, each NUL-terminated (the last terminator may be
//! missing). Only the modes lanchat acts on have their body read; the others (iptux's
//! icons, info queries, unknown modes) are [`Payload::Other`], so binary data after their
//! header is never an error. Pure code.

use super::charset::{self, Charset};
use super::command::{Command, Mode, Opt};
use super::entry::{self, Entry, push_field};
use super::files::{self, FileInfo, FileRequest};
use super::{IpmsgError, MAX_FILE_NAME, MAX_FILES, MAX_NAME_FIELD, MAX_PACKET};

/// A parsed (or to-be-sent) IPMsg packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Protocol version and client tag: `1`, `1_iptux 0.8.3`, `1_lbt…` (FeiQ).
    pub version: String,
    /// The sender's packet number (unique and increasing per sender).
    pub packet_no: u32,
    /// The sender's login name.
    pub user: String,
    /// The sender's host name.
    pub host: String,
    /// Mode and options.
    pub command: Command,
    /// What the mode carries.
    pub payload: Payload,
    /// The encoding the packet's text was in (`None`: all ASCII, which says nothing).
    /// When encoding, the text is written in it (UTF-8 when `None`), except that a
    /// command with UTF8OPT is always written in UTF-8.
    pub charset: Option<Charset>,
}

/// What a packet carries, by mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `BR_ENTRY`, `ANSENTRY`, `BR_ABSENCE`: who the sender is.
    Entry(Entry),
    /// `BR_EXIT` (its body, if any, is not read).
    Exit,
    /// `SENDMSG`: text, and the files offered with it (FILEATTACHOPT).
    Message {
        /// The text (line breaks are `\n`).
        text: String,
        /// The offered files; empty without FILEATTACHOPT.
        files: Vec<FileInfo>,
    },
    /// `RECVMSG`: the packet number acknowledged.
    Ack(u32),
    /// `RELEASEFILES`: the receiver will not fetch the files of this offer.
    Release(u32),
    /// `GETFILEDATA` (over TCP): which file, from which byte.
    GetFileData(FileRequest),
    /// Any other mode: nothing lanchat acts on; the body is not read (nor written).
    Other,
}

impl Packet {
    /// Parses and validates one packet of at most [`MAX_PACKET`] bytes.
    pub fn parse(bytes: &[u8]) -> Result<Packet, IpmsgError> {
        if bytes.len() > MAX_PACKET {
            return Err(IpmsgError::Oversized(bytes.len()));
        }
        let (head, rest) = match bytes.iter().position(|&b| b == 0) {
            Some(nul) => (&bytes[..nul], &bytes[nul + 1..]),
            None => (bytes, &[][..]),
        };
        let mut parts = head.splitn(6, |&b| b == b':');
        let mut next = || parts.next().ok_or(IpmsgError::NoHeader);
        let (version, number, user, host, command) = (next()?, next()?, next()?, next()?, next()?);
        let body = next()?;
        if !version.starts_with(b"1") {
            return Err(IpmsgError::Version(
                String::from_utf8_lossy(&version[..version.len().min(24)]).into_owned(),
            ));
        }
        let packet_no = decimal_u32("packet number", number)?;
        let command = Command(decimal_u32("command", command)?);
        let extras = extra_fields(rest);
        let mode = command.mode();
        // The text fields this mode needs, decoded together (charset.rs says why).
        let mut text: Vec<&[u8]> = vec![version, user, host];
        let mut names = vec!["version", "user", "host"];
        let sorted = entry::sort_fields(&extras);
        match mode {
            Mode::BrEntry | Mode::AnsEntry | Mode::BrAbsence => {
                text.push(body);
                text.extend(&sorted.text);
                names.extend([
                    "nickname",
                    "group",
                    "iptux entry field",
                    "iptux entry field",
                ]);
            }
            Mode::SendMsg => {
                if command.has(Opt::Encrypt) {
                    return Err(IpmsgError::Encrypted);
                }
                text.push(body);
                names.push("message");
                if command.has(Opt::FileAttach) {
                    text.push(extras.first().copied().unwrap_or_default());
                    names.push("attachment list");
                }
            }
            _ => {}
        }
        let (strings, charset) =
            charset::decode_fields(&text, command.has(Opt::Utf8)).map_err(|e| {
                IpmsgError::Undecodable {
                    field: names[e.field],
                    charset: e.charset,
                }
            })?;
        let mut strings = strings.into_iter();
        let mut take = || strings.next().unwrap_or_default();
        let (version, user, host) = (take(), take(), take());
        let payload = match mode {
            Mode::BrEntry | Mode::AnsEntry | Mode::BrAbsence => {
                let nick = take();
                Payload::Entry(entry::from_parts(nick, strings.collect(), sorted.win))
            }
            Mode::BrExit => Payload::Exit,
            Mode::SendMsg => Payload::Message {
                text: take(),
                files: match strings.next() {
                    Some(list) => files::parse_file_list(&list)?,
                    None => Vec::new(),
                },
            },
            Mode::RecvMsg => Payload::Ack(decimal_u32("acknowledged packet number", body)?),
            Mode::ReleaseFiles => Payload::Release(decimal_u32("released packet number", body)?),
            Mode::GetFileData => {
                let body = std::str::from_utf8(body)
                    .map_err(|_| IpmsgError::FileRequest("not ASCII".into()))?;
                Payload::GetFileData(FileRequest::parse(body)?)
            }
            _ => Payload::Other,
        };
        let packet = Packet {
            version,
            packet_no,
            user,
            host,
            command,
            payload,
            charset,
        };
        packet.check_limits()?;
        Ok(packet)
    }

    /// The length and count limits, on the text as decoded: what lanchat accepts is what
    /// it would send, and the other way round.
    fn check_limits(&self) -> Result<(), IpmsgError> {
        let mut names = vec![
            ("version", &self.version),
            ("user", &self.user),
            ("host", &self.host),
        ];
        match &self.payload {
            Payload::Entry(e) => {
                names.extend([("nickname", &e.nick), ("group", &e.group)]);
                if let Some(i) = &e.iptux {
                    names.extend([
                        ("iptux entry field", &i.icon),
                        ("iptux entry field", &i.encoding),
                    ]);
                }
            }
            Payload::Message { files, .. } => {
                if files.len() > MAX_FILES {
                    return Err(IpmsgError::TooMany {
                        what: "files in one offer",
                        max: MAX_FILES,
                    });
                }
                if let Some(f) = files.iter().find(|f| f.name.len() > MAX_FILE_NAME) {
                    return Err(IpmsgError::TooLong {
                        field: "file name",
                        len: f.name.len(),
                    });
                }
            }
            _ => {}
        }
        match names.into_iter().find(|(_, v)| v.len() > MAX_NAME_FIELD) {
            Some((field, v)) => Err(IpmsgError::TooLong {
                field,
                len: v.len(),
            }),
            None => Ok(()),
        }
    }

    /// The packet as bytes; [`IpmsgError::Oversized`] when it would not fit in
    /// [`MAX_PACKET`], [`IpmsgError::TooLong`] or [`IpmsgError::TooMany`] past the limits
    /// [`Packet::parse`] holds others to. A `:` in the version, user or host (which would shift the header)
    /// becomes `_`; NULs in any text are dropped.
    pub fn encode(&self) -> Result<Vec<u8>, IpmsgError> {
        self.check_limits()?;
        let cs = if self.command.has(Opt::Utf8) {
            Charset::Utf8
        } else {
            self.charset.unwrap_or(Charset::Utf8)
        };
        let mut out = Vec::with_capacity(128);
        let number = self.packet_no.to_string();
        let command = self.command.0.to_string();
        for field in [&self.version, &number, &self.user, &self.host, &command] {
            out.extend_from_slice(&charset::encode(&header_field(field), cs));
            out.push(b':');
        }
        match &self.payload {
            Payload::Entry(e) => e.encode_into(&mut out, cs),
            Payload::Exit | Payload::Other => out.push(0),
            Payload::Message { text, files } => {
                push_field(&mut out, text, cs);
                if !files.is_empty() {
                    push_field(&mut out, &files::encode_file_list(files), cs);
                }
            }
            Payload::Ack(n) | Payload::Release(n) => push_field(&mut out, &n.to_string(), cs),
            Payload::GetFileData(req) => push_field(&mut out, &req.encode(), cs),
        }
        if out.len() > MAX_PACKET {
            return Err(IpmsgError::Oversized(out.len()));
        }
        Ok(out)
    }
}

/// A header field made safe to write: no `:` (it would shift the header), no NUL.
fn header_field(s: &str) -> String {
    s.replace(':', "_").replace('\0', "")
}

/// The extra fields after the body, without the empty ones at the end (the last
/// terminator, and any NUL padding).
fn extra_fields(rest: &[u8]) -> Vec<&[u8]> {
    let mut fields: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
    while fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    fields
}

/// A decimal `u32`: digits only, no sign, no spaces.
fn decimal_u32(field: &'static str, raw: &[u8]) -> Result<u32, IpmsgError> {
    let text = std::str::from_utf8(raw).unwrap_or_default();
    if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
        return Err(IpmsgError::bad_number(field, &String::from_utf8_lossy(raw)));
    }
    text.parse()
        .map_err(|_| IpmsgError::bad_number(field, text))
}

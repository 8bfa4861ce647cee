//! IPMsg (IP Messenger, iptux, FeiQ) packets as pure functions: bytes in, [`Packet`] out,
//! and back. No sockets, threads or clocks; the sockets are `crate::net::ipmsg`, what the
//! packets mean for peers, chats and transfers is the core's.
//!
//! One packet is `version:packetNo:user:host:command:body\0ext1\0ext2\0…`: the header is
//! split on the first five `:`, the body runs to the first NUL, further NUL-terminated
//! fields follow. The same text format goes over UDP (everything) and TCP (a
//! `GETFILEDATA` request before the raw file bytes).
//!
//! - [`command`]: the command word ([`Mode`] and [`Opt`]ion bits, which mean different
//!   things for entry-type and send-type commands).
//! - [`charset`]: UTF-8 or GB18030, decided once per packet.
//! - [`packet`]: the header, and the [`Payload`] each mode carries.
//! - [`entry`]: nickname and group in presence packets, iptux's and IP Messenger's
//!   extensions.
//! - [`files`]: attachment lists in file offers, `GETFILEDATA` requests.
//!
//! Everything read from the wire is bounded ([`MAX_PACKET`], [`MAX_NAME_FIELD`],
//! [`MAX_FILES`], ...) and every refusal is an [`IpmsgError`] with a stable
//! [`label`](IpmsgError::label) for the network counters; nothing here panics on input.
//! Names are returned as they arrived (control characters included): making them safe to
//! show or to use as file names is the caller's job (`crate::protocol::sanitize`).
//! `docs/IPMSG.md` says what is supported and why.

pub mod charset;
pub mod command;
pub mod entry;
pub mod files;
pub mod packet;

#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_hostile;
#[cfg(test)]
mod tests_wire;

use thiserror::Error;

pub use charset::Charset;
pub use command::{Command, Mode, Opt};
pub use entry::{Entry, IptuxInfo, WinInfo};
pub use files::{FileInfo, FileKind, FileRequest, HexOrDecimal};
pub use packet::{Packet, Payload};

/// The UDP and TCP port IPMsg clients use.
pub const DEFAULT_PORT: u16 = 2425;

/// Largest packet sent or accepted, in bytes (iptux's `MAX_UDPLEN`).
pub const MAX_PACKET: usize = 8192;

/// Longest version, user, host, nickname or group accepted, in bytes.
pub const MAX_NAME_FIELD: usize = 256;

/// Most files one offer may list.
pub const MAX_FILES: usize = 256;

/// Longest file name accepted in an offer, in bytes.
pub const MAX_FILE_NAME: usize = 1024;

/// Most extended attributes kept per offered file (more are ignored).
pub const MAX_EXT_ATTRS: usize = 16;

/// Why a packet was refused (or could not be built). Counted per [`label`](Self::label).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IpmsgError {
    /// More than [`MAX_PACKET`] bytes.
    #[error("packet of {0} bytes exceeds the {MAX_PACKET}-byte limit")]
    Oversized(usize),
    /// Fewer than five `:` before the first NUL: not an IPMsg packet.
    #[error("no IPMsg header (fewer than five ':' before the body)")]
    NoHeader,
    /// A version that does not start with `1`.
    #[error("IPMsg version {0:?} is not supported (only 1)")]
    Version(String),
    /// A number field that is empty, not a number in its base, or too large.
    #[error("bad {field} {value:?}")]
    BadNumber {
        /// Which field.
        field: &'static str,
        /// What it said (cut to 24 characters).
        value: String,
    },
    /// A field longer than its limit.
    #[error("{field} of {len} bytes is too long")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// More items than allowed.
    #[error("more than {max} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// Text that is not valid in the encoding the packet was read with.
    #[error("{field} is not valid {}", charset.label())]
    Undecodable {
        /// Which field.
        field: &'static str,
        /// The encoding tried.
        charset: Charset,
    },
    /// ENCRYPTOPT: the payload is encrypted, which lanchat never negotiates.
    #[error("encrypted packet (lanchat does not speak IPMsg encryption)")]
    Encrypted,
    /// A file offer whose attachment list cannot be read.
    #[error("bad attachment list: {0}")]
    FileList(String),
    /// A `GETFILEDATA` body that is not `packetNo:fileID:offset`.
    #[error("bad file request: {0}")]
    FileRequest(String),
}

impl IpmsgError {
    /// Short stable label for counters (`oversized`, `no_header`, ...).
    pub fn label(&self) -> &'static str {
        match self {
            IpmsgError::Oversized(_) => "oversized",
            IpmsgError::NoHeader => "no_header",
            IpmsgError::Version(_) => "version",
            IpmsgError::BadNumber { .. } => "bad_number",
            IpmsgError::TooLong { .. } => "too_long",
            IpmsgError::TooMany { .. } => "too_many",
            IpmsgError::Undecodable { .. } => "encoding",
            IpmsgError::Encrypted => "encrypted",
            IpmsgError::FileList(_) => "bad_file_list",
            IpmsgError::FileRequest(_) => "bad_file_request",
        }
    }

    /// A [`IpmsgError::BadNumber`] quoting at most 24 characters of `value`.
    pub(crate) fn bad_number(field: &'static str, value: &str) -> IpmsgError {
        IpmsgError::BadNumber {
            field,
            value: value.chars().take(24).collect(),
        }
    }
}

//! Wire protocol v2, as pure functions over bytes: no sockets, no threads, no clocks.
//! (The cryptography of links and files, the handshake and sealed frames, is
//! `crate::trust`'s.)
//!
//! - [`frame`]: length-prefixed frames for TCP links.
//! - [`message`]: the JSON messages inside link frames (`hello`, `chat`, `ack`, ...).
//! - [`beacon`]: what discovery datagrams say (`hello`, `here`, `bye`, `shout`).
//! - [`signed`]: datagrams as they travel: a beacon signed by its sender's key.
//! - [`freshness`]: which signed datagrams are new (replay and staleness guard).
//! - [`folder`]: folders as one transfer: the offer's summary, the manifest, its checks.
//! - [`sanitize`]: file names from the wire made into one safe path component.
//! - [`mime`]: media types of offered files (magic bytes, then extension).
//! - [`hash`]: the whole-file hash in `file_end`, and transfer ids.
//! - [`ids`]: peer, message and transfer ids as types (strings on the wire).
//! - [`room`]: room ids, members and signed room changes.
//! - [`ipmsg`]: IP Messenger / iptux / FeiQ packets (`docs/IPMSG.md`).
//!
//! `docs/PROTOCOL.md` describes the same formats for people writing other clients.

pub mod beacon;
pub mod folder;
pub mod frame;
pub mod freshness;
pub mod hash;
pub mod ids;
pub mod ipmsg;
pub mod message;
pub mod mime;
pub mod room;
pub mod sanitize;
pub mod signed;

pub use beacon::{Beacon, BeaconError, BeaconKind, MAX_DATAGRAM, PROTOCOL_VERSION, Unicast};
pub use frame::{FrameDecoder, FrameError, MAX_FRAME_BODY};
pub use ids::{MsgId, PeerId, TransferId};
pub use message::{DeclineCode, LinkMsg, MessageError};

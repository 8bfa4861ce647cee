//! Wire protocol v1, as pure functions over bytes: no sockets, no threads, no clocks.
//!
//! - [`frame`]: length-prefixed frames for TCP links.
//! - [`message`]: the JSON messages inside link frames (`hello`, `chat`, `ack`, ...).
//! - [`beacon`]: discovery datagrams (`hello`, `here`, `bye`, `shout`).
//! - [`sanitize`]: file names from the wire made into one safe path component.
//! - [`mime`]: media types of offered files (magic bytes, then extension).
//! - [`hash`]: the whole-file hash in `file_end`, and transfer ids.
//! - [`ids`]: peer, message and transfer ids as types (strings on the wire).
//!
//! `docs/PROTOCOL.md` describes the same formats for people writing other clients.

pub mod beacon;
pub mod frame;
pub mod hash;
pub mod ids;
pub mod message;
pub mod mime;
pub mod sanitize;

pub use beacon::{Beacon, BeaconError, BeaconKind, MAX_DATAGRAM, PROTOCOL_VERSION};
pub use frame::{FrameDecoder, FrameError, MAX_FRAME_BODY};
pub use ids::{MsgId, PeerId, TransferId};
pub use message::{DeclineCode, LinkMsg, MessageError};

//! Wire protocol v1, as pure functions over bytes: no sockets, no threads, no clocks.
//!
//! - [`frame`]: length-prefixed frames for TCP links.
//! - [`message`]: the JSON messages inside link frames (`hello`, `chat`, `ack`, ...).
//! - [`beacon`]: discovery datagrams (`hello`, `here`, `bye`, `shout`).
//!
//! `docs/PROTOCOL.md` describes the same formats for people writing other clients.

pub mod beacon;
pub mod frame;
pub mod message;

pub use beacon::{Beacon, BeaconError, BeaconKind, MAX_DATAGRAM, PROTOCOL_VERSION};
pub use frame::{FrameDecoder, FrameError, MAX_FRAME_BODY};
pub use message::{LinkMsg, MessageError};

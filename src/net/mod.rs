//! Everything that touches a socket. The threads here only read, parse and forward
//! ([`NetInput`]); the decisions are the core's (`crate::node`), which asks for I/O only
//! through the [`Port`] trait: [`Io`] binds every socket and runs the threads, a test's
//! stand-in records what was asked.
//!
//! - [`port`]: the [`Port`] trait, what the core may ask of the I/O side.
//! - [`bound`]: [`Io`], the real port: the sockets, links, dials and transfer threads.
//! - [`interfaces`]: which interfaces, and their broadcast addresses.
//! - [`discovery`]: the UDP sockets and their reader threads; [`datagram`]: reading a
//!   UDP socket so a stop always ends it and errors are counted, not paused on.
//! - [`conn`]: one framed TCP connection (frames, deadlines, the raw escape) with its
//!   transport slot; every frame read or written on TCP goes through it.
//! - [`link`]: the TCP listener, dialing, and per-link reader/writer threads.
//! - [`secure`]: the Noise handshake where connections are made (dial and greet).
//! - [`accept`]: the accept loop and its greeters (handshake, first frame);
//!   [`greeting`]: how many may wait, from where, and why the others were closed.
//! - [`transfer`]: file data connections, a sending and a receiving thread per transfer.
//! - [`web`]: the page for browsers as the port serves it (the server, landing uploads).
//! - `resolve`: host names on the unicast list (reach by address), on a thread each.
//! - [`ipmsg`]: the IPMsg (iptux, FeiQ, IP Messenger) sockets on port 2425 and their
//!   threads.

pub mod accept;
pub mod bound;
pub mod conn;
pub mod datagram;
pub mod discovery;
mod error;
pub mod greeting;
mod input;
pub mod interfaces;
pub mod ipmsg;
pub mod link;
pub mod port;
mod report;
mod resolve;
pub mod secure;
mod thread;
pub mod transfer;
pub mod web;

pub use bound::Io;
pub use conn::Conn;
pub use error::NetError;
pub use input::{LinkId, NetInput, Via};
pub use port::{IpmsgStatus, LinkEnds, Port, Sockets};
pub use secure::DialError;
pub use thread::{Reaper, spawn_named};
pub use transfer::StreamId;
pub use web::{WebNews, WebPort};

//! lanchat: chat, shout and share files on a local network, with no server, account or
//! set-up.
//!
//! Peers find each other with UDP broadcast beacons, talk one-to-one over TCP links of
//! length-prefixed JSON frames, and reach everyone at once with a single broadcast
//! datagram. A GUI-free core runs on its own thread, its state in parts that own it, its
//! I/O behind a port; front ends (the egui window, the headless JSON-lines mode) each
//! subscribe to it: [`node::Command`]s in, [`node::Event`]s out, never a socket.
//!
//! # Layout
//! - [`protocol`]: wire formats as pure functions: frames, link messages, beacons.
//! - [`net`]: sockets and I/O threads behind a port: discovery, framed connections,
//!   links, file transfers.
//! - [`node`]: the engine: one thread, four parts (presence, links, chat, transfers),
//!   and the subscribers.
//! - [`trust`]: identity keys, the Noise handshake, sealed frames and files, safety codes.
//! - [`store`]: SQLite history, the durable outbox, known peers and transfers.
//! - [`config`]: settings, data directory, persisted identity.
//! - [`headless`]: the JSON-lines front end.
//! - [`web`]: the page for browsers: an HTTP server, visitors' sessions, the link's QR code.
//! - [`desktop`]: around the window: tray, notifications, one window per data directory,
//!   start with the session (no egui).
//! - `ui` (feature `gui`): the egui window.
//! - [`platform`]: everything that differs between Linux, Windows and macOS, and the
//!   portable paths a Linux build with the feature `portable` takes to test them.
//!
//! ```no_run
//! use lanchat::{config::Config, node};
//! let dir = std::env::temp_dir().join("lanchat-example");
//! let handle = node::spawn(Config::loopback(dir, 47474), node::no_waker()).unwrap();
//! handle.commands.send(node::Command::Peers).unwrap();
//! for event in handle.events.iter() {
//!     println!("{event:?}");
//! }
//! ```

pub mod config;
pub mod desktop;
pub mod headless;
pub mod net;
pub mod node;
pub mod platform;
pub mod protocol;
pub mod store;
pub mod trust;
#[cfg(feature = "gui")]
pub mod ui;
pub mod web;

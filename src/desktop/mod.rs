//! lanchat as a desktop citizen: what lives around the window rather than in it.
//!
//! Nothing here imports egui or touches the core: each part reports what the user asked
//! for as a [`Request`] on a channel, then calls the window's waker, and the window (its
//! `shell`) decides what to do with it. The parts that talk to the desktop over D-Bus are
//! Linux-only and need the `gui` feature.
//!
//! - [`autostart`]: the XDG autostart entry ("start with the session"): paths and text
//!   are pure functions, tested in a temp dir.
//! - [`instance`]: one window per data directory: a running window answers a second
//!   `lanchat` over a token-guarded 127.0.0.1 socket and comes to the front.
//! - [`close`]: what closing the window does (hide to the tray, quit, or say why not).
//! - `badge`: the tray icon with the unread count drawn on it (pure pixels).
//! - `tray` (Linux, `gui`): the StatusNotifierItem icon and its menu (`ksni`).
//! - `notes` (Linux, `gui`): notifications whose click comes back as a request.

pub mod autostart;
#[cfg(feature = "gui")]
pub mod badge;
pub mod close;
pub mod instance;
#[cfg(all(feature = "gui", target_os = "linux"))]
pub mod notes;
#[cfg(all(feature = "gui", target_os = "linux"))]
pub mod tray;

use crossbeam_channel::Sender;

use crate::node::Waker;

/// The presence statuses offered by the window's status menu and the tray's.
pub const STATUSES: &[&str] = &["online", "away", "busy", "in a meeting"];

/// What the desktop asks of the window. Sent on a channel, followed by a call to the
/// window's waker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Show the window, bring it to the front and focus it (the tray's "Open", a click on
    /// the tray icon, or a second `lanchat` started with the same data directory).
    Show,
    /// The notification with this id was clicked: show the window at its conversation.
    OpenNote(u64),
    /// Announce this presence status (the tray's Status menu).
    SetStatus(String),
    /// Quit lanchat, even if closing the window would only hide it (the tray's "Quit").
    Quit,
    /// The tray host went away (`false`) or came back (`true`): while it is away a
    /// hidden window must come back, or nothing would be left to reach lanchat with.
    TrayAvailable(bool),
}

/// What the tray shows: the window hands it over each frame, and the tray redraws only
/// when it changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrayState {
    /// Unread messages, drawn on the icon and said in the tooltip and menu.
    pub unread: usize,
    /// Our presence status, checked in the Status menu.
    pub status: String,
}

/// Where the desktop's requests go: a channel to the window and the waker that makes it
/// look.
#[derive(Clone)]
pub struct Requests {
    tx: Sender<Request>,
    wake: Waker,
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests").finish_non_exhaustive()
    }
}

impl Requests {
    /// Requests on `tx`, each followed by a call to `wake`.
    pub fn new(tx: Sender<Request>, wake: Waker) -> Requests {
        Requests { tx, wake }
    }

    /// Sends `request` and wakes the window. A window that is gone is not an error: the
    /// request is dropped.
    pub fn send(&self, request: Request) {
        if self.tx.send(request).is_ok() {
            (self.wake)();
        }
    }
}

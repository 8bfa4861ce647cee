//! Desktop notifications for messages that arrive while the window is not focused.
//!
//! Showing one talks to the desktop's notification service (D-Bus on Linux) and may block,
//! so it happens on a thread of its own (`lanchat-notify`), started at the first
//! notification. Failing to notify is logged once and otherwise ignored: never fatal.

use std::thread::JoinHandle;

use crossbeam_channel::{Sender, unbounded};

use crate::net::spawn_named;

/// One notification.
#[derive(Debug, Clone)]
struct Note {
    summary: String,
    body: String,
}

/// Sends notifications from a background thread.
#[derive(Debug, Default)]
pub struct Notifier {
    tx: Option<Sender<Note>>,
    thread: Option<JoinHandle<()>>,
    disabled: bool,
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.tx = None; // ends the thread after the notification in progress
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Longest body shown, in characters.
const BODY_CHARS: usize = 200;

impl Notifier {
    /// Shows `body` from `summary`, without waiting.
    pub fn notify(&mut self, summary: &str, body: &str) {
        if self.disabled {
            return;
        }
        let note = Note {
            summary: summary.to_owned(),
            body: body.chars().take(BODY_CHARS).collect(),
        };
        if self.tx.is_none() {
            let (tx, rx) = unbounded::<Note>();
            let started = spawn_named("lanchat-notify", move || {
                // Windows: the toast id registered for the user; macOS: the bundle set.
                let app_id = crate::platform::notify::app_id();
                let mut failed = false;
                for note in rx {
                    if let Err(e) = show(&note, app_id.as_deref()) {
                        if !failed {
                            tracing::warn!("cannot show a desktop notification: {e}");
                        }
                        failed = true;
                    }
                }
            });
            match started {
                Ok(thread) => {
                    self.tx = Some(tx);
                    self.thread = Some(thread);
                }
                Err(e) => {
                    tracing::warn!("cannot start the notification thread: {e}");
                    self.disabled = true;
                    return;
                }
            }
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(note);
        }
    }
}

/// Shows one note; on Windows under `app_id` when it is registered (see
/// `platform::notify`), elsewhere the id is the bundle already set, or nothing.
fn show(note: &Note, app_id: Option<&str>) -> Result<(), notify_rust::error::Error> {
    let mut n = notify_rust::Notification::new();
    n.appname("lanchat").summary(&note.summary).body(&note.body);
    crate::platform::notify::with_app_id(&mut n, app_id);
    n.show().map(drop)
}

//! Desktop notifications whose click opens the conversation (Linux, freedesktop
//! notifications over D-Bus).
//!
//! A notification is sent with a `default` action; the server reports a click as the
//! `ActionInvoked` signal, which some servers (dunst, for one) send only to the
//! connection that made the notification. So one connection both sends and listens: the
//! `lanchat-notify` thread calls `Notify` for each note, the `lanchat-notify-act` thread
//! reads that connection's signals and turns a click into [`Request::OpenNote`] with the
//! caller's id. Both start at the first notification and are joined on drop: the sender
//! ends when the channel closes and then sends its own listener a stop signal.
//!
//! Failing to notify (no bus, no notification server) is logged once and otherwise
//! ignored: never fatal. Only the last [`REMEMBERED`] notifications stay clickable.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};
use zbus::blocking::{Connection, MessageIterator, fdo::DBusProxy};
use zbus::zvariant::Value;

use super::{Request, Requests};
use crate::net::spawn_named;

/// How many recent notifications a click is still honoured for.
pub const REMEMBERED: usize = 64;

/// Longest body shown, in characters.
const BODY_CHARS: usize = 200;

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
/// The signal the sender thread sends its listener to stop it.
const STOP_INTERFACE: &str = "org.lanchat.Notes";

/// One notification.
#[derive(Debug, Clone)]
struct Note {
    id: u64,
    summary: String,
    body: String,
}

/// Shows notifications and reports clicks on them.
pub struct Notes {
    requests: Requests,
    address: Option<String>,
    tx: Option<Sender<Note>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Notes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notes")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Notes {
    /// Notifications on the session bus; clicks go to `requests`.
    pub fn new(requests: Requests) -> Notes {
        Notes {
            requests,
            address: None,
            tx: None,
            thread: None,
        }
    }

    /// Notifications on the bus at `address` (tests run their own bus).
    pub fn on_bus(address: &str, requests: Requests) -> Notes {
        let mut notes = Notes::new(requests);
        notes.address = Some(address.to_owned());
        notes
    }

    /// Shows `body` from `summary`, without waiting; a click on it comes back as
    /// [`Request::OpenNote`]`(id)`.
    pub fn notify(&mut self, id: u64, summary: &str, body: &str) {
        let note = Note {
            id,
            summary: summary.to_owned(),
            body: body.chars().take(BODY_CHARS).collect(),
        };
        if self.tx.is_none() {
            let (tx, rx) = unbounded();
            let (requests, address) = (self.requests.clone(), self.address.clone());
            match spawn_named("lanchat-notify", move || send_loop(&rx, address, requests)) {
                Ok(thread) => {
                    self.tx = Some(tx);
                    self.thread = Some(thread);
                }
                Err(e) => tracing::warn!("cannot start the notification thread: {e}"),
            }
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(note);
        }
    }
}

impl Drop for Notes {
    fn drop(&mut self) {
        self.tx = None; // the sender finishes the note in progress, stops its listener
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Which server notification ids belong to which of our notes (the newest few).
#[derive(Debug, Default)]
struct Shown {
    ids: HashMap<u32, u64>,
    order: VecDeque<u32>,
}

impl Shown {
    fn insert(&mut self, server_id: u32, note: u64) {
        if self.ids.insert(server_id, note).is_none() {
            self.order.push_back(server_id);
        }
        while self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }
}

fn connect(address: Option<&str>) -> zbus::Result<Connection> {
    match address {
        Some(a) => zbus::blocking::connection::Builder::address(a)?.build(),
        None => Connection::session(),
    }
}

fn send_loop(rx: &Receiver<Note>, address: Option<String>, requests: Requests) {
    let (conn, listener) = match connect(address.as_deref()).and_then(|conn| {
        let listener = listen(&conn, requests)?;
        Ok((conn, listener))
    }) {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!("cannot show desktop notifications: {e}");
            rx.iter().for_each(drop);
            return;
        }
    };
    let (shown, thread) = listener;
    let mut failed = false;
    for note in rx {
        match send(&conn, &note) {
            Ok(server_id) => shown
                .lock()
                .expect("the listener never panics holding it")
                .insert(server_id, note.id),
            Err(e) => {
                if !failed {
                    tracing::warn!("cannot show a desktop notification: {e}");
                }
                failed = true;
            }
        }
    }
    let me = conn.unique_name().map(|n| n.to_string());
    let stopped = me
        .ok_or(zbus::Error::InvalidField)
        .and_then(|me| conn.emit_signal(Some(me.as_str()), PATH, STOP_INTERFACE, "Stop", &()));
    match stopped {
        Ok(()) => {
            let _ = thread.join();
        }
        Err(e) => tracing::warn!("cannot stop the notification listener: {e}"),
    }
}

type Listener = (Arc<Mutex<Shown>>, JoinHandle<()>);

/// Subscribes to the notification server's signals on `conn` and starts the thread
/// that turns clicks into requests.
fn listen(conn: &Connection, requests: Requests) -> zbus::Result<Listener> {
    let bus = DBusProxy::new(conn)?;
    for member in ["ActionInvoked", "NotificationClosed"] {
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(SERVICE)?
            .member(member)?
            .build();
        bus.add_match_rule(rule)?;
    }
    // Made before the first Notify, so no click can come before we listen.
    let messages = MessageIterator::from(conn);
    let shown = Arc::new(Mutex::new(Shown::default()));
    let thread_shown = shown.clone();
    let thread = spawn_named("lanchat-notify-act", move || {
        act_loop(messages, &thread_shown, &requests);
    })
    .map_err(|e| zbus::Error::InputOutput(Arc::new(e)))?;
    Ok((shown, thread))
}

fn act_loop(messages: MessageIterator, shown: &Mutex<Shown>, requests: &Requests) {
    for msg in messages {
        let Ok(msg) = msg else { continue };
        let header = msg.header();
        if header.message_type() != zbus::message::Type::Signal {
            continue;
        }
        let interface = header.interface().map(|i| i.as_str());
        let member = header.member().map(|m| m.as_str());
        match (interface, member) {
            (Some(STOP_INTERFACE), Some("Stop")) => return,
            (Some(SERVICE), Some("ActionInvoked")) => {
                let Ok((server_id, action)) = msg.body().deserialize::<(u32, String)>() else {
                    continue;
                };
                let note = shown
                    .lock()
                    .expect("no panic holding it")
                    .ids
                    .get(&server_id)
                    .copied();
                if let (Some(note), "default") = (note, action.as_str()) {
                    requests.send(Request::OpenNote(note));
                }
            }
            (Some(SERVICE), Some("NotificationClosed")) => {
                if let Ok((server_id, _reason)) = msg.body().deserialize::<(u32, u32)>() {
                    let mut shown = shown.lock().expect("no panic holding it");
                    shown.ids.remove(&server_id);
                    shown.order.retain(|id| *id != server_id);
                }
            }
            _ => {}
        }
    }
}

/// Calls `Notify` and returns the server's id for the notification.
fn send(conn: &Connection, note: &Note) -> zbus::Result<u32> {
    let mut hints: HashMap<&str, Value> = HashMap::new();
    hints.insert("desktop-entry", Value::from("lanchat"));
    hints.insert("category", Value::from("im.received"));
    let actions = vec!["default", "Open"];
    let reply = conn.call_method(
        Some(SERVICE),
        PATH,
        Some(SERVICE),
        "Notify",
        &(
            "lanchat",
            0u32,
            "lanchat",
            note.summary.as_str(),
            note.body.as_str(),
            actions,
            hints,
            -1i32,
        ),
    )?;
    reply.body().deserialize::<u32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_notifications_stay_clickable() {
        let mut shown = Shown::default();
        for i in 0..(REMEMBERED as u32 + 10) {
            shown.insert(1000 + i, u64::from(i));
        }
        assert_eq!(shown.ids.len(), REMEMBERED);
        assert_eq!(shown.order.len(), REMEMBERED);
        assert!(!shown.ids.contains_key(&1000), "the oldest is forgotten");
        assert_eq!(shown.ids.get(&(1000 + REMEMBERED as u32 + 9)), Some(&73));
        shown.insert(1000 + REMEMBERED as u32 + 9, 5);
        assert_eq!(
            shown.order.len(),
            REMEMBERED,
            "an id shown again counts once"
        );
    }
}

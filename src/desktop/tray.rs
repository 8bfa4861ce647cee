//! The tray icon (Linux): a StatusNotifierItem with lanchat's icon, the unread count
//! drawn on it, and a menu — "Open lanchat", "Status" (online, away, busy, in a meeting),
//! "Quit lanchat". Clicks come back to the window as [`Request`]s.
//!
//! Built on `ksni` (pure Rust, D-Bus through zbus), which serves the item and its
//! `com.canonical.dbusmenu` menu from a thread of its own. Starting fails, with the
//! reason, where there is no session bus, no `org.kde.StatusNotifierWatcher` on it (the
//! desktop shows no such icons: GNOME without the AppIndicator extension, a bare X
//! server), or no host registered with the watcher: the window then knows closing it
//! must quit. A watcher that goes away later, or comes back, is reported as
//! [`Request::TrayAvailable`].

use image::RgbaImage;
use ksni::blocking::TrayMethods as _;
use ksni::menu::{MenuItem, RadioGroup, RadioItem, StandardItem, SubMenu};
use thiserror::Error;

use super::badge;
use super::{Request, Requests, STATUSES, TrayState};

/// Why there is no tray icon.
#[derive(Debug, Error)]
pub enum NoTray {
    /// No session bus to talk to.
    #[error("no D-Bus session bus ({0})")]
    NoBus(String),
    /// Nobody on the session bus shows StatusNotifierItems.
    #[error(
        "this desktop shows no tray icons (nothing on the session bus owns org.kde.StatusNotifierWatcher)"
    )]
    NoWatcher,
    /// The watcher is there, but no host to show icons has registered with it.
    #[error("no tray host is running to show the icon")]
    NoHost,
}

/// The item `ksni` serves.
struct Item {
    requests: Requests,
    state: TrayState,
    icons: Vec<RgbaImage>,
    pixmaps: Vec<ksni::Icon>,
}

impl Item {
    fn redraw(&mut self) {
        self.pixmaps = self
            .icons
            .iter()
            .map(|icon| {
                let drawn = badge::with_badge(icon, self.state.unread);
                ksni::Icon {
                    width: drawn.width() as i32,
                    height: drawn.height() as i32,
                    data: badge::to_argb32(&drawn),
                }
            })
            .collect();
    }
}

/// The text for `unread` messages, as the tooltip and menu say it.
pub fn unread_text(unread: usize) -> String {
    match unread {
        0 => "No unread messages".to_owned(),
        1 => "1 unread message".to_owned(),
        n => format!("{n} unread messages"),
    }
}

impl ksni::Tray for Item {
    fn id(&self) -> String {
        "lanchat".into()
    }

    fn title(&self) -> String {
        "lanchat".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::Communications
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        self.requests.send(Request::Show);
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        self.pixmaps.clone()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip {
            title: "lanchat".into(),
            description: format!("{} · {}", unread_text(self.state.unread), self.state.status),
            ..Default::default()
        }
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        let open = match self.state.unread {
            0 => "Open lanchat".to_owned(),
            n => format!("Open lanchat ({})", unread_text(n).to_lowercase()),
        };
        let selected = STATUSES
            .iter()
            .position(|s| *s == self.state.status)
            .unwrap_or(usize::MAX);
        vec![
            StandardItem {
                label: open,
                icon_name: "lanchat".into(),
                activate: Box::new(|item: &mut Item| item.requests.send(Request::Show)),
                ..Default::default()
            }
            .into(),
            SubMenu {
                label: "Status".into(),
                submenu: vec![
                    RadioGroup {
                        selected,
                        select: Box::new(|item: &mut Item, i| {
                            if let Some(status) = STATUSES.get(i) {
                                item.requests.send(Request::SetStatus((*status).to_owned()));
                            }
                        }),
                        options: STATUSES
                            .iter()
                            .map(|s| RadioItem {
                                label: (*s).to_owned(),
                                ..Default::default()
                            })
                            .collect(),
                    }
                    .into(),
                ],
                ..Default::default()
            }
            .into(),
            MenuItem::Separator,
            StandardItem {
                label: "Quit lanchat".into(),
                icon_name: "application-exit".into(),
                activate: Box::new(|item: &mut Item| item.requests.send(Request::Quit)),
                ..Default::default()
            }
            .into(),
        ]
    }

    fn watcher_online(&self) {
        self.requests.send(Request::TrayAvailable(true));
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        tracing::info!("the tray went away: {reason:?}");
        self.requests.send(Request::TrayAvailable(false));
        true // keep serving: it may come back (a restarted panel)
    }
}

/// lanchat's icon in the tray, while it lives. Dropping it removes the icon.
pub struct TrayIcon {
    handle: ksni::blocking::Handle<Item>,
    shown: TrayState,
}

impl std::fmt::Debug for TrayIcon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrayIcon")
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

impl TrayIcon {
    /// Puts the icon in the tray on the session bus (`$DBUS_SESSION_BUS_ADDRESS`), or
    /// says why there is no tray.
    pub fn start(requests: Requests, state: TrayState) -> Result<TrayIcon, NoTray> {
        let mut item = Item {
            requests,
            state: state.clone(),
            icons: badge::icons(),
            pixmaps: Vec::new(),
        };
        item.redraw();
        let handle = item.spawn().map_err(|e| match e {
            ksni::Error::Dbus(e) => NoTray::NoBus(e.to_string()),
            ksni::Error::Watcher(_) => NoTray::NoWatcher,
            ksni::Error::WontShow => NoTray::NoHost,
            other => NoTray::NoBus(other.to_string()),
        })?;
        Ok(TrayIcon {
            handle,
            shown: state,
        })
    }

    /// Shows `state`: redraws the icon and menu if it changed, and only then.
    pub fn show(&mut self, state: &TrayState) {
        if *state == self.shown {
            return;
        }
        self.shown = state.clone();
        let next = state.clone();
        self.handle.update(move |item| {
            item.state = next;
            item.redraw();
        });
    }
}

impl Drop for TrayIcon {
    fn drop(&mut self) {
        self.handle.shutdown().wait();
    }
}

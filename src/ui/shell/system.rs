//! The real desktop: on Linux the tray icon (`ksni`) and notifications that report their
//! click (D-Bus); elsewhere notify-rust's notifications and no tray yet. The XDG
//! autostart entry where there is a home directory.

use std::ffi::OsString;
use std::path::PathBuf;

use super::Desktop;
use crate::desktop::autostart::{self, Autostart};
use crate::desktop::{Requests, TrayState};

/// The desktop lanchat runs on.
pub struct SystemDesktop {
    #[cfg(target_os = "linux")]
    tray: Option<crate::desktop::tray::TrayIcon>,
    #[cfg(target_os = "linux")]
    notes: crate::desktop::notes::Notes,
    #[cfg(not(target_os = "linux"))]
    notes: crate::ui::notify::Notifier,
    autostart: Option<Autostart>,
    exe: PathBuf,
    args: Vec<OsString>,
}

impl SystemDesktop {
    /// Puts the icon in the tray (if the desktop has one: otherwise logs why not) and
    /// gets notifications ready. Clicks come back on `requests`. `args` are this run's
    /// flags, for the autostart entry.
    pub fn start(requests: Requests, args: Vec<OsString>) -> SystemDesktop {
        #[cfg(target_os = "linux")]
        let tray =
            match crate::desktop::tray::TrayIcon::start(requests.clone(), TrayState::default()) {
                Ok(tray) => Some(tray),
                Err(e) => {
                    tracing::info!("no tray icon: {e}; closing the window quits lanchat");
                    None
                }
            };
        #[cfg(not(target_os = "linux"))]
        let _ = &requests;
        let autostart = match Autostart::from_env() {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::info!("{e}");
                None
            }
        };
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lanchat"));
        SystemDesktop {
            #[cfg(target_os = "linux")]
            tray,
            #[cfg(target_os = "linux")]
            notes: crate::desktop::notes::Notes::new(requests),
            #[cfg(not(target_os = "linux"))]
            notes: crate::ui::notify::Notifier::default(),
            autostart,
            exe,
            args,
        }
    }
}

impl Desktop for SystemDesktop {
    fn has_tray(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.tray.is_some();
        #[cfg(not(target_os = "linux"))]
        return false;
    }

    fn show_in_tray(&mut self, state: &TrayState) {
        #[cfg(target_os = "linux")]
        if let Some(tray) = &mut self.tray {
            tray.show(state);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = state;
    }

    fn notify(&mut self, id: u64, summary: &str, body: &str) {
        #[cfg(target_os = "linux")]
        self.notes.notify(id, summary, body);
        #[cfg(not(target_os = "linux"))]
        {
            let _ = id;
            self.notes.notify(summary, body);
        }
    }

    fn autostart(&self) -> bool {
        self.autostart.as_ref().is_some_and(Autostart::is_enabled)
    }

    fn set_autostart(&mut self, on: bool) -> Result<(), String> {
        let Some(entry) = &self.autostart else {
            return Err(autostart::AutostartError::NoConfigHome.to_string());
        };
        entry
            .set(on, &self.exe, &autostart::session_args(self.args.clone()))
            .map_err(|e| e.to_string())
    }
}

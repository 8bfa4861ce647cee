//! Starting the window as a desktop citizen: first ask a window already running with the
//! same data directory to come to the front (and stop there), else start the core, then
//! the desktop around the window (tray, notifications, the listener for later starts).

use std::ffi::OsString;
use std::time::Duration;

use anyhow::{Context as _, Result};
use crossbeam_channel::unbounded;

use super::backend::Backend;
use super::shell::{Shell, SystemDesktop};
use crate::config::{Config, ConfigError};
use crate::desktop::Requests;
use crate::desktop::instance::{self, Answer, InstanceServer};
use crate::node::{NodeError, Waker};

/// How the window starts.
#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// Start hidden in the tray, if there is one (`--hidden`, used by the autostart
    /// entry).
    pub start_hidden: bool,
    /// The command line's flags (without the program), for the autostart entry.
    pub args: Vec<OsString>,
}

/// A window that is starting may not have opened its listener yet when the data
/// directory is already locked: ask it this often, this many times.
const ASK_AGAIN: Duration = Duration::from_millis(250);
const ASK_TRIES: u32 = 12;

/// Starts the core, or returns `None` after a running window with this data directory
/// was asked to come to the front.
pub fn backend_unless_running(config: &Config, waker: Waker) -> Result<Option<Backend>> {
    match instance::ask_to_show(&config.data_dir) {
        Answer::Shown => return Ok(None),
        Answer::NotRunning(why) => tracing::debug!("no window to raise: {why}"),
    }
    let mut tries = 0;
    loop {
        match Backend::spawn(config.clone(), waker.clone()) {
            Ok(backend) => return Ok(Some(backend)),
            Err(NodeError::Config(ConfigError::Locked(_))) if tries < ASK_TRIES => {
                tries += 1;
                std::thread::sleep(ASK_AGAIN);
                if instance::ask_to_show(&config.data_dir) == Answer::Shown {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e).context("cannot start lanchat"),
        }
    }
}

/// The desktop around the window: the tray, notifications, and the listener that lets
/// a later `lanchat` bring this window to the front.
pub fn shell(config: &Config, options: &WindowOptions, waker: Waker) -> Shell {
    let (tx, rx) = unbounded();
    let requests = Requests::new(tx, waker);
    let server = match InstanceServer::start(&config.data_dir, requests.clone()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("{e}; starting lanchat again will not find this window");
            None
        }
    };
    let desktop = SystemDesktop::start(requests, options.args.clone());
    Shell::new(Box::new(desktop), rx, options.start_hidden).with_instance_server(server)
}

/// lanchat's icon for the window's title bar and task switcher.
pub fn window_icon() -> Option<egui::IconData> {
    let img = image::load_from_memory(crate::desktop::badge::PNG_256)
        .ok()?
        .to_rgba8();
    Some(egui::IconData {
        width: img.width(),
        height: img.height(),
        rgba: img.into_raw(),
    })
}

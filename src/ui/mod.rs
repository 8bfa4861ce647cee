//! The egui window (feature `gui`): a thin front end over the core.
//!
//! The window sends [`crate::node::Command`]s and folds [`crate::node::Event`]s; it never
//! touches a socket. The core wakes it through the injected waker (`request_repaint`), so
//! an idle window does not repaint.
//!
//! - [`state`]: events folded into peers, conversations, unread counts (no egui);
//!   `conversation`: one conversation's rows and history paging, `message`: one row
//!   (no egui).
//! - [`send_check`]: whether the composer may send, and why not (no egui).
//! - [`app`]: the frame loop: drain events, draw panels, run the actions they collected;
//!   `view`: those actions and the window's view state; `backend`: the core it talks
//!   to, or a test's channels.
//! - `peers_panel`, `chat_view`, `composer`, `network_panel`, `settings`: the panels;
//!   `chat_view` lays out only the rows on screen (`rows`: their heights, no egui;
//!   `bubble`: one row; `links`: web links in a message); `presence`: what a person's
//!   status icon says.
//! - `fonts`: CJK coverage; `timefmt`: local times; `notify`: desktop notifications
//!   where the `desktop` module has none (not Linux).
//! - `shell`: the desktop around the window (close to tray, tray menu, notifications that
//!   open their conversation, desktop settings); `launch`: one window per data directory.
//! - `tour`: the screenshot mode used by `scripts/screenshots.sh`.
//! - [`transfers`]: file transfers folded from events (no egui); `file_card` draws one in
//!   its bubble, `thumbs` decodes pictures off the UI thread, `stored_cards` brings
//!   transfers back from history as cards; `picker`: the system's file chooser, and
//!   `chooser` lanchat's own where there is none; `search`: history search.
//! - `rooms`: rooms in the left panel, the room header and the room dialog.

pub mod app;
mod backend;
mod bubble;
mod chat_view;
mod chooser;
mod composer;
mod conversation;
mod file_card;
mod fonts;
mod header;
mod icons;
mod launch;
mod links;
mod message;
mod network_panel;
#[cfg(not(target_os = "linux"))]
mod notify;
mod peers_panel;
mod picker;
mod presence;
mod reach_dialog;
mod rooms;
mod rows;
mod search;
pub mod send_check;
mod settings;
pub mod shell;
pub mod state;
mod stored_cards;
mod thumbs;
mod timefmt;
mod tour;
pub mod transfers;
pub mod verify;
mod view;
mod web_join;

use std::sync::{Arc, OnceLock};

use anyhow::{Result, anyhow};

pub use app::{Action, App, Backend};
pub use fonts::install as install_fonts;
pub use launch::WindowOptions;
pub use shell::Shell;
pub use tour::Tour;

use crate::config::Config;

/// Opens the window over a core started with `config`, and runs until it is closed.
/// The core starts first, so a bad configuration is reported before any window opens.
/// If a window is already running with this data directory, it is brought to the front
/// instead and this returns at once.
pub fn run(config: Config, options: WindowOptions) -> Result<()> {
    let ctx_slot: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
    let slot = ctx_slot.clone();
    let waker = Arc::new(move || {
        if let Some(ctx) = slot.get() {
            ctx.request_repaint();
        }
    });
    let Some(backend) = launch::backend_unless_running(&config, waker.clone())? else {
        println!(
            "lanchat is already running with data directory {}: its window was brought to the front",
            config.data_dir.display()
        );
        return Ok(());
    };
    let tour = Tour::from_env();
    let shell = match tour {
        None => launch::shell(&config, &options, waker),
        Some(_) => Shell::inert(),
    };
    let size = if tour.is_some() {
        [1240.0, 760.0]
    } else {
        [1080.0, 700.0]
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("lanchat")
            .with_app_id("lanchat")
            .with_inner_size(size)
            .with_min_inner_size([640.0, 420.0])
            .with_icon(launch::window_icon().unwrap_or_default()),
        ..Default::default()
    };
    eframe::run_native(
        "lanchat",
        options,
        Box::new(move |cc| {
            let _ = ctx_slot.set(cc.egui_ctx.clone());
            install_fonts(&cc.egui_ctx);
            Ok(Box::new(
                App::new(backend).with_shell(shell).with_tour(tour),
            ))
        }),
    )
    .map_err(|e| anyhow!("cannot open the window: {e}"))
}

//! Everything that differs between Linux, Windows and macOS, behind small functions.
//!
//! The rest of the crate never names `libc`, `rustix`, `std::os::unix`,
//! `std::os::windows`, `/proc` or a system path, and never tests `target_os`, outside the
//! few desktop files whose crates exist on one system only: `scripts/check-platform.sh`
//! fails the build if it does. So what the crate does on each system can be read here, in
//! one place.
//!
//! Every fallback is compiled on every system, and the choice between the native way and
//! the portable one is made by a function here at the moment it is needed, from the
//! target system and [`paths`]. A build with the cargo feature `portable` makes Linux take
//! the portable paths (the ones Windows and macOS take), so Linux CI runs them:
//! `scripts/test.sh` runs the whole suite once that way. Nothing here decides what the
//! app does, only how the system is asked.
//!
//! - [`wake`]: how a thread blocked reading a socket is made to stop (Windows'
//!   `shutdown()` wakes nothing).
//! - [`sock`]: sharing the discovery port, loopback-only discovery, the non-blocking
//!   write, what a datagram socket's error means, a socket's number.
//! - [`files`]: the no-replace rename, reserving disk blocks, `sendfile`, owner-only
//!   files.
//! - [`dirs`]: the data and download folders, paths as people see them, system fonts.
//! - [`notify`]: who a desktop notification says it comes from (Windows' app id, macOS'
//!   bundle).
//! - [`console`]: a console for `--headless` typed at a Windows prompt (the window build
//!   is a GUI program and starts without one); nothing elsewhere.

pub mod console;
pub mod dirs;
pub mod files;
pub mod notify;
pub mod sock;
pub mod wake;

use std::sync::atomic::{AtomicBool, Ordering};

/// Which of the two ways of asking the system to take where they differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paths {
    /// The best the target system offers (on Linux: `shutdown()` wakes blocked reads,
    /// `renameat2`, `sendfile`, `MSG_DONTWAIT`, loopback broadcast).
    Native,
    /// The ways that work on every system (what Windows and macOS take): what a Linux
    /// build with the feature `portable` takes too, so they are tested.
    Portable,
}

static PORTABLE: AtomicBool = AtomicBool::new(cfg!(feature = "portable"));

/// The paths taken by sockets, threads and files set up from now on: [`Paths::Portable`]
/// in a build with the feature `portable`, else [`Paths::Native`] (which on Windows and
/// macOS is mostly the portable way anyway).
pub fn paths() -> Paths {
    if PORTABLE.load(Ordering::Relaxed) {
        Paths::Portable
    } else {
        Paths::Native
    }
}

/// Switches the paths for everything set up from now on. Only for a benchmark that
/// compares both in one process: it stops every node of one kind before it starts the
/// other (a socket keeps the paths it was set up with).
pub fn set_paths(paths: Paths) {
    PORTABLE.store(paths == Paths::Portable, Ordering::Relaxed);
}

/// Whether this is Linux taking its own paths.
fn linux_native() -> bool {
    cfg!(any(target_os = "linux", target_os = "android")) && paths() == Paths::Native
}

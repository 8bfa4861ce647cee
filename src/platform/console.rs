//! A console for `lanchat --headless` where the program starts without one.
//!
//! - **Windows, window build** (feature `gui`): lanchat is a GUI-subsystem program, so
//!   Windows gives it no console, and typed at a cmd.exe or PowerShell prompt
//!   `--headless` would print nothing and read nothing. [`attach_for_headless`] then
//!   attaches to the console of the program that started it (`AttachConsole`), or, when
//!   that one has none (started from Explorer, a shortcut), opens a console of its own
//!   (`AllocConsole`) so the person sees the events. A standard handle that still does
//!   not work afterwards is pointed at the console (`CONIN$`, `CONOUT$`). A standard
//!   handle that worked before is never changed: a parent that pipes stdin and stdout,
//!   as programs driving the headless contract do, sees exactly what it saw before. Rust's
//!   `std::io::stdin`/`stdout`/`stderr` ask Windows for the handle at every read and
//!   write (`GetStdHandle`, not cached), so what is set here is what they use.
//! - **Linux, macOS, and a build without the window**: nothing. There a terminal's or a
//!   parent's standard handles are always inherited (a console-subsystem program on
//!   Windows gets its console from the system).
//!
//! Which of these to do is decided by [`plan`] and [`fix`] from what the handles are,
//! pure functions tested on every system; only the Win32 calls are Windows-only.

/// What to do about the console before a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Nothing: not headless, or stdin and stdout work already.
    Leave,
    /// Attach to the parent's console if it has one, else stay as is. Stdout works (a
    /// pipe or a file); only the commands' stdin is missing, which a console at hand can
    /// give, while a new console window for input alone would surprise the parent that
    /// took the output.
    AttachToParent,
    /// Attach to the parent's console, or open one: stdout goes nowhere, so without a
    /// console nothing lanchat says would be seen.
    AttachOrAllocate,
}

/// Decides [`Plan`] from whether the run is headless and whether the standard input and
/// output it starts with work.
pub fn plan(headless: bool, stdin_usable: bool, stdout_usable: bool) -> Plan {
    match (headless, stdin_usable, stdout_usable) {
        (false, _, _) | (true, true, true) => Plan::Leave,
        (true, false, true) => Plan::AttachToParent,
        (true, _, false) => Plan::AttachOrAllocate,
    }
}

/// Decides [`Plan`] before a message that must be seen (clap's help, version or usage
/// error, or the error that ends a run) from whether stdout and stderr work: attach to the
/// parent's console if either goes nowhere, but never open a window for a message.
pub fn plan_message(stdout_usable: bool, stderr_usable: bool) -> Plan {
    if stdout_usable && stderr_usable {
        Plan::Leave
    } else {
        Plan::AttachToParent
    }
}

/// What to do with one standard handle once a console is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// It worked before attaching: put the original back, whatever attaching did to it
    /// (a pipe from the parent stays the pipe).
    Restore,
    /// It did not work before and works now (attaching set it to the console).
    Keep,
    /// It works neither before nor after: open the console device for it.
    OpenConsole,
}

/// Decides [`Fix`] for one standard handle from whether it worked before and after
/// attaching.
pub fn fix(usable_before: bool, usable_after: bool) -> Fix {
    match (usable_before, usable_after) {
        (true, _) => Fix::Restore,
        (false, true) => Fix::Keep,
        (false, false) => Fix::OpenConsole,
    }
}

/// Gives `lanchat --headless` a console where it has none (see the module doc); call it
/// first, before anything writes to stdout or stderr. Does nothing when `headless` is
/// false, on Linux and macOS, and in a build without the window. Failures leave the
/// handles as they were (the run goes on as it would have without this).
pub fn attach_for_headless(headless: bool) {
    #[cfg(all(windows, feature = "gui"))]
    win::attach_for_headless(headless);
    #[cfg(not(all(windows, feature = "gui")))]
    let _ = headless;
}

/// Before printing a message that must be seen (see [`plan_message`]): on Windows'
/// window build typed at a prompt, `lanchat --help`, `--version`, a wrong argument or an
/// error that ends the run would otherwise print nowhere. Nothing elsewhere.
pub fn attach_for_message() {
    #[cfg(all(windows, feature = "gui"))]
    win::attach_for_message();
}

// The one place in lanchat with `unsafe` (Cargo.toml's lints deny it everywhere else):
// the console calls exist only as raw Win32 functions (windows-sys), with no safe
// wrapper in a well-kept crate.
#[cfg(all(windows, feature = "gui"))]
#[allow(unsafe_code)]
mod win {
    use std::fs::OpenOptions;
    use std::os::windows::io::IntoRawHandle;

    use windows_sys::Win32::Foundation::{GetLastError, HANDLE, INVALID_HANDLE_VALUE, NO_ERROR};
    use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_UNKNOWN, GetFileType};
    use windows_sys::Win32::System::Console::{
        ATTACH_PARENT_PROCESS, AllocConsole, AttachConsole, GetStdHandle, STD_ERROR_HANDLE,
        STD_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, SetStdHandle,
    };

    use super::{Fix, Plan, fix, plan, plan_message};

    const IDS: [STD_HANDLE; 3] = [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE];

    pub(super) fn attach_for_headless(headless: bool) {
        let usable = IDS.map(|id| is_usable(std_handle(id)));
        apply(plan(headless, usable[0], usable[1]));
    }

    pub(super) fn attach_for_message() {
        let usable = IDS.map(|id| is_usable(std_handle(id)));
        apply(plan_message(usable[1], usable[2]));
    }

    fn apply(plan: Plan) {
        let ids = IDS;
        let before = ids.map(std_handle);
        let usable = before.map(is_usable);
        let attached = match plan {
            Plan::Leave => return,
            // SAFETY: AttachConsole takes a process id (here the documented
            // ATTACH_PARENT_PROCESS) and no pointers; on failure it only returns 0.
            Plan::AttachToParent => unsafe { AttachConsole(ATTACH_PARENT_PROCESS) != 0 },
            Plan::AttachOrAllocate => {
                // SAFETY: as above; AllocConsole takes no arguments and returns 0 on
                // failure (for example when a console is attached already).
                unsafe { AttachConsole(ATTACH_PARENT_PROCESS) != 0 || AllocConsole() != 0 }
            }
        };
        if !attached {
            return;
        }
        for ((id, original), was_usable) in ids.into_iter().zip(before).zip(usable) {
            match fix(was_usable, is_usable(std_handle(id))) {
                Fix::Restore => set_std_handle(id, original),
                Fix::Keep => {}
                Fix::OpenConsole => {
                    let device = if id == STD_INPUT_HANDLE {
                        "CONIN$"
                    } else {
                        "CONOUT$"
                    };
                    // Read and write access, as the console functions std uses need
                    // (GetConsoleMode asks for read access on an output handle too).
                    if let Ok(file) = OpenOptions::new().read(true).write(true).open(device) {
                        // The handle is given to Windows for the rest of the process,
                        // never closed.
                        set_std_handle(id, file.into_raw_handle());
                    }
                }
            }
        }
    }

    fn std_handle(id: STD_HANDLE) -> HANDLE {
        // SAFETY: GetStdHandle takes one of the three documented ids and no pointers;
        // it returns a handle value (possibly null or INVALID_HANDLE_VALUE), owning
        // nothing.
        unsafe { GetStdHandle(id) }
    }

    fn set_std_handle(id: STD_HANDLE, handle: HANDLE) {
        // SAFETY: SetStdHandle stores a handle value for the process; the handle is
        // either the one Windows had there before or one lanchat leaves open for the
        // rest of the process. A failure only leaves the previous value.
        unsafe { SetStdHandle(id, handle) };
    }

    /// Whether a standard handle leads somewhere: not null (a GUI program started
    /// without inherited handles), not INVALID_HANDLE_VALUE, and a handle Windows knows
    /// (GetFileType says "unknown" with an error for a stale value).
    fn is_usable(handle: HANDLE) -> bool {
        if handle.is_null() || handle == INVALID_HANDLE_VALUE {
            return false;
        }
        // SAFETY: GetFileType only reads the handle value; an invalid one makes it
        // return FILE_TYPE_UNKNOWN and set the last error, nothing else. GetLastError
        // takes nothing.
        unsafe { GetFileType(handle) != FILE_TYPE_UNKNOWN || GetLastError() == NO_ERROR }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_run_never_touches_the_console() {
        for stdin in [false, true] {
            for stdout in [false, true] {
                assert_eq!(plan(false, stdin, stdout), Plan::Leave);
            }
        }
    }

    #[test]
    fn piped_headless_is_left_as_it_is() {
        assert_eq!(plan(true, true, true), Plan::Leave);
    }

    #[test]
    fn headless_without_stdout_attaches_or_opens_a_console() {
        // Typed at a prompt: the GUI program has neither handle.
        assert_eq!(plan(true, false, false), Plan::AttachOrAllocate);
        // Commands piped in, output nowhere: still show it.
        assert_eq!(plan(true, true, false), Plan::AttachOrAllocate);
    }

    #[test]
    fn headless_with_only_stdout_attaches_to_the_parent_but_opens_no_window() {
        assert_eq!(plan(true, false, true), Plan::AttachToParent);
    }

    #[test]
    fn a_message_attaches_to_the_parent_only_where_it_would_go_nowhere() {
        assert_eq!(plan_message(true, true), Plan::Leave);
        for (out, err) in [(false, false), (false, true), (true, false)] {
            assert_eq!(plan_message(out, err), Plan::AttachToParent);
        }
    }

    #[test]
    fn a_handle_that_worked_is_put_back_whatever_attaching_did() {
        assert_eq!(fix(true, true), Fix::Restore);
        assert_eq!(fix(true, false), Fix::Restore);
    }

    #[test]
    fn a_missing_handle_takes_the_console() {
        assert_eq!(fix(false, true), Fix::Keep);
        assert_eq!(fix(false, false), Fix::OpenConsole);
    }
}

//! "Start lanchat with the session": an XDG autostart entry,
//! `$XDG_CONFIG_HOME/autostart/lanchat.desktop` (`~/.config` when the variable is unset,
//! empty or relative, as the XDG base directory spec says).
//!
//! Where the entry goes and what it says are pure functions of their inputs (the
//! environment is read only by [`Autostart::from_env`]), so tests use a temp dir and never
//! the real home. The entry starts lanchat the way this one was started (same flags, so
//! the same data directory and network), plus `--hidden`, so a session start goes to the
//! tray rather than opening a window.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The entry's file name: the same as the installed desktop entry's, which is how
/// desktops tie the two together.
pub const FILE_NAME: &str = "lanchat.desktop";

/// The flag that starts the window hidden in the tray.
pub const HIDDEN_FLAG: &str = "--hidden";

/// Failure to write or remove the autostart entry.
#[derive(Debug, Error)]
pub enum AutostartError {
    /// No home directory and no usable `$XDG_CONFIG_HOME`.
    #[error("no home directory or XDG_CONFIG_HOME to keep an autostart entry in")]
    NoConfigHome,
    /// The entry could not be written or removed.
    #[error("cannot update the autostart entry {path}: {source}")]
    Io {
        /// The entry's path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A path or flag of the command line cannot be put in a desktop entry (not UTF-8, or
    /// a control character).
    #[error(
        "cannot start {0:?} from an autostart entry: a desktop entry holds UTF-8 text without control characters"
    )]
    Unrepresentable(OsString),
}

/// The user's configuration directory per the XDG base directory spec:
/// `$XDG_CONFIG_HOME` if it is set to an absolute path, else `<home>/.config`.
pub fn config_home(xdg_config_home: Option<&OsStr>, home: Option<&Path>) -> Option<PathBuf> {
    match xdg_config_home.map(Path::new) {
        Some(dir) if dir.is_absolute() => Some(dir.to_path_buf()),
        _ => home.map(|h| h.join(".config")),
    }
}

/// Where the entry lives under a configuration directory.
pub fn entry_path(config_home: &Path) -> PathBuf {
    config_home.join("autostart").join(FILE_NAME)
}

/// The flags a session start passes: those of this run (`args` without the program
/// name), with `--hidden` once.
pub fn session_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = args.into_iter().filter(|a| a != HIDDEN_FLAG).collect();
    out.push(HIDDEN_FLAG.into());
    out
}

/// Characters that make the desktop entry spec require an argument to be quoted.
const RESERVED: &[char] = &[
    ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')',
    '`',
];

/// One argument as the `Exec` key wants it: quoted if it holds a reserved character,
/// `"`, `` ` ``, `$` and `\` escaped inside the quotes, `%` doubled; then the string
/// escapes of the key's value type (`\` doubled).
fn exec_arg(arg: &OsStr) -> Result<String, AutostartError> {
    let text = arg
        .to_str()
        .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
        .ok_or_else(|| AutostartError::Unrepresentable(arg.to_owned()))?;
    let mut quoted = String::with_capacity(text.len() + 2);
    let needs_quotes = text.contains(RESERVED);
    if needs_quotes {
        quoted.push('"');
    }
    for c in text.chars() {
        match c {
            '"' | '`' | '$' | '\\' if needs_quotes => {
                quoted.push('\\');
                quoted.push(c);
            }
            '%' => quoted.push_str("%%"),
            c => quoted.push(c),
        }
    }
    if needs_quotes {
        quoted.push('"');
    }
    Ok(quoted.replace('\\', "\\\\"))
}

/// The `Exec` value that runs `exe` with `args`.
pub fn exec_line(exe: &Path, args: &[OsString]) -> Result<String, AutostartError> {
    let mut parts = vec![exec_arg(exe.as_os_str())?];
    for arg in args {
        parts.push(exec_arg(arg)?);
    }
    Ok(parts.join(" "))
}

/// The whole entry for `exec` (see [`exec_line`]).
pub fn entry_text(exec: &str) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=lanchat\n\
         Comment=Start lanchat in the tray when you log in\n\
         Exec={exec}\n\
         Icon=lanchat\n\
         Terminal=false\n\
         Categories=Network;Chat;InstantMessaging;\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

/// The autostart entry of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autostart {
    path: PathBuf,
}

impl Autostart {
    /// The entry under `config_home` (see [`config_home`]).
    pub fn in_config_home(config_home: &Path) -> Autostart {
        Autostart {
            path: entry_path(config_home),
        }
    }

    /// The entry of the user running lanchat (reads `$XDG_CONFIG_HOME` and the home
    /// directory).
    pub fn from_env() -> Result<Autostart, AutostartError> {
        let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
        let xdg = std::env::var_os("XDG_CONFIG_HOME");
        config_home(xdg.as_deref(), home.as_deref())
            .map(|dir| Autostart::in_config_home(&dir))
            .ok_or(AutostartError::NoConfigHome)
    }

    /// Where the entry is (or would be).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether lanchat starts with the session (the entry exists).
    pub fn is_enabled(&self) -> bool {
        self.path.is_file()
    }

    /// Writes the entry that runs `exe` with `args`, replacing an older one atomically
    /// (a temp file beside it, then a rename).
    pub fn enable(&self, exe: &Path, args: &[OsString]) -> Result<(), AutostartError> {
        let text = entry_text(&exec_line(exe, args)?);
        let io_err = |source| AutostartError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let tmp = self.path.with_extension("desktop.tmp");
        fs::write(&tmp, text)
            .and_then(|()| fs::rename(&tmp, &self.path))
            .map_err(io_err)
    }

    /// Removes the entry; an entry that is not there is not an error.
    pub fn disable(&self) -> Result<(), AutostartError> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(AutostartError::Io {
                path: self.path.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Writes or removes the entry, so that lanchat starts with the session if `on`.
    pub fn set(&self, on: bool, exe: &Path, args: &[OsString]) -> Result<(), AutostartError> {
        if on {
            self.enable(exe, args)
        } else {
            self.disable()
        }
    }
}

#[cfg(test)]
mod tests;

//! A real iptux on a private namespace LAN, for interoperability tests: the Rust side of
//! `scripts/iptux-lab.sh` (which see). [`Lab`] owns the namespaces (host 0 runs iptux at
//! [`IPTUX_ADDR`], host 1 is the other side at [`PEER_ADDR`]); [`Iptux`] is one running
//! iptux, driven through xdotool. Nothing here touches the root namespace's network.

#![allow(dead_code)] // each test binary uses its own part

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// iptux's address (host 0).
pub const IPTUX_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 10);
/// The other side's address (host 1).
pub const PEER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 11);
/// The LAN's broadcast address.
pub const BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 255);

/// The programs the lab needs (installed by `scripts/setup-debian.sh --test`).
const TOOLS: [&str; 6] = [
    "ip",
    "iptux",
    "Xvfb",
    "xdotool",
    "xclip",
    "dbus-run-session",
];

fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/iptux-lab.sh")
}

fn run_script(prefix: &str, args: &[&str]) -> Result<String, String> {
    let out: Output = Command::new("bash")
        .arg(script_path())
        .args(args)
        .env("TESTLAN_PREFIX", prefix)
        .output()
        .map_err(|e| format!("cannot run iptux-lab.sh: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "iptux-lab.sh {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespaces; removed on drop.
pub struct Lab {
    /// Namespace names start with this (`…0` runs iptux, `…1` the other side).
    pub prefix: String,
}

impl Lab {
    /// Makes the namespaces, or says why it cannot (not root, a tool missing, no netns).
    pub fn up(tag: &str) -> Result<Lab, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not running as root".into());
        }
        for tool in TOOLS {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                return Err(format!(
                    "{tool} is not installed (scripts/setup-debian.sh --test installs it)"
                ));
            }
        }
        let lab = Lab {
            prefix: format!("ipl{}{tag}-", std::process::id()),
        };
        run_script(&lab.prefix, &["up"])?;
        Ok(lab)
    }

    /// The command prefix that runs something in the other side's namespace.
    pub fn in_peer_ns(&self) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            format!("{}1", self.prefix),
        ]
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = run_script(&self.prefix, &["down"]);
    }
}

/// One running iptux (its state in `dir`); ended on drop if it still runs.
pub struct Iptux {
    prefix: String,
    /// Its HOME, logs (`iptux.log` has every packet), and `recv/` for received files.
    pub dir: PathBuf,
}

impl Iptux {
    /// Starts iptux with `preference_encode` = `encoding` in the lab named by `prefix`
    /// (works from inside the lab's namespaces too); returns once it listens and shows
    /// its window. It broadcasts `BR_ENTRY` at once.
    pub fn start(prefix: &str, dir: &Path, encoding: &str) -> Iptux {
        let dir_s = dir.to_str().expect("utf-8 path");
        let iptux = Iptux {
            prefix: prefix.to_owned(),
            dir: dir.to_owned(),
        };
        iptux.run(&["start", dir_s, encoding]);
        iptux
    }

    fn run(&self, args: &[&str]) -> String {
        run_script(&self.prefix, args).unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()))
    }

    fn dir_arg(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }

    /// Opens the chat window of the pal whose nickname starts with `pal`; its title.
    pub fn open_chat(&self, pal: &str) -> String {
        self.run(&["open-chat", self.dir_arg(), pal])
            .trim()
            .to_owned()
    }

    /// Types `text` in the chat with `pal` and sends it.
    pub fn say(&self, pal: &str, text: &str) {
        self.run(&["say", self.dir_arg(), pal, text]);
    }

    /// Offers the file at `path` to `pal`.
    pub fn send_file(&self, pal: &str, path: &Path) {
        self.run(&[
            "send-file",
            self.dir_arg(),
            pal,
            path.to_str().expect("utf-8"),
        ]);
    }

    /// Presses send again in the chat with `pal` (a key press lost under Xvfb leaves an
    /// attached file unsent).
    pub fn press_send(&self, pal: &str) {
        self.run(&["press-send", self.dir_arg(), pal]);
    }

    /// Accepts the files `pal` offered, into `dir/recv`.
    pub fn accept_files(&self, pal: &str) {
        self.run(&["accept-files", self.dir_arg(), pal]);
    }

    /// The chat history with `pal`, as iptux shows it.
    pub fn history(&self, pal: &str) -> String {
        self.run(&["history", self.dir_arg(), pal])
    }

    /// Quits iptux as a user would (ctrl+q); returns once it has exited.
    pub fn quit(&self) {
        self.run(&["quit", self.dir_arg()]);
    }

    /// The end of iptux's debug log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read(self.dir.join("iptux.log")).unwrap_or_default();
        let log = String::from_utf8_lossy(&log);
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "--- last lines of {}/iptux.log:\n{}",
            self.dir.display(),
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    }
}

impl Drop for Iptux {
    fn drop(&mut self) {
        let _ = run_script(&self.prefix, &["stop", self.dir_arg()]);
    }
}

//! Reading a process's CPU time and memory from /proc (Linux), and running
//! `lanchat --headless` children whose events the benchmark reads.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;

/// Clock ticks per second for /proc/PID/stat times (USER_HZ; 100 on Linux x86-64).
const TICKS_PER_SEC: f64 = 100.0;

/// The CPU model, kernel release and load average, as /proc tells them (empty where
/// there is no /proc: Windows, macOS).
pub struct MachineFacts {
    /// The CPU's model name.
    pub cpu: Option<String>,
    /// The kernel release.
    pub kernel: String,
    /// The load averages line.
    pub loadavg: String,
}

/// This machine's [`MachineFacts`].
pub fn machine_facts() -> MachineFacts {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    MachineFacts {
        cpu: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()),
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        loadavg: read("/proc/loadavg").trim().to_owned(),
    }
}

/// CPU seconds (user + system) used so far by `pid`, all threads.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').context("malformed stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields[11].parse()?;
    let stime: f64 = fields[12].parse()?;
    Ok((utime + stime) / TICKS_PER_SEC)
}

/// A `Key:   123 kB` field of /proc/PID/status, in KiB.
pub fn status_kib(pid: u32, key: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// Voluntary + involuntary context switches of every thread of `pid`: how often it woke.
pub fn wakeups(pid: u32) -> Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("status");
        let Ok(status) = std::fs::read_to_string(&path) else {
            continue; // the thread ended meanwhile
        };
        for key in ["voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"] {
            total += status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

/// CPU and memory of one process over a window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Usage {
    /// Length of the window in seconds.
    pub seconds: f64,
    /// CPU used in the window, as a percentage of one core.
    pub cpu_percent: f64,
    /// Wake-ups (context switches) per second in the window.
    pub wakeups_per_sec: f64,
    /// Resident memory at the end, KiB.
    pub rss_kib: u64,
    /// Peak resident memory since start, KiB.
    pub peak_rss_kib: u64,
}

/// A CPU and wake-up reading taken at the start of a window.
pub struct Window {
    pid: u32,
    at: Instant,
    cpu: f64,
    wakeups: u64,
}

impl Window {
    /// Starts measuring `pid`.
    pub fn start(pid: u32) -> Result<Window> {
        Ok(Window {
            pid,
            at: Instant::now(),
            cpu: cpu_seconds(pid)?,
            wakeups: wakeups(pid)?,
        })
    }

    /// What `pid` used since [`Window::start`].
    pub fn finish(&self) -> Result<Usage> {
        let seconds = self.at.elapsed().as_secs_f64();
        Ok(Usage {
            seconds,
            cpu_percent: (cpu_seconds(self.pid)? - self.cpu) / seconds * 100.0,
            wakeups_per_sec: (wakeups(self.pid)? - self.wakeups) as f64 / seconds,
            rss_kib: status_kib(self.pid, "VmRSS")?,
            peak_rss_kib: status_kib(self.pid, "VmHWM")?,
        })
    }
}

/// An event line from a child, with the time it was read.
pub type Line = (usize, Instant, Value);

/// `lanchat --headless` as a child process; its stdout lines go to a shared channel
/// tagged with `index`. Killed (by its own PID) on drop.
pub struct Node {
    /// The process.
    pub child: Child,
    stdin: Option<ChildStdin>,
    reader: Option<JoinHandle<()>>,
    /// Peer id, from `ready`.
    pub id: String,
    /// Link port, from `ready`.
    pub port: u16,
}

/// The release `lanchat` binary beside this one.
pub fn lanchat_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("lanchat");
    if !bin.exists() {
        bail!(
            "{} not found: build it first with `cargo build --release --no-default-features --bins`",
            bin.display()
        );
    }
    Ok(bin)
}

impl Node {
    /// Starts a child with `args` (after `--headless`), optionally under a prefix such
    /// as `ip netns exec NS`; does not wait for `ready` (see [`Node::ready`]).
    pub fn spawn(
        prefix: &[String],
        args: &[String],
        data_dir: &Path,
        index: usize,
        tx: &Sender<Line>,
    ) -> Result<Node> {
        let bin = lanchat_binary()?;
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        cmd.arg("--headless")
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "lanchat=warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().context("start lanchat --headless")?;
        let stdout = child.stdout.take().context("stdout")?;
        let tx = tx.clone();
        let reader = std::thread::Builder::new()
            .name(format!("node{index}-out"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    if tx.send((index, Instant::now(), v)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Node {
            stdin: child.stdin.take(),
            child,
            reader: Some(reader),
            id: String::new(),
            port: 0,
        })
    }

    /// Records what a `ready` event says.
    pub fn ready(&mut self, v: &Value) {
        self.id = v["id"].as_str().unwrap_or_default().to_owned();
        self.port = v["port"].as_u64().unwrap_or_default() as u16;
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes one command line.
    pub fn send(&mut self, cmd: &Value) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "{cmd}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Closes stdin (the node says bye and exits) and waits for it.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            // Closing stdin asks it to quit; give it a moment, then SIGKILL by PID.
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

/// Waits for the first line from `rx` that `f` accepts.
pub fn wait_line(
    rx: &Receiver<Line>,
    deadline: Duration,
    what: &str,
    mut f: impl FnMut(&Line) -> bool,
) -> Result<Line> {
    let end = Instant::now() + deadline;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .map_err(|_| anyhow::anyhow!("no {what} within {deadline:?}"))?;
        if f(&line) {
            return Ok(line);
        }
    }
}

/// A unique temp directory for one benchmark run.
pub fn run_dir(scenario: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "lanchat-bench-{scenario}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

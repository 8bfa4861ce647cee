//! Helpers shared by the integration tests: nodes on loopback (in-process or as child
//! processes) and waiting for events with a deadline instead of sleeping.
#![allow(dead_code)] // each test binary uses a different subset

pub mod disk;
pub mod netns;

use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use lanchat::config::Config;
use lanchat::node::{self, Command, Event, NodeHandle};
use serde_json::Value;

/// How long any one expected thing may take. Generous: CI machines are loaded.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A discovery port no other test uses right now.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .expect("bind an ephemeral UDP port")
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("lanchat-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An in-process node with a log of its events.
pub struct TestNode {
    pub handle: NodeHandle,
    pub id: String,
    pub name: String,
    pub port: u16,
    log: Vec<Option<Event>>,
}

impl TestNode {
    /// Starts a loopback node named `name` with its data in `dir`.
    pub fn start(name: &str, dir: &Path, discovery_port: u16) -> TestNode {
        let mut config = Config::loopback(dir, discovery_port);
        config.name = Some(name.to_owned());
        config.interval = Duration::from_millis(200);
        Self::start_with(config)
    }

    pub fn start_with(config: Config) -> TestNode {
        let name = config.name.clone().unwrap_or_default();
        let handle = node::spawn(config, node::no_waker()).expect("node starts");
        let mut n = TestNode {
            handle,
            id: String::new(),
            name,
            port: 0,
            log: Vec::new(),
        };
        match n.wait("ready", |e| matches!(e, Event::Ready { .. })) {
            Event::Ready { id, port, .. } => {
                n.id = id.into();
                n.port = port;
            }
            _ => unreachable!(),
        }
        n
    }

    pub fn send(&self, cmd: Command) {
        self.handle.commands.send(cmd).expect("node is running");
    }

    pub fn chat(&self, to: &str, text: &str) {
        self.send(Command::Send {
            to: to.to_owned(),
            text: text.to_owned(),
        });
    }

    /// Waits for (and takes) the first event, old or new, that matches.
    pub fn wait(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        self.wait_for(what, DEADLINE, pred).unwrap_or_else(|| {
            panic!(
                "{}: no {what} within {DEADLINE:?}; saw {:#?}",
                self.name, self.log
            )
        })
    }

    /// Like `wait`, but `None` when nothing matches within `timeout`.
    pub fn wait_for(
        &mut self,
        _what: &str,
        timeout: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Option<Event> {
        if let Some(slot) = self.log.iter_mut().find(|e| e.as_ref().is_some_and(&pred)) {
            return slot.take();
        }
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.handle.events.recv_timeout(left) {
                Ok(e) if pred(&e) => return Some(e),
                Ok(e) => self.log.push(Some(e)),
                Err(_) => return None,
            }
        }
    }

    /// Waits until `peer` is listed online.
    pub fn wait_joined(&mut self, peer: &str) {
        let peer = peer.to_owned();
        self.wait(
            &format!("peer_joined {peer}"),
            |e| matches!(e, Event::PeerJoined { peer: p } if p.id == peer),
        );
    }

    /// All events received so far that were not taken by a wait.
    pub fn drain(&mut self) -> Vec<Event> {
        while let Ok(e) = self.handle.events.try_recv() {
            self.log.push(Some(e));
        }
        self.log.drain(..).flatten().collect()
    }
}

/// `lanchat --headless` as a child process, events read on a thread.
pub struct ChildNode {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    log: Vec<Option<Value>>,
    pub id: String,
    pub name: String,
    pub port: u16,
}

impl ChildNode {
    /// Runs the binary with `args` (plus `--headless`), optionally under a prefix command
    /// such as `ip netns exec NS`.
    pub fn spawn(prefix: &[&str], args: &[&str], name: &str) -> ChildNode {
        let bin = env!("CARGO_BIN_EXE_lanchat");
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Process::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Process::new(bin),
        };
        cmd.arg("--headless")
            .args(["--name", name])
            .args(args)
            // Quiet unless asked: LANCHAT_TEST_LOG=lanchat=debug cargo test ...
            .env(
                "RUST_LOG",
                std::env::var("LANCHAT_TEST_LOG").unwrap_or_else(|_| "lanchat=warn".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start lanchat --headless");
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = unbounded();
        std::thread::Builder::new()
            .name(format!("test-stdout-{name}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            })
            .unwrap();
        let mut n = ChildNode {
            stdin: child.stdin.take(),
            child,
            events,
            log: Vec::new(),
            id: String::new(),
            name: name.to_owned(),
            port: 0,
        };
        let ready = n.wait("ready", |v| v["event"] == "ready");
        n.id = ready["id"].as_str().unwrap().to_owned();
        n.port = ready["port"].as_u64().unwrap() as u16;
        n
    }

    /// `lanchat --headless` on loopback with its data in `data` and the given interval
    /// (IPMsg off: several such nodes share 127.0.0.1).
    pub fn loopback(name: &str, data: &Path, discovery_port: u16, interval: &str) -> ChildNode {
        let port = discovery_port.to_string();
        let args = [
            "--no-ipmsg",
            "--bind",
            "127.0.0.1",
            "--discovery-port",
            &port,
            "--interval",
            interval,
            "--data-dir",
            data.to_str().expect("UTF-8 temp path"),
        ];
        ChildNode::spawn(&[], &args, name)
    }

    /// Writes one raw line to stdin.
    pub fn line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to child stdin");
        stdin.flush().unwrap();
    }

    /// Writes one command.
    pub fn cmd(&mut self, v: Value) {
        self.line(&v.to_string());
    }

    pub fn wait(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(DEADLINE, &pred).unwrap_or_else(|| {
            panic!(
                "{}: no {what} within {DEADLINE:?}; saw {:#?}",
                self.name, self.log
            )
        })
    }

    pub fn wait_for(&mut self, timeout: Duration, pred: &impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(slot) = self.log.iter_mut().find(|e| e.as_ref().is_some_and(pred)) {
            return slot.take();
        }
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) if pred(&v) => return Some(v),
                Ok(v) => self.log.push(Some(v)),
                Err(_) => return None,
            }
        }
    }

    /// Closes stdin (the node says bye and exits) and waits for the process.
    pub fn close_stdin_and_wait(&mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        self.child.wait().expect("wait for child")
    }

    /// SIGKILL: no bye.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

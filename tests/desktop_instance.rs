//! One window per data directory, with the real `lanchat` binary: started again with the
//! data directory of a running window, it asks that window to come to the front and exits
//! (no display needed: it never opens one); the headless mode keeps its clear error.
//! Everything on loopback.
#![cfg(feature = "gui")]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crossbeam_channel::unbounded;
use lanchat::config::Config;
use lanchat::desktop::instance::InstanceServer;
use lanchat::desktop::{Request, Requests};

/// A directory of its own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("lanchat-instance-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lanchat(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanchat"));
    cmd.args([
        "--no-ipmsg",
        "--bind",
        "127.0.0.1",
        "--discovery-port",
        "47997",
    ])
    .args(args)
    // Were it to open a window, it must fail rather than show one.
    .env_remove("DISPLAY")
    .env_remove("WAYLAND_DISPLAY");
    cmd
}

#[test]
fn starting_the_window_again_raises_the_running_one() {
    let dir = TempDir::new();
    let (tx, requests) = unbounded();
    let _window = InstanceServer::start(&dir.0, Requests::new(tx, lanchat::node::no_waker()))
        .expect("the running window's listener");

    let out = lanchat(&["--data-dir", dir.0.to_str().unwrap()])
        .output()
        .expect("lanchat runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("already running"), "{stdout}");
    assert_eq!(
        requests
            .recv_timeout(Duration::from_secs(10))
            .expect("the running window was asked to show itself"),
        Request::Show
    );
}

#[test]
fn headless_keeps_its_clear_error_and_raises_nothing() {
    let dir = TempDir::new();
    let node = lanchat::node::spawn(Config::loopback(&dir.0, 47997), lanchat::node::no_waker())
        .expect("a node holds the data directory");
    let (tx, requests) = unbounded();
    let _window = InstanceServer::start(&dir.0, Requests::new(tx, lanchat::node::no_waker()))
        .expect("listener");

    let out = lanchat(&["--headless", "--data-dir", dir.0.to_str().unwrap()])
        .output()
        .expect("lanchat runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is in use by another lanchat"), "{stderr}");
    assert!(requests.try_recv().is_err(), "headless raises no window");
    drop(node);
}

//! File transfers between loopback nodes: sizes from 0 B to 10 MB, a picture, decline,
//! cancel, a size limit, resume after the sender stops or is killed, a corrupted stream,
//! hostile names and two offers of one name, and the headless contract; automatic
//! retries after a cut data connection and Retry (`retry`), the receiver's waits,
//! old `.part` files and the download folder changed at run time (`waiting`). A
//! hand-made peer (frames on a raw `TcpStream`) plays the sender where a real node
//! never misbehaves.

#[path = "../common/mod.rs"]
mod common;
mod folders;
mod hostile;
mod in_history;
mod proxy;
mod retry;
mod transfers;
#[cfg(unix)]
mod via_binary;
mod waiting;
#[path = "../wire/mod.rs"]
mod wire;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{TempDir, TestNode, free_udp_port};
use lanchat::config::Config;
use lanchat::node::{Command, Event};

/// A 1×1 PNG.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

/// Deterministic noise (xorshift), so a failure is reproducible.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A loopback node's configuration: fast beacons, downloads in `<dir>/<name>-downloads`.
pub fn config(dir: &Path, name: &str, port: u16) -> Config {
    let mut c = Config::loopback(dir.join(name), port);
    c.name = Some(name.to_owned());
    c.interval = Duration::from_millis(200);
    c.download_dir = dir.join(format!("{name}-downloads"));
    c
}

/// Alice sends, bob receives (auto-accepting if asked); both see each other.
pub fn pair(tag: &str, auto_accept: bool) -> (TempDir, u16, TestNode, TestNode) {
    let dir = TempDir::new(tag);
    let port = free_udp_port();
    let a = TestNode::start_with(config(&dir.0, "alice", port));
    let mut cb = config(&dir.0, "bob", port);
    cb.auto_accept = auto_accept;
    let b = TestNode::start_with(cb);
    let (mut a, mut b) = (a, b);
    a.wait_joined(&b.id.clone());
    b.wait_joined(&a.id.clone());
    (dir, port, a, b)
}

/// `send_file`, and the transfer id its `offer_sent` names.
pub fn send_file(a: &mut TestNode, to: &str, path: &Path) -> String {
    a.send(Command::SendFile {
        to: to.to_owned(),
        path: path.to_path_buf(),
    });
    match a.wait("offer_sent", |e| matches!(e, Event::OfferSent { .. })) {
        Event::OfferSent { transfer_id, .. } => transfer_id.into(),
        _ => unreachable!(),
    }
}

/// Waits for the transfer to end; panics unless it was done. Returns where the file is.
pub fn wait_done(n: &mut TestNode, id: &str) -> PathBuf {
    let ev = n.wait("transfer_done or _failed", |e| {
        matches!(e, Event::TransferDone { transfer_id, .. } | Event::TransferFailed { transfer_id, .. } if transfer_id == id)
    });
    match ev {
        Event::TransferDone { path, .. } => PathBuf::from(path),
        other => panic!("{}: transfer failed: {other:?}", n.name),
    }
}

/// Waits for the transfer to end; panics unless it failed. Returns the reason, in words.
pub fn wait_failed(n: &mut TestNode, id: &str) -> String {
    let ev = n.wait("transfer_failed", |e| {
        matches!(e, Event::TransferDone { transfer_id, .. } | Event::TransferFailed { transfer_id, .. } if transfer_id == id)
    });
    match ev {
        Event::TransferFailed { end, .. } => end.to_string(),
        other => panic!("{}: expected a failure, got {other:?}", n.name),
    }
}

/// Names in a folder, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

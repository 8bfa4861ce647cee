//! Stopping the port while peers hold everything they can: a silent connection waiting
//! for its first frame, a link whose peer never sends, a link whose peer never reads
//! (its writer blocked), a file stream whose sender went quiet, and a dial.
//!
//! Run natively this is Linux's way (`shutdown()` wakes the blocked calls); with the
//! feature `portable` nothing is shut down while a thread waits on it, which is what
//! Windows does, and every stop must still finish within a second (a correctness bound,
//! asserted generously, not a benchmark).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;

use super::*;
use crate::net::input::NetInput;

/// No stop may take longer (the portable one waits a tick and [`STOP_WAIT`]).
const STOP_BOUND: Duration = Duration::from_secs(1);

fn loopback() -> Binding {
    Binding {
        ip: Some(Ipv4Addr::LOCALHOST),
        port: 0,
        discovery_port: 0,
        ipmsg_port: None,
    }
}

/// A connection to a peer we hold the far end of (and never read from or write to).
fn held_conn() -> (Conn, TcpStream) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let ours = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (theirs, _) = listener.accept().expect("accept");
    (Conn::new(ours).expect("conn"), theirs)
}

fn keys() -> std::sync::Arc<crate::trust::KeyPair> {
    std::sync::Arc::new(crate::trust::KeyPair::from_secrets(&[7; 32], &[8; 32]))
}

struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn no_stop_waits_on_a_peer() {
    let (tx, rx) = unbounded::<NetInput>();
    let mut io = Io::bind(loopback(), keys(), tx).expect("bind");
    let mut held = Vec::new();

    // A connection that never says anything: its greeter waits up to 10 s.
    let link_addr = io.sockets().link.expect("link listener");
    held.push(TcpStream::connect(link_addr).expect("a silent connection"));

    // A link whose peer never sends: its reader is blocked.
    let (conn, theirs) = held_conn();
    io.open_link(1, conn).expect("link 1");
    held.push(theirs);

    // A link whose peer never reads: frames pile up until the writer is blocked.
    let (conn, theirs) = held_conn();
    io.open_link(2, conn).expect("link 2");
    held.push(theirs);
    let big = LinkMsg::Chat {
        msg_id: "m".into(),
        text: "x".repeat(16_000),
        sent_at: 0,
        room: None,
        change: None,
    };
    while io.write(2, &big).is_ok() {}

    // A file stream whose sender has gone quiet after its header.
    let dir = Scratch(std::env::temp_dir().join(format!("lanchat-stop-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&dir.0).expect("scratch");
    let part = dir.0.join("f.part");
    std::fs::write(&part, b"").expect("part");
    let (conn, theirs) = held_conn();
    let job = RecvJob {
        transfer_id: "t".into(),
        part,
        sidecar: dir.0.join("f.part.json"),
        dir: dir.0.clone(),
        name: "f".into(),
        size: 1 << 20,
        offset: 0,
        folder: None,
    };
    io.start_recv(StreamId(7), job, conn).expect("stream");
    held.push(theirs);

    // Closing a link or a stream never waits for its threads.
    let (conn, theirs) = held_conn();
    io.open_link(3, conn).expect("link 3");
    let asked = Instant::now();
    io.close_link(3);
    assert!(
        asked.elapsed() < STOP_BOUND,
        "close_link took {:?}",
        asked.elapsed()
    );
    drop(theirs);

    let asked = Instant::now();
    io.stop();
    let took = asked.elapsed();
    assert!(took < STOP_BOUND, "stopping took {took:?}");
    drop(held);
    drop(rx);
}

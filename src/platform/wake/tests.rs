//! The portable wait, on Linux: a silent peer, and a stop that nothing but the flag
//! announces (no `shutdown()`), as on Windows.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;

use super::*;
use crate::net::spawn_named;

/// A stop must be seen within this (a correctness bound, not a benchmark).
const STOP_BOUND: Duration = Duration::from_secs(1);

const TICKS: Wake = Wake::Tick(Duration::from_millis(20));

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let a = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (b, _) = listener.accept().expect("accept");
    (a, b)
}

#[test]
fn a_silent_peer_cannot_hold_a_stop() {
    let (ours, _silent) = pair();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let (tx, rx) = bounded(1);
    let (started_tx, started) = bounded(1);
    let waiter = spawn_named("test-wait", move || {
        let _ = started_tx.send(());
        let _ = tx.send(wait_readable(
            &ours,
            None,
            &stop2,
            TICKS,
            &mut Timeout::default(),
        ));
    })
    .expect("spawn");
    started.recv().expect("the waiter runs");
    stop.store(true, Ordering::Relaxed);
    let waited = rx
        .recv_timeout(STOP_BOUND)
        .expect("the stop is seen within the bound");
    assert_eq!(waited.expect("no error"), Waited::Stopped);
    waiter.join().expect("the waiter ends");
}

#[test]
fn data_is_seen_and_left_for_the_read() {
    let (mut ours, mut theirs) = pair();
    theirs.write_all(b"hello").expect("write");
    let stop = AtomicBool::new(false);
    let mut timeout = Timeout::default();
    let until = Some(Instant::now() + Duration::from_secs(20));
    let waited = wait_readable(&ours, until, &stop, TICKS, &mut timeout).expect("wait");
    assert_eq!(waited, Waited::Ready);
    let mut buf = [0u8; 5];
    ours.read_exact(&mut buf)
        .expect("the bytes are still there");
    assert_eq!(&buf, b"hello");
    drop(theirs);
    let waited = wait_readable(&ours, until, &stop, TICKS, &mut timeout).expect("wait");
    assert_eq!(waited, Waited::Ready, "the close is something to read");
}

#[test]
fn the_limit_ends_the_wait() {
    let (ours, _silent) = pair();
    let stop = AtomicBool::new(false);
    let until = Some(Instant::now() + Duration::from_millis(50));
    let waited = wait_readable(&ours, until, &stop, TICKS, &mut Timeout::default());
    assert_eq!(waited.expect("no error"), Waited::TimedOut);
}

#[test]
fn with_shutdown_the_read_itself_blocks() {
    let (ours, _silent) = pair();
    let stop = AtomicBool::new(false);
    let waited = wait_readable(&ours, None, &stop, Wake::Shutdown, &mut Timeout::default());
    assert_eq!(waited.expect("no error"), Waited::Ready);
    stop.store(true, Ordering::Relaxed);
    let waited = wait_readable(&ours, None, &stop, Wake::Shutdown, &mut Timeout::default());
    assert_eq!(waited.expect("no error"), Waited::Stopped);
}

#[test]
fn a_datagram_reader_stops_on_the_flag_alone() {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let reader = socket.try_clone().expect("clone");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let (tx, rx) = bounded(1);
    let (started_tx, started) = bounded(1);
    let waiter = spawn_named("test-wait-udp", move || {
        let _ = started_tx.send(());
        let _ = tx.send(wait_datagram(
            &reader,
            &stop2,
            TICKS,
            &mut Timeout::default(),
        ));
    })
    .expect("spawn");
    started.recv().expect("the waiter runs");
    stop.store(true, Ordering::Relaxed);
    let got = rx
        .recv_timeout(STOP_BOUND)
        .expect("the stop is seen within the bound");
    assert_eq!(got.expect("no error"), None);
    waiter.join().expect("the waiter ends");
    let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    // And the sender of a datagram is seen, the datagram left for `recv`.
    sender
        .send_to(b"x", socket.local_addr().expect("addr"))
        .expect("send");
    let stop = AtomicBool::new(false);
    let from = wait_datagram(&socket, &stop, TICKS, &mut Timeout::default()).expect("wait");
    assert_eq!(from, sender.local_addr().ok());
    let mut buf = [0u8; 4];
    assert_eq!(socket.recv(&mut buf).expect("recv"), 1);
}

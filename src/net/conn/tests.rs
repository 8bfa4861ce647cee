//! The framed connection over real loopback sockets: messages both ways, the deadline,
//! how a stream ends, garbage, the raw run, and a stand-in sealed transport.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;
use crate::platform::wake::Wake;

/// Two connected streams on loopback: (ours, theirs).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let ours = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
    let (theirs, _) = listener.accept().expect("accept");
    (ours, theirs)
}

fn conns() -> (Conn, Conn) {
    let (a, b) = pair();
    (Conn::new(a).unwrap(), Conn::new(b).unwrap())
}

fn ack(id: &str) -> LinkMsg {
    LinkMsg::Ack { msg_id: id.into() }
}

fn soon() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(20))
}

#[test]
fn messages_cross_both_ways_and_through_the_halves() {
    let (mut a, mut b) = conns();
    a.send(&ack("1")).unwrap();
    a.send(&ack("2")).unwrap();
    assert_eq!(b.recv(soon()).unwrap(), ack("1"));
    assert_eq!(b.recv(None).unwrap(), ack("2"));
    b.send(&ack("3")).unwrap();
    let (mut read, mut write) = a.split();
    assert_eq!(read.recv(soon()).unwrap(), (27, ack("3")));
    let frame = write.frame(&ack("4")).unwrap();
    // An idle socket takes it all, where the system has a write that does not block;
    // elsewhere nothing goes that way and the frame takes the blocking path.
    match write.write_now(&frame) {
        0 => write.write_all(&frame).unwrap(),
        n => assert_eq!(n, frame.len(), "an idle socket takes it all"),
    }
    assert_eq!(b.recv(soon()).unwrap(), ack("4"));
}

#[test]
fn a_deadline_covers_the_whole_frame() {
    let (mut a, b) = pair();
    let mut b = Conn::new(b).unwrap();
    let frame = ack("1").to_frame().unwrap();
    a.write_all(&frame[..5]).unwrap();
    let deadline = Instant::now() + Duration::from_millis(200);
    let e = b.recv(Some(deadline)).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Deadline), "{e}");
    assert!(
        e.to_string().contains(&a.local_addr().unwrap().to_string()),
        "{e}"
    );
    // The rest arrives later: the frame is still whole.
    a.write_all(&frame[5..]).unwrap();
    assert_eq!(b.recv(soon()).unwrap(), ack("1"));
}

#[test]
fn how_a_stream_ends_is_told_apart() {
    let (a, mut b) = conns();
    drop(a);
    assert!(matches!(
        b.recv(soon()).unwrap_err().kind,
        ConnErrorKind::Closed
    ));

    let (mut a, b) = pair();
    let mut b = Conn::new(b).unwrap();
    a.write_all(&[0, 0, 0, 9, b'{']).unwrap();
    drop(a);
    let e = b.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::ClosedMidFrame(_)), "{e}");

    let (mut a, b) = pair();
    let mut b = Conn::new(b).unwrap();
    a.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let e = b.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Frame(_)), "{e}");

    let (mut a, b) = pair();
    let mut b = Conn::new(b).unwrap();
    a.write_all(&crate::protocol::frame::encode(b"[1,2]").unwrap())
        .unwrap();
    let e = b.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Message(_)), "{e}");
}

#[test]
fn raw_bytes_run_between_a_header_and_a_trailer() {
    let (mut a, b) = pair();
    let mut b = Conn::new(b).unwrap();
    let head = LinkMsg::FileData {
        transfer_id: "t".into(),
        offset: 0,
    };
    let end = LinkMsg::FileEnd { hash: "h".into() };
    // All of it in one write: the reader's first read takes raw bytes and the trailer
    // along with the header.
    let mut wire = head.to_frame().unwrap();
    wire.extend_from_slice(b"0123456789");
    wire.extend(end.to_frame().unwrap());
    a.write_all(&wire).unwrap();
    assert_eq!(b.recv(soon()).unwrap(), head);
    let mut raw = Vec::new();
    let mut buf = [0u8; 4];
    while raw.len() < 10 {
        let want = (10 - raw.len()).min(buf.len());
        let n = b.read_raw(&mut buf[..want]).unwrap();
        raw.extend_from_slice(&buf[..n]);
    }
    assert_eq!(raw, b"0123456789");
    assert_eq!(b.recv(soon()).unwrap(), end, "the trailer was kept");
    drop(a);
    let e = b.read_raw(&mut buf).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Closed), "{e}");
}

/// A stand-in transport: adds one to every byte, and refuses bodies that do not start
/// with the tag it adds.
struct Shift;

impl Seal for Shift {
    fn seal(&mut self, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut out = vec![0xAA];
        out.extend(body.iter().map(|b| b.wrapping_add(1)));
        Ok(out)
    }
}

impl Open for Shift {
    fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>, TransportError> {
        match sealed.split_first() {
            Some((0xAA, rest)) => Ok(rest.iter().map(|b| b.wrapping_sub(1)).collect()),
            _ => Err(TransportError("not sealed by us".into())),
        }
    }
}

#[test]
fn a_sealed_transport_seals_every_frame_and_refuses_raw_bytes() {
    let (mut a, mut b) = conns();
    // The handshake travels unsealed.
    a.send_body(b"handshake").unwrap();
    assert_eq!(b.recv_body(soon()).unwrap(), b"handshake");
    a.secure(Box::new(Shift), Box::new(Shift));
    b.secure(Box::new(Shift), Box::new(Shift));
    assert!(a.is_secure());
    a.send(&ack("1")).unwrap();
    let wire = b.recv_body(soon()).unwrap();
    assert_eq!(wire[0], 0xAA, "sealed on the wire");
    assert_ne!(&wire[1..], ack("1").to_body());
    a.send(&ack("2")).unwrap();
    assert_eq!(b.recv(soon()).unwrap(), ack("2"));
    let (mut read, mut write) = b.split();
    let frame = write.frame(&ack("3")).unwrap();
    write.write_all(&frame).unwrap();
    assert_eq!(a.recv(soon()).unwrap(), ack("3"));
    // A frame that was not sealed is refused, not read as a message.
    a.send_body(&ack("4").to_body()).unwrap();
    let e = read.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Transport(_)), "{e}");
    // No raw run on a sealed connection, either way.
    assert!(matches!(
        a.raw_stream().unwrap_err().kind,
        ConnErrorKind::Sealed
    ));
    let e = a.read_raw(&mut [0u8; 4]).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Sealed));
}

/// Both ways of stopping: Linux's (`shutdown()` wakes the read) and Windows' (nothing
/// wakes it: the flag is seen within a tick). A silent peer holds neither for long.
const WAKES: [Wake; 2] = [Wake::Shutdown, Wake::Tick(Duration::from_millis(20))];

#[test]
fn a_stopper_ends_a_blocked_read_whatever_wakes_it() {
    for wake in WAKES {
        for raw in [false, true] {
            let (ours, _silent) = pair();
            let mut conn = Conn::with_wake(ours, wake).unwrap();
            let stopper = conn.stopper().unwrap();
            let (tx, rx) = crossbeam_channel::bounded(1);
            let (started_tx, started) = crossbeam_channel::bounded(1);
            let reader = crate::net::spawn_named("test-read", move || {
                let _ = started_tx.send(());
                let result = if raw {
                    conn.read_raw(&mut [0u8; 64]).map(drop)
                } else {
                    conn.recv(None).map(drop)
                };
                let _ = tx.send(result);
            })
            .unwrap();
            started.recv().unwrap();
            stopper.stop();
            let e = rx
                .recv_timeout(Duration::from_secs(1))
                .expect("the read ends within a second")
                .expect_err("stopped, not a message");
            assert!(
                matches!(e.kind, ConnErrorKind::Stopped),
                "{wake:?} raw={raw}: {e}"
            );
            reader.join().unwrap();
        }
    }
}

#[test]
fn deadlines_and_stall_limits_hold_with_ticks_too() {
    let tick = Wake::Tick(Duration::from_millis(20));
    let (ours, mut theirs) = pair();
    let mut conn = Conn::with_wake(ours, tick).unwrap();
    let e = conn
        .recv(Some(Instant::now() + Duration::from_millis(60)))
        .unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Deadline), "{e}");
    conn.set_idle_timeout(Some(Duration::from_millis(60)))
        .unwrap();
    let e = conn.read_raw(&mut [0u8; 8]).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Stalled(_)), "{e}");
    // And what does come is read whole, across ticks.
    theirs.write_all(&ack("1").to_frame().unwrap()).unwrap();
    assert_eq!(conn.recv(soon()).unwrap(), ack("1"));
    drop(theirs);
    let e = conn.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Closed), "{e}");
}

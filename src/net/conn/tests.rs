//! The framed connection over real loopback sockets: messages both ways, the deadline,
//! how a stream ends, garbage, a sealed transport and the sealed file stream after it.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;
use crate::platform::wake::Wake;
use crate::trust::file_stream::StreamError;

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

/// Both ends of a sealed transport, under fixed keys.
fn secure_both(a: &mut Conn, b: &mut Conn) {
    let (a_seal, a_open) = crate::trust::transport::pair(&[1; 32], &[2; 32]);
    let (b_seal, b_open) = crate::trust::transport::pair(&[2; 32], &[1; 32]);
    a.secure(Box::new(a_seal), Box::new(a_open));
    b.secure(Box::new(b_seal), Box::new(b_open));
}

#[test]
fn a_sealed_transport_seals_every_frame() {
    let (mut a, mut b) = conns();
    // The handshake travels unsealed.
    a.send_body(b"handshake").unwrap();
    assert_eq!(b.recv_body(soon()).unwrap(), b"handshake");
    secure_both(&mut a, &mut b);
    assert!(a.is_secure());
    a.send(&ack("secret-1")).unwrap();
    let wire = b.recv_body(soon()).unwrap();
    assert_eq!(
        wire.len(),
        ack("secret-1").to_body().len() + 16,
        "a tag more"
    );
    assert!(
        !wire.windows(8).any(|w| w == b"secret-1"),
        "sealed on the wire"
    );
    // That frame was taken unopened: the opener's counter is now behind, so the next
    // frame does not open (no frame can be skipped or replayed).
    a.send(&ack("2")).unwrap();
    let e = b.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Transport(_)), "{e}");
}

#[test]
fn sealed_frames_cross_both_ways_and_unsealed_ones_are_refused() {
    let (mut a, mut b) = conns();
    secure_both(&mut a, &mut b);
    a.send(&ack("1")).unwrap();
    assert_eq!(b.recv(soon()).unwrap(), ack("1"));
    let (mut read, mut write) = b.split();
    let frame = write.frame(&ack("2")).unwrap();
    write.write_all(&frame).unwrap();
    assert_eq!(a.recv(soon()).unwrap(), ack("2"));
    // A frame that was not sealed is refused, not read as a message.
    a.send_body(&ack("3").to_body()).unwrap();
    let e = read.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Transport(_)), "{e}");
}

#[test]
fn a_file_stream_goes_on_sealed_from_where_the_frames_stopped() {
    let (mut a, mut b) = conns();
    assert!(matches!(
        conns().0.into_file_stream().err().map(|e| e.kind),
        Some(ConnErrorKind::NotSecure)
    ));
    secure_both(&mut a, &mut b);
    let head = LinkMsg::FileData {
        transfer_id: "t".into(),
        offset: 0,
    };
    a.send(&head).unwrap();
    let (mut w, _) = a.into_file_stream().unwrap();
    w.write_chunk("t", 0, 10, |buf| {
        buf.copy_from_slice(b"0123456789");
        Ok(10)
    })
    .unwrap();
    w.write_frame(&LinkMsg::FileEnd { hash: "h".into() }.to_body())
        .unwrap();
    // The header frame is read through the connection, and whatever it read past it
    // (the chunk, the trailer) is not lost.
    assert_eq!(b.recv(soon()).unwrap(), head);
    let (_, mut r) = b.into_file_stream().unwrap();
    assert_eq!(r.read_chunk("t", 0, 10).unwrap(), b"0123456789");
    let end = LinkMsg::decode(r.read_frame().unwrap()).unwrap();
    assert_eq!(end, LinkMsg::FileEnd { hash: "h".into() });
}

/// Both ways of stopping: Linux's (`shutdown()` wakes the read) and Windows' (nothing
/// wakes it: the flag is seen within a tick). A silent peer holds neither for long.
const WAKES: [Wake; 2] = [Wake::Shutdown, Wake::Tick(Duration::from_millis(20))];

#[test]
fn a_stopper_ends_a_blocked_read_whatever_wakes_it() {
    for wake in WAKES {
        {
            let (ours, _silent) = pair();
            let mut conn = Conn::with_wake(ours, wake).unwrap();
            let stopper = conn.stopper().unwrap();
            let (tx, rx) = crossbeam_channel::bounded(1);
            let (started_tx, started) = crossbeam_channel::bounded(1);
            let reader = crate::net::spawn_named("test-read", move || {
                let _ = started_tx.send(());
                let result = conn.recv(None).map(drop);
                let _ = tx.send(result);
            })
            .unwrap();
            started.recv().unwrap();
            stopper.stop();
            let e = rx
                .recv_timeout(Duration::from_secs(1))
                .expect("the read ends within a second")
                .expect_err("stopped, not a message");
            assert!(matches!(e.kind, ConnErrorKind::Stopped), "{wake:?}: {e}");
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
    let e = conn.recv(None).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Stalled(_)), "{e}");
    // And what does come is read whole, across ticks.
    theirs.write_all(&ack("1").to_frame().unwrap()).unwrap();
    assert_eq!(conn.recv(soon()).unwrap(), ack("1"));
    drop(theirs);
    let e = conn.recv(soon()).unwrap_err();
    assert!(matches!(e.kind, ConnErrorKind::Closed), "{e}");
}

/// A file's sealed stream reads through the connection's stoppable reads: a stop ends a
/// read blocked on a silent sender on every system (on Windows nothing else would, before
/// the stall limit), and the stall limit holds there too.
#[test]
fn a_file_stream_read_is_stopped_and_stall_limited_whatever_wakes_it() {
    for wake in WAKES {
        let (ours, theirs) = pair();
        let mut b = Conn::with_wake(ours, wake).unwrap();
        let mut a = Conn::new(theirs).unwrap();
        secure_both(&mut a, &mut b);
        let stopper = b.stopper().unwrap();
        let (_, mut r) = b.into_file_stream().unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (started_tx, started) = crossbeam_channel::bounded(1);
        let reader = crate::net::spawn_named("test-file-read", move || {
            let _ = started_tx.send(());
            let result = r.read_chunk("t", 0, 10).map(<[u8]>::len);
            let _ = tx.send(result.map_err(|e| e.to_string()));
        })
        .unwrap();
        started.recv().unwrap();
        stopper.stop();
        let e = rx
            .recv_timeout(Duration::from_secs(1))
            .expect("the read ends within a second")
            .expect_err("stopped, not a chunk");
        assert!(e.contains("stopped"), "{wake:?}: {e}");
        reader.join().unwrap();
        drop(a);

        let (ours, theirs) = pair();
        let mut b = Conn::with_wake(ours, wake).unwrap();
        let mut a = Conn::new(theirs).unwrap();
        secure_both(&mut a, &mut b);
        b.set_idle_timeout(Some(Duration::from_millis(60))).unwrap();
        let (_, mut r) = b.into_file_stream().unwrap();
        let e = r.read_chunk("t", 0, 10).unwrap_err();
        assert!(
            matches!(&e, StreamError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut),
            "{wake:?}: {e}"
        );
    }
}

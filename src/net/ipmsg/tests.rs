//! The IPMsg sockets on loopback: datagrams in, broadcasts heard, the port taken, file
//! requests accepted or refused, the loopback-only rule; the helpers the file-thread tests
//! (`tests_files.rs`) share.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};

use super::*;
use crate::net::greeting::Refusal;
use crate::protocol::ipmsg::{Command, MAX_PACKET, Mode, Packet, Payload};

pub(super) const WAIT: Duration = Duration::from_secs(20);

pub(super) struct Node {
    pub ipmsg: Ipmsg,
    pub tx: Sender<IpmsgInput>,
    pub rx: Receiver<IpmsgInput>,
}

pub(super) fn start(capacity: usize) -> Node {
    let sockets = IpmsgSockets::bind(Some(Ipv4Addr::LOCALHOST), 0).expect("bind");
    let (tx, rx) = bounded(capacity);
    let ipmsg = Ipmsg::start(sockets, tx.clone()).expect("start");
    Node { ipmsg, tx, rx }
}

fn peer() -> UdpSocket {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("peer socket")
}

pub(super) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lanchat-ipmsg-{name}-{}", uuid::Uuid::new_v4()));
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub(super) fn getfiledata(packet_no: u32, file_id: u64, offset: u64) -> Vec<u8> {
    Packet {
        version: "1".into(),
        packet_no: 77,
        user: "u".into(),
        host: "h".into(),
        command: Command::new(Mode::GetFileData, &[]),
        payload: Payload::GetFileData(crate::protocol::ipmsg::FileRequest::new(
            packet_no, file_id, offset,
        )),
        charset: None,
    }
    .encode()
    .expect("fits")
}

pub(super) fn report(rx: &Receiver<IpmsgInput>) -> FileReport {
    loop {
        match rx.recv_timeout(WAIT).expect("a file report") {
            IpmsgInput::File(r) if matches!(r.event, FileEvent::Progress { .. }) => continue,
            IpmsgInput::File(r) => return r,
            other => panic!("expected a file report, got {other:?}"),
        }
    }
}

#[test]
fn a_datagram_arrives_parsed_with_its_source() {
    let Node { ipmsg, rx, .. } = start(8);
    let from = peer();
    let to = ipmsg.local_addr();
    from.send_to(b"1:5:u:h:32:hello\0", to).expect("send");
    from.send_to(b"junk", to).expect("send");
    let IpmsgInput::Datagram {
        from: src,
        len,
        packet,
    } = rx.recv_timeout(WAIT).expect("datagram")
    else {
        panic!("not a datagram")
    };
    assert_eq!(SocketAddr::V4(src), from.local_addr().unwrap());
    assert_eq!(len, 17);
    assert!(
        matches!(packet.unwrap().payload, Payload::Message { ref text, .. } if text == "hello")
    );
    let IpmsgInput::Datagram { packet, .. } = rx.recv_timeout(WAIT).expect("the junk") else {
        panic!("not a datagram")
    };
    assert_eq!(packet.unwrap_err().label(), "no_header");
}

#[test]
fn loopback_broadcasts_are_heard_and_answers_come_from_the_ipmsg_port() {
    let Node { ipmsg, rx, .. } = start(8);
    let port = ipmsg.local_addr().port();
    assert!(ipmsg.loopback_only());
    // 127.255.255.255 on Linux, the loopback multicast group where there is no loopback
    // broadcast (and with the feature `portable`).
    let reach = crate::platform::sock::loopback_reach();
    let target = reach.target(port);
    assert_eq!(ipmsg.broadcast_targets(&[]), [target]);
    let other = peer();
    other.set_broadcast(true).unwrap();
    reach.prepare_sender(&other).expect("a loopback sender");
    other
        .send_to(b"1:1:u:h:1:nick\0\0", target)
        .expect("broadcast");
    let IpmsgInput::Datagram { packet, .. } = rx.recv_timeout(WAIT).expect("the broadcast") else {
        panic!("not a datagram")
    };
    assert_eq!(packet.unwrap().command.mode(), Mode::BrEntry);
    // The answer leaves from the IPMsg port itself (iptux answers to port 2425).
    let to = match other.local_addr().unwrap() {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => unreachable!(),
    };
    ipmsg.send_to(b"1:2:me:h:3:me\0\0", to).expect("answer");
    other.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 64];
    let (_, src) = other.recv_from(&mut buf).expect("the answer");
    assert_eq!(src, SocketAddr::V4(ipmsg.local_addr()));
}

#[test]
fn loopback_only_never_sends_or_connects_elsewhere() {
    let Node { ipmsg, .. } = start(8);
    let lan = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 10), 2425);
    let err = ipmsg.send_to(b"x", lan).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    let (tx, _) = bounded::<IpmsgInput>(1);
    let job = FetchJob {
        job: 1,
        addr: lan,
        request: vec![],
        part: PathBuf::from("/nonexistent/never-created.part"),
        size: 1,
        offset: 0,
    };
    assert_eq!(
        ipmsg.fetch(job, tx).unwrap_err().kind(),
        io::ErrorKind::PermissionDenied
    );
    let lan_if = crate::net::interfaces::NetInterface {
        name: "eth0".into(),
        addr: Ipv4Addr::new(10, 77, 0, 11),
        prefix: 24,
        broadcast: Ipv4Addr::new(10, 77, 0, 255),
    };
    assert_eq!(
        broadcast_targets(true, 2425, std::slice::from_ref(&lan_if)).len(),
        1
    );
    assert_eq!(
        broadcast_targets(false, 2425, &[lan_if]),
        [SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 255), 2425)]
    );
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let Node { ipmsg, .. } = start(8);
    let port = ipmsg.local_addr().port();
    let err = IpmsgSockets::bind(Some(Ipv4Addr::LOCALHOST), port).unwrap_err();
    assert!(
        matches!(err, IpmsgNetError::PortTaken { what: "TCP", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("another IPMsg client"), "{err}");
    // Someone listening on TCP only (iptux always does both) is enough.
    let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = squatter.local_addr().unwrap().port();
    assert!(matches!(
        IpmsgSockets::bind(Some(Ipv4Addr::LOCALHOST), port),
        Err(IpmsgNetError::PortTaken { .. })
    ));
}

#[test]
fn a_full_channel_drops_and_counts() {
    let Node { ipmsg, rx, .. } = start(1);
    let from = peer();
    for i in 0..3 {
        from.send_to(format!("1:{i}:u:h:0:\0").as_bytes(), ipmsg.local_addr())
            .unwrap();
    }
    // The reader counts a datagram before offering it and an overflow after: wait for
    // both, since the third may be counted but not yet refused.
    let deadline = std::time::Instant::now() + WAIT;
    let stats = ipmsg.stats();
    while stats.datagrams.load(Ordering::Relaxed) < 3 || stats.overflow.load(Ordering::Relaxed) < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader saw 3 datagrams and refused 2"
        );
        std::thread::yield_now();
    }
    assert_eq!(stats.datagrams.load(Ordering::Relaxed), 3);
    assert_eq!(stats.overflow.load(Ordering::Relaxed), 2);
    assert!(matches!(rx.try_recv(), Ok(IpmsgInput::Datagram { .. })));
    assert!(rx.try_recv().is_err());
}

/// Sends `wire` on a new connection and waits until the node closes it.
fn refused_connection(ipmsg: &Ipmsg, wire: &[u8]) {
    let mut client = TcpStream::connect(ipmsg.local_addr()).unwrap();
    client.write_all(wire).unwrap();
    if wire.is_empty() {
        client.shutdown(std::net::Shutdown::Write).unwrap();
    }
    client.set_read_timeout(Some(WAIT)).unwrap();
    let mut sink = Vec::new();
    let _ = client.read_to_end(&mut sink); // EOF or reset: closed either way
    assert!(sink.is_empty());
}

#[test]
fn connections_without_a_file_request_are_closed_and_counted() {
    let Node { ipmsg, rx, .. } = start(8);
    refused_connection(&ipmsg, b"GET / HTTP/1.1\r\n\r\n\0");
    refused_connection(&ipmsg, b"1:1:u:h:288:a chat over TCP?\0");
    refused_connection(&ipmsg, b"1:1:u:h:96:zz:1:0\0");
    refused_connection(&ipmsg, b"");
    refused_connection(&ipmsg, &[b'x'; MAX_PACKET + 600]);
    let refused = ipmsg.stats().connections.refused_by_reason();
    assert_eq!(
        refused.get(Refusal::Invalid.label()),
        Some(&4),
        "{refused:?}"
    );
    assert_eq!(
        refused.get(Refusal::Closed.label()),
        Some(&1),
        "{refused:?}"
    );
    assert_eq!(ipmsg.stats().connections.accepted_total(), 5);
    assert!(rx.try_recv().is_err(), "nothing reached the core");
}

#[test]
fn a_request_without_its_nul_is_read_when_the_peer_half_closes() {
    let Node { ipmsg, rx, .. } = start(8);
    let mut client = TcpStream::connect(ipmsg.local_addr()).unwrap();
    client.write_all(b"1:3:u:h:96:9:2710:0").unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let IpmsgInput::FileRequest { request, .. } = rx.recv_timeout(WAIT).expect("request") else {
        panic!("not a request")
    };
    assert!(request.file_id.matches(10_000));
}

/// The IPMsg reader stopped the way Windows needs (its flag alone, no `shutdown()`):
/// it delivers, then its drop returns within a second, measured on a thread of its own.
#[test]
fn a_reader_stopped_without_shutdown_ends_within_a_second() {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let to = socket.local_addr().expect("addr");
    let (tx, rx) = bounded::<IpmsgInput>(4);
    let stats = Arc::new(IpmsgStats::default());
    let wake = crate::platform::wake::Wake::Tick(Duration::from_millis(20));
    let reader =
        udp::Reader::with_wake(&socket, "test-ipmsg-udp", tx, stats.clone(), wake).expect("reader");
    peer().send_to(b"1:1:user:host:0:hello", to).expect("send");
    let got = rx.recv_timeout(WAIT).expect("the datagram");
    assert!(
        matches!(got, IpmsgInput::Datagram { len: 21, .. }),
        "{got:?}"
    );
    let (done_tx, done_rx) = bounded(1);
    let dropper = crate::net::spawn_named("test-dropper", move || {
        drop(reader);
        let _ = done_tx.send(());
    })
    .expect("spawn");
    done_rx
        .recv_timeout(Duration::from_secs(1))
        .expect("the reader's drop returns within a second");
    dropper.join().expect("the dropper ends");
    assert_eq!(stats.datagrams.load(Ordering::Relaxed), 1);
    assert!(stats.errors.take().is_empty(), "no socket errors");
}

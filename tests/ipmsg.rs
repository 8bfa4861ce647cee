//! IPMsg on loopback: a lanchat node and made-up IPMsg clients at 127.0.0.x on the
//! node's IPMsg port. Presence both ways, Chinese text both ways with acks mapped onto
//! `delivered`, a retransmission shown once, the outbox while the peer is away, files
//! both ways (a broken pull resumed from its offset), `GETFILEDATA` for what was not
//! offered refused, hostile datagrams counted, another lanchat listed once, the port
//! taken, and the headless contract through the binary.

mod common;
mod ipmsg_fake;

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::time::Duration;

use lanchat::config::Config;
use lanchat::net::ipmsg::{FetchJob, FileEvent, IpmsgInput, ServeJob};
use lanchat::node::{Command, Event, IpmsgNetStatus, LeftReason, PeerInfo, Protocol};
use lanchat::protocol::ipmsg::{Command as Cmd, FileInfo, FileRequest, Mode, Opt, Payload};
use serde_json::json;

use common::{ChildNode, TempDir, TestNode, free_udp_port};
use ipmsg_fake::{FakeIpmsg, noise};

const LI: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const HOME: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A loopback node with IPMsg on a free port; the port.
fn node(name: &str, dir: &TempDir) -> (TestNode, u16) {
    let mut config = Config::loopback(dir.join(name), free_udp_port());
    config.name = Some(name.into());
    config.ipmsg_port = Some(0);
    config.download_dir = dir.join(&format!("{name}-inbox"));
    let mut n = TestNode::start_with(config);
    let port = ipmsg(&mut n)
        .local
        .and_then(|l| l.parse::<SocketAddrV4>().ok())
        .expect("IPMsg is on")
        .port();
    (n, port)
}

fn ipmsg(n: &mut TestNode) -> IpmsgNetStatus {
    n.send(Command::NetStatus);
    match n.wait("net_status", |e| matches!(e, Event::NetStatus(_))) {
        Event::NetStatus(s) => *s.ipmsg,
        _ => unreachable!(),
    }
}

/// Waits for the IPMsg peer `name` to join; the peer.
fn joined(n: &mut TestNode, name: &str) -> PeerInfo {
    let name = name.to_owned();
    match n.wait(
        &format!("{name} joins"),
        |e| matches!(e, Event::PeerJoined { peer } if peer.name == name),
    ) {
        Event::PeerJoined { peer } => peer,
        _ => unreachable!(),
    }
}

/// 李雷 at 127.0.0.2 announces itself; the node answers and lists it.
fn li_joins(n: &mut TestNode, port: u16) -> (FakeIpmsg, PeerInfo) {
    let mut li = FakeIpmsg::start(LI, port, "li");
    li.entry(li.broadcast(), Mode::BrEntry, "李雷", "二班");
    let ans = li.expect("ANSENTRY", HOME, |p| p.command.mode() == Mode::AnsEntry);
    assert!(matches!(&ans.payload, Payload::Entry(e) if e.nick == n.name));
    let peer = joined(n, "李雷");
    (li, peer)
}

#[test]
fn an_ipmsg_peer_appears_chats_in_chinese_both_ways_and_leaves() {
    let dir = TempDir::new("ipmsg-chat");
    let (mut a, port) = node("alice", &dir);
    let me = SocketAddrV4::new(HOME, port);
    let (mut li, peer) = li_joins(&mut a, port);
    assert_eq!(peer.protocol, Protocol::Ipmsg);
    assert_eq!(
        (peer.group.as_str(), peer.host.as_str()),
        ("二班", "li-host")
    );
    assert_eq!((peer.addr, peer.port, peer.online), (LI, 0, true));
    assert!(peer.id.starts_with("ipmsg-"), "{}", peer.id);

    // To the IPMsg peer: SENDMSG|SENDCHECKOPT, its RECVMSG is `delivered`.
    a.chat("李雷", "你好 李雷，我是 alice");
    let sent = match a.wait("sent", |e| matches!(e, Event::Sent { .. })) {
        Event::Sent { msg_id, .. } => msg_id,
        _ => unreachable!(),
    };
    let m = li.expect("SENDMSG", HOME, |p| p.command.mode() == Mode::SendMsg);
    assert!(m.command.wants_ack());
    assert!(matches!(&m.payload, Payload::Message { text, .. } if text == "你好 李雷，我是 alice"));
    li.ack(me, m.packet_no);
    a.wait(
        "delivered",
        |e| matches!(e, Event::Delivered { msg_id, .. } if *msg_id == sent),
    );

    // From it: a `message` from its peer id, acknowledged; sent again, shown once.
    let (no, bytes) = li.packet(
        Cmd::new(Mode::SendMsg, &[Opt::SendCheck]),
        Payload::Message {
            text: "来自李雷的消息".into(),
            files: vec![],
        },
    );
    li.raw(me, &bytes);
    let got = a.wait("message", |e| matches!(e, Event::Message { .. }));
    assert!(matches!(&got, Event::Message { from, text, from_name, .. }
        if *from == peer.id && text == "来自李雷的消息" && from_name == "李雷"));
    li.expect("RECVMSG", HOME, |p| p.payload == Payload::Ack(no));
    li.raw(me, &bytes); // a retransmission: acknowledged again...
    li.expect("RECVMSG again", HOME, |p| p.payload == Payload::Ack(no));
    li.say(me, "第二条");
    let next = a.wait("message", |e| matches!(e, Event::Message { .. }));
    assert!(
        matches!(&next, Event::Message { text, .. } if text == "第二条"),
        "...but shown once: {next:?}"
    );

    // BR_EXIT: offline.
    li.send(me, Cmd(65538), Payload::Exit);
    a.wait(
        "peer_left",
        |e| matches!(e, Event::PeerLeft { id, reason: LeftReason::Bye, protocol, .. } if *protocol == Protocol::Ipmsg && *id == peer.id),
    );
}

#[test]
fn messages_to_an_ipmsg_peer_that_left_wait_and_go_when_it_is_back() {
    let dir = TempDir::new("ipmsg-outbox");
    let (mut a, port) = node("alice", &dir);
    let me = SocketAddrV4::new(HOME, port);
    let (mut li, peer) = li_joins(&mut a, port);
    li.send(me, Cmd(65538), Payload::Exit);
    a.wait("peer_left", |e| matches!(e, Event::PeerLeft { .. }));
    a.chat(&peer.id, "你回来了吗？");
    a.wait("sent", |e| matches!(e, Event::Sent { .. }));
    // The node asks whether it is back (a unicast BR_ENTRY); its answer brings it back.
    li.expect("a question", HOME, |p| p.command.mode() == Mode::BrEntry);
    li.entry(me, Mode::AnsEntry, "李雷", "二班");
    joined(&mut a, "李雷");
    let m = li.expect("the waiting message", HOME, |p| {
        p.command.mode() == Mode::SendMsg
    });
    assert!(matches!(&m.payload, Payload::Message { text, .. } if text == "你回来了吗？"));
    li.ack(me, m.packet_no);
    a.wait("delivered", |e| matches!(e, Event::Delivered { .. }));
}

fn transfer_id(e: &Event) -> String {
    match e {
        Event::FileOffer { transfer_id, .. } | Event::OfferSent { transfer_id, .. } => {
            transfer_id.to_string()
        }
        _ => unreachable!(),
    }
}

#[test]
fn a_file_from_an_ipmsg_peer_is_pulled_resumed_after_a_break_and_renamed() {
    let dir = TempDir::new("ipmsg-pull");
    let (mut a, port) = node("alice", &dir);
    let me = SocketAddrV4::new(HOME, port);
    let (mut li, peer) = li_joins(&mut a, port);
    let data = noise(300_000, 7);
    let src = dir.join("报告.bin");
    fs::write(&src, &data).unwrap();
    let offer_no = li.send(
        me,
        Cmd(2_097_184), // iptux: SENDMSG|FILEATTACHOPT, no text, no ack asked
        Payload::Message {
            text: String::new(),
            files: vec![FileInfo::regular(10000, "报告.bin", 300_000, 1_700_000_000)],
        },
    );
    let offer = a.wait("file_offer", |e| matches!(e, Event::FileOffer { .. }));
    assert!(matches!(&offer, Event::FileOffer { from, name, size, .. }
        if *from == peer.id && name == "报告.bin" && *size == 300_000));
    let id = transfer_id(&offer);
    a.send(Command::Accept {
        transfer_id: id.as_str().into(),
    });

    // The first pull: the fake sends half, then breaks the connection.
    let IpmsgInput::FileRequest {
        mut stream,
        request,
        ..
    } = li.file_request()
    else {
        unreachable!()
    };
    assert!(request.packet_no.matches(u64::from(offer_no)) && request.file_id.matches(10000));
    assert_eq!(request.offset, 0);
    stream.write_all(&data[..150_000]).unwrap();
    drop(stream);
    a.wait("transfer_interrupted", |e| {
        matches!(e, Event::TransferInterrupted { .. })
    });

    // Pulled again by itself, from what it has.
    let IpmsgInput::FileRequest {
        stream, request, ..
    } = li.file_request()
    else {
        unreachable!()
    };
    assert_eq!(request.offset, 150_000, "resumed from the .part");
    let job = ServeJob {
        job: 1,
        path: src.clone(),
        size: 300_000,
        offset: request.offset,
    };
    let _serve = li.net.serve(job, stream, li.tx.clone()).unwrap();
    let done = a.wait("transfer_done", |e| matches!(e, Event::TransferDone { .. }));
    let Event::TransferDone { path, .. } = done else {
        unreachable!()
    };
    assert!(path.ends_with("报告.bin"), "{path}");
    assert!(fs::read(&path).unwrap() == data, "the bytes differ");
    let inbox: Vec<String> = fs::read_dir(dir.join("alice-inbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(inbox, ["报告.bin"], "no .part left");
}

#[test]
fn a_file_to_an_ipmsg_peer_is_offered_its_way_and_served_only_to_it() {
    let dir = TempDir::new("ipmsg-serve");
    let (mut a, port) = node("alice", &dir);
    let me = SocketAddrV4::new(HOME, port);
    let (mut li, peer) = li_joins(&mut a, port);
    let data = noise(200_000, 11);
    let src = dir.join("lanchat文件.bin");
    fs::write(&src, &data).unwrap();
    a.send(Command::SendFile {
        to: peer.id.to_string(),
        path: src.clone(),
    });
    a.wait("offer_sent", |e| matches!(e, Event::OfferSent { .. }));
    let offer = li.expect("the offer", HOME, |p| p.command.has(Opt::FileAttach));
    let Payload::Message { files, .. } = &offer.payload else {
        unreachable!()
    };
    let [file] = &files[..] else {
        panic!("{files:?}")
    };
    assert_eq!(
        (file.name.as_str(), file.size),
        ("lanchat文件.bin", 200_000)
    );
    li.ack(me, offer.packet_no);

    // Someone else asks for it (another address), and li for a file never offered.
    let ask = |li: &mut FakeIpmsg, packet_no: u32, file_id: u64| {
        let (_, bytes) = li.packet(
            Cmd::new(Mode::GetFileData, &[]),
            Payload::GetFileData(FileRequest::new(packet_no, file_id, 0)),
        );
        bytes
    };
    let mut stranger = TcpStream::connect(me).unwrap();
    stranger
        .write_all(&ask(&mut li, offer.packet_no, file.id))
        .unwrap();
    assert!(
        read_all(&mut stranger).is_empty(),
        "not offered to 127.0.0.1"
    );
    let wrong = ask(&mut li, offer.packet_no, file.id + 5);
    let mut from_li = bound_stream(LI, me);
    from_li.write_all(&wrong).unwrap();
    assert!(read_all(&mut from_li).is_empty(), "no such file");
    let refused = ipmsg(&mut a).counters.requests_refused;
    assert_eq!(refused.get("not_offered"), Some(&2), "{refused:?}");

    // li pulls it.
    let part = dir.join("at-li.part");
    let request = ask(&mut li, offer.packet_no, file.id);
    let job = FetchJob {
        job: 2,
        addr: me,
        request,
        part: part.clone(),
        size: file.size,
        offset: 0,
    };
    let _fetch = li.net.fetch(job, li.tx.clone()).unwrap();
    assert_eq!(li.file_report().event, FileEvent::Done { bytes: 200_000 });
    assert!(fs::read(&part).unwrap() == data, "the bytes li got differ");
    a.wait(
        "transfer_done",
        |e| matches!(e, Event::TransferDone { path, .. } if path.ends_with("lanchat文件.bin")),
    );
}

/// A TCP connection from `from` (an address of loopback) to `to`.
fn bound_stream(from: Ipv4Addr, to: SocketAddrV4) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&SocketAddrV4::new(from, 0).into()).unwrap();
    s.connect(&to.into()).unwrap();
    s.into()
}

/// Everything until the peer closes (a reset counts as closed).
fn read_all(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

#[test]
fn hostile_datagrams_are_counted_by_reason_and_the_node_goes_on() {
    let dir = TempDir::new("ipmsg-hostile");
    let (mut a, port) = node("alice", &dir);
    let me = SocketAddrV4::new(HOME, port);
    let eve = FakeIpmsg::start(LI, port, "eve");
    for bad in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"9:1:eve:h:32:other version\0",
        b"1:-1:eve:h:32:bad number\0",
        b"1:2:eve:h:8388640:\xff\xfe not UTF-8\0",
        b"1:3:eve:h:4194336:encrypted\0",
        b"1:4:eve:h:2097184:\0no entries:at:all\x07\0",
        &[0u8; 9000][..],
    ] {
        eve.raw(me, bad);
    }
    drop(eve);
    let (mut li, _) = li_joins(&mut a, port); // still answering
    li.say(me, "after the noise");
    a.wait(
        "message",
        |e| matches!(e, Event::Message { text, .. } if text == "after the noise"),
    );
    let counters = ipmsg(&mut a).counters;
    for reason in [
        "no_header",
        "version",
        "bad_number",
        "encoding",
        "encrypted",
        "bad_file_list",
        "oversized",
    ] {
        assert_eq!(
            counters.dropped.get(reason),
            Some(&1),
            "{reason}: {counters:?}"
        );
    }
}

#[test]
fn another_lanchat_that_speaks_ipmsg_is_listed_once_as_a_lanchat_peer() {
    let dir = TempDir::new("ipmsg-twice");
    let discovery = free_udp_port();
    let mut ca = Config::loopback(dir.join("a"), discovery);
    ca.name = Some("alice".into());
    ca.ipmsg_port = Some(0);
    ca.interval = Duration::from_millis(200);
    let mut a = TestNode::start_with(ca);
    let port = ipmsg(&mut a)
        .local
        .unwrap()
        .parse::<SocketAddrV4>()
        .unwrap()
        .port();
    let mut cb = Config::loopback(dir.join("b"), discovery);
    cb.name = Some("bob".into());
    cb.bind = Some(LI);
    cb.ipmsg_port = Some(port);
    cb.interval = Duration::from_millis(200);
    let mut b = TestNode::start_with(cb);
    assert!(ipmsg(&mut b).on, "bob has IPMsg on {LI}:{port}");
    let bob = joined(&mut a, "bob");
    assert_eq!((bob.protocol, bob.addr), (Protocol::Lanchat, LI));
    // Bob's BR_ENTRY reaches alice (both listen on the loopback broadcast): wait for it.
    let deadline = std::time::Instant::now() + common::DEADLINE;
    while ipmsg(&mut a).counters.from_lanchat == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "bob's BR_ENTRY never arrived"
        );
    }
    a.send(Command::Peers);
    let Event::Peers { peers } = a.wait("peers", |e| matches!(e, Event::Peers { .. })) else {
        unreachable!()
    };
    assert_eq!(peers.len(), 1, "{peers:?}");
    assert_eq!(peers[0].protocol, Protocol::Lanchat);
    assert!(
        a.drain()
            .iter()
            .all(|e| !matches!(e, Event::PeerJoined { peer } if peer.protocol == Protocol::Ipmsg))
    );
}

#[test]
fn a_taken_port_is_said_once_and_lanchat_goes_on_without_ipmsg() {
    let dir = TempDir::new("ipmsg-taken");
    let holder = TcpListener::bind((HOME, 0)).unwrap(); // another IPMsg client, say
    let taken = holder.local_addr().unwrap().port();
    let mut config = Config::loopback(dir.join("a"), free_udp_port());
    config.ipmsg_port = Some(taken);
    let mut a = TestNode::start_with(config);
    let said = a.wait("the error", |e| matches!(e, Event::Error { .. }));
    let Event::Error { message } = said else {
        unreachable!()
    };
    assert!(
        message.contains("IPMsg is off")
            && message.contains("taken")
            && message.contains(&taken.to_string()),
        "{message}"
    );
    let status = ipmsg(&mut a);
    assert!(!status.on && status.problem.is_some(), "{status:?}");
    assert!(
        a.drain().iter().all(|e| !matches!(e, Event::Error { .. })),
        "said once"
    );
}

#[test]
fn headless_lists_ipmsg_peers_and_sends_to_them_as_to_any_peer() {
    let dir = TempDir::new("ipmsg-headless");
    let port = TcpListener::bind((HOME, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let discovery = free_udp_port().to_string();
    let data = dir.join("a");
    let args = [
        "--bind",
        "127.0.0.1",
        "--discovery-port",
        &discovery,
        "--ipmsg-port",
        &port.to_string(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let mut a = ChildNode::spawn(&[], &args, "alice");
    let me = SocketAddrV4::new(HOME, port);
    let mut li = FakeIpmsg::start(LI, port, "li");
    li.entry(me, Mode::BrEntry, "李雷", "二班");
    let joined = a.wait("peer_joined", |v| v["event"] == "peer_joined");
    let id = joined["peer"]["id"].clone();
    let last_seen = joined["peer"]["last_seen"].clone();
    assert_eq!(
        joined,
        json!({"event":"peer_joined","peer":{"id":id,"name":"李雷","host":"li-host",
            "group":"二班","addr":"127.0.0.2","port":0,"online":true,"status":"online",
            "last_seen":last_seen,"protocol":"ipmsg",
            // IPMsg has no keys: no fingerprint, never verified, never encrypted.
            "fingerprint":null,"verified":false,"key_changed_from":null,"encrypted":false}})
    );
    a.cmd(json!({"cmd":"send","to":"李雷","text":"你好"}));
    let m = li.expect("SENDMSG", HOME, |p| p.command.mode() == Mode::SendMsg);
    li.ack(me, m.packet_no);
    a.wait("delivered", |v| v["event"] == "delivered" && v["to"] == id);
    li.say(me, "收到");
    let got = a.wait("message", |v| v["event"] == "message");
    assert_eq!((&got["from"], &got["text"]), (&id, &json!("收到")));
    a.cmd(json!({"cmd":"net_status"}));
    let status = a.wait("net_status", |v| v["event"] == "net_status");
    assert_eq!(status["ipmsg"]["on"], json!(true));
    assert_eq!(status["ipmsg"]["local"], json!(me.to_string()));
    assert_eq!(status["ipmsg"]["peers_online"], json!(1));
    a.cmd(json!({"cmd":"quit"}));
    li.expect("BR_EXIT", HOME, |p| p.command.mode() == Mode::BrExit);
}

#[test]
fn an_ipmsg_peer_and_its_messages_are_kept_across_a_restart() {
    let dir = TempDir::new("ipmsg-restart");
    let (mut a, port) = node("alice", &dir);
    let (mut li, peer) = li_joins(&mut a, port);
    li.say(SocketAddrV4::new(HOME, port), "记住我");
    a.wait("message", |e| matches!(e, Event::Message { .. }));
    drop(a);

    // The same data directory: the peer is known from the store, as an IPMsg peer.
    let (mut a, port) = node("alice", &dir);
    a.send(Command::Peers);
    let Event::Peers { peers } = a.wait("peers", |e| matches!(e, Event::Peers { .. })) else {
        unreachable!()
    };
    let known = peers
        .iter()
        .find(|p| p.id == peer.id)
        .expect("李雷 remembered");
    assert_eq!(
        (known.protocol, known.group.as_str(), known.online),
        (Protocol::Ipmsg, "二班", false),
        "{known:?}"
    );
    a.send(Command::History {
        peer: peer.id.to_string(),
        limit: 10,
        before: None,
        after: None,
    });
    let Event::History { messages, .. } = a.wait("history", |e| matches!(e, Event::History { .. }))
    else {
        unreachable!()
    };
    assert!(messages.iter().any(|m| m.text == "记住我"), "{messages:?}");

    // Back on the node's new port: the same peer id, online again.
    li.entry(SocketAddrV4::new(HOME, port), Mode::BrEntry, "李雷", "二班");
    let back = a.wait(
        "李雷 back",
        |e| matches!(e, Event::PeerJoined { peer: p } if p.name == "李雷"),
    );
    assert!(matches!(back, Event::PeerJoined { peer: p } if p.id == peer.id && p.online));
}

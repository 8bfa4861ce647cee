//! The IPMsg part with made-up times and a fake iptux: entries and answers, departures,
//! messages both ways with their acks, retransmissions shown once, retries and giving
//! up, encodings mirrored, long texts split, hostile packets counted.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::sending::{RETRY_AFTER, TRIES};
use super::*;
use crate::node::clock::Now;
use crate::protocol::ipmsg::{Command, Entry, Opt, Payload};

pub(super) const IPTUX: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 78, 0, 10), 2425);
pub(super) const TARGET: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 78, 0, 255), 2425);

pub(super) fn part(now: Now) -> Ipmsg {
    let me = Me {
        id: "me0",
        user: "alice",
        host: "pc",
        nick: "爱丽丝",
    };
    let mut p = Ipmsg::new(&me, Some(2425), 1000, now.at);
    p.start(vec![TARGET], &mut Out::default());
    p
}

/// A packet as the real iptux writes it (`1_iptux 0.8.3`, `root@iptux-host`).
pub(super) fn iptux(no: u32, command: Command, payload: Payload, cs: Option<Charset>) -> Packet {
    Packet {
        version: "1_iptux 0.8.3".into(),
        packet_no: no,
        user: "root".into(),
        host: "iptux-host".into(),
        command,
        payload,
        charset: cs,
    }
}

/// Through the wire and back, as the reader thread hands it over.
pub(super) fn heard(p: &mut Ipmsg, packet: Packet, now: Now, out: &mut Out) -> Vec<News> {
    let bytes = packet.encode().expect("encodes");
    p.on_datagram(IPTUX, Packet::parse(&bytes), now, out)
}

pub(super) fn entry(p: &mut Ipmsg, now: Now, cs: Charset) -> PeerId {
    let e = Payload::Entry(Entry::new("iptux测试", "组A"));
    let news = heard(
        p,
        iptux(1, Command(257), e, Some(cs)),
        now,
        &mut Out::default(),
    );
    match &news[..] {
        [News::Seen(s)] => s.id.clone(),
        other => panic!("{other:?}"),
    }
}

/// The datagrams pushed, parsed again.
pub(super) fn sent(out: &mut Out) -> Vec<(SocketAddrV4, Packet, Vec<u8>)> {
    out.take()
        .into_iter()
        .filter_map(|a| match a {
            Action::IpmsgDatagram { to, bytes, .. } => {
                Some((to, Packet::parse(&bytes).expect("ours parse"), bytes))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn iptux_s_entry_is_seen_answered_in_its_encoding_and_never_away() {
    let t = Now::read();
    let mut p = part(t);
    let mut out = Out::default();
    let e = Payload::Entry(Entry::new("iptux测试", "组A"));
    let news = heard(
        &mut p,
        iptux(1, Command(257), e, Some(Charset::Gb18030)),
        t,
        &mut out,
    );
    let [News::Seen(s)] = &news[..] else {
        panic!("{news:?}")
    };
    assert_eq!(
        (s.name.as_str(), s.group.as_str(), s.host.as_str(), s.status),
        ("iptux测试", "组A", "iptux-host", "online"),
        "iptux sets ABSENCEOPT on every entry"
    );
    assert!(s.id.starts_with(super::peers::ID_PREFIX));
    assert_eq!(s.addr, *IPTUX.ip());
    let [(to, ans, bytes)] = &sent(&mut out)[..] else {
        panic!("one ANSENTRY")
    };
    assert_eq!(*to, IPTUX);
    assert_eq!(ans.charset, Some(Charset::Gb18030), "mirrored");
    // Byte for byte: ANSENTRY|CAPUTF8OPT, our nickname in GB18030, an empty group.
    let mut want = b"1_lanchat#me0:1002:alice:pc:16777219:".to_vec();
    want.extend_from_slice(&crate::protocol::ipmsg::charset::encode(
        "爱丽丝",
        Charset::Gb18030,
    ));
    want.extend_from_slice(b"\0\0");
    assert_eq!(*bytes, want);
    assert_eq!(p.route(&s.id), Some(Route::Ipmsg(IPTUX)));
}

#[test]
fn another_client_s_absence_bit_means_away_and_utf8_is_noted() {
    let t = Now::read();
    let mut p = part(t);
    let mut packet = iptux(
        5,
        Command::new(Mode::BrAbsence, &[Opt::Absence, Opt::CapUtf8]),
        Payload::Entry(Entry::new("Taro", "")),
        None,
    );
    packet.version = "1".into();
    let news = heard(&mut p, packet, t, &mut Out::default());
    let [News::Seen(s)] = &news[..] else {
        panic!("{news:?}")
    };
    assert_eq!((s.name.as_str(), s.status), ("Taro", "away"));
    let mut out = Out::default();
    p.carry(
        IPTUX,
        LinkMsg::Chat {
            msg_id: "m".into(),
            sent_at: 0,
            text: "日本語".into(),
            room: None,
            change: None,
        },
        t,
        &mut out,
    );
    let [(_, msg, _)] = &sent(&mut out)[..] else {
        panic!()
    };
    assert!(
        msg.command.has(Opt::Utf8),
        "a peer that reads UTF-8 gets UTF8OPT"
    );
}

#[test]
fn our_own_broadcasts_and_other_lanchats_are_not_peers() {
    let t = Now::read();
    let mut p = part(t);
    let mut out = Out::default();
    p.set_targets(
        vec![
            TARGET,
            SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 255), 2425),
        ],
        &mut out,
    );
    let [(to, ours, bytes)] = &sent(&mut out)[..] else {
        panic!("BR_ENTRY to the new target only")
    };
    assert_eq!(
        (to.ip().octets()[0], ours.command.mode()),
        (192, Mode::BrEntry)
    );
    assert!(
        p.on_datagram(IPTUX, Packet::parse(bytes), t, &mut out)
            .is_empty()
    );
    let mut other = ours.clone();
    other.version = "1_lanchat#b0b0".into();
    assert!(heard(&mut p, other, t, &mut out).is_empty());
    assert!(out.take().is_empty(), "nothing answered");
    let c = p.counters();
    assert_eq!((c.own, c.from_lanchat, c.packets_received), (1, 1, 0));
}

#[test]
fn br_exit_takes_the_peer_offline() {
    let t = Now::read();
    let mut p = part(t);
    let id = entry(&mut p, t, Charset::Utf8);
    let news = heard(
        &mut p,
        iptux(13, Command(65538), Payload::Exit, None),
        t,
        &mut Out::default(),
    );
    assert!(matches!(
        &news[..],
        [News::Left { peer, reason: LeftReason::Bye, route: Route::Ipmsg(IPTUX) }] if *peer == id
    ));
    assert_eq!(p.route(&id), None);
    let again = heard(
        &mut p,
        iptux(14, Command(65538), Payload::Exit, None),
        t,
        &mut Out::default(),
    );
    assert!(again.is_empty(), "once");
}

fn message(no: u32, command: Command, text: &str) -> Packet {
    let m = Payload::Message {
        text: text.into(),
        files: vec![],
    };
    iptux(no, command, m, None)
}

#[test]
fn a_message_is_a_chat_acked_after_it_is_stored_and_a_retransmission_keeps_its_id() {
    let t = Now::read();
    let mut p = part(t);
    let id = entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    let news = heard(
        &mut p,
        message(8, Command(288), "来自iptux的消息\r\n第二行"),
        t,
        &mut out,
    );
    let [News::Chat(c)] = &news[..] else {
        panic!("{news:?}")
    };
    assert_eq!(
        (c.peer.clone(), c.text.as_str()),
        (id, "来自iptux的消息\n第二行")
    );
    assert_eq!(c.route, Route::Ipmsg(IPTUX));
    assert!(
        sent(&mut out).is_empty(),
        "not acknowledged before it is stored"
    );
    p.carry(
        IPTUX,
        LinkMsg::Ack {
            msg_id: c.msg_id.to_string(),
        },
        t,
        &mut out,
    );
    let [(to, ack, bytes)] = &sent(&mut out)[..] else {
        panic!()
    };
    assert_eq!((*to, &ack.payload), (IPTUX, &Payload::Ack(8)));
    assert!(bytes.ends_with(b":33:8\0"), "RECVMSG, as iptux expects it");
    let again = heard(
        &mut p,
        message(8, Command(288), "来自iptux的消息"),
        t,
        &mut out,
    );
    assert!(
        matches!(&again[..], [News::Chat(d)] if d.msg_id == c.msg_id),
        "shown once"
    );
    // iptux restarts (a BR_ENTRY): its numbers start over, and 8 is a new message.
    entry(&mut p, t, Charset::Utf8);
    let fresh = heard(
        &mut p,
        message(8, Command(288), "after a restart"),
        t,
        &mut out,
    );
    assert!(matches!(&fresh[..], [News::Chat(d)] if d.msg_id != c.msg_id));
}

#[test]
fn only_messages_that_ask_are_acknowledged() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    let plain = Command::new(Mode::SendMsg, &[]);
    let broadcast = Command::new(Mode::SendMsg, &[Opt::SendCheck, Opt::Broadcast]);
    let auto = Command::new(Mode::SendMsg, &[Opt::SendCheck, Opt::AutoRet]);
    for (no, c) in [(20, plain), (21, broadcast), (22, auto)] {
        let news = heard(&mut p, message(no, c, "x"), t, &mut out);
        let [News::Chat(chat)] = &news[..] else {
            panic!()
        };
        p.carry(
            IPTUX,
            LinkMsg::Ack {
                msg_id: chat.msg_id.to_string(),
            },
            t,
            &mut out,
        );
    }
    assert!(sent(&mut out).is_empty());
    // An empty message that asks is acknowledged at once (nothing to store).
    heard(&mut p, message(23, Command(288), ""), t, &mut out);
    assert!(matches!(&sent(&mut out)[..], [(_, a, _)] if a.payload == Payload::Ack(23)));
}

fn chat(id: &str, text: &str) -> LinkMsg {
    LinkMsg::Chat {
        msg_id: id.into(),
        sent_at: 0,
        text: text.into(),
        room: None,
        change: None,
    }
}

#[test]
fn our_message_is_delivered_when_acknowledged_and_numbers_only_grow() {
    let t = Now::read();
    let mut p = part(t);
    let id = entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    p.carry(IPTUX, chat("m1", "你好 iptux"), t, &mut out);
    p.carry(IPTUX, chat("m2", "再见"), t, &mut out);
    let packets = sent(&mut out);
    let [(to, a, _), (_, b, _)] = &packets[..] else {
        panic!()
    };
    assert_eq!(*to, IPTUX);
    assert_eq!(a.command, Command(288), "SENDMSG|SENDCHECKOPT");
    assert!(b.packet_no > a.packet_no);
    let ack = |no| iptux(30, Command::new(Mode::RecvMsg, &[]), Payload::Ack(no), None);
    let news = heard(&mut p, ack(b.packet_no), t, &mut out);
    assert!(matches!(&news[..], [News::Acked(peer, m)] if *peer == id && m == "m2"));
    assert!(
        heard(&mut p, ack(b.packet_no), t, &mut out).is_empty(),
        "once"
    );
    assert!(
        heard(&mut p, ack(999), t, &mut out).is_empty(),
        "an ack for nothing"
    );
    assert_eq!(p.next_wake(), Some(t.at + RETRY_AFTER));
}

#[test]
fn unanswered_messages_are_sent_four_times_then_the_peer_is_gone_and_they_wait() {
    let t = Now::read();
    let mut p = part(t);
    let id = entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    p.carry(IPTUX, chat("m1", "one"), t, &mut out);
    let first = sent(&mut out)[0].1.packet_no;
    for i in 1..TRIES {
        let news = p.tick(t.after(RETRY_AFTER * i), &mut out);
        assert!(news.is_empty());
        let again = sent(&mut out);
        assert_eq!(again.len(), 1);
        assert_eq!(
            again[0].1.packet_no, first,
            "nothing else was sent: the same number"
        );
    }
    assert!(
        p.tick(
            t.after(RETRY_AFTER * TRIES - Duration::from_millis(1)),
            &mut out
        )
        .is_empty()
    );
    let news = p.tick(t.after(RETRY_AFTER * TRIES), &mut out);
    assert!(matches!(
        &news[..],
        [News::Left { peer, reason: LeftReason::Timeout, .. }] if *peer == id
    ));
    assert_eq!(p.route(&id), None, "its messages wait in the outbox");
    assert_eq!(p.next_wake(), None);
    // Its next entry brings it back.
    entry(&mut p, t, Charset::Utf8);
    assert!(p.route(&id).is_some());
}

#[test]
fn a_retry_after_a_later_message_takes_a_new_number() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    p.carry(IPTUX, chat("m1", "one"), t, &mut out);
    p.carry(IPTUX, chat("m2", "two"), t, &mut out);
    let numbers: Vec<u32> = sent(&mut out).iter().map(|s| s.1.packet_no).collect();
    p.tick(t.after(RETRY_AFTER), &mut out);
    let retried: Vec<u32> = sent(&mut out).iter().map(|s| s.1.packet_no).collect();
    assert!(
        retried[0] > numbers[1],
        "m1 again above m2: iptux would drop it otherwise"
    );
    assert!(
        retried[1] > retried[0],
        "and m2 above that, for the same reason"
    );
    p.tick(t.after(RETRY_AFTER * 2), &mut out);
    let third: Vec<u32> = sent(&mut out).iter().map(|s| s.1.packet_no).collect();
    assert!(
        third[0] > retried[1] && third[1] > third[0],
        "while both wait, each round goes above the last: {third:?}"
    );
    let ack = iptux(
        30,
        Command::new(Mode::RecvMsg, &[]),
        Payload::Ack(numbers[0]),
        None,
    );
    let news = heard(&mut p, ack, t, &mut out);
    assert!(
        matches!(&news[..], [News::Acked(_, m)] if m == "m1"),
        "the old number counts"
    );
}

#[test]
fn a_gbk_peer_gets_gbk_and_our_name_again_in_gbk() {
    let t = Now::read();
    let mut p = part(t);
    let mut out = Out::default();
    // It answered our UTF-8 broadcast with a GBK ANSENTRY: our name read wrong there.
    let e = Payload::Entry(Entry::new("测试", ""));
    heard(
        &mut p,
        iptux(2, Command(259), e, Some(Charset::Gb18030)),
        t,
        &mut out,
    );
    let told = sent(&mut out);
    assert!(
        matches!(&told[..], [(IPTUX, a, _)] if a.command.mode() == Mode::BrAbsence && a.charset == Some(Charset::Gb18030)),
        "{told:?}"
    );
    p.carry(IPTUX, chat("m", "你好"), t, &mut out);
    let [(_, m, bytes)] = &sent(&mut out)[..] else {
        panic!()
    };
    assert_eq!(m.charset, Some(Charset::Gb18030));
    assert!(!m.command.has(Opt::Utf8));
    assert!(bytes.ends_with(b":288:\xc4\xe3\xba\xc3\0"), "你好 in GBK");
    // A rename reaches it in GBK too, beside the UTF-8 broadcast.
    p.renamed("新名字", &mut out);
    let r = sent(&mut out);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].0, r[0].1.charset), (TARGET, Some(Charset::Utf8)));
    assert_eq!((r[1].0, r[1].1.charset), (IPTUX, Some(Charset::Gb18030)));
}

#[test]
fn a_long_message_goes_in_pieces_and_is_delivered_when_all_are_acknowledged() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    let text = "长".repeat(5000); // 15 000 bytes of UTF-8
    p.carry(IPTUX, chat("long", &text), t, &mut out);
    let pieces = sent(&mut out);
    assert_eq!(pieces.len(), 3);
    assert!(
        pieces
            .iter()
            .all(|(_, _, b)| b.len() <= crate::protocol::ipmsg::MAX_PACKET)
    );
    let joined: String = pieces
        .iter()
        .map(|(_, m, _)| match &m.payload {
            Payload::Message { text, .. } => text.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(joined, text);
    let ack = |no| iptux(30, Command::new(Mode::RecvMsg, &[]), Payload::Ack(no), None);
    assert!(heard(&mut p, ack(pieces[0].1.packet_no), t, &mut out).is_empty());
    assert!(heard(&mut p, ack(pieces[2].1.packet_no), t, &mut out).is_empty());
    let news = heard(&mut p, ack(pieces[1].1.packet_no), t, &mut out);
    assert!(matches!(&news[..], [News::Acked(_, m)] if m == "long"));
}

#[test]
fn a_stranger_s_message_is_shown_and_it_is_asked_who_it_is() {
    let t = Now::read();
    let mut p = part(t);
    let mut out = Out::default();
    let news = heard(&mut p, message(8, Command(288), "hi"), t, &mut out);
    let [News::Seen(s), News::Chat(_)] = &news[..] else {
        panic!("{news:?}")
    };
    assert_eq!(s.name, "root", "its user name until it says more");
    assert!(matches!(&sent(&mut out)[..], [(IPTUX, q, _)] if q.command.mode() == Mode::BrEntry));
}

#[test]
fn hostile_packets_are_dropped_and_counted_by_reason() {
    let t = Now::read();
    let mut p = part(t);
    let mut out = Out::default();
    for bad in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"2:1:u:h:32:wrong version\0",
        b"1:x:u:h:32:bad number\0",
        b"1:1:u:h:8388640:\xb2\xe2\0",
        b"1:1:u:h:4194336:encrypted\0",
    ] {
        assert!(
            p.on_datagram(IPTUX, Packet::parse(bad), t, &mut out)
                .is_empty()
        );
    }
    let big = vec![b'a'; crate::protocol::ipmsg::MAX_PACKET + 1];
    p.on_datagram(IPTUX, Packet::parse(&big), t, &mut out);
    assert!(out.take().is_empty());
    let dropped: Vec<(&str, u64)> = p
        .counters()
        .dropped
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        dropped,
        [
            ("bad_number", 1),
            ("encoding", 1),
            ("encrypted", 1),
            ("no_header", 1),
            ("oversized", 1),
            ("version", 1)
        ]
    );
    assert_eq!(p.peers.len(), 0, "nothing remembered of them");
}

#[test]
fn entries_are_answered_within_a_budget() {
    let t = Now::read();
    let mut p = part(t);
    let mut out = Out::default();
    for i in 0..(ANSWERS_PER_SEC as u32 + 50) {
        let ip = Ipv4Addr::from(0x0a00_0000 + i);
        let e = Payload::Entry(Entry::new("x", ""));
        let bytes = iptux(1, Command(1), e, None).encode().unwrap();
        p.on_datagram(
            SocketAddrV4::new(ip, 2425),
            Packet::parse(&bytes),
            t,
            &mut out,
        );
    }
    assert_eq!(sent(&mut out).len(), ANSWERS_PER_SEC as usize);
    assert_eq!(p.counters().dropped.get("answer_rate"), Some(&50));
}

#[test]
fn an_offline_peer_with_messages_waiting_is_asked_less_and_less_often() {
    let t = Now::read();
    let mut p = part(t);
    let id = PeerId::from("ipmsg-1");
    let mut out = Out::default();
    let mut asked = Vec::new();
    for s in 0..200 {
        let now = t.after(Duration::from_secs(s));
        p.probe(&id, *IPTUX.ip(), now.at, &mut out);
        if !sent(&mut out).is_empty() {
            asked.push(s);
        }
    }
    assert_eq!(asked, [0, 10, 30, 70, 150]);
}

#[test]
fn leaving_says_br_exit_to_everyone_and_each_peer() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Gb18030);
    let mut out = Out::default();
    p.exit(&mut out);
    let exits = sent(&mut out);
    let to: Vec<SocketAddrV4> = exits.iter().map(|e| e.0).collect();
    assert_eq!(to, [TARGET, IPTUX]);
    assert!(exits.iter().all(|e| e.1.command.mode() == Mode::BrExit));
}

#[test]
fn off_it_says_nothing() {
    let t = Now::read();
    let me = Me {
        id: "me0",
        user: "alice",
        host: "pc",
        nick: "a",
    };
    let mut p = Ipmsg::new(&me, None, 1, t.at);
    let mut out = Out::default();
    p.start(vec![TARGET], &mut out);
    p.renamed("b", &mut out);
    p.exit(&mut out);
    p.probe(&"x".into(), *IPTUX.ip(), t.at, &mut out);
    assert!(out.take().is_empty());
}

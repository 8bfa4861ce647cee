//! Byte-exact checks against the packets of a real iptux 0.8.3 (IPMSG-NOTES §8, "Observed
//! on the wire"): each one parses to what it means, and what lanchat builds for the same
//! meaning is the same bytes.

use super::*;

const IPTUX: &str = "1_iptux 0.8.3";

fn iptux_header(packet_no: u32, command: u32) -> Packet {
    Packet {
        version: IPTUX.into(),
        packet_no,
        user: "root".into(),
        host: "iptux-host".into(),
        command: Command(command),
        payload: Payload::Other,
        charset: None,
    }
}

fn ours(packet_no: u32, command: Command, payload: Payload) -> Packet {
    Packet {
        version: "1".into(),
        packet_no,
        user: "e2e".into(),
        host: "peer-host".into(),
        command,
        payload,
        charset: None,
    }
}

/// `wire` parses to `want` (whose `charset` says what it should tell), and `want`
/// encodes back to exactly `wire`.
fn exact(wire: &[u8], want: &Packet) {
    let got = Packet::parse(wire).unwrap_or_else(|e| panic!("{e}: {wire:?}"));
    assert_eq!(&got, want);
    assert_eq!(want.encode().unwrap(), wire, "encoding {want:?}");
}

fn iptux_entry(nick: &str, group: &str) -> Entry {
    Entry {
        iptux: Some(IptuxInfo {
            icon: "icon-tux.png".into(),
            encoding: "utf-8".into(),
        }),
        ..Entry::new(nick, group)
    }
}

#[test]
fn iptux_start_up_br_entry() {
    let wire = "1_iptux 0.8.3:1:root:iptux-host:257:iptux测试\0组A\0icon-tux.png\0utf-8\0";
    assert_eq!(
        &wire.as_bytes()[..16],
        b"\x31\x5f\x69\x70\x74\x75\x78\x20\x30\x2e\x38\x2e\x33\x3a\x31\x3a"
    );
    let want = Packet {
        payload: Payload::Entry(iptux_entry("iptux测试", "组A")),
        charset: Some(Charset::Utf8),
        ..iptux_header(1, 257)
    };
    exact(wire.as_bytes(), &want);
    assert_eq!(want.command.mode(), Mode::BrEntry);
    assert!(want.command.has(Opt::Absence), "iptux always says 'away'");
}

#[test]
fn our_br_entry() {
    let want = Packet {
        charset: Some(Charset::Utf8),
        ..ours(
            1_795_578_281,
            Command::new(Mode::BrEntry, &[]),
            Payload::Entry(Entry::new("假同伴E2E", "测试组")),
        )
    };
    exact(
        "1:1795578281:e2e:peer-host:1:假同伴E2E\0测试组\0".as_bytes(),
        &want,
    );
}

#[test]
fn iptux_ansentry() {
    let want = Packet {
        payload: Payload::Entry(iptux_entry("iptux测试", "组A")),
        charset: Some(Charset::Utf8),
        ..iptux_header(6, 259)
    };
    exact(
        "1_iptux 0.8.3:6:root:iptux-host:259:iptux测试\0组A\0icon-tux.png\0utf-8\0".as_bytes(),
        &want,
    );
    assert_eq!(want.command.mode(), Mode::AnsEntry);
}

#[test]
fn our_sendmsg_and_iptux_recvmsg() {
    let send = Packet {
        charset: Some(Charset::Utf8),
        ..ours(
            1_795_578_282,
            Command::new(Mode::SendMsg, &[Opt::SendCheck]),
            Payload::Message {
                text: "你好 iptux, from the fake peer".into(),
                files: vec![],
            },
        )
    };
    exact(
        "1:1795578282:e2e:peer-host:288:你好 iptux, from the fake peer\0".as_bytes(),
        &send,
    );
    assert!(send.command.wants_ack());
    let ack = Packet {
        payload: Payload::Ack(1_795_578_282),
        ..iptux_header(7, 289)
    };
    exact(b"1_iptux 0.8.3:7:root:iptux-host:289:1795578282\0", &ack);
}

#[test]
fn iptux_sendmsg_and_our_recvmsg() {
    let msg = Packet {
        payload: Payload::Message {
            text: "来自iptux的消息 via xdotool".into(),
            files: vec![],
        },
        charset: Some(Charset::Utf8),
        ..iptux_header(8, 288)
    };
    exact(
        "1_iptux 0.8.3:8:root:iptux-host:288:来自iptux的消息 via xdotool\0".as_bytes(),
        &msg,
    );
    assert!(msg.command.wants_ack());
    let ack = ours(
        1_795_578_283,
        Command::new(Mode::RecvMsg, &[]),
        Payload::Ack(8),
    );
    exact(b"1:1795578283:e2e:peer-host:33:8\0", &ack);
}

#[test]
fn iptux_file_offer() {
    let offer = Packet {
        payload: Payload::Message {
            text: String::new(),
            files: vec![FileInfo::regular(10_000, "blob.bin", 200_000, 0x6b06_59a7)],
        },
        ..iptux_header(9, 2_097_184)
    };
    exact(
        b"1_iptux 0.8.3:9:root:iptux-host:2097184:\x0010000:blob.bin:30d40:6b0659a7:1:\x07\0",
        &offer,
    );
    assert!(offer.command.has(Opt::FileAttach));
    assert!(!offer.command.wants_ack());
}

#[test]
fn getfiledata_both_ways() {
    let ours = ours(
        1_795_578_284,
        Command::new(Mode::GetFileData, &[]),
        Payload::GetFileData(FileRequest::new(9, 10_000, 0)),
    );
    assert_eq!(
        ours.encode().unwrap(),
        b"1:1795578284:e2e:peer-host:96:9:2710:0\0"
    );
    let Payload::GetFileData(req) = Packet::parse(&ours.encode().unwrap()).unwrap().payload else {
        panic!("not a GETFILEDATA");
    };
    assert!(req.packet_no.matches(9) && req.file_id.matches(10_000) && req.offset == 0);

    let theirs = Packet::parse(b"1_iptux 0.8.3:11:root:iptux-host:96:6b0659ad:0:0\0").unwrap();
    assert_eq!(theirs.command.mode(), Mode::GetFileData);
    let Payload::GetFileData(req) = theirs.payload else {
        panic!("not a GETFILEDATA");
    };
    assert!(req.packet_no.matches(0x6b06_59ad));
    assert!(req.file_id.matches(0));
    assert_eq!(req.offset, 0);
}

#[test]
fn iptux_quits() {
    let exit = Packet {
        payload: Payload::Exit,
        ..iptux_header(13, 65_538)
    };
    exact(b"1_iptux 0.8.3:13:root:iptux-host:65538:\0", &exit);
    assert!(exit.command.has(Opt::DialUp));
}

#[test]
fn iptux_to_a_gbk_peer() {
    // 测试 and 组A in GBK; the fourth field still says "utf-8".
    let wire =
        b"1_iptux 0.8.3:6:root:iptux-host:259:\xb2\xe2\xca\xd4\0\xd7\xe9A\0icon-tux.png\0utf-8\0";
    let want = Packet {
        payload: Payload::Entry(iptux_entry("测试", "组A")),
        charset: Some(Charset::Gb18030),
        ..iptux_header(6, 259)
    };
    exact(wire, &want);
}

#[test]
fn a_gbk_message_is_written_back_in_gbk() {
    let msg = Packet {
        payload: Payload::Message {
            text: "你好".into(),
            files: vec![],
        },
        charset: Some(Charset::Gb18030),
        ..ours(
            5,
            Command::new(Mode::SendMsg, &[Opt::SendCheck]),
            Payload::Exit,
        )
    };
    exact(b"1:5:e2e:peer-host:288:\xc4\xe3\xba\xc3\0", &msg);
    // UTF8OPT overrides the peer's encoding.
    let utf8 = Packet {
        command: msg.command.with(Opt::Utf8),
        ..msg.clone()
    };
    assert_eq!(
        utf8.encode().unwrap(),
        "1:5:e2e:peer-host:8388896:你好\0".as_bytes()
    );
}

#[test]
fn ip_messenger_entry_with_its_utf8_block() {
    // Nick and group in GBK, then the UTF-8 block, its last NUL missing (as sprintf
    // leaves it).
    let wire = b"1:100:li:PC-LI:16777473:\xc0\xee\xc0\xd7\0\xb6\xfe\xb0\xe0\0\nUN:li\nHN:PC-LI\nNN:\xe6\x9d\x8e\xe9\x9b\xb7\nGN:\xe4\xba\x8c\xe7\x8f\xad\nVS:0x30500";
    let p = Packet::parse(wire).unwrap();
    assert_eq!(p.charset, Some(Charset::Gb18030));
    assert!(p.command.has(Opt::CapUtf8) && p.command.has(Opt::Absence));
    let Payload::Entry(e) = &p.payload else {
        panic!("not an entry")
    };
    assert_eq!((e.nick.as_str(), e.group.as_str()), ("李雷", "二班"));
    let win = e.win.as_ref().expect("the block");
    assert_eq!((win.nick.as_str(), win.host.as_str()), ("李雷", "PC-LI"));
    assert_eq!(win.version.as_deref(), Some("0x30500"));
    // Written back, the block keeps its UTF-8 while the rest is GBK.
    let mut again = p.encode().unwrap();
    assert_eq!(again.pop(), Some(0));
    assert_eq!(again, wire);
}

#[test]
fn other_modes_are_kept_without_reading_their_body() {
    // iptux's icon: raw PNG bytes after the header, NULs and all.
    let mut icon = b"1_iptux 0.8.3:20:root:iptux-host:254:\0".to_vec();
    icon.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe");
    let p = Packet::parse(&icon).unwrap();
    assert_eq!(
        (p.command.mode(), &p.payload),
        (Mode::IptuxSendIcon, &Payload::Other)
    );
    for (command, mode) in [
        (0, Mode::NoOperation),
        (0x30, Mode::ReadMsg),
        (0x40, Mode::GetInfo),
        (0x72, Mode::GetPubKey),
        (0xFC, Mode::IptuxSendSign),
        (0xFB, Mode::IptuxSendMsg),
        (0x99, Mode::Unknown(0x99)),
    ] {
        let wire = format!("1:1:u:h:{command}:whatever\0");
        let p = Packet::parse(wire.as_bytes()).unwrap();
        assert_eq!((p.command.mode(), p.payload), (mode, Payload::Other));
    }
}

#[test]
fn release_and_absence() {
    let rel = ours(
        3,
        Command::new(Mode::ReleaseFiles, &[]),
        Payload::Release(9),
    );
    exact(b"1:3:e2e:peer-host:97:9\0", &rel);
    let away = Packet {
        charset: Some(Charset::Utf8),
        ..ours(
            4,
            Command::new(Mode::BrAbsence, &[Opt::Absence]),
            Payload::Entry(Entry::new("小明 (离开)", "")),
        )
    };
    exact("1:4:e2e:peer-host:260:小明 (离开)\0\0".as_bytes(), &away);
}

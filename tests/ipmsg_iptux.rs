//! lanchat's IPMsg codec and sockets against a real iptux (Debian's 0.8.3, GTK, under
//! Xvfb, driven with xdotool) on a private namespace LAN (`scripts/iptux-lab.sh`), once
//! with iptux set to UTF-8 and once to GB18030: presence both ways, Chinese text both
//! ways, a file each way with matching bytes, and iptux's quit seen as `BR_EXIT`.
//!
//! The outer test makes the namespaces and runs this same test binary inside host 1's
//! namespace ([`iptux_peer_side`]), so every socket of the lanchat side lives there, on
//! the default binding (0.0.0.0:2425 in the namespace). Needs root, iproute2 and the
//! lab's tools (`scripts/setup-debian.sh --test`): where they are missing the test says
//! so on stderr and passes, unless `LANCHAT_REQUIRE_LAN=1` (CI as root), where it fails.

mod common;
mod ipmsg_lab;

use std::fs;
use std::net::SocketAddrV4;
use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use lanchat::net::ipmsg::{
    FetchJob, FileEvent, FileReport, Ipmsg, IpmsgInput, IpmsgSockets, ServeJob,
};
use lanchat::protocol::ipmsg::{
    Charset, Command, DEFAULT_PORT, Entry, FileInfo, FileRequest, Mode, Opt, Packet, Payload,
};

use common::TempDir;
use ipmsg_lab::{BROADCAST, IPTUX_ADDR, Iptux, Lab};

const WAIT: Duration = Duration::from_secs(30);
const NICK: &str = "假同伴E2E";
const IPTUX_NICK: &str = "iptux测试";

#[test]
fn iptux_and_an_ipmsg_peer_chat_in_chinese_and_swap_files() {
    let lab = match Lab::up("i") {
        Ok(l) => l,
        Err(why) => {
            if std::env::var("LANCHAT_REQUIRE_LAN").as_deref() == Ok("1") {
                panic!("iptux test required (LANCHAT_REQUIRE_LAN=1) but: {why}");
            }
            eprintln!("SKIPPED iptux_and_an_ipmsg_peer_chat_in_chinese_and_swap_files: {why}");
            return;
        }
    };
    let exe = std::env::current_exe().expect("this test binary");
    for encoding in ["utf-8", "gb18030"] {
        let dir = TempDir::new(&format!("iptux-{encoding}"));
        let ns = lab.in_peer_ns();
        let out = Process::new(&ns[0])
            .args(&ns[1..])
            .arg(&exe)
            .args(["--exact", "iptux_peer_side", "--ignored", "--nocapture"])
            .env("IPMSG_LAB_DIR", &dir.0)
            .env("IPMSG_LAB_ENCODING", encoding)
            .env("TESTLAN_PREFIX", &lab.prefix)
            .output()
            .expect("run the peer side in its namespace");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "the peer side failed with iptux in {encoding}:\n{stdout}\n{stderr}"
        );
        eprint!("{stderr}");
    }
}

/// The lanchat side, run by the test above inside the lab (skipped otherwise).
#[test]
#[ignore = "run inside the iptux lab by iptux_and_an_ipmsg_peer_chat_in_chinese_and_swap_files"]
fn iptux_peer_side() {
    let (Ok(dir), Ok(encoding), Ok(prefix)) = (
        std::env::var("IPMSG_LAB_DIR"),
        std::env::var("IPMSG_LAB_ENCODING"),
        std::env::var("TESTLAN_PREFIX"),
    ) else {
        eprintln!("SKIPPED iptux_peer_side: only runs inside the iptux lab");
        return;
    };
    let dir = Path::new(&dir);
    let mut me = FakePeer::start();
    let iptux = Iptux::start(&prefix, &dir.join("iptux"), &encoding);
    let want = if encoding == "gb18030" {
        Charset::Gb18030
    } else {
        Charset::Utf8
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        conversation(&mut me, &iptux, dir, want);
    }));
    if let Err(e) = result {
        eprintln!("{}", iptux.log_tail());
        std::panic::resume_unwind(e);
    }
}

fn conversation(me: &mut FakePeer, iptux: &Iptux, dir: &Path, want: Charset) {
    // Presence: iptux's start-up broadcast, our answer, our own broadcast and its answer.
    let entry = me.expect("iptux's BR_ENTRY", |p| p.command.mode() == Mode::BrEntry);
    assert_eq!(entry.charset, Some(want), "iptux's encoding");
    let Payload::Entry(e) = &entry.payload else {
        unreachable!()
    };
    assert_eq!((e.nick.as_str(), e.group.as_str()), (IPTUX_NICK, "组A"));
    me.charset = entry.charset; // mirror the peer's encoding, as the notes say
    let ours = Payload::Entry(Entry::new(NICK, "测试组"));
    me.send(me.iptux(), Command::new(Mode::AnsEntry, &[]), ours.clone());
    me.send(
        SocketAddrV4::new(BROADCAST, DEFAULT_PORT),
        Command::new(Mode::BrEntry, &[]),
        ours,
    );
    me.expect("iptux's ANSENTRY", |p| p.command.mode() == Mode::AnsEntry);
    let title = iptux.open_chat("假同伴");
    assert!(title.contains("Talk with 假同伴E2E(peer-host)"), "{title}");
    eprintln!("iptux ({want:?}): presence both ways, iptux lists us as {title:?}");

    // Chinese text to iptux: acknowledged, and shown.
    let text = "你好 iptux，这是 lanchat 的测试";
    let no = me.send(
        me.iptux(),
        Command::new(Mode::SendMsg, &[Opt::SendCheck]),
        Payload::Message {
            text: text.into(),
            files: vec![],
        },
    );
    me.expect("RECVMSG", |p| p.payload == Payload::Ack(no));
    let history = iptux.history("假同伴");
    assert!(
        history.contains(text) && history.contains(NICK),
        "{history}"
    );
    eprintln!("iptux ({want:?}): our Chinese message acknowledged and shown");

    // Chinese text from iptux, typed by a "user".
    let typed = "来自iptux的消息 via xdotool";
    iptux.say("假同伴", typed);
    let msg = me.expect("iptux's message", |p| p.command.mode() == Mode::SendMsg);
    assert_eq!(msg.charset, Some(want));
    assert!(matches!(&msg.payload, Payload::Message { text, .. } if text == typed));
    assert!(msg.command.wants_ack());
    me.send(
        me.iptux(),
        Command::new(Mode::RecvMsg, &[]),
        Payload::Ack(msg.packet_no),
    );
    eprintln!("iptux ({want:?}): its typed Chinese message arrived");

    fetch_a_file_from_iptux(me, iptux, dir);
    serve_a_file_to_iptux(me, iptux, dir);

    // Quitting iptux says BR_EXIT.
    iptux.quit();
    me.expect("iptux's BR_EXIT", |p| p.command.mode() == Mode::BrExit);
    eprintln!("iptux ({want:?}): its quit arrived as BR_EXIT");
}

fn fetch_a_file_from_iptux(me: &mut FakePeer, iptux: &Iptux, dir: &Path) {
    let data = pseudo_random(300_000, 7);
    let src = dir.join("iptux文件.bin");
    fs::write(&src, &data).unwrap();
    iptux.send_file("假同伴", &src);
    let offer = me.expect("iptux's file offer", |p| p.command.has(Opt::FileAttach));
    let Payload::Message { files, .. } = &offer.payload else {
        unreachable!()
    };
    let [file] = files.as_slice() else {
        panic!("one file offered: {files:?}")
    };
    assert_eq!((file.name.as_str(), file.size), ("iptux文件.bin", 300_000));
    let request = me.packet(
        Command::new(Mode::GetFileData, &[]),
        Payload::GetFileData(FileRequest::new(offer.packet_no, file.id, 0)),
    );
    let part = dir.join("from-iptux.part");
    let job = FetchJob {
        job: 1,
        addr: SocketAddrV4::new(IPTUX_ADDR, DEFAULT_PORT),
        request: request.1,
        part: part.clone(),
        size: file.size,
        offset: 0,
    };
    let _fetch = me.net.fetch(job, me.tx.clone()).expect("fetch");
    assert_eq!(me.file_report().event, FileEvent::Done { bytes: 300_000 });
    assert!(
        fs::read(&part).unwrap() == data,
        "the bytes from iptux differ"
    );
    eprintln!("iptux: a 300 000-byte file pulled from it with GETFILEDATA, bytes equal");
}

fn serve_a_file_to_iptux(me: &mut FakePeer, iptux: &Iptux, dir: &Path) {
    let data = pseudo_random(200_000, 11);
    let src = dir.join("offered.bin");
    fs::write(&src, &data).unwrap();
    let name = "lanchat文件.bin";
    let offer_no = me.send(
        me.iptux(),
        Command::new(Mode::SendMsg, &[Opt::SendCheck, Opt::FileAttach]),
        Payload::Message {
            text: "给你的文件".into(),
            files: vec![FileInfo::regular(3, name, 200_000, 1_700_000_000)],
        },
    );
    me.expect("RECVMSG for the offer", |p| {
        p.payload == Payload::Ack(offer_no)
    });
    iptux.accept_files("假同伴");
    let (stream, peer, request) = loop {
        match me.next("iptux's GETFILEDATA") {
            IpmsgInput::FileRequest {
                stream,
                peer,
                request,
                ..
            } => break (stream, peer, request),
            other => me.note(other),
        }
    };
    assert_eq!(*peer.ip(), IPTUX_ADDR);
    assert!(
        request.packet_no.matches(u64::from(offer_no)),
        "{request:?}"
    );
    assert!(
        request.file_id.matches(3) && request.offset == 0,
        "{request:?}"
    );
    let job = ServeJob {
        job: 2,
        path: src,
        size: 200_000,
        offset: 0,
    };
    let _serve = me.net.serve(job, stream, me.tx.clone()).expect("serve");
    assert_eq!(me.file_report().event, FileEvent::Done { bytes: 200_000 });
    // iptux writes the file as it reads: wait for its last bytes to reach the disk.
    let landed = iptux.dir.join("recv").join(name);
    let deadline = Instant::now() + WAIT;
    while fs::metadata(&landed).map(|m| m.len()).unwrap_or(0) < 200_000 {
        assert!(
            Instant::now() < deadline,
            "{} never got all its bytes",
            landed.display()
        );
        std::thread::sleep(Duration::from_millis(50)); // an outside program: nothing to wait on
    }
    assert!(
        fs::read(&landed).unwrap() == data,
        "the bytes iptux stored differ"
    );
    eprintln!("iptux: a 200 000-byte file served to it, stored as {name}, bytes equal");
}

/// The lanchat side: the codec and the sockets, with a test's idea of a core.
struct FakePeer {
    net: Ipmsg,
    tx: Sender<IpmsgInput>,
    rx: Receiver<IpmsgInput>,
    next_no: u32,
    charset: Option<Charset>,
}

impl FakePeer {
    fn start() -> FakePeer {
        let sockets = IpmsgSockets::bind(None, DEFAULT_PORT).expect("bind 2425 in the namespace");
        let (tx, rx) = bounded(256);
        let net = Ipmsg::start(sockets, tx.clone()).expect("start");
        FakePeer {
            net,
            tx,
            rx,
            next_no: 1_795_578_281,
            charset: None,
        }
    }

    fn iptux(&self) -> SocketAddrV4 {
        SocketAddrV4::new(IPTUX_ADDR, DEFAULT_PORT)
    }

    fn packet(&mut self, command: Command, payload: Payload) -> (u32, Vec<u8>) {
        self.next_no += 1;
        let p = Packet {
            version: "1".into(),
            packet_no: self.next_no,
            user: "e2e".into(),
            host: "peer-host".into(),
            command,
            payload,
            charset: self.charset,
        };
        (self.next_no, p.encode().expect("fits a packet"))
    }

    fn send(&mut self, to: SocketAddrV4, command: Command, payload: Payload) -> u32 {
        let (no, bytes) = self.packet(command, payload);
        self.net.send_to(&bytes, to).expect("send");
        no
    }

    fn next(&self, what: &str) -> IpmsgInput {
        self.rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
    }

    /// Anything from iptux must parse; anything else of ours is passed over.
    fn note(&self, input: IpmsgInput) {
        if let IpmsgInput::Datagram {
            from,
            packet: Err(e),
            ..
        } = input
        {
            assert_ne!(
                *from.ip(),
                IPTUX_ADDR,
                "iptux sent a packet we refused: {e}"
            );
        }
    }

    /// The next packet from iptux that `pred` accepts (others are passed over).
    fn expect(&self, what: &str, pred: impl Fn(&Packet) -> bool) -> Packet {
        loop {
            match self.next(what) {
                IpmsgInput::Datagram {
                    from,
                    packet: Ok(p),
                    ..
                } if *from.ip() == IPTUX_ADDR && pred(&p) => return p,
                other => self.note(other),
            }
        }
    }

    fn file_report(&self) -> FileReport {
        loop {
            match self.next("a file report") {
                IpmsgInput::File(r) if !matches!(r.event, FileEvent::Progress { .. }) => return r,
                other => self.note(other),
            }
        }
    }
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

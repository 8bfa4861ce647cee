//! File transfers between loopback nodes in one process: sizes from 0 B to 10 MB, a
//! picture, decline, cancel, a corrupted stream, resume after the sender restarts, hostile
//! names and two offers of one name. A hand-made peer (frames on a raw `TcpStream`) plays
//! the sender where a real node would never misbehave.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{DEADLINE, TempDir, TestNode, free_udp_port};
use lanchat::config::Config;
use lanchat::node::{Command, Event};
use lanchat::protocol::hash::FileHasher;
use lanchat::protocol::{FrameDecoder, LinkMsg};

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

/// Deterministic noise (xorshift), so a failure is reproducible.
fn noise(len: usize, seed: u64) -> Vec<u8> {
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

fn config(dir: &Path, name: &str, port: u16) -> Config {
    let mut c = Config::loopback(dir.join(name), port);
    c.name = Some(name.to_owned());
    c.interval = Duration::from_millis(200);
    c.download_dir = dir.join(format!("{name}-downloads"));
    c
}

/// Alice sends, bob receives (auto-accepting if asked); both see each other.
fn pair(tag: &str, auto_accept: bool) -> (TempDir, u16, TestNode, TestNode) {
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

fn send_file(a: &mut TestNode, to: &str, path: &Path) -> String {
    a.send(Command::SendFile {
        to: to.to_owned(),
        path: path.to_path_buf(),
    });
    match a.wait("offer_sent", |e| matches!(e, Event::OfferSent { .. })) {
        Event::OfferSent { transfer_id, .. } => transfer_id,
        _ => unreachable!(),
    }
}

fn wait_done(n: &mut TestNode, id: &str) -> PathBuf {
    let ev = n.wait("transfer_done or _failed", |e| {
        matches!(e, Event::TransferDone { transfer_id, .. } | Event::TransferFailed { transfer_id, .. } if transfer_id == id)
    });
    match ev {
        Event::TransferDone { path, .. } => PathBuf::from(path),
        other => panic!("{}: transfer failed: {other:?}", n.name),
    }
}

fn wait_failed(n: &mut TestNode, id: &str) -> String {
    let ev = n.wait("transfer_failed", |e| {
        matches!(e, Event::TransferDone { transfer_id, .. } | Event::TransferFailed { transfer_id, .. } if transfer_id == id)
    });
    match ev {
        Event::TransferFailed { reason, .. } => reason,
        other => panic!("{}: expected a failure, got {other:?}", n.name),
    }
}

/// Names in a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn files_of_every_size_and_a_picture_arrive_intact() {
    let (dir, _port, mut a, mut b) = pair("sizes", true);
    let bob = b.id.clone();
    let cases: [(&str, Vec<u8>); 4] = [
        ("empty.txt", vec![]),
        ("one.bin", vec![42]),
        ("ten-mb.bin", noise(10_000_000, 7)),
        ("dot.png", PNG.to_vec()),
    ];
    for (name, bytes) in &cases {
        let src = dir.join(name);
        fs::write(&src, bytes).unwrap();
        let id = send_file(&mut a, &bob, &src);
        let Event::FileOffer {
            from, size, mime, ..
        } = b.wait(
            "file_offer",
            |e| matches!(e, Event::FileOffer { transfer_id, .. } if *transfer_id == id),
        )
        else {
            unreachable!()
        };
        assert_eq!((from.as_str(), size), (a.id.as_str(), bytes.len() as u64));
        if *name == "dot.png" {
            assert_eq!(mime, "image/png");
        }
        let got = wait_done(&mut b, &id);
        assert_eq!(wait_done(&mut a, &id), fs::canonicalize(&src).unwrap());
        assert_eq!(got, dir.join("bob-downloads").join(name));
        assert!(fs::read(&got).unwrap() == *bytes, "{name} arrived intact");
    }
    // Progress was reported, and no .part is left behind.
    assert!(b.drain().iter().any(|e| matches!(
        e,
        Event::TransferProgress {
            total: 10_000_000,
            ..
        }
    )));
    assert_eq!(
        listing(&dir.join("bob-downloads")),
        ["dot.png", "empty.txt", "one.bin", "ten-mb.bin"]
    );
}

#[test]
fn a_declined_offer_writes_nothing() {
    let (dir, _port, mut a, mut b) = pair("decline", false);
    let src = dir.join("secret.txt");
    fs::write(&src, b"no thanks").unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    b.wait("file_offer", |e| matches!(e, Event::FileOffer { .. }));
    assert!(
        listing(&dir.join("bob-downloads")).is_empty(),
        "nothing before acceptance"
    );
    b.send(Command::Decline {
        transfer_id: id.clone(),
    });
    assert_eq!(wait_failed(&mut b, &id), "declined");
    assert!(wait_failed(&mut a, &id).contains("declined"));
    assert!(listing(&dir.join("bob-downloads")).is_empty());
}

#[test]
fn an_offer_over_the_size_limit_is_declined_unwritten() {
    let dir = TempDir::new("limit");
    let port = free_udp_port();
    let mut a = TestNode::start_with(config(&dir.0, "alice", port));
    let mut cb = config(&dir.0, "bob", port);
    cb.auto_accept = true;
    cb.max_file_size = Some(10);
    let mut b = TestNode::start_with(cb);
    a.wait_joined(&b.id.clone());
    let src = dir.join("eleven.bin");
    fs::write(&src, b"eleven byte").unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    assert!(wait_failed(&mut b, &id).contains("the limit is 10 bytes"));
    assert!(wait_failed(&mut a, &id).contains("the limit is 10 bytes"));
    assert!(listing(&dir.join("bob-downloads")).is_empty());
}

#[test]
fn accepting_by_command_then_cancelling_from_the_sender_cleans_up() {
    let dir = TempDir::new("cancel");
    let port = free_udp_port();
    let mut ca = config(&dir.0, "alice", port);
    ca.send_rate_limit = Some(1 << 20); // 1 MiB/s: ten seconds for the file
    let mut a = TestNode::start_with(ca);
    let mut b = TestNode::start_with(config(&dir.0, "bob", port));
    a.wait_joined(&b.id.clone());
    let src = dir.join("big.bin");
    fs::write(&src, noise(10_000_000, 3)).unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    b.wait("file_offer", |e| matches!(e, Event::FileOffer { .. }));
    b.send(Command::Accept {
        transfer_id: id.clone(),
    });
    b.wait(
        "some bytes",
        |e| matches!(e, Event::TransferProgress { bytes, .. } if *bytes > 0),
    );
    a.send(Command::Cancel {
        transfer_id: id.clone(),
    });
    assert_eq!(wait_failed(&mut a, &id), "cancelled");
    wait_failed(&mut b, &id);
    // The receiver may see the data stream break before the cancel arrives on the link.
    // A chat sent after the cancel travels the same link, so once it is in, so is the
    // cancel.
    a.chat(&b.id.clone(), "after the cancel");
    b.wait("the chat after the cancel", |e| {
        matches!(e, Event::Message { .. })
    });
    let dl = dir.join("bob-downloads");
    assert!(listing(&dl).is_empty(), "the .part was deleted");
}

#[test]
fn a_receiver_cancel_reaches_the_sender() {
    let dir = TempDir::new("rcancel");
    let port = free_udp_port();
    let mut ca = config(&dir.0, "alice", port);
    ca.send_rate_limit = Some(1 << 20);
    let mut a = TestNode::start_with(ca);
    let mut cb = config(&dir.0, "bob", port);
    cb.auto_accept = true;
    let mut b = TestNode::start_with(cb);
    a.wait_joined(&b.id.clone());
    let src = dir.join("big.bin");
    fs::write(&src, noise(10_000_000, 4)).unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    b.wait(
        "some bytes",
        |e| matches!(e, Event::TransferProgress { bytes, .. } if *bytes > 0),
    );
    b.send(Command::Cancel {
        transfer_id: id.clone(),
    });
    assert_eq!(wait_failed(&mut b, &id), "cancelled");
    wait_failed(&mut a, &id);
    assert!(listing(&dir.join("bob-downloads")).is_empty());
}

#[test]
fn the_sender_restarted_midway_resumes_with_the_right_hash() {
    let dir = TempDir::new("resume");
    let port = free_udp_port();
    let mut ca = config(&dir.0, "alice", port);
    ca.send_rate_limit = Some(2 << 20);
    let mut a = TestNode::start_with(ca.clone());
    let mut cb = config(&dir.0, "bob", port);
    cb.auto_accept = true;
    let mut b = TestNode::start_with(cb);
    a.wait_joined(&b.id.clone());
    let bytes = noise(10_000_000, 11);
    let src = dir.join("movie.bin");
    fs::write(&src, &bytes).unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    b.wait("transfer_started at 0", |e| {
        matches!(e, Event::TransferStarted { offset: 0, .. })
    });
    b.wait(
        "two megabytes",
        |e| matches!(e, Event::TransferProgress { bytes, .. } if *bytes >= 2_000_000),
    );
    drop(a); // the sender stops mid-transfer: no cancel, just gone
    let reason = wait_failed(&mut b, &id);
    let dl = dir.join("bob-downloads");
    assert_eq!(
        listing(&dl),
        ["movie.bin.part"],
        "kept to resume ({reason})"
    );
    // Back, at full speed, offering the same file again.
    ca.send_rate_limit = None;
    let mut a = TestNode::start_with(ca);
    a.wait_joined(&b.id.clone());
    assert_eq!(
        send_file(&mut a, &b.id.clone(), &src),
        id,
        "same transfer id"
    );
    let Event::TransferStarted { offset, total, .. } = b.wait(
        "transfer_started",
        |e| matches!(e, Event::TransferStarted { transfer_id, .. } if *transfer_id == id),
    ) else {
        unreachable!()
    };
    assert!(
        offset >= 2_000_000 && total == 10_000_000,
        "resumed at {offset}"
    );
    let got = wait_done(&mut b, &id);
    wait_done(&mut a, &id);
    assert!(fs::read(&got).unwrap() == bytes, "whole file, right hash");
    assert_eq!(listing(&dl), ["movie.bin"]);
}

#[test]
fn two_offers_of_one_name_never_overwrite() {
    let (dir, _port, mut a, mut b) = pair("samename", true);
    let dl = dir.join("bob-downloads");
    fs::create_dir_all(&dl).unwrap();
    fs::write(dl.join("photo.jpg"), b"the user's own photo").unwrap();
    let mut ids = Vec::new();
    for (i, content) in [&b"first"[..], b"second"].iter().enumerate() {
        let src_dir = dir.join(&format!("src{i}"));
        fs::create_dir_all(&src_dir).unwrap();
        fs::write(src_dir.join("photo.jpg"), content).unwrap();
        ids.push(send_file(&mut a, &b.id.clone(), &src_dir.join("photo.jpg")));
    }
    let mut got: Vec<(String, Vec<u8>)> = ids
        .iter()
        .map(|id| {
            let p = wait_done(&mut b, id);
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    got.sort();
    let contents: Vec<&[u8]> = got.iter().map(|(_, c)| c.as_slice()).collect();
    assert_eq!(got[0].0, "photo (1).jpg");
    assert_eq!(got[1].0, "photo (2).jpg");
    assert!(contents.contains(&&b"first"[..]) && contents.contains(&&b"second"[..]));
    assert_eq!(
        fs::read(dl.join("photo.jpg")).unwrap(),
        b"the user's own photo"
    );
}

/// A peer made by hand: a link on a raw socket, for what a real node never sends.
struct FakePeer {
    stream: TcpStream,
    decoder: FrameDecoder,
    id: String,
}

impl FakePeer {
    fn connect(port: u16) -> FakePeer {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the node");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let id = "f".repeat(32);
        let mut p = FakePeer {
            stream,
            decoder: FrameDecoder::new(),
            id: id.clone(),
        };
        p.send(&LinkMsg::Hello {
            id,
            name: "mallory".into(),
            version: 1,
            instance: "i".into(),
            port: 0,
        });
        assert!(matches!(p.recv(), LinkMsg::Hello { .. }));
        p
    }

    fn send(&mut self, m: &LinkMsg) {
        self.stream.write_all(&m.to_frame().unwrap()).unwrap();
    }

    fn recv(&mut self) -> LinkMsg {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(body) = self.decoder.next_frame().unwrap() {
                return LinkMsg::decode(&body).unwrap();
            }
            let n = self
                .stream
                .read(&mut buf)
                .expect("a frame within the deadline");
            assert!(n > 0, "the node closed the link");
            self.decoder.push(&buf[..n]);
        }
    }

    /// Offers `name`, waits for the accept, streams `data` and a trailer with `hash`;
    /// returns the receiver's verdict on the data connection.
    fn transfer(&mut self, port: u16, tid: &str, name: &str, data: &[u8], hash: &str) -> LinkMsg {
        self.send(&LinkMsg::FileOffer {
            transfer_id: tid.into(),
            name: name.into(),
            size: data.len() as u64,
            mime: String::new(),
        });
        let offset = loop {
            match self.recv() {
                LinkMsg::FileAccept {
                    transfer_id,
                    offset,
                } if transfer_id == tid => break offset,
                other => assert!(!matches!(other, LinkMsg::FileDecline { .. }), "{other:?}"),
            }
        };
        assert_eq!(offset, 0);
        let mut data_conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        data_conn.set_read_timeout(Some(DEADLINE)).unwrap();
        let head = LinkMsg::FileData {
            transfer_id: tid.into(),
            offset: 0,
        };
        let mut wire = head.to_frame().unwrap();
        wire.extend_from_slice(data);
        wire.extend(
            LinkMsg::FileEnd {
                hash: hash.to_owned(),
            }
            .to_frame()
            .unwrap(),
        );
        data_conn.write_all(&wire).unwrap();
        let mut dec = FrameDecoder::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(body) = dec.next_frame().unwrap() {
                return LinkMsg::decode(&body).unwrap();
            }
            let n = data_conn.read(&mut buf).expect("a verdict");
            assert!(n > 0, "closed without a verdict");
            dec.push(&buf[..n]);
        }
    }
}

fn hash_of(data: &[u8]) -> String {
    let mut h = FileHasher::new();
    h.update(data);
    h.finish()
}

fn receiver(tag: &str) -> (TempDir, TestNode) {
    let dir = TempDir::new(tag);
    let mut c = config(&dir.0, "bob", free_udp_port());
    c.auto_accept = true;
    let b = TestNode::start_with(c);
    (dir, b)
}

#[test]
fn a_corrupted_stream_is_rejected_and_nothing_is_lost() {
    let (dir, mut b) = receiver("corrupt");
    let dl = dir.join("bob-downloads");
    fs::create_dir_all(&dl).unwrap();
    fs::write(dl.join("report.pdf"), b"precious").unwrap();
    let mut m = FakePeer::connect(b.port);
    let data = noise(300_000, 5);
    let mut flipped = data.clone();
    flipped[123_456] ^= 1;
    let tid = "c".repeat(32);
    // The bytes differ from what the hash describes: one flipped bit.
    let verdict = m.transfer(b.port, &tid, "report.pdf", &flipped, &hash_of(&data));
    assert!(
        matches!(&verdict, LinkMsg::FileCancel { reason, .. } if reason.contains("hash mismatch")),
        "{verdict:?}"
    );
    assert!(wait_failed(&mut b, &tid).contains("hash mismatch"));
    assert_eq!(listing(&dl), ["report.pdf"], "no .part promoted or left");
    assert_eq!(fs::read(dl.join("report.pdf")).unwrap(), b"precious");
    // The same peer then sends it right; it lands beside the user's file.
    let tid2 = "d".repeat(32);
    let verdict = m.transfer(b.port, &tid2, "report.pdf", &data, &hash_of(&data));
    assert!(matches!(verdict, LinkMsg::FileDone { .. }), "{verdict:?}");
    assert_eq!(wait_done(&mut b, &tid2), dl.join("report (1).pdf"));
    assert_eq!(m.id.len(), 32);
}

#[test]
fn hostile_names_land_safely_inside_the_download_folder() {
    let (dir, mut b) = receiver("hostile");
    let dl = dir.join("bob-downloads");
    let mut m = FakePeer::connect(b.port);
    let long = "n".repeat(500);
    let names = [
        "../../etc/passwd",
        "a/b",
        "..",
        "C:\\x",
        "nul\0byte",
        long.as_str(),
        "CON",
        "",
        "/abs/path.txt",
    ];
    for (i, name) in names.iter().enumerate() {
        let tid = format!("{i:032x}");
        let data = format!("file {i}").into_bytes();
        let verdict = m.transfer(b.port, &tid, name, &data, &hash_of(&data));
        assert!(
            matches!(verdict, LinkMsg::FileDone { .. }),
            "{name:?}: {verdict:?}"
        );
        let path = wait_done(&mut b, &tid);
        assert_eq!(path.parent(), Some(dl.as_path()), "{name:?} → {path:?}");
        assert_eq!(fs::read(&path).unwrap(), data);
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !file_name.starts_with('.') && file_name.len() <= 200,
            "{file_name:?}"
        );
    }
    assert_eq!(listing(&dl).len(), names.len());
    assert!(!dir.join("etc").exists() && !dir.0.parent().unwrap().join("etc/passwd").exists());
}

/// The headless contract end to end: `lanchat --headless --auto-accept --download-dir`.
#[test]
fn headless_send_file_with_auto_accept_and_download_dir() {
    use common::ChildNode;
    use serde_json::json;
    let dir = TempDir::new("hl-files");
    let port = free_udp_port().to_string();
    let args = |name: &str, extra: &[&str]| {
        let data = dir.join(name).to_str().unwrap().to_owned();
        let mut v: Vec<String> = [
            "--bind",
            "127.0.0.1",
            "--discovery-port",
            &port,
            "--interval",
            "0.2",
            "--data-dir",
            &data,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let dl = dir.join("inbox");
    let dl_arg = dl.to_str().unwrap().to_owned();
    let a_dl = dir.join("alice-inbox").to_str().unwrap().to_owned();
    let a_args = args("alice", &["--download-dir", &a_dl]);
    let b_args = args("bob", &["--auto-accept", "--download-dir", &dl_arg]);
    fn as_refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let mut a = ChildNode::spawn(&[], &as_refs(&a_args), "alice");
    let mut b = ChildNode::spawn(&[], &as_refs(&b_args), "bob");
    a.wait("bob", |v| v["event"] == "peer_joined");
    let src = dir.join("dot.png");
    fs::write(&src, PNG).unwrap();
    a.cmd(json!({"cmd":"send_file","to":"bob","path":src}));
    let sent = a.wait("offer_sent", |v| v["event"] == "offer_sent");
    let tid = sent["transfer_id"].clone();
    assert_eq!(
        sent,
        json!({"event":"offer_sent","transfer_id":tid,"to":b.id,"name":"dot.png",
               "size":PNG.len(),"mime":"image/png"})
    );
    let offer = b.wait("file_offer", |v| v["event"] == "file_offer");
    assert_eq!(
        offer,
        json!({"event":"file_offer","transfer_id":tid,"from":a.id,"name":"dot.png",
               "size":PNG.len(),"mime":"image/png"})
    );
    let done = b.wait("transfer_done", |v| v["event"] == "transfer_done");
    let landed = dl.join("dot.png");
    assert_eq!(
        done,
        json!({"event":"transfer_done","transfer_id":tid,"path":landed})
    );
    a.wait("sender's transfer_done", |v| {
        v["event"] == "transfer_done" && v["transfer_id"] == tid
    });
    assert_eq!(fs::read(landed).unwrap(), PNG);
    // A bad id is an error event, and the node keeps going.
    b.cmd(json!({"cmd":"accept","transfer_id":"nope"}));
    let e = b.wait("error", |v| v["event"] == "error");
    assert!(e["message"].as_str().unwrap().contains("no offer"));
}

/// `kill -9` of a sending `lanchat --headless` midway; restarted on the same data dir, it
/// offers the file again and the receiver asks only for the rest.
#[cfg(unix)]
#[test]
fn a_sender_killed_with_sigkill_resumes_after_restart() {
    use common::ChildNode;
    use serde_json::json;
    let dir = TempDir::new("kill9");
    let port = free_udp_port();
    let mut cb = config(&dir.0, "bob", port);
    cb.auto_accept = true;
    let mut b = TestNode::start_with(cb);
    let bytes = noise(6_000_000, 99);
    let src = dir.join("big.bin");
    fs::write(&src, &bytes).unwrap();
    let alice_dir = dir.join("alice");
    let alice_dl = dir.join("alice-downloads");
    let start_alice = |extra: &[&str]| {
        let port = port.to_string();
        let mut args = vec![
            "--bind",
            "127.0.0.1",
            "--discovery-port",
            &port,
            "--interval",
            "0.2",
            "--data-dir",
            alice_dir.to_str().unwrap(),
            "--download-dir",
            alice_dl.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ChildNode::spawn(&[], &args, "alice")
    };
    let mut a = start_alice(&["--max-send-rate", "2000000"]);
    a.wait("bob", |v| v["event"] == "peer_joined");
    a.cmd(json!({"cmd":"send_file","to":b.id,"path":src}));
    let tid = a.wait("offer_sent", |v| v["event"] == "offer_sent")["transfer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.wait(
        "a megabyte",
        |e| matches!(e, Event::TransferProgress { bytes, .. } if *bytes >= 1_000_000),
    );
    a.kill9();
    wait_failed(&mut b, &tid);
    let mut a = start_alice(&[]);
    a.wait("bob again", |v| v["event"] == "peer_joined");
    a.cmd(json!({"cmd":"send_file","to":b.id,"path":src}));
    let resumed = a.wait("transfer_started", |v| v["event"] == "transfer_started");
    assert_eq!(resumed["transfer_id"], tid.as_str());
    assert!(
        resumed["offset"].as_u64().unwrap() >= 1_000_000,
        "{resumed}"
    );
    let got = wait_done(&mut b, &tid);
    a.wait("transfer_done", |v| v["event"] == "transfer_done");
    assert!(fs::read(&got).unwrap() == bytes, "whole file, right hash");
    assert_eq!(listing(&dir.join("bob-downloads")), ["big.bin"]);
}

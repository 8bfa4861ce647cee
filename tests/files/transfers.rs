//! Node to node: what a user does.

use std::fs;

use crate::common::{TempDir, TestNode, free_udp_port};
use crate::{PNG, config, listing, noise, pair, send_file, wait_done, wait_failed};
use lanchat::node::{Command, Event};

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
        transfer_id: id.clone().into(),
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
        transfer_id: id.clone().into(),
    });
    b.wait(
        "some bytes",
        |e| matches!(e, Event::TransferProgress { bytes, .. } if *bytes > 0),
    );
    a.send(Command::Cancel {
        transfer_id: id.clone().into(),
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
        transfer_id: id.clone().into(),
    });
    assert_eq!(wait_failed(&mut b, &id), "cancelled");
    wait_failed(&mut a, &id);
    assert!(listing(&dir.join("bob-downloads")).is_empty());
}

/// The sender stops midway (no cancel) and starts again: it offers the unfinished
/// transfer by itself, the receiver (which said `transfer_interrupted`, not failed)
/// accepts it at once from the bytes it has, and the hash covers the whole file.
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
    let Event::TransferInterrupted {
        reason,
        retry_in_ms,
        ..
    } = b.wait("transfer_interrupted", |e| {
        matches!(e, Event::TransferInterrupted { .. })
    })
    else {
        unreachable!()
    };
    assert_eq!(retry_in_ms, None, "the receiver waits for the sender");
    let dl = dir.join("bob-downloads");
    assert_eq!(
        listing(&dl),
        ["movie.bin.part"],
        "kept to resume ({reason})"
    );
    // Back, at full speed: the unfinished transfer is remembered and offered again,
    // with no send_file.
    ca.send_rate_limit = None;
    let mut a = TestNode::start_with(ca);
    let Event::OfferSent { transfer_id, .. } =
        a.wait("offer_sent", |e| matches!(e, Event::OfferSent { .. }))
    else {
        unreachable!()
    };
    assert_eq!(transfer_id, id, "same transfer id");
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
    let failed = |e: &Event| matches!(e, Event::TransferFailed { .. });
    assert!(
        !b.drain().iter().any(failed),
        "never a final failure on the receiver"
    );
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

#[test]
fn transfers_are_remembered_in_history_with_their_state() {
    use lanchat::store::{Direction, Store, TransferState};
    let (dir, _port, mut a, mut b) = pair("remember", true);
    let src = dir.join("notes.txt");
    fs::write(&src, "会议记录").unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    let got = wait_done(&mut b, &id);
    wait_done(&mut a, &id);
    a.handle.shutdown();
    b.handle.shutdown();
    let sent = Store::open(&dir.join("alice").join("history.db"))
        .unwrap()
        .transfer(&id)
        .unwrap()
        .expect("the sender remembers the transfer");
    assert_eq!(
        (sent.dir, sent.state, sent.name.as_str(), sent.size),
        (Direction::Out, TransferState::Done, "notes.txt", 12)
    );
    let received = Store::open(&dir.join("bob").join("history.db"))
        .unwrap()
        .transfer(&id)
        .unwrap()
        .expect("the receiver remembers the transfer");
    assert_eq!(
        (received.dir, received.state),
        (Direction::In, TransferState::Done)
    );
    assert_eq!(received.path, got.to_str().unwrap());
}

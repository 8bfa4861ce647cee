//! The receiver's side of waiting: an accepted offer whose sender stops or never
//! connects times out and keeps the bytes for a later offer; old `.part` files are swept
//! at start (only ours); the download folder changes at run time; and the headless
//! shapes of the commands and events that came with resume.

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::common::{TempDir, TestNode, free_udp_port};
use crate::hostile::{FakePeer, hash_of};
use crate::wire::new_keys;
use crate::{config, listing, noise, pair, send_file, wait_done, wait_failed};
use lanchat::headless::{event_line, parse_command};
use lanchat::node::{Command, Event};
use lanchat::protocol::LinkMsg;

/// The offset of the fake sender's next `file_accept` for `tid`.
fn accepted(m: &mut FakePeer, tid: &str) -> u64 {
    loop {
        match m.recv() {
            LinkMsg::FileAccept {
                transfer_id,
                offset,
            } if transfer_id == tid => return offset,
            other => assert!(!matches!(other, LinkMsg::FileDecline { .. }), "{other:?}"),
        }
    }
}

#[test]
fn an_accepted_offer_whose_sender_stops_or_never_connects_times_out_keeping_the_bytes() {
    let dir = TempDir::new("waiting");
    let mut c = config(&dir.0, "bob", free_udp_port());
    c.accept_timeout = Duration::from_millis(300);
    let mut b = TestNode::start_with(c);
    let dl = dir.join("bob-downloads");
    let mut m = FakePeer::connect(b.port);
    let data = noise(100_000, 8);
    let tid = "e".repeat(32);
    let offer = LinkMsg::FileOffer {
        transfer_id: tid.clone(),
        name: "half.bin".into(),
        size: data.len() as u64,
        mime: String::new(),
        folder: None,
        room: None,
    };
    let is_offer = |e: &Event| matches!(e, Event::FileOffer { .. });
    m.send(&offer);
    b.wait("file_offer", is_offer);
    b.send(Command::Accept {
        transfer_id: tid.clone().into(),
    });
    assert_eq!(accepted(&mut m, &tid), 0);
    // 40 000 bytes, then the sender is gone.
    let mut conn = m.data();
    conn.head(&tid, 0);
    conn.bytes(&tid, 0, &data[..40_000]);
    drop(conn);
    b.wait("transfer_interrupted", |e| {
        matches!(
            e,
            Event::TransferInterrupted {
                retry_in_ms: None,
                ..
            }
        )
    });
    let reason = wait_failed(&mut b, &tid);
    assert!(
        reason.contains("within 300 ms") && reason.contains("the 40000 bytes received are kept"),
        "{reason}"
    );
    let kept = || fs::metadata(dl.join("half.bin.part")).unwrap().len();
    assert_eq!(kept(), 40_000);

    // Another peer offering a file under the same id never touches those bytes.
    let mut other = FakePeer::connect_as(b.port, new_keys());
    other.send(&offer);
    b.wait("the other peer's offer", is_offer);
    b.send(Command::Accept {
        transfer_id: tid.clone().into(),
    });
    let refused = loop {
        match other.recv() {
            LinkMsg::FileDecline { reason, .. } => break reason,
            LinkMsg::FileAccept { .. } => panic!("accepted a transfer id in use"),
            _ => {}
        }
    };
    assert_eq!(refused, "transfer id in use");
    wait_failed(&mut b, &tid);
    assert_eq!(kept(), 40_000);

    // The same offer later is accepted at once (no accept command), from byte 40 000.
    m.send(&offer);
    b.wait("file_offer again", is_offer);
    assert_eq!(accepted(&mut m, &tid), 40_000);
    let mut conn = m.data();
    conn.head(&tid, 40_000);
    conn.bytes(&tid, 40_000, &data[40_000..]);
    conn.end(&hash_of(&data));
    assert!(matches!(conn.verdict(), LinkMsg::FileDone { .. }));
    assert!(fs::read(wait_done(&mut b, &tid)).unwrap() == data);

    // Accepted, and the sender never connects: failed, and the empty .part goes.
    let tid2 = "f0".repeat(16);
    m.send(&LinkMsg::FileOffer {
        transfer_id: tid2.clone(),
        name: "never.bin".into(),
        size: 10,
        mime: String::new(),
        folder: None,
        room: None,
    });
    b.wait("second file_offer", is_offer);
    b.send(Command::Accept {
        transfer_id: tid2.clone().into(),
    });
    assert_eq!(accepted(&mut m, &tid2), 0);
    let reason = wait_failed(&mut b, &tid2);
    assert!(reason.contains("did not connect within 300 ms"), "{reason}");
    assert_eq!(listing(&dl), ["half.bin"]);
}

fn age(path: &Path, when: SystemTime) {
    let f = File::options().write(true).open(path).unwrap();
    f.set_modified(when).unwrap();
}

#[test]
fn old_unfinished_downloads_are_swept_at_start_and_nothing_else() {
    let dir = TempDir::new("sweep");
    let c = config(&dir.0, "bob", free_udp_port());
    let (notes, dl) = (c.data_dir.join("partial"), c.download_dir.clone());
    fs::create_dir_all(&notes).unwrap();
    fs::create_dir_all(&dl).unwrap();
    let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    let note = |id: &str, part: &Path| {
        let path = notes.join(format!("{id}.json"));
        let body = json!({"part": part, "from": "f".repeat(32), "size": 10});
        fs::write(&path, body.to_string()).unwrap();
        path
    };
    // A week-old download, a fresh one, and a .part no note of ours names.
    let (old, fresh, stranger) = (
        dl.join("old.iso.part"),
        dl.join("new.iso.part"),
        dl.join("other-app.part"),
    );
    for p in [&old, &fresh, &stranger] {
        fs::write(p, b"half").unwrap();
    }
    let old_note = note(&"a".repeat(32), &old);
    let fresh_note = note(&"b".repeat(32), &fresh);
    for p in [&old, &old_note, &stranger] {
        age(p, eight_days_ago);
    }
    let mut b = TestNode::start_with(c);
    // The sweep runs before the core reads its first command.
    b.send(Command::Peers);
    b.wait("peers", |e| matches!(e, Event::Peers { .. }));
    assert_eq!(listing(&dl), ["new.iso.part", "other-app.part"]);
    assert!(!old_note.exists() && fresh_note.exists());
}

#[test]
fn the_download_folder_changes_at_run_time_and_a_bad_one_is_refused() {
    let (dir, _port, mut a, mut b) = pair("dldir", true);
    let not_a_folder = dir.join("not-a-folder");
    fs::write(&not_a_folder, b"x").unwrap();
    b.send(Command::SetDownloadDir {
        path: not_a_folder.clone(),
    });
    let e = b.wait("error", |e| matches!(e, Event::Error { .. }));
    let shown = not_a_folder.display().to_string();
    assert!(
        matches!(&e, Event::Error { message } if message.starts_with("set_download_dir:") && message.contains(&shown)),
        "{e:?}"
    );
    let inbox = dir.join("new").join("inbox");
    b.send(Command::SetDownloadDir {
        path: inbox.clone(),
    });
    let ev = b.wait("download_dir_changed", |e| {
        matches!(e, Event::DownloadDirChanged { .. })
    });
    let inbox = fs::canonicalize(&inbox).expect("created");
    assert_eq!(
        ev,
        Event::DownloadDirChanged {
            path: inbox.display().to_string()
        }
    );
    let src = dir.join("note.txt");
    fs::write(&src, "到新文件夹").unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    assert_eq!(wait_done(&mut b, &id), inbox.join("note.txt"));
    assert!(listing(&dir.join("bob-downloads")).is_empty());
}

#[test]
fn resume_commands_and_events_keep_their_headless_shape() {
    assert_eq!(
        parse_command(r#"{"cmd":"retry","transfer_id":"t1"}"#).unwrap(),
        Command::Retry {
            transfer_id: "t1".into()
        }
    );
    assert_eq!(
        parse_command(r#"{"cmd":"set_download_dir","path":"/srv/收件箱"}"#).unwrap(),
        Command::SetDownloadDir {
            path: "/srv/收件箱".into()
        }
    );
    let v = |e: &Event| serde_json::from_str::<serde_json::Value>(&event_line(e)).unwrap();
    let t = || "t1".to_owned();
    let cases = [
        (
            Event::TransferInterrupted {
                transfer_id: t().into(),
                reason: "stream ended".into(),
                attempt: 2,
                retry_in_ms: Some(2000),
            },
            json!({"event":"transfer_interrupted","transfer_id":"t1","reason":"stream ended",
                   "attempt":2,"retry_in_ms":2000}),
        ),
        (
            Event::TransferInterrupted {
                transfer_id: t().into(),
                reason: "x".into(),
                attempt: 0,
                retry_in_ms: None,
            },
            json!({"event":"transfer_interrupted","transfer_id":"t1","reason":"x",
                   "attempt":0,"retry_in_ms":null}),
        ),
        (
            Event::TransferRetrying {
                transfer_id: t().into(),
                attempt: 1,
            },
            json!({"event":"transfer_retrying","transfer_id":"t1","attempt":1}),
        ),
        (
            Event::DownloadDirChanged {
                path: "/srv/in".into(),
            },
            json!({"event":"download_dir_changed","path":"/srv/in"}),
        ),
    ];
    for (event, want) in cases {
        assert_eq!(v(&event), want);
    }
}

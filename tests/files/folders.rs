//! Folders as one transfer: a tree with nested and Chinese names, an empty file and an
//! empty folder arrives whole under a free name; a symlink is never followed; a cut in
//! the middle of the tree resumes from the file reached; and a hand-made sender whose
//! manifest or bytes lie is refused with the reason, leaving nothing behind.

use std::fs;
use std::path::Path;

use crate::common::{TempDir, TestNode, free_udp_port};
use crate::hostile::{FakePeer, hash_of};
use crate::retry::{Behind, behind_proxy, interrupted, started};
use crate::{config, listing, noise, pair, send_file, wait_done, wait_failed};
use lanchat::node::Event;
use lanchat::protocol::LinkMsg;
use lanchat::protocol::folder::{Entry, FolderSummary, ManifestPart};

/// Every folder and file below `root`: relative path, and a file's bytes (a symlink is
/// marked as one, never followed).
fn tree(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn visit(dir: &Path, rel: &str, out: &mut Vec<(String, Option<Vec<u8>>)>) {
        for name in listing(dir) {
            let path = dir.join(&name);
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.push((rel, Some(b"<a symlink>".to_vec())));
            } else if meta.is_dir() {
                out.push((rel.clone(), None));
                visit(&path, &rel, out);
            } else {
                out.push((rel, Some(fs::read(&path).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    visit(root, "", &mut out);
    out
}

/// A small tree: nested folders, Chinese names, an empty file, an empty folder.
fn make_tree(root: &Path, big: usize) {
    fs::create_dir_all(root.join("照片/二〇二六")).unwrap();
    fs::create_dir_all(root.join("空的")).unwrap();
    fs::write(root.join("照片/二〇二六/海边.jpg"), noise(big, 3)).unwrap();
    fs::write(root.join("照片/说明.txt"), "你好").unwrap();
    fs::write(root.join("empty.txt"), b"").unwrap();
    fs::write(root.join("readme.md"), noise(70_000, 4)).unwrap();
}

#[test]
fn a_folder_tree_arrives_whole_under_a_free_name() {
    let (dir, _port, mut a, mut b) = pair("folder", true);
    let bob = b.id.clone();
    let src = dir.join("相册");
    make_tree(&src, 600_000);
    // A symlink to something outside the folder is not followed, nor sent.
    fs::write(dir.join("secret.txt"), b"outside").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("secret.txt"), src.join("link.txt")).unwrap();
    let id = send_file(&mut a, &bob, &src);
    let offer = b.wait(
        "file_offer",
        |e| matches!(e, Event::FileOffer { transfer_id, .. } if *transfer_id == id),
    );
    let Event::FileOffer {
        name,
        size,
        mime,
        folder,
        ..
    } = offer
    else {
        unreachable!()
    };
    assert_eq!((name.as_str(), mime.as_str()), ("相册", "inode/directory"));
    assert_eq!(size, 600_000 + 6 + 70_000);
    assert_eq!(
        folder,
        Some(FolderSummary {
            files: 4,
            folders: 3
        })
    );
    let got = wait_done(&mut b, &id);
    assert_eq!(wait_done(&mut a, &id), fs::canonicalize(&src).unwrap());
    let dl = dir.join("bob-downloads");
    assert_eq!(got, dl.join("相册"));
    let mut want = tree(&src);
    want.retain(|(p, _)| p != "link.txt");
    assert_eq!(tree(&got), want);
    let progress: Vec<(u64, Option<u64>)> = b
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::TransferProgress { bytes, files, .. } => Some((bytes, files)),
            _ => None,
        })
        .collect();
    assert_eq!(progress.last(), Some(&(size, Some(4))), "{progress:?}");
    // Sent again, it lands beside the first: nothing is replaced.
    fs::write(got.join("readme.md"), b"edited here").unwrap();
    let again = send_file(&mut a, &bob, &src);
    assert_eq!(
        again, id,
        "the same folder, unchanged, is the same transfer"
    );
    assert_eq!(wait_done(&mut b, &id), dl.join("相册 (1)"));
    assert_eq!(fs::read(got.join("readme.md")).unwrap(), b"edited here");
    assert_eq!(listing(&dl), ["相册", "相册 (1)"]);
}

#[test]
fn a_folder_cut_in_the_middle_resumes_from_the_file_reached() {
    let Behind {
        dir,
        mut a,
        mut b,
        proxy,
    } = behind_proxy("folder-cut", 8);
    let src = dir.join("tree");
    for i in 0..6 {
        let sub = src.join(format!("part {}", i % 2));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("{i}.bin")), noise(1_000_000, i)).unwrap();
    }
    fs::create_dir_all(src.join("zz-empty")).unwrap();
    proxy.arm(2_500_000);
    let id = send_file(&mut a, &b.id.clone(), &src);
    assert_eq!(started(&mut b, &id), 0);
    interrupted(&mut a, &id);
    interrupted(&mut b, &id);
    assert!(proxy.has_cut());
    let offset = started(&mut b, &id);
    assert!(
        offset > 1_000_000 && offset < 2_500_000,
        "resumed inside the third file: {offset}"
    );
    let got = wait_done(&mut b, &id);
    wait_done(&mut a, &id);
    assert_eq!(tree(&got), tree(&src));
    // The second connection carried the rest, not the whole folder again.
    let big: Vec<u64> = proxy
        .upstream_bytes()
        .into_iter()
        .filter(|n| *n > 100_000)
        .collect();
    assert_eq!(big.len(), 2, "{big:?}");
    assert!(big[1] < 6_000_000 - offset + 100_000, "{big:?}");
    assert_eq!(listing(&dir.join("bob-downloads")), ["tree"]);
}

fn receiver(tag: &str) -> (TempDir, TestNode) {
    let dir = TempDir::new(tag);
    let mut c = config(&dir.0, "bob", free_udp_port());
    c.auto_accept = true;
    (dir, TestNode::start_with(c))
}

fn file(path: &str, size: u64) -> Entry {
    Entry {
        path: path.into(),
        size: Some(size),
    }
}

/// Offers a folder of `entries` as `summary` (total: `size`), opens the data
/// connection and sends the manifest; returns the receiver's answer to it.
fn offer_manifest(
    m: &mut FakePeer,
    tid: &str,
    (summary, size): (FolderSummary, u64),
    entries: Vec<Entry>,
) -> (crate::hostile::DataConn, LinkMsg) {
    m.send(&LinkMsg::FileOffer {
        transfer_id: tid.into(),
        name: "gift".into(),
        size,
        mime: "inode/directory".into(),
        folder: Some(summary),
        room: None,
    });
    loop {
        match m.recv() {
            LinkMsg::FileAccept { transfer_id, .. } if transfer_id == tid => break,
            other => assert!(!matches!(other, LinkMsg::FileDecline { .. }), "{other:?}"),
        }
    }
    let mut conn = m.data();
    conn.head(tid, 0);
    let part = ManifestPart {
        entries,
        last: true,
    };
    conn.frame(&serde_json::to_vec(&part).unwrap());
    let answer = conn.verdict();
    (conn, answer)
}

#[test]
fn hostile_manifests_are_refused_with_the_reason_and_leave_nothing() {
    let (dir, mut b) = receiver("folder-hostile");
    let dl = dir.join("bob-downloads");
    let mut m = FakePeer::connect(b.port);
    let long = format!("{}/x", "d".repeat(1100));
    let cases: Vec<(Vec<Entry>, &str)> = vec![
        (vec![file("../../etc/passwd", 1)], "\"..\" component"),
        (vec![file("a/./b", 1)], "\".\" component"),
        (vec![file("/etc/passwd", 1)], "absolute"),
        (vec![file("nul\0byte", 1)], "NUL"),
        (vec![file(&long, 1)], "bytes (at most"),
        (vec![file("a:b", 1), file("a_b", 0)], "listed twice"),
        (
            vec![file("Photo.JPG", 1), file("photo.jpg", 0)],
            "listed twice",
        ),
        (vec![file("x", 1), file("x/y", 0)], "a file and a folder"),
    ];
    for (i, (entries, want)) in cases.into_iter().enumerate() {
        let tid = format!("{i:032x}");
        let files = entries.len() as u64;
        let summary = FolderSummary { files, folders: 0 };
        let (_conn, answer) = offer_manifest(&mut m, &tid, (summary, 1), entries);
        let LinkMsg::FileCancel { reason, .. } = answer else {
            panic!("case {i}: {answer:?}");
        };
        assert!(reason.contains(want), "case {i}: {reason}");
        let failed = wait_failed(&mut b, &tid);
        assert!(failed.contains(want), "case {i}: {failed}");
        assert!(listing(&dl).is_empty(), "case {i}: {:?}", listing(&dl));
    }
    // More entries than the offer announced: refused before they are all read.
    let tid = "e".repeat(32);
    let summary = FolderSummary {
        files: 1,
        folders: 0,
    };
    let (_conn, answer) =
        offer_manifest(&mut m, &tid, (summary, 2), vec![file("a", 1), file("b", 1)]);
    assert!(matches!(answer, LinkMsg::FileCancel { .. }), "{answer:?}");
    assert!(wait_failed(&mut b, &tid).contains("more than the 1 entries offered"));
    // An offer over the entry limit is declined before anything is written.
    let tid = "f".repeat(32);
    m.send(&LinkMsg::FileOffer {
        transfer_id: tid.clone(),
        name: "huge".into(),
        size: 0,
        mime: String::new(),
        folder: Some(FolderSummary {
            files: 10_000_000,
            folders: 0,
        }),
        room: None,
    });
    let declined = loop {
        if let LinkMsg::FileDecline { reason, .. } = m.recv() {
            break reason;
        }
    };
    assert!(declined.contains("the limit is 100000"), "{declined}");
    assert!(listing(&dl).is_empty());
    assert!(listing(&dir.join("bob/partial")).is_empty(), "no note left");
}

#[test]
fn a_file_whose_bytes_lie_fails_the_folder_and_leaves_nothing() {
    let (dir, mut b) = receiver("folder-liar");
    let dl = dir.join("bob-downloads");
    fs::create_dir_all(dl.join("gift")).unwrap();
    fs::write(dl.join("gift/mine.txt"), b"the user's").unwrap();
    let mut m = FakePeer::connect(b.port);
    let tid = "a".repeat(32);
    let (one, two) = (noise(1000, 1), noise(2000, 2));
    let entries = vec![file("one.bin", 1000), file("two.bin", 2000)];
    let summary = FolderSummary {
        files: 2,
        folders: 0,
    };
    let (mut conn, answer) = offer_manifest(&mut m, &tid, (summary, 3000), entries);
    assert!(matches!(answer, LinkMsg::FileAccept { .. }), "{answer:?}");
    conn.bytes(&tid, 0, &one);
    conn.end(&hash_of(&one));
    let mut flipped = two.clone();
    flipped[7] ^= 1;
    conn.bytes(&tid, 1000, &flipped);
    conn.end(&hash_of(&two));
    let verdict = conn.verdict();
    assert!(
        matches!(&verdict, LinkMsg::FileCancel { reason, .. } if reason.contains("hash mismatch for two.bin")),
        "{verdict:?}"
    );
    assert!(wait_failed(&mut b, &tid).contains("hash mismatch for two.bin"));
    assert_eq!(listing(&dl), ["gift"], "the .part folder is gone");
    assert_eq!(
        listing(&dl.join("gift")),
        ["mine.txt"],
        "the user's folder untouched"
    );
}

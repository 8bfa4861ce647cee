//! Files both ways through the page: an upload waits in the spool until the host accepts
//! (or declines) it, its name is never a path, and the host's files are fetched by the
//! visitor they were offered to, pictures inline.

use lanchat::web::{FileOffer, WebInput};

use crate::harness::*;

#[test]
fn an_upload_waits_in_the_spool_until_the_host_accepts() {
    let fake = Fake::start();
    let (visitor, id) = fake.join("上传者");
    let events = visitor.events(0, None);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let r = visitor.upload("照片 1.png", &bytes);
    assert_eq!(r.status, 202, "{}", r.text());
    let (upload, spool) = match fake.expect("uploaded", |i| matches!(i, WebInput::Uploaded { .. }))
    {
        WebInput::Uploaded {
            visitor: v,
            upload,
            name,
            size,
            spool_path,
            ..
        } => {
            assert_eq!(
                (v, name.as_str(), size),
                (id.clone(), "照片 1.png", bytes.len() as u64)
            );
            assert!(spool_path.starts_with(fake.dir.join("spool")));
            assert!(spool_path.to_string_lossy().ends_with(".part"));
            (upload, spool_path)
        }
        _ => unreachable!(),
    };
    assert_eq!(std::fs::read(&spool).unwrap(), bytes, "whole in the spool");
    let inbox = fake.dir.join("inbox");
    assert!(!inbox.exists(), "nothing landed before the accept");
    assert_eq!(events.next("upload").1["name"], "照片 1.png");

    let landed = fake.server.accept_upload(&upload, &inbox).unwrap();
    assert_eq!(landed, inbox.join("照片 1.png"));
    assert_eq!(std::fs::read(&landed).unwrap(), bytes);
    assert!(!spool.exists());
    let (_, state) = events.next("transfer");
    assert_eq!(state["state"], "accepted");
    assert!(
        fake.server.accept_upload(&upload, &inbox).is_err(),
        "only once"
    );

    // A second file of the same name does not overwrite the first; a declined one is gone.
    visitor.upload("照片 1.png", b"second");
    let WebInput::Uploaded { upload, .. } =
        fake.expect("uploaded", |i| matches!(i, WebInput::Uploaded { .. }))
    else {
        unreachable!()
    };
    assert_eq!(
        fake.server.accept_upload(&upload, &inbox).unwrap(),
        inbox.join("照片 1 (1).png")
    );
    visitor.upload("no.txt", b"unwanted");
    let WebInput::Uploaded {
        upload, spool_path, ..
    } = fake.expect("uploaded", |i| matches!(i, WebInput::Uploaded { .. }))
    else {
        unreachable!()
    };
    fake.server.decline_upload(&upload).unwrap();
    assert!(!spool_path.exists());
    events.next("upload");
    assert_eq!(events.next("transfer").1["state"], "accepted");
    events.next("upload");
    assert_eq!(events.next("transfer").1["state"], "declined");
    assert_eq!(fake.server.stats().spool_bytes, 0);
}

#[test]
fn a_file_name_is_never_a_path() {
    let fake = Fake::start();
    let (visitor, _) = fake.join("x");
    for (wire, safe) in [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "file"),
        ("a/b\\c", "a_b_c"),
    ] {
        assert_eq!(visitor.upload(wire, b"data").status, 202);
        let WebInput::Uploaded {
            name,
            spool_path,
            upload,
            ..
        } = fake.expect("uploaded", |i| matches!(i, WebInput::Uploaded { .. }))
        else {
            unreachable!()
        };
        assert_eq!(name, safe);
        assert_eq!(spool_path.parent(), Some(fake.dir.join("spool").as_path()));
        let landed = fake
            .server
            .accept_upload(&upload, &fake.dir.join("in"))
            .unwrap();
        assert_eq!(landed.parent(), Some(fake.dir.join("in").as_path()));
    }
}

#[test]
fn the_host_sends_a_file_and_a_picture() {
    let fake = Fake::start();
    let (visitor, id) = fake.join("下载者");
    let (other, _) = fake.join("other");
    let events = visitor.events(0, None);
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..70_000u32).map(|i| i as u8))
        .collect();
    let pic = fake.dir.join("图片.png");
    std::fs::write(&pic, &png).unwrap();
    let offer = FileOffer {
        path: pic,
        name: "图片.png".into(),
        mime: "image/png".into(),
    };
    let download = fake.server.offer_file(&id, offer).unwrap();
    let (_, file) = events.next("file");
    assert_eq!(
        (file["name"].as_str(), file["picture"].as_bool()),
        (Some("图片.png"), Some(true))
    );
    assert_eq!(file["id"], download.as_str());

    let r = visitor.get(&format!("file/{download}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, png);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"__.png\"; filename*=UTF-8''%E5%9B%BE%E7%89%87.png")
    );
    fake.expect("fetching", |i| {
        matches!(i, WebInput::Fetching { download: d, size, .. }
            if *d == download && *size == png.len() as u64)
    });
    let done = loop {
        match fake.expect("fetched or downloaded", |i| {
            matches!(i, WebInput::Fetched { .. } | WebInput::Downloaded { .. })
        }) {
            WebInput::Fetched { .. } => continue,
            done => break done,
        }
    };
    match done {
        WebInput::Downloaded {
            download: d,
            bytes,
            complete,
            ..
        } => {
            assert_eq!(
                (d, bytes, complete),
                (download.clone(), png.len() as u64, true)
            );
        }
        _ => unreachable!(),
    }
    // Only the visitor it was offered to may fetch it.
    assert_eq!(other.get(&format!("file/{download}")).status, 404);
    assert_eq!(
        get(&format!("{}file/{download}", fake.url()), None).status,
        401
    );

    let page = fake.dir.join("evil.html");
    std::fs::write(&page, "<script>alert(1)</script>").unwrap();
    let offer = FileOffer {
        path: page,
        name: "evil.html".into(),
        mime: "text/html".into(),
    };
    let download = fake.server.offer_file(&id, offer).unwrap();
    let r = visitor.get(&format!("file/{download}"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
}

#[test]
fn parts_left_by_an_earlier_run_are_swept_at_start() {
    let dir = TempDir::new("web-spool");
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("web-0123.part"), b"stale").unwrap();
    std::fs::write(spool.join("keep.txt"), b"not ours").unwrap();
    let config = lanchat::web::WebConfig::new("127.0.0.1:0".parse().unwrap(), "h", spool.clone());
    let (tx, _rx) = crossbeam_channel::bounded(1);
    let _server = lanchat::web::WebServer::spawn(config, tx).unwrap();
    assert!(!spool.join("web-0123.part").exists());
    assert!(spool.join("keep.txt").exists());
}

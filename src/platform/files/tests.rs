//! Every way of the no-replace rename, on this system: each either renames, says the
//! name is taken (changing nothing), or says it does not work here.

use std::fs;
use std::path::PathBuf;

use super::*;

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("lanchat-files-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const ALL: [NoReplace; 3] = [NoReplace::Renameat2, NoReplace::Link, NoReplace::Claim];

#[test]
fn each_way_renames_and_never_replaces() {
    for way in ALL {
        let dir = Scratch::new();
        let (part, taken, free) = (
            dir.0.join("a.part"),
            dir.0.join("a.txt"),
            dir.0.join("a (1).txt"),
        );
        fs::write(&part, b"new").expect("part");
        fs::write(&taken, b"old").expect("existing file");
        match way.rename(&part, &taken) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                assert!(!cfg!(target_os = "linux") || way != NoReplace::Renameat2);
                continue;
            }
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{way:?}: {e}"),
            Ok(()) => panic!("{way:?} replaced a file"),
        }
        assert_eq!(fs::read(&taken).expect("old"), b"old", "{way:?}");
        assert_eq!(fs::read(&part).expect("part"), b"new", "{way:?}");
        way.rename(&part, &free).expect("a free name");
        assert_eq!(fs::read(&free).expect("renamed"), b"new", "{way:?}");
        assert!(!part.exists(), "{way:?} left the old name");
        assert_eq!(fs::read_dir(&dir.0).expect("list").count(), 2, "{way:?}");
    }
}

#[test]
fn a_missing_source_leaves_no_claim_behind() {
    for way in ALL {
        let dir = Scratch::new();
        let to = dir.0.join("b.txt");
        let e = way
            .rename(&dir.0.join("gone.part"), &to)
            .expect_err("nothing to rename");
        if e.kind() != io::ErrorKind::Unsupported {
            assert_eq!(e.kind(), io::ErrorKind::NotFound, "{way:?}: {e}");
        }
        assert!(!to.exists(), "{way:?} left {}", to.display());
    }
}

#[test]
fn the_ways_end_with_the_claim_that_works_everywhere() {
    let ways = no_replace_ways();
    assert_eq!(ways.last(), Some(&NoReplace::Claim));
    assert!(ways.contains(&NoReplace::Link));
}

#[test]
fn owner_only_files() {
    let dir = Scratch::new();
    let path = dir.0.join("secret");
    let mut options = File::options();
    options.write(true).create_new(true);
    owner_only(&mut options);
    options.open(&path).expect("create");
    match mode(&path).expect("mode") {
        Some(m) => assert_eq!(m & 0o077, 0, "{m:o}"),
        None => assert!(!set_mode(&path, 0o600).expect("no modes here")),
    }
}

#[test]
fn both_ways_of_sending_a_file_send_it_all() {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};
    let dir = Scratch::new();
    let path = dir.0.join("data");
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    fs::File::create(&path)
        .and_then(|mut f| f.write_all(&data))
        .expect("file");
    for way in [sendfile, copy_file] {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
        let out = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut back, _) = listener.accept().expect("accept");
        let file = File::open(&path).expect("open");
        let mut at = 1000;
        way(&file, &out, &mut at, data.len() as u64 + 10).expect("send");
        assert_eq!(at, data.len() as u64, "stops where the file ends");
        drop(out);
        let mut got = Vec::new();
        back.read_to_end(&mut got).expect("read");
        assert!(got == data[1000..], "the bytes from the offset");
    }
}

//! Promoting a verified `.part` without replacing a file, and reserving its blocks.

use std::fs;

use super::*;

/// Every chain of ways a system may take: Linux's, the others', and a file system with
/// no hard links (FAT, exFAT, SMB), where only the claim is left.
const CHAINS: [&[NoReplace]; 4] = [
    &[NoReplace::Renameat2, NoReplace::Link, NoReplace::Claim],
    &[NoReplace::Link, NoReplace::Claim],
    &[NoReplace::Claim],
    &[],
];

#[test]
fn promote_never_replaces_a_file() {
    for ways in CHAINS {
        let dir = std::env::temp_dir().join(format!("lanchat-promote-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.txt"), b"mine").unwrap();
        fs::write(dir.join("a (1).txt"), b"mine too").unwrap();
        for (i, want) in ["a (2).txt", "a (3).txt"].iter().enumerate() {
            let part = dir.join(format!("p{i}.part"));
            fs::write(&part, format!("new {i}")).unwrap();
            match promote_with(ways, &part, &dir, "a.txt") {
                Ok(path) => assert_eq!(path, dir.join(want), "{ways:?}"),
                Err(e) => {
                    assert!(ways.is_empty(), "{ways:?}: {e}");
                    assert!(e.contains("no way to rename"), "{e}");
                    continue;
                }
            }
            assert!(!part.exists());
        }
        assert_eq!(fs::read(dir.join("a.txt")).unwrap(), b"mine");
        assert_eq!(fs::read(dir.join("a (1).txt")).unwrap(), b"mine too");
        if !ways.is_empty() {
            assert_eq!(fs::read(dir.join("a (3).txt")).unwrap(), b"new 1");
            assert_eq!(fs::read_dir(&dir).unwrap().count(), 4, "no claim left");
        }
        fs::remove_dir_all(dir).unwrap();
    }
}

/// A folder sent as one transfer lands the same way: never onto an existing folder or
/// file, whatever ways the system has (the portable ones claim the name as a folder).
#[test]
fn promote_never_replaces_a_folder() {
    for ways in &CHAINS[..3] {
        let dir = std::env::temp_dir().join(format!("lanchat-promote-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(dir.join("相册")).unwrap();
        fs::write(dir.join("相册").join("mine.jpg"), b"mine").unwrap();
        fs::write(dir.join("相册 (1)"), b"a file of that name").unwrap();
        let part = dir.join("相册.part");
        fs::create_dir_all(part.join("sub")).unwrap();
        fs::write(part.join("sub").join("new.jpg"), b"new").unwrap();
        let path =
            promote_with(ways, &part, &dir, "相册").unwrap_or_else(|e| panic!("{ways:?}: {e}"));
        assert_eq!(path, dir.join("相册 (2)"), "{ways:?}");
        assert!(!part.exists());
        assert_eq!(fs::read(path.join("sub").join("new.jpg")).unwrap(), b"new");
        assert_eq!(
            fs::read(dir.join("相册").join("mine.jpg")).unwrap(),
            b"mine"
        );
        assert_eq!(
            fs::read(dir.join("相册 (1)")).unwrap(),
            b"a file of that name"
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 3, "no claim left");
        fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn promote_takes_this_systems_ways() {
    let dir = std::env::temp_dir().join(format!("lanchat-promote-{}", uuid::Uuid::new_v4()));
    fs::create_dir_all(&dir).unwrap();
    let part = dir.join("x.part");
    fs::write(&part, b"x").unwrap();
    assert_eq!(promote(&part, &dir, "x").unwrap(), dir.join("x"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn reserving_blocks_keeps_the_length_that_resume_relies_on() {
    let dir = std::env::temp_dir().join(format!("lanchat-reserve-{}", uuid::Uuid::new_v4()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.part");
    fs::write(&path, b"0123").unwrap();
    let file = File::options().read(true).write(true).open(&path).unwrap();
    reserve(&file, 4, 8 << 20).unwrap();
    reserve(&file, 4, 0).unwrap();
    // The length is still "bytes received": the offset a resume asks for.
    assert_eq!(file.metadata().unwrap().len(), 4);
    assert_eq!(fs::read(&path).unwrap(), b"0123");
    fs::remove_dir_all(dir).unwrap();
}

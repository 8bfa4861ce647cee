//! Promoting a verified `.part` without replacing a file, and reserving its blocks.

use super::*;

#[test]
fn promote_never_replaces_a_file() {
    let dir = std::env::temp_dir().join(format!("lanchat-promote-{}", uuid::Uuid::new_v4()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("a.txt"), b"mine").unwrap();
    fs::write(dir.join("a (1).txt"), b"mine too").unwrap();
    for (i, want) in ["a (2).txt", "a (3).txt"].iter().enumerate() {
        let part = dir.join(format!("p{i}.part"));
        fs::write(&part, format!("new {i}")).unwrap();
        assert_eq!(promote(&part, &dir, "a.txt").unwrap(), dir.join(want));
        assert!(!part.exists());
    }
    assert_eq!(fs::read(dir.join("a.txt")).unwrap(), b"mine");
    assert_eq!(fs::read(dir.join("a (1).txt")).unwrap(), b"mine too");
    assert_eq!(fs::read(dir.join("a (3).txt")).unwrap(), b"new 1");
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

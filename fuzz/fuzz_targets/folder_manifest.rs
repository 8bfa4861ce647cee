//! A folder's manifest as a receiver meets it: the offer's summary and total, then frames
//! from the data connection. `Manifest::push_part` and `Manifest::check` never panic, and
//! what `check` accepts is safe to create: every path is one or more plain components
//! (never empty, `.`, `..`, nor holding a separator or NUL), the entries match the offer
//! in number and bytes, no two collide ignoring case, no file is another entry's folder,
//! and every offset of the stream falls in a file or past the last.
//!
//! Input: 24 bytes (files, folders, total: u64 little-endian), then frames separated by
//! `\n`.
#![no_main]

use std::collections::HashSet;

use lanchat::protocol::folder::{FolderSummary, Manifest, position};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, frames)) = data.split_at_checked(24) else {
        return;
    };
    let word = |i: usize| u64::from_le_bytes(head[i * 8..i * 8 + 8].try_into().unwrap());
    let summary = FolderSummary {
        files: word(0),
        folders: word(1),
    };
    let total = word(2);
    let mut manifest = Manifest::default();
    let mut ended = false;
    for frame in frames.split(|&b| b == b'\n') {
        match manifest.push_part(frame, summary.entries()) {
            Ok(last) => {
                if last {
                    ended = true;
                    break;
                }
            }
            Err(_) => return,
        }
    }
    if !ended {
        return;
    }
    let Ok(safe) = manifest.check(summary, total) else {
        return;
    };
    assert_eq!(safe.len(), manifest.entries.len());
    let mut seen = HashSet::new();
    let mut sizes = Vec::new();
    for e in &safe {
        assert!(!e.parts.is_empty());
        for p in &e.parts {
            assert!(!p.is_empty() && p != "." && p != "..", "{p:?}");
            assert!(!p.contains(['/', '\\', '\0']), "{p:?}");
        }
        assert!(seen.insert(e.shown().to_lowercase()), "{} twice", e.shown());
        sizes.extend(e.size);
    }
    for e in &safe {
        for depth in 1..e.parts.len() {
            let parent = e.parts[..depth].join("/").to_lowercase();
            assert!(
                !safe
                    .iter()
                    .any(|f| f.size.is_some() && f.shown().to_lowercase() == parent),
                "{parent} is a file and a folder"
            );
        }
    }
    assert_eq!(sizes.iter().sum::<u64>(), total);
    for at in [0, total / 2, total.saturating_sub(1), total] {
        let (i, within) = position(&sizes, at);
        assert!(i <= sizes.len());
        if i < sizes.len() {
            assert!(within <= sizes[i]);
        }
    }
});

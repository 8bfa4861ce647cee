//! Folders sent as one transfer: the summary in the offer, the manifest on the data
//! connection, and the checks a receiver makes before anything is created.
//!
//! Pure code. A folder travels as its **manifest** (every folder and file, relative
//! paths with `/` between components, file sizes) followed by the files' bytes in
//! manifest order, as one stream: the transfer's offsets count through the files one
//! after the other, so "where a resume starts" is one number, as for a single file.
//! [`Manifest::check`] turns a manifest from the wire into safe relative paths (each
//! component through [`sanitize::file_name`]) or refuses it with the reason; nothing in
//! this module touches the file system.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::sanitize;

/// Most entries (files and folders) in one folder transfer.
pub const MAX_ENTRIES: u64 = 100_000;

/// Longest relative path in a manifest, in bytes.
pub const MAX_PATH: usize = 1024;

/// Most components (nesting) in one relative path.
pub const MAX_DEPTH: usize = 64;

/// Most manifest entries in one frame (keeps each frame far below the frame limit:
/// 256 entries of at most [`MAX_PATH`] bytes).
pub const ENTRIES_PER_FRAME: usize = 256;

/// What a folder offer says beside its name and total size (`file_offer`'s `folder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderSummary {
    /// Files in the tree (empty ones included).
    pub files: u64,
    /// Folders in the tree below the top one (empty ones included).
    pub folders: u64,
}

impl FolderSummary {
    /// Files and folders together.
    pub fn entries(&self) -> u64 {
        self.files.saturating_add(self.folders)
    }
}

/// One entry of a manifest as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path below the top folder, components separated by `/`.
    pub path: String,
    /// A file's size in bytes; absent for a folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// One frame of a manifest on the data connection: `{"entries":[…],"last":false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPart {
    /// Up to [`ENTRIES_PER_FRAME`] entries.
    pub entries: Vec<Entry>,
    /// Whether this is the manifest's last frame.
    pub last: bool,
}

/// A whole manifest, in the order the files' bytes follow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every folder and file.
    pub entries: Vec<Entry>,
}

/// A checked entry: its safe relative path, one sanitised component at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeEntry {
    /// Safe components (each one path component, never `.` or `..`).
    pub parts: Vec<String>,
    /// A file's size; `None` for a folder.
    pub size: Option<u64>,
}

impl SafeEntry {
    /// The relative path, `/`-joined (for messages).
    pub fn shown(&self) -> String {
        self.parts.join("/")
    }
}

impl Manifest {
    /// The summary an offer of this manifest carries.
    pub fn summary(&self) -> FolderSummary {
        let files = self.entries.iter().filter(|e| e.size.is_some()).count() as u64;
        FolderSummary {
            files,
            folders: self.entries.len() as u64 - files,
        }
    }

    /// The sum of the file sizes (the transfer's size).
    pub fn total(&self) -> u64 {
        self.entries.iter().filter_map(|e| e.size).sum()
    }

    /// The manifest as frames of at most [`ENTRIES_PER_FRAME`] entries (at least one).
    pub fn parts(&self) -> Vec<ManifestPart> {
        let mut parts: Vec<ManifestPart> = self
            .entries
            .chunks(ENTRIES_PER_FRAME)
            .map(|c| ManifestPart {
                entries: c.to_vec(),
                last: false,
            })
            .collect();
        if parts.is_empty() {
            parts.push(ManifestPart {
                entries: Vec::new(),
                last: false,
            });
        }
        if let Some(p) = parts.last_mut() {
            p.last = true;
        }
        parts
    }

    /// Adds one manifest frame from the wire (`body`, a [`ManifestPart`] as JSON) to the
    /// manifest read so far, keeping it within `most` entries (what the offer announced,
    /// at most [`MAX_ENTRIES`]); whether it was the last frame, or why it is refused.
    pub fn push_part(&mut self, body: &[u8], most: u64) -> Result<bool, String> {
        let part: ManifestPart =
            serde_json::from_slice(body).map_err(|e| format!("a bad manifest frame: {e}"))?;
        let most = most.min(MAX_ENTRIES);
        if (self.entries.len() + part.entries.len()) as u64 > most {
            return Err(format!(
                "the manifest lists more than the {most} entries offered"
            ));
        }
        self.entries.extend(part.entries);
        Ok(part.last)
    }

    /// Checks a manifest from the wire against the offer (`summary`, `total` bytes) and
    /// returns its entries with safe paths, or why it is refused: a count or size that
    /// differs from the offer, too many entries, a path too long or too deep, an empty,
    /// `.` or `..` component, a NUL, an absolute path, two entries that are the same
    /// after sanitising or that differ only in case (they would collide on Windows and
    /// macOS), a file that is also a folder's parent.
    pub fn check(&self, summary: FolderSummary, total: u64) -> Result<Vec<SafeEntry>, String> {
        if summary.entries() > MAX_ENTRIES || self.entries.len() as u64 > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        if self.summary() != summary {
            let got = self.summary();
            return Err(format!(
                "the manifest lists {} files and {} folders, the offer said {} and {}",
                got.files, got.folders, summary.files, summary.folders
            ));
        }
        let mut sum: u64 = 0;
        let mut seen: HashSet<String> = HashSet::with_capacity(self.entries.len());
        let mut files: HashSet<String> = HashSet::new();
        let mut safe = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let parts = safe_parts(&e.path)?;
            let key = parts.join("/").to_lowercase();
            if !seen.insert(key.clone()) {
                return Err(format!(
                    "{:?} is listed twice (after making names safe, ignoring case)",
                    e.path
                ));
            }
            if let Some(size) = e.size {
                sum = sum
                    .checked_add(size)
                    .ok_or_else(|| "the sizes add up past 2^64".to_owned())?;
                files.insert(key);
            }
            safe.push(SafeEntry {
                parts,
                size: e.size,
            });
        }
        for e in &safe {
            let mut prefix = String::new();
            for p in &e.parts[..e.parts.len() - 1] {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(&p.to_lowercase());
                if files.contains(&prefix) {
                    return Err(format!("{:?} is a file and a folder", prefix));
                }
            }
        }
        if sum != total {
            return Err(format!(
                "the files add up to {sum} bytes, the offer said {total}"
            ));
        }
        Ok(safe)
    }
}

/// The safe components of one relative path from the wire, or why it is refused.
fn safe_parts(path: &str) -> Result<Vec<String>, String> {
    if path.len() > MAX_PATH {
        return Err(format!(
            "a path of {} bytes (at most {MAX_PATH})",
            path.len()
        ));
    }
    if path.contains('\0') {
        return Err(format!("{path:?} contains a NUL"));
    }
    let drive = path.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && matches!(path.as_bytes().get(1..3), Some([b':', b'/' | b'\\']));
    if path.starts_with('/') || path.starts_with('\\') || drive {
        return Err(format!("{path:?} is absolute"));
    }
    let raw: Vec<&str> = path.split('/').collect();
    if raw.len() > MAX_DEPTH {
        return Err(format!("{path:?} is nested deeper than {MAX_DEPTH}"));
    }
    raw.iter()
        .map(|c| match *c {
            "" => Err(format!("{path:?} has an empty component")),
            "." | ".." => Err(format!("{path:?} has a {c:?} component")),
            c if c.len() > sanitize::MAX_NAME_LEN => Err(format!(
                "{path:?} has a name longer than {} bytes",
                sanitize::MAX_NAME_LEN
            )),
            c => Ok(sanitize::file_name(c)),
        })
        .collect()
}

/// Where offset `at` of the folder's stream falls: the index of the file (in manifest
/// order, counting files only) and the offset within it. An empty file holds the offset
/// it starts at, so a stream resumed there sends it (again). Past the last file:
/// (`sizes.len()`, 0).
pub fn position(sizes: &[u64], at: u64) -> (usize, u64) {
    let mut start = 0u64;
    for (i, size) in sizes.iter().enumerate() {
        if at < start + size || (*size == 0 && at == start) {
            return (i, at - start);
        }
        start += size;
    }
    (sizes.len(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            size: Some(size),
        }
    }

    fn dir(path: &str) -> Entry {
        Entry {
            path: path.into(),
            size: None,
        }
    }

    fn manifest(entries: Vec<Entry>) -> Manifest {
        Manifest { entries }
    }

    #[test]
    fn wire_shape() {
        let part = ManifestPart {
            entries: vec![dir("相册"), file("相册/a.txt", 3)],
            last: true,
        };
        assert_eq!(
            serde_json::to_value(&part).unwrap(),
            json!({"entries":[{"path":"相册"},{"path":"相册/a.txt","size":3}],"last":true})
        );
        let s = FolderSummary {
            files: 2,
            folders: 1,
        };
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            json!({"files":2,"folders":1})
        );
    }

    #[test]
    fn a_good_manifest_is_made_safe() {
        let m = manifest(vec![
            dir("a"),
            dir("a/空"),
            file("a/b:c.txt", 5),
            file("empty", 0),
        ]);
        let safe = m.check(m.summary(), 5).unwrap();
        let shown: Vec<String> = safe.iter().map(SafeEntry::shown).collect();
        assert_eq!(shown, ["a", "a/空", "a/b_c.txt", "empty"]);
        assert_eq!(m.parts().len(), 1);
        assert!(manifest(vec![]).parts()[0].last);
    }

    #[test]
    fn hostile_manifests_are_refused_with_a_reason() {
        let cases: Vec<(Vec<Entry>, &str)> = vec![
            (vec![file("../x", 1)], "\"..\" component"),
            (vec![file("a/./x", 1)], "\".\" component"),
            (vec![file("/home/evil/.bashrc", 1)], "absolute"),
            (vec![file("C:/x", 1)], "absolute"),
            (vec![file("a\0b", 1)], "NUL"),
            (vec![file("a//b", 1)], "empty component"),
            (vec![file(&"x".repeat(MAX_PATH + 1), 1)], "bytes (at most"),
            (vec![file(&"y".repeat(201), 1)], "longer than"),
            (vec![file(&"d/".repeat(MAX_DEPTH), 1)], "deeper"),
            (vec![file("a:b", 1), file("a_b", 0)], "listed twice"),
            (vec![file("Read.me", 1), file("READ.ME", 0)], "listed twice"),
            (vec![file("x", 1), file("x/y", 0)], "a file and a folder"),
        ];
        for (entries, want) in cases {
            let m = manifest(entries);
            let e = m.check(m.summary(), m.total()).unwrap_err();
            assert!(e.contains(want), "{m:?}: {e}");
        }
        let m = manifest(vec![file("a", 1)]);
        let two = FolderSummary {
            files: 2,
            folders: 0,
        };
        assert!(m.check(two, 1).unwrap_err().contains("offer said"));
        assert!(
            m.check(m.summary(), 2)
                .unwrap_err()
                .contains("offer said 2")
        );
        let big = FolderSummary {
            files: MAX_ENTRIES + 1,
            folders: 0,
        };
        assert!(m.check(big, 1).unwrap_err().contains("more than"));
        let m = manifest(vec![file("a", u64::MAX), file("b", 2)]);
        assert!(m.check(m.summary(), 1).unwrap_err().contains("2^64"));
    }

    #[test]
    fn positions_count_through_the_files() {
        let sizes = [3, 0, 5];
        assert_eq!(position(&sizes, 0), (0, 0));
        assert_eq!(position(&sizes, 2), (0, 2));
        assert_eq!(position(&sizes, 3), (1, 0));
        assert_eq!(position(&sizes, 4), (2, 1));
        assert_eq!(position(&sizes, 7), (2, 4));
        assert_eq!(position(&sizes, 8), (3, 0));
        assert_eq!(position(&[0, 0], 0), (0, 0));
        assert_eq!(position(&[2, 0], 2), (1, 0));
    }

    #[test]
    fn manifest_frames_are_read_within_the_offered_count() {
        let m = manifest(vec![dir("a"), file("a/one", 3), file("two", 5)]);
        let frames: Vec<Vec<u8>> = m
            .parts()
            .iter()
            .map(|p| serde_json::to_vec(p).unwrap())
            .collect();
        let mut read = Manifest::default();
        assert_eq!(read.push_part(&frames[0], 3), Ok(true));
        assert_eq!(read, m);

        let mut short = Manifest::default();
        let err = short.push_part(&frames[0], 2).unwrap_err();
        assert!(err.contains("more than the 2 entries"), "{err}");
        let err = short.push_part(b"{\"entries\":7}", 3).unwrap_err();
        assert!(err.starts_with("a bad manifest frame"), "{err}");

        let mut two = Manifest::default();
        let first = json!({"entries": [{"path": "a"}], "last": false}).to_string();
        assert_eq!(two.push_part(first.as_bytes(), u64::MAX), Ok(false));
        assert_eq!(two.entries.len(), 1, "a frame that is not the last is kept");
    }
}

//! The whole-file hash carried by `file_end`: XXH3-128, written `xxh3-128:<32 hex>`.
//!
//! Why XXH3 and not BLAKE3 is measured and argued in `docs/TRANSFERS.md`: in short, the
//! hash travels with the bytes over the same unauthenticated link, so it can only catch
//! accidents (a broken resume, a truncated or corrupted stream, a bad disk), and for that a
//! 128-bit non-cryptographic hash is enough and costs a fraction of BLAKE3 on two cores.
//! The algorithm name is part of the value, so a later version can change it.

use xxhash_rust::xxh3::Xxh3;

/// The algorithm prefix of every hash this version writes.
pub const ALGORITHM: &str = "xxh3-128";

/// A streaming hash over a whole file.
#[derive(Clone, Default)]
pub struct FileHasher(Xxh3);

impl FileHasher {
    /// A hasher over nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest as it goes on the wire: `xxh3-128:<32 lowercase hex digits>`.
    pub fn finish(&self) -> String {
        format!("{ALGORITHM}:{:032x}", self.0.digest128())
    }
}

impl std::fmt::Debug for FileHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileHasher(xxh3-128)")
    }
}

/// A stable 32-hex-digit id for a transfer, from the parts that identify it (sender,
/// receiver, path, size, modification time): a restarted sender offering the same file
/// again gets the same id, so the receiver can resume its `.part`.
pub fn transfer_id(parts: &[&[u8]]) -> String {
    let mut h = Xxh3::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    format!("{:032x}", h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_streaming_and_prefixed() {
        let mut whole = FileHasher::new();
        whole.update(b"hello world");
        let mut split = FileHasher::new();
        split.update(b"hello");
        split.update(b"");
        split.update(b" world");
        assert_eq!(whole.finish(), split.finish());
        assert!(whole.finish().starts_with("xxh3-128:"));
        assert_eq!(whole.finish().len(), "xxh3-128:".len() + 32);
        assert_ne!(FileHasher::new().finish(), whole.finish());
    }

    #[test]
    fn transfer_ids_are_stable_and_unambiguous() {
        let a = transfer_id(&[b"me", b"you", b"/x", &5u64.to_le_bytes()]);
        assert_eq!(a, transfer_id(&[b"me", b"you", b"/x", &5u64.to_le_bytes()]));
        assert_eq!(a.len(), 32);
        // Length prefixes: moving a byte between parts changes the id.
        assert_ne!(transfer_id(&[b"ab", b"c"]), transfer_id(&[b"a", b"bc"]));
    }
}

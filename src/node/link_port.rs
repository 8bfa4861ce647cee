//! The link port kept from one run to the next: with no `--port`, a node binds the port
//! it had last time if it is free, so peers and rooms that remember where it was (a
//! member on another subnet that never saw its beacons) reach it again after a restart
//! (see docs/PROTOCOL.md, rooms: addresses).
//!
//! It owns one small file in the data directory (`link-port`); it must not bind
//! anything: the caller binds, and falls back to any free port.

use std::io::Read;
use std::path::Path;

/// The file, in the data directory.
const FILE: &str = "link-port";

/// The link port of last time in `data_dir`, if one was written and reads as a port.
pub fn last(data_dir: &Path) -> Option<u16> {
    let mut text = String::new();
    std::fs::File::open(data_dir.join(FILE))
        .ok()?
        .take(16)
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok().filter(|p| *p != 0)
}

/// Writes `port` as the one to try next time. A failure is logged: it is only a hint.
pub fn remember(data_dir: &Path, port: u16) {
    let path = data_dir.join(FILE);
    if let Err(e) = std::fs::write(&path, format!("{port}\n")) {
        tracing::warn!("cannot write {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_written_is_read_back_and_anything_else_is_none() {
        let dir = std::env::temp_dir().join(format!("lanchat-link-port-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(last(&dir), None, "nothing written yet");
        remember(&dir, 47_475);
        assert_eq!(last(&dir), Some(47_475));
        for junk in ["0", "65536", "-1", "port", "", "474750000000000000000000"] {
            std::fs::write(dir.join(FILE), junk).unwrap();
            assert_eq!(last(&dir), None, "{junk:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! What a visitor's page has been shown, as server-sent events with a cursor.
//!
//! Each visitor has a bounded [`Log`] of [`PageEvent`]s, numbered from 1, kept already
//! written as SSE frames (`id: N`, `data: {json}`), so a reload or a reconnect replays
//! everything after its cursor and live streams get the same bytes. Pure: no I/O.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::Serialize;

use super::api::TransferState;

/// Most events kept per visitor.
pub const MAX_EVENTS: usize = 2000;

/// Most bytes of events kept per visitor.
pub const MAX_LOG_BYTES: usize = 4 << 20;

/// Who wrote a message, as the page sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The host.
    Host,
    /// The visitor (this page).
    Me,
}

/// One thing the page shows, as JSON in an SSE frame's `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PageEvent<'a> {
    /// A message in the conversation.
    Message {
        /// Who wrote it.
        from: Author,
        /// The host's id (host messages) or the page's id (the visitor's).
        id: &'a str,
        /// The text.
        text: &'a str,
        /// Milliseconds since the Unix epoch (0 when the host gave none).
        time_ms: u64,
    },
    /// The host has the visitor's message.
    Delivered {
        /// The page's id for it.
        id: &'a str,
    },
    /// The host offers a file: the page shows a link (and a picture inline).
    File {
        /// Fetched at `file/{id}`.
        id: &'a str,
        /// Its name.
        name: &'a str,
        /// Its size in bytes.
        size: u64,
        /// Its media type.
        mime: &'a str,
        /// Whether the page shows it as a picture.
        picture: bool,
    },
    /// The visitor's upload arrived and waits for the host.
    Upload {
        /// Its id.
        id: &'a str,
        /// Its name as the host will see it.
        name: &'a str,
        /// Its size in bytes.
        size: u64,
    },
    /// A transfer changed state.
    Transfer {
        /// The upload's or download's id.
        id: &'a str,
        /// Its state.
        state: TransferState,
    },
    /// The host's name changed (live only, not kept).
    Host {
        /// The new name.
        name: &'a str,
    },
}

impl PageEvent<'_> {
    /// The event as an SSE frame with cursor `seq` (0: no `id:` line, not replayable).
    pub fn frame(&self, seq: u64) -> Bytes {
        // Serialising plain strings and numbers cannot fail; JSON escapes newlines, so
        // the data fits one `data:` line.
        let json = serde_json::to_string(self).unwrap_or_default();
        let frame = if seq == 0 {
            format!("data: {json}\n\n")
        } else {
            format!("id: {seq}\ndata: {json}\n\n")
        };
        Bytes::from(frame)
    }
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    frame: Bytes,
    /// The host's message id, for `Seen`.
    host_msg: Option<String>,
}

/// A visitor's numbered events, oldest dropped first past [`MAX_EVENTS`] or
/// [`MAX_LOG_BYTES`].
#[derive(Debug, Default)]
pub struct Log {
    entries: VecDeque<Entry>,
    last: u64,
    bytes: usize,
}

impl Log {
    /// Appends an event; returns its cursor and frame.
    pub fn push(&mut self, event: &PageEvent<'_>) -> (u64, Bytes) {
        self.last += 1;
        let frame = event.frame(self.last);
        let host_msg = match event {
            PageEvent::Message {
                from: Author::Host,
                id,
                ..
            } => Some((*id).to_owned()),
            _ => None,
        };
        self.bytes += frame.len();
        self.entries.push_back(Entry {
            seq: self.last,
            frame: frame.clone(),
            host_msg,
        });
        while self.entries.len() > MAX_EVENTS || self.bytes > MAX_LOG_BYTES {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.frame.len();
        }
        (self.last, frame)
    }

    /// The cursor of the newest event (0 when none).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Every kept frame after cursor `after`, joined.
    pub fn replay(&self, after: u64) -> Bytes {
        let mut out = Vec::new();
        for entry in self.entries.iter().filter(|e| e.seq > after) {
            out.extend_from_slice(&entry.frame);
        }
        Bytes::from(out)
    }

    /// The host's message ids with cursors in `(from, upto]`, oldest first.
    pub fn host_messages(&self, from: u64, upto: u64) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.seq > from && e.seq <= upto)
            .filter_map(|e| e.host_msg.clone())
            .collect()
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(frame: &Bytes) -> serde_json::Value {
        let text = std::str::from_utf8(frame).unwrap();
        let line = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn wire_shapes_are_pinned() {
        let msg = PageEvent::Message {
            from: Author::Host,
            id: "m1",
            text: "你好\nworld",
            time_ms: 5,
        };
        let frame = msg.frame(3);
        assert!(frame.starts_with(b"id: 3\ndata: {"));
        assert!(frame.ends_with(b"}\n\n"));
        assert_eq!(
            data(&frame),
            json!({"kind":"message","from":"host","id":"m1","text":"你好\nworld","time_ms":5})
        );
        let file = PageEvent::File {
            id: "d",
            name: "照片.png",
            size: 7,
            mime: "image/png",
            picture: true,
        };
        assert_eq!(
            data(&file.frame(1)),
            json!({"kind":"file","id":"d","name":"照片.png","size":7,"mime":"image/png","picture":true})
        );
        let state = PageEvent::Transfer {
            id: "u",
            state: TransferState::Accepted,
        };
        assert_eq!(
            data(&state.frame(0)),
            json!({"kind":"transfer","id":"u","state":"accepted"})
        );
        assert!(!state.frame(0).starts_with(b"id:"));
    }

    #[test]
    fn replay_starts_after_the_cursor_and_seen_names_host_messages() {
        let mut log = Log::default();
        for (i, from) in [Author::Host, Author::Me, Author::Host]
            .into_iter()
            .enumerate()
        {
            let id = format!("m{i}");
            log.push(&PageEvent::Message {
                from,
                id: &id,
                text: "x",
                time_ms: 0,
            });
        }
        assert_eq!(log.last(), 3);
        let all = log.replay(0);
        assert_eq!(
            std::str::from_utf8(&all).unwrap().matches("id: ").count(),
            3
        );
        let tail = log.replay(2);
        assert!(tail.starts_with(b"id: 3\n"));
        assert!(log.replay(3).is_empty());
        assert_eq!(log.host_messages(0, 3), ["m0", "m2"]);
        assert_eq!(log.host_messages(1, 2), Vec::<String>::new());
    }

    #[test]
    fn the_log_is_bounded_in_count_and_bytes() {
        let mut log = Log::default();
        for _ in 0..MAX_EVENTS + 10 {
            log.push(&PageEvent::Delivered { id: "a" });
        }
        assert_eq!(
            log.replay(0).iter().filter(|&&b| b == b'\n').count(),
            3 * MAX_EVENTS
        );
        let big = "x".repeat(64 << 10);
        for _ in 0..(MAX_LOG_BYTES / big.len()) * 2 {
            log.push(&PageEvent::Message {
                from: Author::Me,
                id: "b",
                text: &big,
                time_ms: 0,
            });
        }
        assert!(log.bytes() <= MAX_LOG_BYTES);
        assert!(log.replay(0).len() <= MAX_LOG_BYTES);
    }
}

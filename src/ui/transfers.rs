//! File transfers as the window sees them: one [`FileTransfer`] per transfer id, folded
//! from the core's transfer events, with the figures a progress card shows (fraction,
//! rate, time left), and whether Retry makes sense. No egui here.

use std::time::Instant;

use super::state::ChatState;
use crate::node::Event;

/// Where a transfer stands.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferStage {
    /// Offered; waiting for the receiver to accept or decline.
    Offered,
    /// Bytes are moving.
    Moving {
        /// Bytes on the receiver's disk so far (resumed ones included).
        bytes: u64,
        /// When the bytes started moving, and how many were there then: the rate is
        /// measured from there, so a resume does not look impossibly fast.
        since: Instant,
        /// Bytes at `since`.
        from: u64,
    },
    /// The hash matched; the file is at `path` (ours: the original).
    Done {
        /// Where the file is.
        path: String,
    },
    /// The stream broke and a retry is pending: not a failure yet.
    Interrupted {
        /// What broke, in words.
        reason: String,
        /// Ours: the core offers it again by itself. Theirs: we wait for the sender.
        automatic: bool,
        /// Which automatic retry comes next (0 on the receiving side).
        attempt: u32,
    },
    /// Being tried again: the offer goes out again, or the sender was asked to.
    Retrying,
    /// Declined, cancelled, broken or corrupted.
    Failed {
        /// What happened, in words.
        reason: String,
        /// Whether Retry makes sense (the core says; never read from the words).
        retry: bool,
    },
}

/// One file offered to or by a peer.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTransfer {
    /// Transfer id from the core.
    pub id: String,
    /// The other peer's id.
    pub peer: String,
    /// Whether we send it.
    pub mine: bool,
    /// File name (already made safe by the core).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub mime: String,
    /// Where it stands.
    pub stage: TransferStage,
    /// A folder sent as one transfer: its counts (`name` is the folder's, `size` the
    /// sum of its files).
    pub folder: Option<FolderCount>,
}

/// What a folder's card counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderCount {
    /// Files in the folder.
    pub files: u64,
    /// Folders below it.
    pub folders: u64,
    /// Files done so far.
    pub done: u64,
}

impl FolderCount {
    /// The counts of an offer's summary, none done.
    pub fn of(summary: crate::protocol::folder::FolderSummary) -> Self {
        FolderCount {
            files: summary.files,
            folders: summary.folders,
            done: 0,
        }
    }
}

impl FileTransfer {
    /// A new offer, ours or theirs.
    pub fn offered(
        id: String,
        peer: String,
        mine: bool,
        name: String,
        size: u64,
        mime: String,
    ) -> Self {
        FileTransfer {
            id,
            peer,
            mine,
            name,
            size,
            mime,
            stage: TransferStage::Offered,
            folder: None,
        }
    }

    /// The same, for a folder with these counts (none: a file).
    pub fn with_folder(mut self, summary: Option<crate::protocol::folder::FolderSummary>) -> Self {
        self.folder = summary.map(FolderCount::of);
        self
    }

    /// Bytes started moving from `offset`.
    pub fn started(&mut self, offset: u64, now: Instant) {
        self.stage = TransferStage::Moving {
            bytes: offset,
            since: now,
            from: offset,
        };
    }

    /// Progress report.
    pub fn progress(&mut self, bytes: u64, now: Instant) {
        match &mut self.stage {
            TransferStage::Moving { bytes: b, .. } => *b = bytes,
            _ => self.started(bytes, now),
        }
    }

    /// Whether this is a folder sent as one transfer.
    pub fn is_folder(&self) -> bool {
        self.folder.is_some() || self.mime == crate::protocol::mime::FOLDER
    }

    /// Share done, 0.0..=1.0 (an empty file is done at once).
    pub fn fraction(&self) -> f32 {
        match &self.stage {
            TransferStage::Moving { bytes, .. } if self.size > 0 => {
                (*bytes as f64 / self.size as f64).clamp(0.0, 1.0) as f32
            }
            TransferStage::Done { .. } => 1.0,
            _ => 0.0,
        }
    }

    /// Bytes per second and seconds left, once there is something to measure.
    pub fn rate_and_eta(&self, now: Instant) -> Option<(f64, f64)> {
        let TransferStage::Moving { bytes, since, from } = &self.stage else {
            return None;
        };
        let secs = now.saturating_duration_since(*since).as_secs_f64();
        let moved = bytes.saturating_sub(*from) as f64;
        if secs < 0.2 || moved <= 0.0 {
            return None;
        }
        let rate = moved / secs;
        Some((rate, self.size.saturating_sub(*bytes) as f64 / rate))
    }

    /// Whether Retry makes sense: interrupted, or failed in a way the core says a retry
    /// may mend (not someone's decision, declined or cancelled, which it would undo).
    pub fn can_retry(&self) -> bool {
        match &self.stage {
            TransferStage::Interrupted { .. } => true,
            TransferStage::Failed { retry, .. } => *retry,
            _ => false,
        }
    }

    /// Whether the window can show it as a picture.
    pub fn is_picture(&self) -> bool {
        matches!(
            self.mime.as_str(),
            "image/png" | "image/jpeg" | "image/gif" | "image/webp"
        )
    }
}

impl ChatState {
    /// Folds the events only file cards care about: a transfer interrupted or being
    /// retried. Others are ignored.
    pub(super) fn apply_transfer(&mut self, event: Event) {
        match event {
            Event::TransferInterrupted {
                transfer_id,
                reason,
                attempt,
                retry_in_ms,
            } => {
                if let Some(t) = self.transfers.get_mut(transfer_id.as_str()) {
                    t.stage = TransferStage::Interrupted {
                        reason,
                        automatic: retry_in_ms.is_some(),
                        attempt,
                    };
                }
            }
            Event::TransferRetrying { transfer_id, .. } => {
                if let Some(t) = self.transfers.get_mut(transfer_id.as_str()) {
                    t.stage = TransferStage::Retrying;
                }
            }
            _ => {}
        }
    }

    /// A transfer offered again (a resume) is the card already shown, not a new one:
    /// `true` if it was known and unfinished (its card goes back to waiting if it had
    /// stopped). The same file sent again after it arrived is a new card.
    pub(super) fn offered_again(&mut self, transfer_id: &str) -> bool {
        let Some(t) = self
            .transfers
            .get_mut(transfer_id)
            .filter(|t| !matches!(t.stage, TransferStage::Done { .. }))
        else {
            return false;
        };
        if matches!(
            t.stage,
            TransferStage::Failed { .. } | TransferStage::Interrupted { .. }
        ) {
            t.stage = TransferStage::Retrying;
        }
        true
    }
}

/// `1.5 MB`, `999 B`: sizes as people read them (powers of 1000, like file managers).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// `42 s`, `3 min`, `2 h`: a time left, roughly.
pub fn human_eta(secs: f64) -> String {
    if secs < 60.0 {
        format!("{:.0} s", secs.max(1.0))
    } else if secs < 3600.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500), "1.5 kB");
        assert_eq!(human_size(10_000_000), "10 MB");
        assert_eq!(human_size(1_073_741_824), "1.1 GB");
    }

    #[test]
    fn progress_rate_and_time_left_count_from_the_resume_point() {
        let t0 = Instant::now();
        let mut t = FileTransfer::offered(
            "t".into(),
            "p".into(),
            false,
            "a.bin".into(),
            1000,
            "application/octet-stream".into(),
        );
        assert_eq!(t.fraction(), 0.0);
        t.started(400, t0);
        assert!(t.rate_and_eta(t0).is_none(), "nothing measured yet");
        t.progress(600, t0 + Duration::from_secs(1));
        assert_eq!(t.fraction(), 0.6);
        let (rate, eta) = t.rate_and_eta(t0 + Duration::from_secs(1)).unwrap();
        assert_eq!((rate, eta), (200.0, 2.0));
        t.stage = TransferStage::Done { path: "/x".into() };
        assert_eq!(t.fraction(), 1.0);
        assert_eq!(human_eta(2.0), "2 s");
        assert_eq!(human_eta(150.0), "2 min");
    }

    #[test]
    fn retry_is_offered_after_a_break_not_after_a_decision() {
        let mut t = FileTransfer::offered(
            "t".into(),
            "p".into(),
            true,
            "a.bin".into(),
            9,
            "application/octet-stream".into(),
        );
        assert!(!t.can_retry(), "offered");
        t.stage = TransferStage::Interrupted {
            reason: "stream ended".into(),
            automatic: true,
            attempt: 1,
        };
        assert!(t.can_retry());
        use crate::node::{Party, TransferEnd};
        let cancelled = |by| TransferEnd::Cancelled {
            by,
            said: "cancelled".into(),
        };
        for (end, retry) in [
            (
                TransferEnd::GaveUp {
                    tries: 8,
                    last: "the receiver closed the connection".into(),
                },
                true,
            ),
            (
                TransferEnd::Declined {
                    by: Party::Receiver,
                    code: crate::protocol::DeclineCode::User,
                    reason: "no thanks".into(),
                },
                false,
            ),
            (cancelled(Party::Us), false),
            (cancelled(Party::Sender), false),
        ] {
            t.stage = TransferStage::Failed {
                reason: end.to_string(),
                retry: end.retry(),
            };
            assert_eq!(t.can_retry(), retry, "{end}");
        }
    }

    #[test]
    fn pictures_are_the_four_inline_types() {
        let mut t = FileTransfer::offered(
            "t".into(),
            "p".into(),
            true,
            "x".into(),
            1,
            "image/png".into(),
        );
        assert!(t.is_picture());
        t.mime = "image/svg+xml".into();
        assert!(!t.is_picture());
    }
}

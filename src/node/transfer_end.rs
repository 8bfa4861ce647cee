//! How a transfer ended without the file, as a type: who declined or cancelled it and
//! why, a hash that did not match, a sender that gave up, a receiver that waited in
//! vain, a file that changed, a local failure. The state history keeps and whether a
//! front end offers Retry come from the variant, never from words; a peer's words
//! (`file_decline`'s and `file_cancel`'s `reason`) are carried along only to be shown.
//!
//! In JSON it is three fields of `transfer_failed`: `reason` (its [`Display`], the words
//! people read), `kind` and `retry`.

use std::fmt;
use std::time::Duration;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::protocol::DeclineCode;
use crate::store::TransferState;

/// Who ended a transfer: us, or the peer in its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// This node (its user, or its own limits).
    Us,
    /// The peer that sends the file.
    Sender,
    /// The peer that receives it.
    Receiver,
}

/// How a transfer ended without the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEnd {
    /// The offer was declined (by us as the receiver, or by the receiver).
    Declined {
        /// Who declined.
        by: Party,
        /// Why, for machines (from the wire when the receiver said).
        code: DeclineCode,
        /// Why, in words (ours, or the receiver's, shown as they came).
        reason: String,
    },
    /// Stopped on purpose before the end.
    Cancelled {
        /// Who stopped it.
        by: Party,
        /// The peer's words, if it was the peer (shown, never interpreted).
        said: String,
    },
    /// The hash over the whole file did not match: the bytes were not kept.
    HashMismatch {
        /// What was compared, or the receiver's words.
        detail: String,
    },
    /// The sender stopped retrying a broken transfer (Retry resumes it).
    GaveUp {
        /// Tries in a row that moved no byte (0: retries are off).
        tries: u32,
        /// How the last one broke.
        last: String,
    },
    /// The receiver waited in vain for the sender: to connect after the accept, or to
    /// offer the transfer again after a break. The bytes received are kept.
    SenderAbsent {
        /// How long it waited.
        waited: Duration,
        /// How the stream had broken, if it had started.
        interrupted: Option<String>,
        /// Bytes kept for a later resume.
        kept: u64,
    },
    /// The file changed since it was offered: it cannot be resumed.
    FileChanged {
        /// How it changed.
        detail: String,
        /// Found when taking the transfer up after a restart.
        after_restart: bool,
    },
    /// Anything else: a local disk or file error, a thread that would not start, a
    /// protocol violation by the peer.
    Failed {
        /// What happened.
        detail: String,
    },
}

impl TransferEnd {
    /// A short stable name (`declined`, `cancelled`, `hash_mismatch`, `gave_up`,
    /// `sender_absent`, `file_changed`, `failed`).
    pub fn kind(&self) -> &'static str {
        match self {
            TransferEnd::Declined { .. } => "declined",
            TransferEnd::Cancelled { .. } => "cancelled",
            TransferEnd::HashMismatch { .. } => "hash_mismatch",
            TransferEnd::GaveUp { .. } => "gave_up",
            TransferEnd::SenderAbsent { .. } => "sender_absent",
            TransferEnd::FileChanged { .. } => "file_changed",
            TransferEnd::Failed { .. } => "failed",
        }
    }

    /// Whether trying again makes sense: not after someone's decision (declined,
    /// cancelled), which a retry would only undo.
    pub fn retry(&self) -> bool {
        !matches!(
            self,
            TransferEnd::Declined { .. } | TransferEnd::Cancelled { .. }
        )
    }

    /// The state history keeps for it.
    pub fn state(&self) -> TransferState {
        match self {
            TransferEnd::Declined { .. } => TransferState::Declined,
            TransferEnd::Cancelled { .. } => TransferState::Cancelled,
            _ => TransferState::Failed,
        }
    }

    /// We declined, for `code`'s reason, in `reason`'s words.
    pub fn declined(code: DeclineCode, reason: impl Into<String>) -> TransferEnd {
        TransferEnd::Declined {
            by: Party::Us,
            code,
            reason: reason.into(),
        }
    }

    /// A local failure.
    pub fn failed(detail: impl Into<String>) -> TransferEnd {
        TransferEnd::Failed {
            detail: detail.into(),
        }
    }
}

impl fmt::Display for TransferEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferEnd::Declined {
                by: Party::Us,
                reason,
                ..
            } => f.write_str(reason),
            TransferEnd::Declined { reason, .. } => write!(f, "declined: {reason}"),
            TransferEnd::Cancelled { by: Party::Us, .. } => f.write_str("cancelled"),
            TransferEnd::Cancelled { by, said } => {
                let who = if *by == Party::Sender {
                    "sender"
                } else {
                    "receiver"
                };
                match said.as_str() {
                    "" => write!(f, "cancelled by the {who}"),
                    said => write!(f, "cancelled by the {who}: {said}"),
                }
            }
            TransferEnd::HashMismatch { detail }
            | TransferEnd::Failed { detail }
            | TransferEnd::FileChanged {
                detail,
                after_restart: false,
            } => f.write_str(detail),
            TransferEnd::FileChanged { detail, .. } => {
                write!(f, "not resumed after a restart: {detail}")
            }
            TransferEnd::GaveUp { tries: 0, last } => f.write_str(last),
            TransferEnd::GaveUp { tries, last } => {
                write!(f, "{last}; gave up after {tries} tries (Retry resumes it)")
            }
            TransferEnd::SenderAbsent {
                waited,
                interrupted,
                kept,
            } => {
                match interrupted {
                    Some(r) => write!(f, "interrupted ({r}); the sender did not offer it again")?,
                    None => f.write_str("the sender did not connect")?,
                }
                write!(f, " within {}", shown(*waited))?;
                if *kept > 0 {
                    write!(
                        f,
                        "; the {kept} bytes received are kept, and Retry or a new offer of \
                         the file resumes it"
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for TransferEnd {
    /// `{"reason", "kind", "retry"}`, flattened into `transfer_failed`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("reason", &self.to_string())?;
        m.serialize_entry("kind", self.kind())?;
        m.serialize_entry("retry", &self.retry())?;
        m.end()
    }
}

/// `120 s`, `300 ms`: a wait as the user reads it.
fn shown(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_what_they_were_and_decisions_offer_no_retry() {
        let cases = [
            (
                TransferEnd::declined(DeclineCode::User, "declined"),
                "declined",
                "declined",
                false,
            ),
            (
                TransferEnd::declined(
                    DeclineCode::TooLarge,
                    "the file is 9 bytes; the limit is 5 bytes",
                ),
                "the file is 9 bytes; the limit is 5 bytes",
                "declined",
                false,
            ),
            (
                TransferEnd::Declined {
                    by: Party::Receiver,
                    code: DeclineCode::TooLarge,
                    reason: "the file is 9 bytes; the limit is 5 bytes".into(),
                },
                "declined: the file is 9 bytes; the limit is 5 bytes",
                "declined",
                false,
            ),
            (
                TransferEnd::Cancelled {
                    by: Party::Us,
                    said: String::new(),
                },
                "cancelled",
                "cancelled",
                false,
            ),
            (
                TransferEnd::Cancelled {
                    by: Party::Sender,
                    said: "cancelled".into(),
                },
                "cancelled by the sender: cancelled",
                "cancelled",
                false,
            ),
            (
                TransferEnd::GaveUp {
                    tries: 8,
                    last: "the receiver closed the connection".into(),
                },
                "the receiver closed the connection; gave up after 8 tries (Retry resumes it)",
                "gave_up",
                true,
            ),
            (
                TransferEnd::SenderAbsent {
                    waited: Duration::from_millis(300),
                    interrupted: None,
                    kept: 0,
                },
                "the sender did not connect within 300 ms",
                "sender_absent",
                true,
            ),
            (
                TransferEnd::SenderAbsent {
                    waited: Duration::from_secs(120),
                    interrupted: Some("stream ended".into()),
                    kept: 40,
                },
                "interrupted (stream ended); the sender did not offer it again within 120 s; \
                 the 40 bytes received are kept, and Retry or a new offer of the file resumes it",
                "sender_absent",
                true,
            ),
            (
                TransferEnd::FileChanged {
                    detail: "a.txt changed since it was offered (11 bytes then, 19 now)".into(),
                    after_restart: true,
                },
                "not resumed after a restart: a.txt changed since it was offered (11 bytes then, 19 now)",
                "file_changed",
                true,
            ),
        ];
        for (end, words, kind, retry) in cases {
            assert_eq!(end.to_string(), words);
            assert_eq!((end.kind(), end.retry()), (kind, retry), "{words}");
        }
    }

    #[test]
    fn a_peers_words_never_decide_the_state() {
        // A receiver that cancels with words that read like a decline is a cancel; one
        // that declines for being too large is a decline: stored so, with no Retry.
        let cancel = TransferEnd::Cancelled {
            by: Party::Receiver,
            said: "declined, no space, gave up".into(),
        };
        assert_eq!(cancel.state(), TransferState::Cancelled);
        let too_large = TransferEnd::Declined {
            by: Party::Receiver,
            code: DeclineCode::TooLarge,
            reason: "hash mismatch".into(),
        };
        assert_eq!(too_large.state(), TransferState::Declined);
        assert!(!too_large.retry());
        let broken = TransferEnd::failed("cancelled, declined");
        assert_eq!(broken.state(), TransferState::Failed);
        assert!(broken.retry());
    }

    #[test]
    fn in_json_it_is_reason_kind_and_retry() {
        let end = TransferEnd::declined(DeclineCode::User, "declined");
        assert_eq!(
            serde_json::to_value(&end).unwrap(),
            serde_json::json!({"reason":"declined","kind":"declined","retry":false})
        );
    }
}

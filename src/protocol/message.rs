//! Messages carried in link frames: JSON objects tagged by `type`.
//!
//! Pure code. Unknown `type`s decode to [`LinkMsg::Unknown`] so a newer peer's extra
//! messages are skipped, not fatal; anything that is not a JSON object of a known shape is
//! a [`MessageError`] and closes the link. A well-formed message whose content the
//! receiver will not take (a chat over [`MAX_TEXT_LEN`]) is *not* a decoding error: the
//! receiver answers it (a permanent `nack`), so one message can never take a link down
//! again and again.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::frame::{self, FrameError};

/// Longest chat text a receiver stores, in bytes; keeps every chat frame far below the
/// frame limit. A longer one is answered with a permanent `nack`.
pub const MAX_TEXT_LEN: usize = 256 * 1024;

/// One message on a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LinkMsg {
    /// First frame each way: who is on the other end.
    Hello {
        /// The sender's stable peer id.
        id: String,
        /// The sender's display name.
        name: String,
        /// Protocol version.
        version: u32,
        /// Random per start, as in beacons: tells a restarted peer's links from stale ones.
        #[serde(default)]
        instance: String,
        /// The sender's link port, so a peer first met through a link can be dialed back.
        #[serde(default)]
        port: u16,
    },
    /// A direct message; answered by [`LinkMsg::Ack`].
    Chat {
        /// Unique id, chosen by the sender; receivers drop duplicates.
        msg_id: String,
        /// Milliseconds since the Unix epoch at the sender.
        sent_at: u64,
        /// The message (for a room change: what it did, in words).
        text: String,
        /// The room it was said in (absent: a direct message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// A signed change of that room, instead of words (`docs/PROTOCOL.md`, "Rooms").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        change: Option<Box<super::room::RoomChange>>,
    },
    /// "I have stored your message": the sender may mark it delivered.
    Ack {
        /// The acknowledged message.
        msg_id: String,
    },
    /// "I did not store your message", the other answer to a chat. Temporary (the
    /// receiver cannot store anything right now: a full disk, a locked database): the
    /// sender sends it again, no sooner than `retry_ms`, and says why it waits.
    /// Permanent (the receiver refuses this message: too long, a bad id): the sender
    /// marks it failed with `reason` and never sends it again; the messages after it go on.
    Nack {
        /// The message not stored.
        msg_id: String,
        /// Whether it will never be taken (else: not now).
        #[serde(default)]
        permanent: bool,
        /// Why, in words, for the sender's user (never interpreted).
        #[serde(default)]
        reason: String,
        /// A temporary nack's suggested wait before the next try, in milliseconds.
        #[serde(default)]
        retry_ms: u64,
    },
    /// "I am still here": sent on a link that carried nothing for one of the sender's
    /// announce intervals, so a peer known only through its link (its beacons do not
    /// reach us) stays online while the link lives. Needs no answer.
    Keepalive {
        /// The sender's announce interval: it is offline after three of these without a
        /// frame or a beacon (0 or absent: the receiver's own interval).
        #[serde(default)]
        interval_ms: u64,
    },
    /// "May I send you this file?" Answered by `file_accept` or `file_decline`.
    FileOffer {
        /// Chosen by the sender; the same file offered again (a resume) keeps its id.
        transfer_id: String,
        /// The file's name as the sender has it: never used as a path by the receiver.
        name: String,
        /// Size in bytes.
        size: u64,
        /// Media type guessed by the sender (`image/png`), for previews.
        mime: String,
        /// Present when the offer is a whole folder (`size` is then the sum of its
        /// files): how many files and folders its manifest will list.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        folder: Option<super::folder::FolderSummary>,
        /// The room it is offered in (`send_file` to a room: one offer per member), absent
        /// for a direct offer. A label only: the receiver shows the file in the room if it
        /// is in that room and the sender is a member of it, else as a direct offer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// "Send it, starting at `offset`" (the bytes already on disk from an earlier try).
    FileAccept {
        /// The offer.
        transfer_id: String,
        /// First byte wanted.
        offset: u64,
    },
    /// "No thanks" (or: no room, too large); the offer is over.
    FileDecline {
        /// The offer.
        transfer_id: String,
        /// Why, in words (shown to the sender's user, never interpreted).
        #[serde(default)]
        reason: String,
        /// Why, for machines (absent from older peers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<DeclineCode>,
    },
    /// Either side stops a transfer (on the link), or the receiver refuses the stream
    /// (on the data connection, after `file_end`).
    FileCancel {
        /// The transfer.
        transfer_id: String,
        /// Why, in words.
        #[serde(default)]
        reason: String,
    },
    /// The receiver asks the sender to offer an interrupted transfer again (its Retry);
    /// answered by a repeated `file_offer`, or `file_cancel` if the sender cannot.
    FileResume {
        /// The transfer.
        transfer_id: String,
    },
    /// First frame of a data connection; `size - offset` raw bytes follow.
    FileData {
        /// The accepted offer.
        transfer_id: String,
        /// Where the raw bytes start in the file.
        offset: u64,
    },
    /// Trailer after the raw bytes: the hash of the whole file, `xxh3-128:<32 hex>`.
    FileEnd {
        /// Algorithm and digest.
        hash: String,
    },
    /// The receiver's answer to `file_end` on the data connection: hash matched, stored.
    FileDone {
        /// The transfer.
        transfer_id: String,
    },
    /// A message type this build does not know; ignored.
    #[serde(other)]
    Unknown,
}

/// Why an offer was declined, for machines: the sender stores and shows a decline by
/// its code, and shows the words beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineCode {
    /// The receiving user said no.
    User,
    /// Over the receiver's size limit.
    TooLarge,
    /// Not enough free space at the receiver.
    NoSpace,
    /// The receiver has too many transfers under way.
    TooMany,
    /// The transfer id is in use by another peer's transfer at the receiver.
    IdInUse,
    /// The receiver could not prepare the file (a folder it cannot write, …).
    Failed,
    /// A code this build does not know (a newer peer's).
    #[serde(other)]
    Other,
}

/// Why a frame body is not a usable message.
#[derive(Debug, Error)]
pub enum MessageError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("bad message: {0}")]
    Json(#[from] serde_json::Error),
}

impl LinkMsg {
    /// Serialises to one whole frame (length prefix included).
    pub fn to_frame(&self) -> Result<Vec<u8>, FrameError> {
        let mut out = frame::start(128);
        serde_json::to_writer(&mut out, self).expect("a message always serialises");
        frame::finish(out)
    }

    /// Serialises to one frame body (no length prefix): what a transport seals.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a message always serialises")
    }

    /// Decodes one frame body.
    pub fn decode(body: &[u8]) -> Result<LinkMsg, MessageError> {
        Ok(serde_json::from_slice(body)?)
    }

    /// The `type` tag, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            LinkMsg::Hello { .. } => "hello",
            LinkMsg::Chat { .. } => "chat",
            LinkMsg::Ack { .. } => "ack",
            LinkMsg::Nack { .. } => "nack",
            LinkMsg::Keepalive { .. } => "keepalive",
            LinkMsg::FileOffer { .. } => "file_offer",
            LinkMsg::FileAccept { .. } => "file_accept",
            LinkMsg::FileDecline { .. } => "file_decline",
            LinkMsg::FileCancel { .. } => "file_cancel",
            LinkMsg::FileResume { .. } => "file_resume",
            LinkMsg::FileData { .. } => "file_data",
            LinkMsg::FileEnd { .. } => "file_end",
            LinkMsg::FileDone { .. } => "file_done",
            LinkMsg::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(m: &LinkMsg) -> serde_json::Value {
        serde_json::to_value(m).unwrap()
    }

    #[test]
    fn hello_shape() {
        let m = LinkMsg::Hello {
            id: "5f0c".into(),
            name: "张三".into(),
            version: 1,
            instance: "a91e".into(),
            port: 47475,
        };
        assert_eq!(
            wire(&m),
            json!({"type":"hello","id":"5f0c","name":"张三","version":1,"instance":"a91e","port":47475})
        );
        // The extra fields are optional for other clients.
        assert_eq!(
            LinkMsg::decode(br#"{"type":"hello","id":"x","name":"y","version":1}"#).unwrap(),
            LinkMsg::Hello {
                id: "x".into(),
                name: "y".into(),
                version: 1,
                instance: String::new(),
                port: 0
            }
        );
    }

    #[test]
    fn keepalive_shape() {
        let m = LinkMsg::Keepalive { interval_ms: 5000 };
        assert_eq!(wire(&m), json!({"type":"keepalive","interval_ms":5000}));
        assert_eq!(
            LinkMsg::decode(br#"{"type":"keepalive"}"#).unwrap(),
            LinkMsg::Keepalive { interval_ms: 0 },
            "the interval is optional"
        );
    }

    #[test]
    fn chat_and_ack_shape() {
        let m = LinkMsg::Chat {
            msg_id: "m1".into(),
            sent_at: 1_700_000_000_000,
            text: "你好 hi".into(),
            room: None,
            change: None,
        };
        assert_eq!(
            wire(&m),
            json!({"type":"chat","msg_id":"m1","sent_at":1_700_000_000_000u64,"text":"你好 hi"})
        );
        assert_eq!(
            wire(&LinkMsg::Ack {
                msg_id: "m1".into()
            }),
            json!({"type":"ack","msg_id":"m1"})
        );
    }

    #[test]
    fn file_message_shapes() {
        let t = || "0123456789abcdef0123456789abcdef".to_owned();
        let cases = [
            (
                LinkMsg::FileOffer {
                    transfer_id: t(),
                    name: "照片.png".into(),
                    size: 5_000_000_000,
                    mime: "image/png".into(),
                    folder: None,
                    room: None,
                },
                json!({"type":"file_offer","transfer_id":t(),"name":"照片.png","size":5_000_000_000u64,"mime":"image/png"}),
            ),
            (
                // Offered in a room: the room rides along; absent above for older peers.
                LinkMsg::FileOffer {
                    transfer_id: t(),
                    name: "plan.pdf".into(),
                    size: 10,
                    mime: "application/pdf".into(),
                    folder: None,
                    room: Some("room-0123456789abcdef0123456789abcdef".into()),
                },
                json!({"type":"file_offer","transfer_id":t(),"name":"plan.pdf","size":10,
                       "mime":"application/pdf","room":"room-0123456789abcdef0123456789abcdef"}),
            ),
            (
                LinkMsg::FileAccept {
                    transfer_id: t(),
                    offset: 7,
                },
                json!({"type":"file_accept","transfer_id":t(),"offset":7}),
            ),
            (
                LinkMsg::FileDecline {
                    transfer_id: t(),
                    reason: "declined".into(),
                    code: None,
                },
                json!({"type":"file_decline","transfer_id":t(),"reason":"declined"}),
            ),
            (
                LinkMsg::FileDecline {
                    transfer_id: t(),
                    reason: "the file is 9 bytes; the limit is 5 bytes".into(),
                    code: Some(DeclineCode::TooLarge),
                },
                json!({"type":"file_decline","transfer_id":t(),
                       "reason":"the file is 9 bytes; the limit is 5 bytes","code":"too_large"}),
            ),
            (
                LinkMsg::FileCancel {
                    transfer_id: t(),
                    reason: "cancelled".into(),
                },
                json!({"type":"file_cancel","transfer_id":t(),"reason":"cancelled"}),
            ),
            (
                LinkMsg::FileResume { transfer_id: t() },
                json!({"type":"file_resume","transfer_id":t()}),
            ),
            (
                LinkMsg::FileData {
                    transfer_id: t(),
                    offset: 0,
                },
                json!({"type":"file_data","transfer_id":t(),"offset":0}),
            ),
            (
                LinkMsg::FileEnd {
                    hash: "xxh3-128:00".into(),
                },
                json!({"type":"file_end","hash":"xxh3-128:00"}),
            ),
            (
                LinkMsg::FileDone { transfer_id: t() },
                json!({"type":"file_done","transfer_id":t()}),
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(wire(&msg), want, "{}", msg.kind());
            assert_eq!(LinkMsg::decode(want.to_string().as_bytes()).unwrap(), msg);
        }
        // `reason` and `code` are optional for other clients; a code from a newer peer
        // is not an error.
        assert_eq!(
            LinkMsg::decode(br#"{"type":"file_decline","transfer_id":"x"}"#).unwrap(),
            LinkMsg::FileDecline {
                transfer_id: "x".into(),
                reason: String::new(),
                code: None,
            }
        );
        assert_eq!(
            LinkMsg::decode(br#"{"type":"file_decline","transfer_id":"x","code":"on_holiday"}"#)
                .unwrap(),
            LinkMsg::FileDecline {
                transfer_id: "x".into(),
                reason: String::new(),
                code: Some(DeclineCode::Other),
            }
        );
    }

    #[test]
    fn frame_round_trip() {
        let m = LinkMsg::Ack { msg_id: "z".into() };
        let f = m.to_frame().unwrap();
        assert_eq!(LinkMsg::decode(&f[4..]).unwrap(), m);
    }

    #[test]
    fn unknown_type_is_skippable() {
        let m = LinkMsg::decode(br#"{"type":"typing","who":"x"}"#).unwrap();
        assert_eq!(m, LinkMsg::Unknown);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for bad in [
            &b"not json"[..],
            b"\xff\xfe\xfd",
            b"[]",
            b"{}",
            br#"{"type":"chat","msg_id":"m"}"#,
            br#"{"type":"ack","msg_id":5}"#,
        ] {
            assert!(
                LinkMsg::decode(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn nack_shapes() {
        let not_now = LinkMsg::Nack {
            msg_id: "m1".into(),
            permanent: false,
            reason: "the disk is full".into(),
            retry_ms: 1000,
        };
        assert_eq!(
            wire(&not_now),
            json!({"type":"nack","msg_id":"m1","permanent":false,
                   "reason":"the disk is full","retry_ms":1000})
        );
        // Only the id is required: a bare nack is a temporary one.
        assert_eq!(
            LinkMsg::decode(br#"{"type":"nack","msg_id":"m1"}"#).unwrap(),
            LinkMsg::Nack {
                msg_id: "m1".into(),
                permanent: false,
                reason: String::new(),
                retry_ms: 0,
            }
        );
    }

    #[test]
    fn long_text_decodes_for_the_receiver_to_refuse() {
        // Refusing it while decoding would close the link, and the sender would send it
        // again on the next one, for ever: the receiver answers it instead.
        let text = "x".repeat(MAX_TEXT_LEN + 1);
        let body = serde_json::to_vec(&LinkMsg::Chat {
            msg_id: "m".into(),
            sent_at: 0,
            text: text.clone(),
            room: None,
            change: None,
        })
        .unwrap();
        assert!(matches!(LinkMsg::decode(&body), Ok(LinkMsg::Chat { text: t, .. }) if t == text));
    }
}

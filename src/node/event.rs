//! What the core tells front ends. The headless front end writes these as JSON lines
//! (`{"event":"message",...}`); the window folds them into its state. Every variant and
//! field is part of the documented contract in `docs/HEADLESS.md`.

use serde::Serialize;

use super::peer::{PeerInfo, Protocol};
use super::rooms::RoomInfo;
use super::status::NetStatus;
use super::transfer_end::TransferEnd;
use crate::config::AutoAccept;
use crate::protocol::{MsgId, PeerId, TransferId};
use crate::store::{MemberDelivery, StoredMessage, Transfer};

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The node is up: who we are and where we listen.
    Ready {
        /// Our peer id (derived from our identity key).
        id: PeerId,
        /// Our key's fingerprint: six groups of five digits, to read aloud (also the
        /// half of every safety code that is ours).
        fingerprint: String,
        /// Our name.
        name: String,
        /// Our host name.
        host: String,
        /// Address the link listener is bound to.
        addr: String,
        /// TCP link port.
        port: u16,
        /// UDP discovery port.
        discovery_port: u16,
        /// Data directory in use.
        data_dir: String,
    },
    /// A peer appeared (first beacon, or back after being offline).
    PeerJoined {
        /// The peer.
        peer: PeerInfo,
    },
    /// A peer went offline.
    PeerLeft {
        /// Its id.
        id: PeerId,
        /// `bye` (it said so; a browser visitor: the page closed, or went quiet) or
        /// `timeout` (unheard for three intervals).
        reason: LeftReason,
        /// Its name, as last known.
        name: String,
        /// How it was known (`lanchat`, `web`).
        protocol: Protocol,
    },
    /// An address was put on the unicast list (`add_peer`, `--peer`, the window): our
    /// presence goes there by unicast every interval. Its state is in `net_status`'s
    /// `unicast`.
    PeerAdded {
        /// The address, normalised (`host:port`).
        addr: String,
    },
    /// An address was taken off the unicast list (`remove_peer`).
    PeerRemoved {
        /// The address, normalised (`host:port`).
        addr: String,
    },
    /// A known online peer changed name, address, port or status, or restarted.
    PeerChanged {
        /// The peer as it is now.
        peer: PeerInfo,
    },
    /// A peer goes by the name of a peer you verified, with another key (a reinstall, or
    /// someone using the name): it is a different peer and is not merged. Said when the
    /// warning first applies (the peer joins or renames, or you verify the other).
    KeyChanged {
        /// The peer with the other key, as it is now (`key_changed_from` set).
        peer: PeerInfo,
        /// The name they share.
        name: String,
        /// The peer you verified under that name.
        verified_peer: PeerId,
    },
    /// Answer to `safety_code`: the code you and the peer compare (read aloud, or scan
    /// the QR code of `LANCHAT-SAFETY:2:<digits>`): the same sixty digits on both sides.
    SafetyCode {
        /// The peer.
        peer: PeerId,
        /// Its name.
        name: String,
        /// Twelve groups of five digits, separated by spaces.
        code: String,
        /// Whether you verified the peer already.
        verified: bool,
    },
    /// Answer to `peers`: every known peer, online first.
    Peers {
        /// The peers.
        peers: Vec<PeerInfo>,
    },
    /// A direct message was accepted and queued. `msg_id` is what the receiver will see.
    Sent {
        /// Message id.
        msg_id: MsgId,
        /// Recipient peer id.
        to: PeerId,
        /// Milliseconds since the Unix epoch.
        sent_at: u64,
        /// The text, for front ends that show their own messages.
        text: String,
    },
    /// The recipient acknowledged a message (a room message: one member did, one
    /// `delivered` per member).
    Delivered {
        /// Message id.
        msg_id: MsgId,
        /// Recipient peer id, or the room id.
        to: PeerId,
        /// For a room message: the member who has it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<PeerId>,
    },
    /// The recipient refused a message for good (too long for it, a field it does not
    /// take): it is not sent again, and the messages after it go on.
    SendFailed {
        /// Message id.
        msg_id: MsgId,
        /// Recipient peer id.
        to: PeerId,
        /// Why, in the recipient's words.
        reason: String,
    },
    /// Messages to a peer wait although they could go: it cannot take them now (its
    /// disk is full, its history is locked) or does not answer. They go again by
    /// themselves, the oldest first; `delivery_resumed` follows when they flow. Said
    /// when it starts and when the reason changes.
    DeliveryWaiting {
        /// The peer.
        to: PeerId,
        /// Why, said of the peer: `cannot save messages right now (the disk is full)`,
        /// `has not answered for 30 s`.
        reason: String,
    },
    /// Messages to a peer flow again after `delivery_waiting`.
    DeliveryResumed {
        /// The peer.
        to: PeerId,
    },
    /// We made a room (`room_create`).
    RoomCreated {
        /// The room.
        room: RoomInfo,
    },
    /// Someone made a room with us in it, or added us to one.
    RoomJoined {
        /// The room.
        room: RoomInfo,
    },
    /// A room we are in changed: members added or gone, a new name.
    RoomChanged {
        /// The room as it is now.
        room: RoomInfo,
        /// Who changed it (a peer id; ours for our own change).
        by: PeerId,
    },
    /// We left a room (`room_leave`): nothing more is sent to us or by us in it.
    RoomLeft {
        /// The room's id.
        room: String,
    },
    /// The answer to `rooms`: the rooms we are in.
    Rooms {
        /// Each room.
        rooms: Vec<RoomInfo>,
    },
    /// A direct or room message arrived (each `msg_id` is reported once).
    Message {
        /// The room it was said in (absent: a direct message to us).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// Sender peer id.
        from: PeerId,
        /// Sender's name at the time.
        from_name: String,
        /// Message id.
        msg_id: MsgId,
        /// The text.
        text: String,
        /// Milliseconds since the Unix epoch at the sender.
        sent_at: u64,
    },
    /// An Everyone message arrived (duplicates dropped).
    Shout {
        /// Sender peer id.
        from: PeerId,
        /// Sender's name.
        from_name: String,
        /// Message id.
        msg_id: MsgId,
        /// The text.
        text: String,
        /// Milliseconds since the Unix epoch at the sender.
        sent_at: u64,
    },
    /// Our Everyone message went out (best effort: no delivery report follows).
    ShoutSent {
        /// Message id.
        msg_id: MsgId,
        /// The text.
        text: String,
        /// Milliseconds since the Unix epoch.
        sent_at: u64,
    },
    /// Our name changed.
    Renamed {
        /// The new name.
        name: String,
    },
    /// Our presence status changed (answer to `set_status`).
    StatusChanged {
        /// The new status.
        status: String,
    },
    /// Answer to `net_status`.
    NetStatus(NetStatus),
    /// Answer to `history`: one page of a conversation, oldest first.
    History {
        /// The conversation: the peer's id (the reference resolved), or `everyone`.
        peer: String,
        /// The messages; empty when there is nothing (more).
        messages: Vec<StoredMessage>,
        /// The files sent and received in the same stretch of the conversation as the
        /// page (see docs/HEADLESS.md), oldest first, each in its last recorded state:
        /// the file cards to show beside the messages.
        transfers: Vec<Transfer>,
        /// For a room: where each member's copy of each of our messages in the page
        /// stands (absent when there is none).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        deliveries: Vec<MemberDelivery>,
        /// The `before` of the request, echoed (absent when it had none).
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<i64>,
        /// The `after` of the request, echoed (absent when it had none).
        #[serde(skip_serializing_if = "Option::is_none")]
        after: Option<i64>,
    },
    /// Answer to `search`: matching messages from every conversation, newest first.
    SearchResults {
        /// The query as asked.
        query: String,
        /// The matches; each names its conversation in `peer`.
        hits: Vec<StoredMessage>,
    },
    /// Answer to `send_file`: the offer is queued for the peer (sent once a link is up).
    /// Also said right after `ready` for each unfinished transfer of the last run that is
    /// offered again.
    OfferSent {
        /// The transfer, named in every later event about it.
        transfer_id: TransferId,
        /// Recipient peer id.
        to: PeerId,
        /// The name the receiver sees.
        name: String,
        /// Size in bytes.
        size: u64,
        /// Media type (`image/png`, ...); pictures can be shown inline.
        /// `inode/directory` for a folder.
        mime: String,
        /// A folder sent as one transfer: its files and folders (`size` is the sum of
        /// the files). Absent for a file.
        #[serde(skip_serializing_if = "Option::is_none")]
        folder: Option<crate::protocol::folder::FolderSummary>,
        /// The room it was offered for (`send_file` to a room: one offer per member; the
        /// member's leave cancels theirs). Absent for a direct send.
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// A peer offers a file: answer with `accept` or `decline` (or it is accepted at once
    /// with `--auto-accept`, or from a verified peer with `set_auto_accept`
    /// `verified`). Nothing is written before that.
    FileOffer {
        /// The transfer.
        transfer_id: TransferId,
        /// Sender peer id.
        from: PeerId,
        /// Whether you verified the sender's key; `false`: a file from a stranger.
        verified: bool,
        /// The file's name, already made safe (no path, no device name).
        name: String,
        /// Size in bytes.
        size: u64,
        /// Media type as the sender guessed it, checked for shape.
        mime: String,
        /// A whole folder (`size` is the sum of its files): how many files and folders
        /// it holds. Absent for a file.
        #[serde(skip_serializing_if = "Option::is_none")]
        folder: Option<crate::protocol::folder::FolderSummary>,
        /// The room it was offered in (the sender sent it to a room we are in, and is a
        /// member of it): show it there. Absent for a direct offer, and for a room we are
        /// not in or the sender is not a member of (then it is a direct offer).
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// The offer was accepted; bytes start moving from `offset` (non-zero: a resume).
    TransferStarted {
        /// The transfer.
        transfer_id: TransferId,
        /// Bytes already on the receiver's disk, not sent again.
        offset: u64,
        /// File size.
        total: u64,
    },
    /// Bytes moved so far (resumed ones included), at most ten times a second.
    TransferProgress {
        /// The transfer.
        transfer_id: TransferId,
        /// Bytes done.
        bytes: u64,
        /// File size.
        total: u64,
        /// A folder: the files done so far (of `folder.files` in the offer).
        #[serde(skip_serializing_if = "Option::is_none")]
        files: Option<u64>,
    },
    /// The receiver checked the hash over the whole file and stored it.
    TransferDone {
        /// The transfer.
        transfer_id: TransferId,
        /// Where the file is: the receiver's new file, or the sender's original.
        path: String,
    },
    /// The transfer ended without the file: declined, cancelled, corrupted, or broken
    /// for good (the sender gave up retrying, the receiver waited in vain). After a break
    /// the receiver keeps the bytes, and `retry` (or offering the file again) resumes.
    /// In JSON: `reason` (in words), `kind` and `retry` (whether Retry makes sense).
    TransferFailed {
        /// The transfer.
        transfer_id: TransferId,
        /// How it ended.
        #[serde(flatten)]
        end: TransferEnd,
    },
    /// The data connection broke (or the sender never connected) and a retry is pending:
    /// not a final failure. On the sender `retry_in_ms` says when it offers the file
    /// again by itself (sooner if a new link to the peer comes up); on the receiver it
    /// is `null`: it keeps the bytes and waits for that offer (see `Config::accept_timeout`).
    TransferInterrupted {
        /// The transfer.
        transfer_id: TransferId,
        /// What broke, in words.
        reason: String,
        /// Sender: which automatic retry comes next (1, 2, …); receiver: 0.
        attempt: u32,
        /// Sender: milliseconds until the offer goes out again; receiver: `null`.
        retry_in_ms: Option<u64>,
    },
    /// An interrupted or failed transfer is being tried again: the sender offers it again
    /// (now, or once the peer is reachable), or the receiver has asked the sender to.
    /// Bytes move again with `transfer_started` (its `offset` is where the resume starts).
    TransferRetrying {
        /// The transfer.
        transfer_id: TransferId,
        /// The automatic retry this is (1, 2, …), or 0 when asked for (`retry`, or the
        /// receiver's Retry arriving at the sender).
        attempt: u32,
    },
    /// Which offers are accepted without asking (answer to `set_auto_accept`).
    AutoAcceptChanged {
        /// `nobody`, `verified` or `everyone`.
        from: AutoAccept,
    },
    /// Received files now land in this folder (answer to `set_download_dir`).
    DownloadDirChanged {
        /// The folder, as the core will use it.
        path: String,
    },
    /// The page for browsers is on (answer to `web_start`, `web_new_link`, or said after
    /// `ready` with `--web-port`): `url` is the whole link a browser opens, token
    /// included; anyone with it can join. Said again with a new link.
    WebReady {
        /// The link to give (the first of `links`).
        url: String,
        /// The link at each address of this machine the server listens on (several
        /// interfaces: one each).
        links: Vec<String>,
        /// The TCP port it listens on.
        port: u16,
    },
    /// The page for browsers is off (answer to `web_stop`): every visitor has left.
    WebStopped,
    /// A command could not be carried out, or input was refused. The node keeps running.
    Error {
        /// What went wrong, in words.
        message: String,
    },
    /// The node has said bye and stopped; no event follows.
    Stopped,
}

/// Why a peer went offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// It sent `bye`.
    Bye,
    /// Unheard for three announce intervals.
    Timeout,
    /// Its link closed without a `bye` and nothing listens at its address any more (the
    /// connection was refused): it crashed, or was killed.
    Gone,
}

impl Event {
    /// An error event.
    pub fn error(message: impl Into<String>) -> Event {
        Event::Error {
            message: message.into(),
        }
    }
}

//! What front ends ask the core to do. The headless front end reads these as JSON lines
//! (`{"cmd":"send",...}`); the window builds them directly. Each variant is part of the
//! documented contract in `docs/HEADLESS.md`.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::AutoAccept;
use crate::protocol::TransferId;

/// Most messages one `history` page or `search` answer carries.
pub const MAX_PAGE: usize = 1000;

fn default_limit() -> usize {
    100
}

/// A request to the core.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// Send a direct message. `to` is a peer id, a name unique among online peers, or a
    /// unique id prefix; or a room id (then each member gets it, and `delivered` comes
    /// once per member). Answered by `sent`, later `delivered`, or `error`.
    Send {
        /// Recipient.
        to: String,
        /// The message.
        text: String,
    },
    /// Make a room of us and `members` (peers as for `send`, each with a known key).
    /// Answered by `room_created`; each member gets `room_joined`.
    RoomCreate {
        /// Its name.
        name: String,
        /// Who is in it besides us.
        members: Vec<String>,
    },
    /// Add people to a room we are in. Answered by `room_changed`; they get
    /// `room_joined`, the others `room_changed`.
    RoomAdd {
        /// The room id.
        room: String,
        /// Who to add (as for `send`).
        members: Vec<String>,
    },
    /// Rename a room we are in. Answered by `room_changed` (everyone in it gets one).
    RoomRename {
        /// The room id.
        room: String,
        /// Its new name.
        name: String,
    },
    /// Leave a room: the others are told, nothing more reaches us from it. Answered by
    /// `room_left`.
    RoomLeave {
        /// The room id.
        room: String,
    },
    /// The rooms we are in. Answered by `rooms`.
    Rooms,
    /// Broadcast one datagram to Everyone (best effort). Answered by `shout_sent` or
    /// `error` (e.g. too long for one datagram).
    Shout {
        /// The message.
        text: String,
    },
    /// List known peers. Answered by `peers`.
    Peers,
    /// Change our display name; announced at once and remembered. Answered by `renamed`.
    Rename {
        /// New name.
        name: String,
    },
    /// Change our presence status (e.g. `online`, `away`, `busy`, or a short phrase);
    /// announced at once, for this run. Answered by `status_changed`.
    SetStatus {
        /// New status.
        status: String,
    },
    /// The safety code for you and a peer (`peer` as for `send`; offline known peers
    /// too): sixty digits, the same on both sides. Answered by `safety_code`, or
    /// `error` (unknown peer, or one with no key).
    SafetyCode {
        /// The peer.
        peer: String,
    },
    /// Mark a peer's key verified (after comparing safety codes). Stored per key.
    /// Answered by `peer_changed` with `verified: true`, or `error`.
    Verify {
        /// The peer.
        peer: String,
    },
    /// Take back a verification. Answered by `peer_changed` with `verified: false`, or
    /// `error`.
    Unverify {
        /// The peer.
        peer: String,
    },
    /// Which file offers are accepted without asking: `nobody`, `verified` (peers whose
    /// key you verified) or `everyone` (what `--auto-accept` sets). For this run: a
    /// front end that keeps a setting sends it at start. Answered by
    /// `auto_accept_changed`.
    SetAutoAccept {
        /// Whose offers.
        from: AutoAccept,
    },
    /// Report interfaces, sockets, links and counters. Answered by `net_status`.
    NetStatus,
    /// Read one page of a conversation from history. `peer` is a peer reference as for
    /// `send` (offline known peers too), or `everyone` for the Everyone room. Answered by
    /// `history` with the `limit` newest messages, or the `limit` newest before row
    /// `before` (to page back: pass the smallest `id` you have), or the `limit` oldest
    /// after row `after` (to page forward from an old message: pass the largest `id` you
    /// have), or by `error`.
    History {
        /// Conversation: a peer, `everyone`, or a room id (also accepted as `with`).
        #[serde(alias = "with")]
        peer: String,
        /// Most messages in the page (at most [`MAX_PAGE`]).
        #[serde(default = "default_limit")]
        limit: usize,
        /// Only messages with a smaller row `id` than this.
        #[serde(default)]
        before: Option<i64>,
        /// Only messages with a larger row `id` than this, oldest first from there. Takes
        /// precedence over `before`.
        #[serde(default)]
        after: Option<i64>,
    },
    /// Full-text search over all history (direct and Everyone), Chinese and English.
    /// Answered by `search_results`, newest first.
    Search {
        /// What the user typed: every word must match; the last Latin word of each is a
        /// prefix.
        query: String,
        /// Most hits (at most [`MAX_PAGE`]).
        #[serde(default = "default_limit")]
        limit: usize,
    },
    /// Offer a file to a peer (`to` as for `send`). Answered by `offer_sent`, then
    /// `transfer_started`, `transfer_progress`, and `transfer_done` or `transfer_failed`;
    /// or `error`. Sending the same unchanged file to the same peer again resumes it.
    SendFile {
        /// Recipient.
        to: String,
        /// The file to send.
        path: PathBuf,
    },
    /// Accept a `file_offer`: the file is written as `<name>.part` in the download folder
    /// and renamed once its hash matches. Answered by `transfer_started` (or
    /// `transfer_failed`, e.g. not enough free space).
    Accept {
        /// From the `file_offer` event.
        transfer_id: TransferId,
    },
    /// Decline a `file_offer`; nothing is written. Answered by `transfer_failed`.
    Decline {
        /// From the `file_offer` event.
        transfer_id: TransferId,
    },
    /// Stop a transfer, ours or theirs, offered or under way; a partial download is
    /// deleted. Answered by `transfer_failed` (reason `cancelled`) on both sides.
    Cancel {
        /// The transfer.
        transfer_id: TransferId,
    },
    /// Try an interrupted or failed transfer again, ours or theirs, from the bytes the
    /// receiver already has. On the sender the offer goes out again at once (or when the
    /// peer is reachable), also for a transfer from an earlier run if the file is
    /// unchanged; on the receiver the sender is asked to offer it again (`file_resume`).
    /// Answered by `transfer_retrying`, then `transfer_started` with the resume
    /// `offset`; or `error` (no such transfer, under way, already delivered, the peer
    /// not connected). A file changed since the offer ends it with `transfer_failed`.
    Retry {
        /// The transfer.
        transfer_id: TransferId,
    },
    /// Received files land in `path` from now on (created if missing; it must be
    /// writable). Transfers already accepted finish where they started. For this run:
    /// a front end that keeps a setting sends it at start. Answered by
    /// `download_dir_changed`, or `error` naming the path.
    SetDownloadDir {
        /// The folder.
        path: PathBuf,
    },
    /// Start the page for browsers on TCP port `port` (0 or absent: any free port), on the
    /// addresses lanchat uses; a running one is restarted (old links stop working).
    /// Answered by `web_ready` with the link, or `error`.
    WebStart {
        /// The TCP port.
        #[serde(default)]
        port: u16,
    },
    /// Stop the page for browsers: every visitor leaves (`peer_left`), their waiting
    /// uploads are deleted. Answered by `web_stopped`.
    WebStop,
    /// A new link for the page for browsers: the old one stops working at once and every
    /// visitor leaves. Answered by `web_ready`, or `error` when it is off.
    WebNewLink,
    /// Reach a peer beyond broadcast (another subnet, behind a router): our presence goes
    /// to `addr` (`HOST[:PORT]`: an IPv4 address or a host name, PORT its discovery
    /// port, ours when left out) by unicast at once and every interval, remembered until
    /// `remove_peer`. Answered by `peer_added`, or `error` naming the address (bad
    /// syntax, port 0, broadcast or multicast, off loopback when confined to it; a name
    /// that does not resolve, once resolving failed).
    AddPeer {
        /// `HOST[:PORT]`.
        addr: String,
    },
    /// Stop reaching `addr` (as given to `add_peer`, or learned: it reached us by
    /// unicast): a `bye` goes there, and its unicast beacons are ignored until it is
    /// added again. Answered by `peer_removed`, or `error`.
    RemovePeer {
        /// `HOST[:PORT]`.
        addr: String,
    },
    /// Say bye to everyone and stop. The last event is `stopped`.
    Quit,
    /// Not a request: a front end's own input error (a bad command line), echoed back as
    /// an `error` event so it takes its place in the event stream. Never parsed.
    #[serde(skip)]
    Error(String),
}

//! `rooms-memory`: what being in many rooms costs a node. One data directory holds 100
//! rooms of 50 members (the node made them: each room's signed `create` is stored the
//! way the core stores its own change, one history row and a room-outbox row per member,
//! every member's copy then acknowledged), another holds nothing but the same kind of
//! identity. Each is started as a `lanchat --headless` child, in turns, in the same run:
//! start → `ready` (the store opened, the rooms loaded), the node's RSS once it answered
//! `rooms` (and its peak), and the store's size on disk. Then one room message to a full
//! room whose members are all away: `send` → `sent` (the history row and a room-outbox
//! row per member in one transaction, queued), beside a direct message to one of them.
//!
//! The members are synthetic (keys made here, never online) and carry no address, so the
//! node dials nobody; everything stays on loopback.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, unbounded};
use serde_json::{Value, json};

use lanchat::node::rooms::Rooms;
use lanchat::protocol::MsgId;
use lanchat::protocol::room::{ChangeOp, Member, new_room_id};
use lanchat::store::{
    Direction, HISTORY_FILE, KnownPeer, MsgState, NewMessage, RoomDelivery, Store,
};
use lanchat::trust::{KeyPair, identity};

use crate::procfs::{Line, Node, run_dir, status_kib, wait_line};
use crate::stats::{Row, median};
use crate::{Report, free_udp_port};

/// How long a node may take to start or answer.
const PATIENCE: Duration = Duration::from_secs(120);
/// Messages timed to the full room (and as many direct ones).
const MESSAGES: usize = 20;

/// The sizes asked for.
pub struct Sizes {
    /// Rooms the node is in.
    pub rooms: usize,
    /// Members of each, the node included.
    pub members: usize,
    /// Distinct synthetic people the rooms are made of.
    pub people: usize,
    /// Starts of each node, timed (after one warm-up start each).
    pub rounds: usize,
}

/// One start of a node, measured.
struct Start {
    ready_ms: f64,
    rss_kib: u64,
    peak_kib: u64,
    rooms: usize,
}

/// Runs the scenario.
pub fn run(s: &Sizes) -> Result<Report> {
    if s.members < 2 || s.people + 1 < s.members {
        bail!("a room needs 2 members or more, and at least members - 1 people");
    }
    let dir = run_dir("rooms-memory")?;
    let (full, empty) = (dir.join("rooms"), dir.join("none"));
    std::fs::create_dir_all(&full)?;
    std::fs::create_dir_all(&empty)?;
    let made = Instant::now();
    let (one_room, someone) = fill(&full, s)?;
    let fill_s = made.elapsed().as_secs_f64();
    identity::load_or_create(&empty).context("the empty node's identity")?;
    Store::open(&empty.join(HISTORY_FILE))?.save_peer(&someone)?;

    let (tx, lines) = unbounded();
    let port = free_udp_port()?;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..=s.rounds {
        let w = start(&full, port, &tx, &lines)?;
        let wo = start(&empty, port, &tx, &lines)?;
        if w.rooms != s.rooms || wo.rooms != 0 {
            bail!("the nodes listed {} and {} rooms", w.rooms, wo.rooms);
        }
        if round > 0 {
            with.push(w);
            without.push(wo);
        }
    }
    // After the nodes opened them (a store's journal is folded in when it closes).
    let (size_full, size_empty) = (store_size(&full)?, store_size(&empty)?);
    let (room_ms, direct_ms) = messages(&full, port, &tx, &lines, &one_room, &someone.id)?;
    let _ = std::fs::remove_dir_all(&dir);

    let med = |v: &[Start], f: fn(&Start) -> f64| median(&mut v.iter().map(f).collect::<Vec<_>>());
    let rss = |v: &[Start]| med(v, |x| x.rss_kib as f64) / 1024.0;
    let peak = |v: &[Start]| med(v, |x| x.peak_kib as f64) / 1024.0;
    let ready = |v: &[Start]| med(v, |x| x.ready_ms);
    let tag = format!("{} rooms of {}", s.rooms, s.members);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let rows = vec![
        Row::vs(
            format!("RSS after start, {tag} vs no rooms (median)"),
            rss(&with),
            rss(&without),
            "MiB",
        ),
        Row::vs(
            format!("peak RSS, {tag} vs no rooms (median)"),
            peak(&with),
            peak(&without),
            "MiB",
        ),
        Row::vs(
            format!("start → ready, {tag} vs no rooms (median)"),
            ready(&with),
            ready(&without),
            "ms",
        ),
        Row::vs(
            format!("store on disk, {tag} vs no rooms"),
            mib(size_full),
            mib(size_empty),
            "MiB",
        ),
        Row::vs(
            format!(
                "room message to {} away members vs a direct one: send → sent (median)",
                s.members - 1
            ),
            room_ms,
            direct_ms,
            "ms",
        ),
    ];
    let details = json!({
        "rooms": s.rooms, "members": s.members, "people": s.people, "rounds": s.rounds,
        "fill_seconds": fill_s,
        "rss_kib": {"rooms": with.iter().map(|x| x.rss_kib).collect::<Vec<_>>(),
                    "none": without.iter().map(|x| x.rss_kib).collect::<Vec<_>>()},
        "peak_kib": {"rooms": with.iter().map(|x| x.peak_kib).collect::<Vec<_>>(),
                     "none": without.iter().map(|x| x.peak_kib).collect::<Vec<_>>()},
        "ready_ms": {"rooms": with.iter().map(|x| x.ready_ms).collect::<Vec<_>>(),
                     "none": without.iter().map(|x| x.ready_ms).collect::<Vec<_>>()},
        "store_bytes": {"rooms": size_full, "none": size_empty},
        "room_message_ms": room_ms, "direct_message_ms": direct_ms,
    });
    Ok(Report {
        scenario: "rooms-memory".to_owned(),
        rows,
        details,
    })
}

/// Makes the node of `dir` (its identity, then its store) a member of `s.rooms` rooms of
/// `s.members`, each made by it through the rooms part and stored as the core stores
/// its own change, every member's copy acknowledged. Returns one room's id and one of
/// its members, whom the node also knows as a peer met before (offline now, so never
/// dialled), for a direct message.
fn fill(dir: &Path, s: &Sizes) -> Result<(String, KnownPeer)> {
    let (keys, _) = identity::load_or_create(dir).context("the node's identity")?;
    let keys = Arc::new(keys);
    let people: Vec<Member> = (0..s.people)
        .map(|i| {
            let k = KeyPair::generate().context("a key")?;
            Ok(Member {
                id: k.peer_id(),
                name: format!("person {i}"),
                key: k.public().to_base64(),
                addr: String::new(),
                port: 0,
            })
        })
        .collect::<Result<_>>()?;
    let me = Member {
        id: keys.peer_id(),
        name: "bench".into(),
        key: keys.public().to_base64(),
        addr: String::new(),
        port: 0,
    };
    let mut rooms = Rooms::new(keys.clone(), Vec::new());
    let mut store = Store::open(&dir.join(HISTORY_FILE)).context("the store")?;
    let mut first = None;
    for r in 0..s.rooms {
        let members = (0..s.members - 1)
            .map(|i| people[(r * 7 + i) % people.len()].clone())
            .collect();
        let name = format!("room {r}");
        let room = rooms
            .create(new_room_id(), &name, me.clone(), members)
            .map_err(anyhow::Error::msg)?;
        let msg_id = MsgId::random();
        let change = Box::new(rooms.change(ChangeOp::Create, &room, &msg_id, 1));
        // As the core keeps its own change: with the marks that order later ones.
        let room = rooms.after_own(&change, room);
        let text = format!("made the room “{name}”");
        let deliveries: Vec<RoomDelivery> = rooms
            .recipients(&room)
            .into_iter()
            .map(|m| RoomDelivery {
                member: m,
                msg_id: msg_id.to_string(),
                room: room.id.clone(),
                sent_at: 1,
                text: text.clone(),
                change: Some(change.clone()),
                sent: true,
            })
            .collect();
        let row = NewMessage {
            peer: &room.id,
            msg_id: &msg_id,
            dir: Direction::Out,
            from: &me.id,
            from_name: &me.name,
            text: &text,
            sent_at: 1,
            state: MsgState::Sent,
        };
        store.send_room(&row, &deliveries, Some(&room))?;
        let acked: Vec<(&str, &str)> = deliveries
            .iter()
            .map(|d| (d.member.as_str(), d.msg_id.as_str()))
            .collect();
        store.mark_delivered_all(&me.id, &acked)?;
        first.get_or_insert_with(|| (room.id.clone(), room.members[1].clone()));
        rooms.commit(room);
    }
    let (room, m) = first.context("no room made")?;
    let someone = KnownPeer {
        id: m.id,
        name: m.name,
        host: "away".into(),
        addr: std::net::Ipv4Addr::LOCALHOST,
        port: 0,
        last_seen: 1,
        key: Some(m.key),
        protocol: "lanchat".into(),
        group: String::new(),
    };
    store.save_peer(&someone)?;
    Ok((room, someone))
}

/// Bytes of the store's files in `dir` (the database and its journal).
fn store_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_name().to_string_lossy().starts_with(HISTORY_FILE) {
            total += e.metadata()?.len();
        }
    }
    Ok(total)
}

/// The headless child on `dir`, started and `ready`; returns it with the time it took.
fn spawn(
    dir: &Path,
    port: u16,
    tx: &crossbeam_channel::Sender<Line>,
    lines: &Receiver<Line>,
) -> Result<(Node, f64)> {
    let args: Vec<String> = ["--bind", "127.0.0.1", "--discovery-port"]
        .map(String::from)
        .into_iter()
        .chain([port.to_string()])
        .collect();
    let t = Instant::now();
    let mut node = Node::spawn(&[], &args, dir, 0, tx)?;
    let (_, at, ready) = wait_line(lines, PATIENCE, "ready", |l| l.2["event"] == "ready")?;
    node.ready(&ready);
    Ok((node, (at - t).as_secs_f64() * 1e3))
}

/// Starts the node of `dir`, asks its rooms, reads its memory, stops it.
fn start(
    dir: &Path,
    port: u16,
    tx: &crossbeam_channel::Sender<Line>,
    lines: &Receiver<Line>,
) -> Result<Start> {
    let (mut node, ready_ms) = spawn(dir, port, tx, lines)?;
    node.send(&json!({"cmd": "rooms"}))?;
    let (_, _, v) = wait_line(lines, PATIENCE, "rooms", |l| l.2["event"] == "rooms")?;
    let rooms = v["rooms"].as_array().map_or(0, Vec::len);
    let rss_kib = status_kib(node.pid(), "VmRSS")?;
    let peak_kib = status_kib(node.pid(), "VmHWM")?;
    node.stop();
    lines.try_iter().for_each(drop);
    Ok(Start {
        ready_ms,
        rss_kib,
        peak_kib,
        rooms,
    })
}

/// Median milliseconds of `send` → `sent` for a message to `room`, and for one to
/// `someone` alone.
fn messages(
    dir: &Path,
    port: u16,
    tx: &crossbeam_channel::Sender<Line>,
    lines: &Receiver<Line>,
    room: &str,
    someone: &str,
) -> Result<(f64, f64)> {
    let (mut node, _) = spawn(dir, port, tx, lines)?;
    let mut one = |to: &str| -> Result<f64> {
        let t = Instant::now();
        node.send(&json!({"cmd": "send", "to": to, "text": "a message of ordinary length"}))?;
        let (_, at, v): (usize, Instant, Value) = wait_line(lines, PATIENCE, "sent", |l| {
            matches!(l.2["event"].as_str(), Some("sent" | "error"))
        })?;
        if v["event"] == "error" {
            bail!("send to {to}: {}", v["message"]);
        }
        Ok((at - t).as_secs_f64() * 1e3)
    };
    let (mut room_ms, mut direct_ms) = (Vec::new(), Vec::new());
    for i in 0..=MESSAGES {
        let r = one(room)?;
        let d = one(someone)?;
        if i > 0 {
            room_ms.push(r);
            direct_ms.push(d);
        }
    }
    node.stop();
    lines.try_iter().for_each(drop);
    Ok((median(&mut room_ms), median(&mut direct_ms)))
}

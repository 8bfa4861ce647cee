//! Raw-socket helpers for the fault and hostile-input tests, speaking protocol v2 by hand:
//! a node under test with its own discovery port, beacons signed with a test key (or
//! made up, for what no key signs) sent to 127.255.255.255, a raw link client that runs
//! the Noise handshake and then speaks just enough sealed frames to chat, and checks that
//! the node closed a connection. Builds on `common` (nodes, temp dirs, deadlines);
//! nothing here sleeps to wait, and nothing leaves loopback.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lanchat::node::{Command, Event, NetStatus};
use lanchat::protocol::frame;
use lanchat::protocol::signed;
use lanchat::protocol::{Beacon, BeaconKind, FrameDecoder, LinkMsg, PROTOCOL_VERSION};
use lanchat::trust::file_stream::{SealedReader, SealedWriter};
use lanchat::trust::frame_io::TcpFrames;
use lanchat::trust::noise::{self, HandshakeError};
use lanchat::trust::{KeyPair, NoiseOpen, NoiseSeal, Open, Seal, identity};
use serde_json::json;
use socket2::{Domain, Protocol, Socket, Type};

use crate::common::{DEADLINE, TempDir, TestNode, free_udp_port};

/// A fresh identity: a made-up peer with a key of its own.
pub fn new_keys() -> KeyPair {
    KeyPair::generate().expect("random bytes")
}

/// The identity of the node whose data directory is `dir` (read from its key file): what
/// a test needs to speak as that node, as only its owner could.
pub fn node_keys(dir: &Path) -> KeyPair {
    identity::load(&dir.join(identity::KEY_FILE)).expect("the node's key file")
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Datagram counters for the signatures made here: one sequence for every key, always
/// rising, so each datagram is new to the node's freshness guard.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A beacon of `keys`' peer (instance `i1`).
pub fn beacon_of(
    keys: &KeyPair,
    kind: BeaconKind,
    name: &str,
    port: u16,
    interval_ms: u64,
) -> Beacon {
    Beacon {
        lanchat: PROTOCOL_VERSION,
        id: keys.peer_id(),
        instance: "i1".into(),
        name: name.into(),
        host: "forged".into(),
        port,
        status: "online".into(),
        interval_ms,
        unicast: None,
        kind,
    }
}

/// `beacon` signed by `keys` as a new datagram, stamped now.
pub fn signed_datagram(keys: &KeyPair, beacon: &Beacon) -> Vec<u8> {
    let ctr = COUNTER.fetch_add(1, Ordering::Relaxed);
    signed::sign(beacon, keys, ctr, now_ms()).expect("fits in a datagram")
}

/// A valid, signed `here` from `keys`' peer announcing `interval_ms` (0 = not said).
pub fn here_beacon(keys: &KeyPair, name: &str, port: u16, interval_ms: u64) -> Vec<u8> {
    signed_datagram(
        keys,
        &beacon_of(keys, BeaconKind::Here, name, port, interval_ms),
    )
}

/// A v2 datagram with the fields given (after `lanchat`, `sig`, `key`, `ctr`, `ts`) and a
/// signature that was never made: for shapes that must be refused before any signature
/// is checked.
pub fn unsigned_v2(keys: &KeyPair, fields: serde_json::Value) -> Vec<u8> {
    let mut obj = json!({"key": keys.public().to_base64(), "ctr": 1, "ts": now_ms()});
    for (k, v) in fields.as_object().expect("an object") {
        obj[k] = v.clone();
    }
    let rest = obj.to_string();
    format!(r#"{{"lanchat":2,"sig":"{}",{}"#, "A".repeat(86), &rest[1..]).into_bytes()
}

/// An in-process node on its own discovery port, with its data directory.
pub struct Subject {
    /// The node.
    pub node: TestNode,
    /// Its discovery port: hostile datagrams go to 127.255.255.255 on it.
    pub discovery_port: u16,
    dir: TempDir,
}

impl Subject {
    /// Starts a loopback node named `tag`.
    pub fn start(tag: &str) -> Subject {
        let dir = TempDir::new(tag);
        let discovery_port = free_udp_port();
        let node = TestNode::start(tag, &dir.0, discovery_port);
        Subject {
            node,
            discovery_port,
            dir,
        }
    }

    /// Its link address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.node.port))
    }

    /// Its own identity (from its data directory).
    pub fn keys(&self) -> KeyPair {
        node_keys(&self.dir.0)
    }

    /// Sends a datagram to its discovery listener.
    pub fn datagram(&self, payload: &[u8]) {
        broadcaster()
            .send_to(payload, loopback_broadcast(self.discovery_port))
            .expect("send a datagram on loopback");
    }

    /// A `net_status` snapshot.
    pub fn status(&mut self) -> NetStatus {
        self.node.send(Command::NetStatus);
        match self
            .node
            .wait("net_status", |e| matches!(e, Event::NetStatus(_)))
        {
            Event::NetStatus(s) => s,
            _ => unreachable!(),
        }
    }

    /// Polls `net_status` until `ok` holds; fails naming `what` after [`DEADLINE`].
    pub fn status_until(&mut self, what: &str, ok: impl Fn(&NetStatus) -> bool) -> NetStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            let s = self.status();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "no {what} within {DEADLINE:?}; counters: {:?}",
                s.counters
            );
            // Between polls, wait on the event channel (any event may be the change).
            self.node
                .wait_for("anything", Duration::from_millis(20), |_| false);
        }
    }
}

/// A UDP socket allowed to send to [`loopback_broadcast`] (loopback only).
pub fn broadcaster() -> UdpSocket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("udp socket");
    s.set_broadcast(true).expect("SO_BROADCAST");
    s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .expect("bind 127.0.0.1:0");
    let s: UdpSocket = s.into();
    lanchat::platform::sock::loopback_reach()
        .prepare_sender(&s)
        .expect("a loopback sender");
    s
}

/// Where a loopback node's discovery listener hears broadcasts: 127.255.255.255 on
/// Linux, the loopback multicast group with the feature `portable` (and elsewhere).
pub fn loopback_broadcast(port: u16) -> SocketAddrV4 {
    lanchat::platform::sock::loopback_reach().target(port)
}

/// A raw link client: the handshake, then hello, chat and ack as sealed frames over a
/// plain `TcpStream` (and raw bytes, for what a real node never sends).
pub struct RawPeer {
    /// The connection.
    pub stream: TcpStream,
    /// Our made-up peer id (our key's).
    pub id: String,
    /// The node's id, as its key proved it in the handshake.
    pub node_id: String,
    seal: NoiseSeal,
    open: NoiseOpen,
    decoder: FrameDecoder,
}

impl RawPeer {
    /// Connects as `keys` and runs the handshake (only `expect` may answer, if given);
    /// says nothing yet.
    pub fn handshake(
        to: SocketAddr,
        keys: &KeyPair,
        expect: Option<&str>,
    ) -> Result<RawPeer, HandshakeError> {
        let stream = TcpStream::connect_timeout(&to, DEADLINE)?;
        let mut io = TcpFrames::new(stream);
        let session = noise::initiate(&mut io, keys, expect, Instant::now() + DEADLINE)?;
        let (stream, rest) = io.into_parts();
        stream.set_read_timeout(Some(DEADLINE))?;
        let mut decoder = FrameDecoder::new();
        decoder.push(&rest);
        Ok(RawPeer {
            stream,
            id: keys.peer_id(),
            node_id: session.remote_id,
            seal: session.seal,
            open: session.open,
            decoder,
        })
    }

    /// Connects as a new peer, runs the handshake and says hello; `None` if the node
    /// closed the connection first (e.g. while its greeting slots were full).
    pub fn try_connect(to: SocketAddr, name: &str) -> Option<RawPeer> {
        RawPeer::try_connect_as(to, &new_keys(), name)
    }

    /// [`RawPeer::try_connect`] as `keys`.
    pub fn try_connect_as(to: SocketAddr, keys: &KeyPair, name: &str) -> Option<RawPeer> {
        let mut peer = RawPeer::handshake(to, keys, None).ok()?;
        let hello = peer.hello(name);
        peer.try_send(&hello).then_some(peer)
    }

    /// Connects as a new peer, runs the handshake and says hello.
    pub fn connect(to: SocketAddr, name: &str) -> RawPeer {
        RawPeer::try_connect(to, name).expect("handshake and hello")
    }

    /// Our hello, as `name`.
    pub fn hello(&self, name: &str) -> LinkMsg {
        LinkMsg::Hello {
            id: self.id.clone(),
            name: name.to_owned(),
            version: PROTOCOL_VERSION,
            instance: "i1".into(),
            port: 0,
        }
    }

    /// Seals `body` as one frame and writes it; `false` if the node is gone.
    pub fn try_send_body(&mut self, body: &[u8]) -> bool {
        let sealed = self.seal.seal(body).expect("fits a frame");
        self.stream
            .write_all(&frame::encode(&sealed).expect("fits a frame"))
            .is_ok()
    }

    /// Seals `body` as one frame and writes it.
    pub fn send_body(&mut self, body: &[u8]) {
        assert!(self.try_send_body(body), "write to the node");
    }

    fn try_send(&mut self, msg: &LinkMsg) -> bool {
        self.try_send_body(&msg.to_body())
    }

    /// Writes one message as a sealed frame.
    pub fn send(&mut self, msg: &LinkMsg) {
        assert!(self.try_send(msg), "write to the node");
    }

    /// Reads the next message; `None` when the node closed the connection.
    pub fn recv(&mut self) -> Option<LinkMsg> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(body) = self.decoder.next_frame().expect("node sends valid frames") {
                let plain = self.open.open(&body).expect("node seals every frame");
                return Some(LinkMsg::decode(&plain).expect("node sends valid messages"));
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => panic!("node said nothing within {DEADLINE:?}"),
                Err(_) => return None, // reset: closed too
            }
        }
    }

    /// Sends a chat and waits for its ack (skipping the node's hello).
    pub fn chat(&mut self, text: &str) {
        assert!(
            self.try_chat(text),
            "the node closed the link instead of acknowledging"
        );
    }

    /// Sends a chat; `true` once it is acknowledged, `false` if the node closed the
    /// connection first (e.g. refused it while its greeting slots were full).
    pub fn try_chat(&mut self, text: &str) -> bool {
        let msg_id = uuid::Uuid::new_v4().simple().to_string();
        let chat = LinkMsg::Chat {
            msg_id: msg_id.clone(),
            sent_at: 1,
            text: text.to_owned(),
            room: None,
            change: None,
        };
        if !self.try_send(&chat) {
            return false;
        }
        loop {
            match self.recv() {
                Some(LinkMsg::Ack { msg_id: acked }) if acked == msg_id => return true,
                Some(_) => {}
                None => return false,
            }
        }
    }

    /// The connection as a file's sealed data stream, from here on.
    pub fn into_file_stream(self) -> (SealedWriter<TcpStream>, SealedReader<Rest>) {
        let mut decoder = self.decoder;
        let rest = decoder.take_pending();
        let reader = self.stream.try_clone().expect("clone the stream");
        (
            SealedWriter::new(self.stream, self.seal),
            SealedReader::new(std::io::Cursor::new(rest).chain(reader), self.open),
        )
    }
}

/// What a raw connection reads after its handshake: the bytes already read, then the
/// socket.
pub type Rest = std::io::Chain<std::io::Cursor<Vec<u8>>, TcpStream>;

/// Whether an I/O error is a read timeout.
pub fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Waits until the node closes `stream` (EOF or reset), discarding whatever it sends;
/// panics if it is still open after `deadline`.
pub fn assert_closed_by_node(stream: &mut TcpStream, deadline: Duration, what: &str) {
    stream
        .set_read_timeout(Some(deadline))
        .expect("read timeout");
    let end = Instant::now() + deadline;
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => panic!("{what}: the node kept the connection open"),
            Err(_) => return,
        }
        assert!(
            Instant::now() < end,
            "{what}: the node kept the connection open"
        );
    }
}

/// Threads of this process with this name (from /proc/self/task/*/comm), to show a
/// storm costs bounded threads. By name, because tests running in parallel in the same
/// process start and stop nodes (and their threads) at any time. `None` where there is no
/// /proc (Windows, macOS): the caller skips that count and keeps its other checks.
pub fn threads_named(name: &str) -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.trim_end() == name)
            .count(),
    )
}

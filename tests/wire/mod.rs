//! Raw-socket helpers for the fault and hostile-input tests: a node under test with its
//! own discovery port, forged beacons sent to 127.255.255.255, a raw link client that
//! speaks just enough of the protocol to chat, and checks that the node closed a
//! connection. Builds on `common` (nodes, temp dirs, deadlines); nothing here sleeps to
//! wait, and nothing leaves loopback.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use lanchat::node::{Command, Event, NetStatus};
use lanchat::protocol::{FrameDecoder, LinkMsg};
use serde_json::json;
use socket2::{Domain, Protocol, Socket, Type};

use crate::common::{DEADLINE, TempDir, TestNode, free_udp_port};

/// A random peer id of the right shape.
pub fn random_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// An in-process node on its own discovery port, with its data directory.
pub struct Subject {
    /// The node.
    pub node: TestNode,
    /// Its discovery port: hostile datagrams go to 127.255.255.255 on it.
    pub discovery_port: u16,
    _dir: TempDir,
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
            _dir: dir,
        }
    }

    /// Its link address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.node.port))
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

/// A valid `here` beacon from a made-up peer announcing `interval_ms` (0 = not said).
pub fn here_beacon(id: &str, name: &str, port: u16, interval_ms: u64) -> Vec<u8> {
    json!({"lanchat":1,"kind":"here","id":id,"instance":"i1","name":name,
           "host":"forged","port":port,"status":"online","interval_ms":interval_ms})
    .to_string()
    .into_bytes()
}

/// A raw link client: speaks hello, chat and ack over a plain `TcpStream`.
pub struct RawPeer {
    /// The connection.
    pub stream: TcpStream,
    /// Our made-up peer id.
    pub id: String,
    decoder: FrameDecoder,
}

impl RawPeer {
    /// Connects and says hello.
    pub fn connect(to: SocketAddr, name: &str) -> RawPeer {
        let stream = TcpStream::connect_timeout(&to, DEADLINE).expect("connect to the node");
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("read timeout");
        let mut peer = RawPeer {
            stream,
            id: random_id(),
            decoder: FrameDecoder::new(),
        };
        let hello = LinkMsg::Hello {
            id: peer.id.clone(),
            name: name.to_owned(),
            version: 1,
            instance: random_id(),
            port: 0,
        };
        peer.send(&hello);
        peer
    }

    /// Writes one message as a frame.
    pub fn send(&mut self, msg: &LinkMsg) {
        self.stream
            .write_all(&msg.to_frame().expect("frame"))
            .expect("write to the node");
    }

    /// Reads the next message; `None` when the node closed the connection.
    pub fn recv(&mut self) -> Option<LinkMsg> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(body) = self.decoder.next_frame().expect("node sends valid frames") {
                return Some(LinkMsg::decode(&body).expect("node sends valid messages"));
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
        let msg_id = random_id();
        let frame = LinkMsg::Chat {
            msg_id: msg_id.clone(),
            sent_at: 1,
            text: text.to_owned(),
        }
        .to_frame()
        .expect("frame");
        if self.stream.write_all(&frame).is_err() {
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
}

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

//! A port that binds nothing and remembers what the core asked of it, and a core built
//! over it: the core's tests run the real parts, store and routing with no socket and no
//! thread, and feed inputs as the I/O threads would.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;

use super::Core;
use crate::config::Config;
use crate::net::WebPort;
use crate::net::interfaces::{InterfaceFilter, NetInterface};
use crate::net::ipmsg::{FetchJob, ServeJob};
use crate::net::link::QueueError;
use crate::net::transfer::{RecvJob, SendJob, StreamId};
use crate::net::{IpmsgStatus, LinkEnds, LinkId, Port, Sockets};
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::fanout::{Origin, Subscriber, SubscriberId};
use crate::node::fanout::{UNBOUNDED, no_waker};
use crate::protocol::{LinkMsg, PeerId};
use crate::web::{DownloadId, FileOffer, UploadId, VisitorId, WebConfig, WebError, WebOutput};

/// Our link port, as the fake says it is bound.
pub const LINK_PORT: u16 = 40_000;

/// Our IPMsg port, as the fake says it is bound.
pub const IPMSG_PORT: u16 = 2425;

/// The test's front end.
pub const ME: Origin = Origin {
    subscriber: SubscriberId(1),
    request_id: None,
};

/// What the core asked for, in order.
#[derive(Debug, Default)]
pub struct FakePort {
    /// Datagrams sent.
    pub datagrams: Vec<(SocketAddrV4, Vec<u8>)>,
    /// Dials started.
    pub dials: Vec<(PeerId, SocketAddr)>,
    /// Links open, by id, with the connection they were started on.
    pub links: BTreeMap<LinkId, &'static str>,
    /// Messages written, by link.
    pub written: Vec<(LinkId, LinkMsg)>,
    /// Links closed.
    pub closed: Vec<LinkId>,
    /// Streams started and stopped.
    pub streams: Vec<(StreamId, &'static str)>,
    /// Probes asked for: (peer, address).
    pub probes: Vec<(PeerId, SocketAddr)>,
    /// Names it was asked to resolve: `(key, name, port)`.
    pub resolving: Vec<(String, String, u16)>,
    /// Links whose writer queue is full (the peer does not read).
    pub stalled: Vec<LinkId>,
    /// IPMsg datagrams sent.
    pub ipmsg_sent: Vec<(SocketAddrV4, Vec<u8>)>,
    /// IPMsg file threads started: `serve` or `fetch`, with the job.
    pub ipmsg_files: Vec<(StreamId, &'static str, u64)>,
    /// The page for browsers.
    pub web: FakeWeb,
}

/// A web side that serves nothing and remembers what it was asked.
#[derive(Debug, Default)]
pub struct FakeWeb {
    /// Where it "listens" while on.
    pub on: Option<SocketAddr>,
    /// How often it was started, and its link renewed.
    pub starts: usize,
    /// Links renewed.
    pub new_links: usize,
    /// What was shown on which page, in order.
    pub pushed: Vec<(VisitorId, WebOutput)>,
    /// Files offered: (visitor, file name, download id).
    pub offered: Vec<(VisitorId, String, DownloadId)>,
    /// Offers withdrawn.
    pub withdrawn: Vec<DownloadId>,
    /// Uploads declined.
    pub declined: Vec<UploadId>,
    /// Uploads landing, and where.
    pub landing: Vec<(UploadId, PathBuf)>,
    /// The host's name as pages show it.
    pub host_name: String,
}

impl WebPort for FakeWeb {
    fn start(&mut self, config: WebConfig) -> Result<SocketAddr, WebError> {
        let port = if config.bind.port() == 0 {
            8080
        } else {
            config.bind.port()
        };
        let addr = SocketAddr::new(config.bind.ip(), port);
        self.on = Some(addr);
        self.starts += 1;
        self.host_name = config.host_name;
        Ok(addr)
    }

    fn stop(&mut self) {
        self.on = None;
    }

    fn link(&self, ip: std::net::IpAddr) -> Option<String> {
        let port = self.on?.port();
        Some(format!("http://{ip}:{port}/t/token{}/", self.new_links))
    }

    fn new_link(&mut self) {
        self.new_links += 1;
    }

    fn push(&mut self, visitor: &VisitorId, output: WebOutput) -> Result<(), WebError> {
        self.on.ok_or(WebError::Off)?;
        self.pushed.push((visitor.clone(), output));
        Ok(())
    }

    fn offer(&mut self, visitor: &VisitorId, offer: FileOffer) -> Result<DownloadId, WebError> {
        self.on.ok_or(WebError::Off)?;
        let id = DownloadId(format!("d{}", self.offered.len() + 1));
        self.offered.push((visitor.clone(), offer.name, id.clone()));
        Ok(id)
    }

    fn withdraw(&mut self, download: &DownloadId) -> Result<(), WebError> {
        self.withdrawn.push(download.clone());
        Ok(())
    }

    fn decline(&mut self, upload: &UploadId) -> Result<(), WebError> {
        self.declined.push(upload.clone());
        Ok(())
    }

    fn land(&mut self, upload: &UploadId, dir: PathBuf) -> Result<(), WebError> {
        self.landing.push((upload.clone(), dir));
        Ok(())
    }

    fn set_host_name(&mut self, name: &str) {
        self.host_name = name.to_owned();
    }

    fn reap(&mut self) {}
}

impl FakePort {
    /// The messages written on `link`, as their `type` tags.
    pub fn kinds_on(&self, link: LinkId) -> Vec<&'static str> {
        self.written
            .iter()
            .filter(|(l, _)| *l == link)
            .map(|(_, m)| m.kind())
            .collect()
    }
}

impl Port for FakePort {
    type Conn = &'static str;

    fn send_datagram(&mut self, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()> {
        self.datagrams.push((to, bytes.to_vec()));
        Ok(())
    }

    fn interfaces(&self, _filter: &InterfaceFilter) -> Vec<NetInterface> {
        Vec::new()
    }

    fn dial(&mut self, peer: PeerId, addr: SocketAddr) {
        self.dials.push((peer, addr));
    }

    fn probe(&mut self, peer: PeerId, addr: SocketAddr) {
        self.probes.push((peer, addr));
    }

    fn resolve(&mut self, key: String, name: String, port: u16) {
        self.resolving.push((key, name, port));
    }

    fn open_link(&mut self, id: LinkId, conn: &'static str) -> io::Result<LinkEnds> {
        self.links.insert(id, conn);
        Ok(LinkEnds {
            local: SocketAddr::from((Ipv4Addr::LOCALHOST, LINK_PORT)),
            remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 50_000 + id as u16)),
        })
    }

    fn write(&mut self, id: LinkId, msg: &LinkMsg) -> Result<usize, QueueError> {
        if !self.links.contains_key(&id) {
            return Err(QueueError::Closed);
        }
        if self.stalled.contains(&id) {
            return Err(QueueError::Stalled);
        }
        self.written.push((id, msg.clone()));
        Ok(msg.to_frame().map_or(0, |f| f.len()))
    }

    fn close_link(&mut self, id: LinkId) {
        if self.links.remove(&id).is_some() {
            self.closed.push(id);
        }
    }

    fn link_fd(&self, _id: LinkId) -> i64 {
        -1
    }

    fn start_send(&mut self, stream: StreamId, _job: SendJob) -> io::Result<()> {
        self.streams.push((stream, "send"));
        Ok(())
    }

    fn start_recv(
        &mut self,
        stream: StreamId,
        _job: RecvJob,
        _conn: &'static str,
    ) -> io::Result<()> {
        self.streams.push((stream, "recv"));
        Ok(())
    }

    fn stop_stream(&mut self, stream: StreamId) {
        self.streams.push((stream, "stop"));
    }

    fn ipmsg_send(&mut self, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()> {
        self.ipmsg_sent.push((to, bytes.to_vec()));
        Ok(())
    }

    fn ipmsg_serve(&mut self, stream: StreamId, job: ServeJob, _conn: TcpStream) -> io::Result<()> {
        self.ipmsg_files.push((stream, "serve", job.offset));
        Ok(())
    }

    fn ipmsg_fetch(&mut self, stream: StreamId, job: FetchJob) -> io::Result<()> {
        self.ipmsg_files.push((stream, "fetch", job.offset));
        Ok(())
    }

    fn sockets(&self) -> Sockets {
        Sockets {
            link: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, LINK_PORT))),
            ipmsg: IpmsgStatus {
                local: Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, IPMSG_PORT)),
                ..IpmsgStatus::default()
            },
            ..Sockets::default()
        }
    }

    fn take_overflow(&mut self) -> u64 {
        0
    }

    fn reap(&mut self) {}

    fn web(&mut self) -> &mut dyn WebPort {
        &mut self.web
    }

    fn stop(&mut self) {
        self.links.clear();
        self.web.on = None;
    }
}

/// A fresh data directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("lanchat-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A core confined to loopback over a fake port, with data (and its key) in `dir`, and
/// the events its one subscriber ([`ME`]) receives.
pub fn core_in(dir: &Path, now: Now) -> (Core<FakePort>, Receiver<Event>) {
    let config = Config {
        name: Some("me".into()),
        ..Config::loopback(dir, 47474)
    };
    let lock = crate::config::lock_data_dir(dir).expect("lock the data directory");
    let (keys, _) = crate::trust::identity::load_or_create(dir).expect("our key");
    let keys = std::sync::Arc::new(keys);
    let mut core = Core::new(config, lock, FakePort::default(), keys, now).expect("a core");
    let (subscriber, events) = Subscriber::new::<Event>(ME.subscriber, UNBOUNDED, no_waker());
    core.subscribe(subscriber);
    (core, events)
}

/// Bob, the peer the core's tests talk to: his keys.
pub fn bob_keys() -> crate::trust::KeyPair {
    crate::trust::keys::test_pair(0xb0)
}

/// Bob's peer id (his key's).
pub fn bob_id() -> String {
    bob_keys().peer_id()
}

/// `beacon` (whose id must be bob's) as the reader thread hands it over: signed by bob
/// as datagram `ctr` of his instance at `now`, and parsed.
pub fn signed_by_bob(
    beacon: &crate::protocol::Beacon,
    ctr: u64,
    now: Now,
) -> Box<crate::protocol::signed::Unverified> {
    let bytes = crate::protocol::signed::sign(beacon, &bob_keys(), ctr, now.wall).expect("fits");
    Box::new(crate::protocol::signed::parse(&bytes).expect("parses"))
}

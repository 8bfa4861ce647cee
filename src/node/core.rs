//! The core's state and its timer work: start-up, the announce schedule, peer expiry,
//! handshake timeouts, dial retries, and shutdown.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;

use super::NodeError;
use super::bucket::TokenBucket;
use super::dials::DialState;
use super::event::Event;
use super::fanout::{Fanout, Origin, Subscriber};
use super::links::LinkState;
use super::outbox::Outbox;
use super::peers::PeerTable;
use super::seen::SeenSet;
use super::status::{Counters, Recent};
use crate::config::{self, Config, DataDirLock, Identity};
use crate::net::discovery::{self, Via};
use crate::net::interfaces::{self, LOOPBACK_BROADCAST, NetInterface};
use crate::net::link::{self, Acceptor};
use crate::net::{LinkId, NetInput};
use crate::store::{Fallback, Store};

/// How often housekeeping runs at most (expiry, handshake timeouts, retries).
const HOUSEKEEPING: Duration = Duration::from_millis(500);

/// A connection that has not said hello by then is dropped.
pub(super) const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Wall-clock milliseconds since the Unix epoch.
pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Everything the core thread owns.
pub(super) struct Core {
    pub(super) me: Identity,
    pub(super) instance: String,
    pub(super) host: String,
    pub(super) config: Config,
    fanout: Fanout,
    /// Who asked for the command being handled: its answers and errors go back to it.
    asker: Option<Origin>,
    started: bool,
    pub(super) input_tx: Sender<NetInput>,
    /// Discovery sender socket (ephemeral port).
    pub(super) udp: UdpSocket,
    pub(super) udp_listen_addr: SocketAddr,
    pub(super) interfaces: Vec<NetInterface>,
    pub(super) targets: Vec<SocketAddrV4>,
    pub(super) link_addr: SocketAddr,
    pub(super) peers: PeerTable,
    pub(super) links: HashMap<LinkId, LinkState>,
    pub(super) next_link: LinkId,
    pub(super) active: HashMap<String, LinkId>,
    pub(super) dials: HashMap<String, DialState>,
    pub(super) dial_threads: Vec<JoinHandle<()>>,
    pub(super) outbox: Outbox,
    /// History and the durable copy of the outbox.
    pub(super) store: Store,
    /// Why the history file could not be used as it was; reported after `ready`.
    pub(super) store_problem: Option<Fallback>,
    pub(super) seen_shouts: SeenSet,
    pub(super) shout_seq: u64,
    /// Presence status announced in beacons.
    pub(super) status: String,
    pub(super) counters: Counters,
    pub(super) overflow: Arc<AtomicU64>,
    pub(super) recent: Recent,
    pub(super) answer_budget: TokenBucket,
    pub(super) transfers: super::transfers::Transfers,
    next_announce: Instant,
    next_housekeeping: Instant,
    receivers: Vec<discovery::Receiver>,
    pub(super) acceptor: Option<Acceptor>,
    _lock: DataDirLock,
}

impl Core {
    /// Prepares the data directory and binds every socket.
    pub(super) fn start(config: Config, input_tx: Sender<NetInput>) -> Result<Core, NodeError> {
        let lock = config::lock_data_dir(&config.data_dir)?;
        let me = Identity::load_or_create(&config.data_dir, config.name.as_deref())?;
        let ip = config.bind.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let listener = link::listen(SocketAddr::new(IpAddr::V4(ip), config.port))?;
        let link_addr = listener.local_addr()?;
        let sockets = discovery::bind(config.bind, config.discovery_port)?;
        let overflow = Arc::new(AtomicU64::new(0));
        let receivers = vec![
            discovery::Receiver::spawn(
                &sockets.listener,
                Via::Listener,
                input_tx.clone(),
                overflow.clone(),
            )?,
            discovery::Receiver::spawn(
                &sockets.sender,
                Via::Sender,
                input_tx.clone(),
                overflow.clone(),
            )?,
        ];
        let acceptor = Acceptor::spawn(listener, input_tx.clone())?;
        let udp_listen_addr = sockets.listener.local_addr()?;
        let now = Instant::now();
        let loaded = super::history::load(&config.data_dir, now, now_ms());
        let mut core = Core {
            me,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            host: config::host_name(),
            fanout: Fanout::default(),
            asker: None,
            started: false,
            input_tx,
            udp: sockets.sender,
            udp_listen_addr,
            interfaces: Vec::new(),
            targets: Vec::new(),
            link_addr,
            peers: loaded.peers,
            links: HashMap::new(),
            next_link: 1,
            active: HashMap::new(),
            dials: HashMap::new(),
            dial_threads: Vec::new(),
            outbox: loaded.outbox,
            store: loaded.store,
            store_problem: loaded.problem,
            seen_shouts: SeenSet::new(10_000),
            shout_seq: 0,
            status: "online".to_owned(),
            counters: Counters::default(),
            overflow,
            recent: Recent::default(),
            answer_budget: TokenBucket::new(200.0, 200.0, now),
            transfers: Default::default(),
            next_announce: now + config.interval,
            next_housekeeping: now,
            receivers,
            acceptor: Some(acceptor),
            _lock: lock,
            config,
        };
        core.refresh_targets();
        Ok(core)
    }

    /// Adds a front end that wants events.
    pub(super) fn subscribe(&mut self, s: Subscriber) {
        self.fanout.add(s);
    }

    /// Whether `ready` was said.
    pub(super) fn started(&self) -> bool {
        self.started
    }

    /// Handles a front end's command; what it answers goes back to `origin`.
    pub(super) fn handle_command(&mut self, origin: Origin, cmd: super::Command) {
        self.asker = Some(origin);
        self.dispatch_command(cmd);
        self.asker = None;
    }

    /// `send`s from one front end that were waiting together (see `chat`).
    pub(super) fn send_chats(&mut self, origin: Origin, sends: Vec<(String, String)>) {
        self.asker = Some(origin);
        self.send_chat_burst(sends);
        self.asker = None;
    }

    /// Says `ready`, then broadcasts `hello` so everyone answers at once.
    pub(super) fn announce_start(&mut self) {
        self.started = true;
        tracing::info!(
            id = %self.me.id,
            name = %self.me.name,
            link = %self.link_addr,
            discovery = %self.udp_listen_addr,
            "node ready; beacons to {:?}",
            self.targets
        );
        self.emit(Event::Ready {
            id: self.me.id.clone().into(),
            name: self.me.name.clone(),
            host: self.host.clone(),
            addr: self.link_addr.ip().to_string(),
            port: self.link_addr.port(),
            discovery_port: self.config.discovery_port,
            data_dir: self.config.data_dir.display().to_string(),
        });
        self.report_store_problem();
        self.restore_transfers();
        self.announce(crate::protocol::BeaconKind::Hello);
    }

    /// Says bye, closes every link and joins every thread.
    pub(super) fn stop(&mut self) {
        self.announce(crate::protocol::BeaconKind::Bye);
        self.save_online_peers();
        self.transfers = Default::default(); // stops and joins every transfer thread
        self.links.clear();
        self.active.clear();
        self.acceptor.take();
        self.receivers.clear();
        for t in self.dial_threads.drain(..) {
            let _ = t.join();
        }
        tracing::info!("node stopped");
        self.emit(Event::Stopped);
    }

    /// Sends an event to every front end (an error raised while handling a command only
    /// to the one that asked) and wakes them.
    pub(super) fn emit(&mut self, event: Event) {
        self.remember_transfer(&event);
        match (self.asker, &event) {
            (Some(asker), Event::Error { .. }) => self.fanout.reply(asker, event),
            _ => self.fanout.emit(event),
        }
    }

    /// Answers the command being handled (to every front end if none is).
    pub(super) fn reply(&mut self, event: Event) {
        match self.asker {
            Some(asker) => self.fanout.reply(asker, event),
            None => self.fanout.emit(event),
        }
    }

    /// When the loop must run next even if nothing arrives.
    pub(super) fn next_wake(&self) -> Instant {
        let timers = self.next_announce.min(self.next_housekeeping);
        self.next_retry().map_or(timers, |at| at.min(timers))
    }

    /// Timer work; cheap when nothing is due.
    pub(super) fn tick(&mut self, now: Instant) {
        if now >= self.next_announce {
            self.refresh_targets();
            self.announce(crate::protocol::BeaconKind::Here);
            self.next_announce = now + self.config.interval;
        }
        if now < self.next_housekeeping {
            if self.next_retry().is_some_and(|at| at <= now) {
                self.transfers_tick(now); // a retry on time, not at the next housekeeping
            }
            return;
        }
        self.next_housekeeping = now + HOUSEKEEPING.min(self.config.interval / 2);
        let overflow = self.overflow.swap(0, Ordering::Relaxed);
        if overflow > 0 {
            *self
                .counters
                .dropped
                .entry("overflow".to_owned())
                .or_default() += overflow;
        }
        for id in self.peers.expire(now) {
            tracing::info!(peer = %id, "peer timed out");
            self.save_peer(&id);
            self.emit(Event::PeerLeft {
                id: id.into(),
                reason: super::LeftReason::Timeout,
            });
        }
        if let Err(e) = self.store.checkpoint() {
            tracing::debug!("history checkpoint: {e}");
        }
        self.drop_silent_links(now);
        self.transfers_tick(now);
        self.send_keepalives(now);
        self.retry_dials(now);
        self.dial_threads.retain(|t| !t.is_finished());
    }

    /// Recomputes the broadcast targets (interfaces come and go: Wi-Fi, VPN, DHCP).
    fn refresh_targets(&mut self) {
        let port = self.config.discovery_port;
        let (interfaces, targets) = match self.config.bind {
            Some(ip) if ip.is_loopback() => (
                Vec::new(),
                vec![SocketAddrV4::new(LOOPBACK_BROADCAST, port)],
            ),
            bind => {
                let all = interfaces::list(&self.config.interfaces);
                let chosen: Vec<NetInterface> = match bind {
                    Some(ip) if !ip.is_unspecified() => {
                        all.into_iter().filter(|i| i.addr == ip).collect()
                    }
                    _ => all,
                };
                let targets = chosen
                    .iter()
                    .map(|i| SocketAddrV4::new(i.broadcast, port))
                    .collect();
                (chosen, targets)
            }
        };
        if targets.is_empty() && !self.targets.is_empty() {
            tracing::warn!("no usable network interface: nobody can hear us");
        }
        if targets != self.targets {
            tracing::info!("broadcasting to {targets:?}");
        }
        self.interfaces = interfaces;
        self.targets = targets;
    }
}

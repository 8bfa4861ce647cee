//! A made-up IPMsg client for tests on loopback: lanchat's own IPMsg sockets and codec
//! at an address of its own (127.0.0.x, on the node's IPMsg port), playing iptux, FeiQ
//! or a hostile host. Nothing here leaves loopback.

#![allow(dead_code)] // each test binary uses its own part

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use lanchat::net::ipmsg::{FileEvent, FileReport, Ipmsg, IpmsgInput, IpmsgSockets};
use lanchat::protocol::ipmsg::{Charset, Command, Entry, Mode, Opt, Packet, Payload};

/// How long one expected packet may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// One fake IPMsg client.
pub struct FakeIpmsg {
    /// Its sockets (UDP, the loopback broadcast listener, TCP).
    pub net: Ipmsg,
    /// Where its inputs go (file threads report here too).
    pub tx: Sender<IpmsgInput>,
    rx: Receiver<IpmsgInput>,
    /// Its address.
    pub addr: SocketAddrV4,
    /// The version field it sends.
    pub version: String,
    /// Its login and host names.
    pub user: String,
    /// Its host name.
    pub host: String,
    /// The encoding of what it sends (`None`: UTF-8).
    pub charset: Option<Charset>,
    next_no: u32,
}

impl FakeIpmsg {
    /// A client at `ip` on `port` (the node's IPMsg port), iptux-like.
    pub fn start(ip: Ipv4Addr, port: u16, user: &str) -> FakeIpmsg {
        let sockets = IpmsgSockets::bind(Some(ip), port).expect("bind the fake IPMsg peer");
        let (tx, rx) = bounded(1024);
        let net = Ipmsg::start(sockets, tx.clone()).expect("start its threads");
        FakeIpmsg {
            addr: net.local_addr(),
            net,
            tx,
            rx,
            version: "1_iptux 0.8.3".into(),
            user: user.into(),
            host: format!("{user}-host"),
            charset: None,
            next_no: 0,
        }
    }

    /// Where a broadcast to every instance on this host goes, on this port: the loopback
    /// broadcast, or in portable mode the loopback multicast group, as lanchat's own.
    pub fn broadcast(&self) -> SocketAddrV4 {
        lanchat::platform::sock::loopback_reach().target(self.addr.port())
    }

    /// A packet of its own with its next number.
    pub fn packet(&mut self, command: Command, payload: Payload) -> (u32, Vec<u8>) {
        self.next_no += 1;
        let p = Packet {
            version: self.version.clone(),
            packet_no: self.next_no,
            user: self.user.clone(),
            host: self.host.clone(),
            command,
            payload,
            charset: self.charset,
        };
        (self.next_no, p.encode().expect("fits a packet"))
    }

    /// Sends raw bytes from its UDP port.
    pub fn raw(&self, to: SocketAddrV4, bytes: &[u8]) {
        self.net.send_to(bytes, to).expect("send on loopback");
    }

    /// Sends a packet; its number.
    pub fn send(&mut self, to: SocketAddrV4, command: Command, payload: Payload) -> u32 {
        let (no, bytes) = self.packet(command, payload);
        self.raw(to, &bytes);
        no
    }

    /// Announces itself (`BR_ENTRY`, or `ANSENTRY`) as `nick` in `group`.
    pub fn entry(&mut self, to: SocketAddrV4, mode: Mode, nick: &str, group: &str) -> u32 {
        let e = Payload::Entry(Entry::new(nick, group));
        self.send(to, Command::new(mode, &[Opt::Absence]), e)
    }

    /// Sends `text` (`SENDMSG|SENDCHECKOPT`); its number.
    pub fn say(&mut self, to: SocketAddrV4, text: &str) -> u32 {
        let m = Payload::Message {
            text: text.into(),
            files: vec![],
        };
        self.send(to, Command::new(Mode::SendMsg, &[Opt::SendCheck]), m)
    }

    /// Acknowledges packet `no`.
    pub fn ack(&mut self, to: SocketAddrV4, no: u32) {
        self.send(to, Command::new(Mode::RecvMsg, &[]), Payload::Ack(no));
    }

    /// The next input, whatever it is.
    pub fn next(&self, what: &str) -> IpmsgInput {
        self.rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("{}: no {what} within {WAIT:?}", self.user))
    }

    /// The next packet from `from` that `pred` accepts (others are passed over).
    pub fn expect(&self, what: &str, from: Ipv4Addr, pred: impl Fn(&Packet) -> bool) -> Packet {
        loop {
            match self.next(what) {
                IpmsgInput::Datagram {
                    from: src,
                    packet: Ok(p),
                    ..
                } if *src.ip() == from && pred(&p) => return p,
                _ => {}
            }
        }
    }

    /// Whether a packet from `from` that `pred` accepts arrives within `within`.
    pub fn hears_within(
        &self,
        within: Duration,
        from: Ipv4Addr,
        pred: impl Fn(&Packet) -> bool,
    ) -> bool {
        let end = std::time::Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(IpmsgInput::Datagram {
                    from: src,
                    packet: Ok(p),
                    ..
                }) if *src.ip() == from && pred(&p) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }

    /// The next file request (a `GETFILEDATA` connection); others are passed over.
    pub fn file_request(&self) -> IpmsgInput {
        loop {
            if let r @ IpmsgInput::FileRequest { .. } = self.next("a GETFILEDATA") {
                return r;
            }
        }
    }

    /// How the next file thread ended (progress passed over).
    pub fn file_report(&self) -> FileReport {
        loop {
            match self.next("a file report") {
                IpmsgInput::File(r) if !matches!(r.event, FileEvent::Progress { .. }) => return r,
                _ => {}
            }
        }
    }
}

/// Bytes that look random, the same for the same seed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

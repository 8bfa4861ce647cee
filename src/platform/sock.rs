//! Sockets where systems differ: sharing the discovery port, how instances confined to
//! loopback hear each other, the non-blocking write, what an error on a datagram socket
//! means, and a socket's number for the network panel.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream, UdpSocket};

use socket2::{SockRef, Socket};

use super::linux_native;

/// Lets several sockets (one per lanchat on this host) bind one UDP port, each getting its
/// own copy of every broadcast. `SO_REUSEADDR` does it on Linux and Windows; macOS and
/// the BSDs also need `SO_REUSEPORT` (without it a second instance cannot start there),
/// which a Linux build with the feature `portable` sets too (Linux allows it beside
/// sockets that have only `SO_REUSEADDR`, and still gives each a copy of a broadcast).
pub fn share_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_address(true)?;
    if !cfg!(windows) && !linux_native() {
        reuse_port(socket)?;
    }
    Ok(())
}

#[cfg(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
))]
fn reuse_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
)))]
fn reuse_port(_socket: &Socket) -> io::Result<()> {
    Ok(())
}

/// The loopback network's broadcast address: on Linux it reaches every instance on this
/// host and nothing else.
pub const LOOPBACK_BROADCAST: Ipv4Addr = Ipv4Addr::new(127, 255, 255, 255);

/// The multicast group instances confined to loopback use where there is no loopback
/// broadcast (macOS: 127.255.255.255 cannot be bound; Windows: not a broadcast address).
/// Organisation-local scope (239.255/16); sent on 127.0.0.1 with a TTL of 0, so it never
/// leaves the host whatever the routes say.
pub const LOOPBACK_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 76, 67);

/// How instances confined to loopback (`--bind 127.0.0.1`) hear each other's datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopbackReach {
    /// To 127.255.255.255, heard by sockets bound there (Linux).
    Broadcast,
    /// To [`LOOPBACK_GROUP`] on 127.0.0.1 with TTL 0, heard by sockets that joined it
    /// there (everywhere, Linux included; what Windows and macOS use).
    Multicast,
}

/// The way loopback-only datagrams travel for sockets set up now.
pub fn loopback_reach() -> LoopbackReach {
    if linux_native() {
        LoopbackReach::Broadcast
    } else {
        LoopbackReach::Multicast
    }
}

impl LoopbackReach {
    /// Where a datagram for every instance on this host goes.
    pub fn target(self, port: u16) -> SocketAddrV4 {
        match self {
            LoopbackReach::Broadcast => SocketAddrV4::new(LOOPBACK_BROADCAST, port),
            LoopbackReach::Multicast => SocketAddrV4::new(LOOPBACK_GROUP, port),
        }
    }

    /// The address the shared listener binds: the broadcast address, or the group
    /// (which on Linux and macOS filters out everything else). Windows cannot bind a
    /// group address: there it is 0.0.0.0, and what arrives from off loopback is dropped
    /// by the node (it drops datagrams from off loopback when confined to it).
    pub fn listen_ip(self) -> Ipv4Addr {
        match self {
            LoopbackReach::Broadcast => LOOPBACK_BROADCAST,
            LoopbackReach::Multicast if cfg!(windows) => Ipv4Addr::UNSPECIFIED,
            LoopbackReach::Multicast => LOOPBACK_GROUP,
        }
    }

    /// Makes a bound listener hear the group on 127.0.0.1 (nothing to do for broadcast).
    pub fn join(self, listener: &Socket) -> io::Result<()> {
        match self {
            LoopbackReach::Broadcast => Ok(()),
            LoopbackReach::Multicast => {
                listener.join_multicast_v4(&LOOPBACK_GROUP, &Ipv4Addr::LOCALHOST)
            }
        }
    }

    /// Makes a socket that sends to [`LoopbackReach::target`] send on 127.0.0.1 only:
    /// for multicast the outgoing interface is 127.0.0.1, the TTL 0 (never off this
    /// host) and our own copies loop back (the other instances are on this host).
    pub fn prepare_sender(self, sender: &UdpSocket) -> io::Result<()> {
        if self == LoopbackReach::Multicast {
            let s = SockRef::from(sender);
            s.set_multicast_if_v4(&Ipv4Addr::LOCALHOST)?;
            s.set_multicast_ttl_v4(0)?;
            s.set_multicast_loop_v4(true)?;
        }
        Ok(())
    }
}

/// Writes as much of `bytes` as the socket's buffer takes now, without blocking
/// (`MSG_DONTWAIT`, Linux only); `None` where there is no such write (the caller queues
/// the bytes for its writer thread instead). Any error counts as nothing taken: the
/// blocking path meets the same error and reports it.
pub fn send_now(stream: &TcpStream, bytes: &[u8]) -> Option<usize> {
    if !linux_native() {
        return None;
    }
    Some(send_dontwait(stream, bytes))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_dontwait(stream: &TcpStream, bytes: &[u8]) -> usize {
    let sock = SockRef::from(stream);
    loop {
        match sock.send_with_flags(bytes, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
            Ok(n) => return n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return 0,
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_dontwait(_stream: &TcpStream, _bytes: &[u8]) -> usize {
    0
}

/// The socket's number as the system shows it (a file descriptor, a Windows `SOCKET`),
/// for the network panel; -1 where there is none.
pub fn socket_number(stream: &TcpStream) -> i64 {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        i64::from(stream.as_raw_fd())
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsRawSocket;
        i64::try_from(stream.as_raw_socket()).unwrap_or(-1)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = stream;
        -1
    }
}

/// What an error reading a datagram socket means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramError {
    /// The datagram was larger than the buffer: Windows reports it as an error
    /// (`WSAEMSGSIZE`) after filling the buffer, where Linux and macOS cut it silently.
    /// Either way it is consumed.
    Oversized,
    /// An ICMP "port unreachable" echo for something we sent earlier (Windows reports it
    /// on the next receive as `WSAECONNRESET`; Linux only on connected sockets). Nothing
    /// was received and nothing is wrong with the socket.
    Reset,
    /// The read timed out or was interrupted: try again.
    Again,
    /// Anything else.
    Other,
}

/// Windows' `WSAEMSGSIZE`, `WSAENETRESET` and `WSAECONNRESET`. Recognised on every system
/// (errno values are far below), so the Windows path is tested on Linux too.
const WSAEMSGSIZE: i32 = 10040;
const WSAENETRESET: i32 = 10052;
const WSAECONNRESET: i32 = 10054;

/// What `e`, from reading a datagram socket, means.
pub fn datagram_error(e: &io::Error) -> DatagramError {
    match e.raw_os_error() {
        Some(WSAEMSGSIZE) => return DatagramError::Oversized,
        Some(WSAENETRESET | WSAECONNRESET) => return DatagramError::Reset,
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused => DatagramError::Reset,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => {
            DatagramError::Again
        }
        _ => DatagramError::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_datagram_errors_are_told_apart_on_every_system() {
        let raw = io::Error::from_raw_os_error;
        assert_eq!(datagram_error(&raw(10040)), DatagramError::Oversized);
        assert_eq!(datagram_error(&raw(10054)), DatagramError::Reset);
        assert_eq!(datagram_error(&raw(10052)), DatagramError::Reset);
        let kind = |k: io::ErrorKind| datagram_error(&io::Error::from(k));
        assert_eq!(kind(io::ErrorKind::ConnectionReset), DatagramError::Reset);
        assert_eq!(kind(io::ErrorKind::ConnectionRefused), DatagramError::Reset);
        assert_eq!(kind(io::ErrorKind::WouldBlock), DatagramError::Again);
        assert_eq!(kind(io::ErrorKind::TimedOut), DatagramError::Again);
        assert_eq!(kind(io::ErrorKind::PermissionDenied), DatagramError::Other);
    }

    #[test]
    fn loopback_targets_and_listeners() {
        assert_eq!(
            LoopbackReach::Broadcast.target(4000),
            SocketAddrV4::new(LOOPBACK_BROADCAST, 4000)
        );
        assert_eq!(
            LoopbackReach::Multicast.target(4000),
            SocketAddrV4::new(LOOPBACK_GROUP, 4000)
        );
        assert!(LOOPBACK_GROUP.is_multicast());
        assert_eq!(LoopbackReach::Broadcast.listen_ip(), LOOPBACK_BROADCAST);
        let want = if cfg!(windows) {
            Ipv4Addr::UNSPECIFIED
        } else {
            LOOPBACK_GROUP
        };
        assert_eq!(LoopbackReach::Multicast.listen_ip(), want);
    }
}

//! An address a user typed to reach a peer beyond broadcast (`--peer`, `add_peer`, "Add
//! by address…"): `HOST[:PORT]`, where HOST is an IPv4 address or a host name and PORT
//! the peer's discovery port (the node's own when left out). Pure: text in, a
//! [`PeerAddr`] or the reason out; names are resolved elsewhere (off the core thread),
//! and what an IPv4 address may be is [`check_ip`]'s.

use std::fmt;
use std::net::Ipv4Addr;

use thiserror::Error;

/// Longest host name accepted (DNS's limit).
pub const MAX_HOST_LEN: usize = 253;

/// Where a user asked lanchat to send its presence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerAddr {
    /// What to send to.
    pub host: Host,
    /// The peer's discovery port.
    pub port: u16,
}

/// The host part of a [`PeerAddr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// An IPv4 address.
    Ip(Ipv4Addr),
    /// A host name (lowercase), resolved to an IPv4 address off the core thread.
    Name(String),
}

/// Why an address is refused; each names the address as typed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// Nothing typed.
    #[error("no address given")]
    Empty,
    /// Not `HOST[:PORT]` (an IPv6 address, a path, spaces, a bad name).
    #[error("{0:?} is not HOST[:PORT] (an IPv4 address or a host name, and a port)")]
    Syntax(String),
    /// The port is not 1..=65535.
    #[error("{0:?}: the port must be 1 to 65535")]
    Port(String),
    /// An address that is nobody's: 0.0.0.0, 255.255.255.255, multicast, reserved.
    #[error("{addr}: {why}")]
    NotUnicast {
        /// The address.
        addr: String,
        /// What it is instead.
        why: &'static str,
    },
    /// Confined to loopback (`--bind 127.0.0.1`): only loopback addresses.
    #[error("{0}: not a loopback address, and this node is confined to loopback")]
    OffLoopback(String),
    /// The name did not resolve to an IPv4 address.
    #[error("{addr}: cannot resolve the name: {why}")]
    Unresolved {
        /// The address as typed.
        addr: String,
        /// What the resolver said.
        why: String,
    },
}

impl PeerAddr {
    /// Parses `HOST[:PORT]` (surrounding spaces ignored), `default_port` when PORT is
    /// left out.
    pub fn parse(text: &str, default_port: u16) -> Result<PeerAddr, AddrError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AddrError::Empty);
        }
        let syntax = || AddrError::Syntax(text.to_owned());
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) => {
                if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
                    return Err(if host.contains(':') {
                        syntax()
                    } else {
                        AddrError::Port(text.to_owned())
                    });
                }
                let port: u32 = port.parse().map_err(|_| syntax())?;
                match u16::try_from(port) {
                    Ok(p) if p > 0 => (host, p),
                    _ => return Err(AddrError::Port(text.to_owned())),
                }
            }
            None => (text, default_port),
        };
        if port == 0 {
            return Err(AddrError::Port(text.to_owned()));
        }
        let host = if let Ok(ip) = host.parse::<Ipv4Addr>() {
            Host::Ip(ip)
        } else if valid_name(host) {
            Host::Name(host.to_ascii_lowercase())
        } else {
            return Err(syntax());
        };
        Ok(PeerAddr { host, port })
    }

    /// The socket address, when the host is an IPv4 address.
    #[cfg(test)]
    pub fn socket(&self) -> Option<std::net::SocketAddrV4> {
        match self.host {
            Host::Ip(ip) => Some(std::net::SocketAddrV4::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(ip) => write!(f, "{ip}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

/// A host name: dot-separated labels of letters, digits and `-`, none empty or starting
/// or ending with `-`, not all digits (that would be a mistyped IPv4 address).
fn valid_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= MAX_HOST_LEN
        && !name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether beacons may go to `ip` (`shown`: the address as the user knows it, for the
/// error): not 0.0.0.0, the limited broadcast, multicast or reserved; only loopback
/// when `loopback_only`. Another subnet's broadcast address (`10.0.2.255`) is allowed:
/// where routers forward directed broadcasts, every lanchat there hears it.
pub fn check_ip(ip: Ipv4Addr, loopback_only: bool, shown: &str) -> Result<(), AddrError> {
    let not = |why| {
        Err(AddrError::NotUnicast {
            addr: shown.to_owned(),
            why,
        })
    };
    if ip.is_unspecified() {
        return not("0.0.0.0 is no one's address");
    }
    if ip.is_broadcast() {
        return not("255.255.255.255 is the local broadcast: lanchat broadcasts there already");
    }
    if ip.is_multicast() {
        return not("a multicast address");
    }
    if ip.octets()[0] >= 240 {
        return not("a reserved address");
    }
    if loopback_only && !ip.is_loopback() {
        return Err(AddrError::OffLoopback(shown.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<PeerAddr, AddrError> {
        PeerAddr::parse(t, 47474)
    }

    #[test]
    fn ipv4_with_and_without_port() {
        let a = parse("10.0.2.7").unwrap();
        assert_eq!(a.socket(), Some("10.0.2.7:47474".parse().unwrap()));
        assert_eq!(a.to_string(), "10.0.2.7:47474");
        assert_eq!(
            parse(" 10.0.2.7:5000 ").unwrap().to_string(),
            "10.0.2.7:5000"
        );
    }

    #[test]
    fn names_are_lowercased_and_kept_for_resolving() {
        let a = parse("Lab-07.Example.org:9").unwrap();
        assert_eq!(a.host, Host::Name("lab-07.example.org".into()));
        assert_eq!(a.socket(), None);
        assert_eq!(a.to_string(), "lab-07.example.org:9");
    }

    #[test]
    fn bad_syntax_and_ports_say_which_address() {
        assert_eq!(parse(""), Err(AddrError::Empty));
        for bad in [
            "::1", "[::1]:5", "a b", "host/x", "-lead", "1.2.3", "a..b", "x:y:5",
        ] {
            assert!(
                matches!(parse(bad), Err(AddrError::Syntax(ref t)) if t == bad),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        for bad in [
            "10.0.0.1:0",
            "10.0.0.1:65536",
            "10.0.0.1:",
            "host:x1",
            "h:123456",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e, AddrError::Port(bad.into()), "{bad}");
            assert!(e.to_string().contains(bad));
        }
        assert_eq!(
            PeerAddr::parse("10.0.0.1", 0),
            Err(AddrError::Port("10.0.0.1".into()))
        );
        let long = format!("{}.org", "a.".repeat(200));
        assert!(matches!(parse(&long), Err(AddrError::Syntax(_))));
    }

    #[test]
    fn only_unicast_and_other_subnets_broadcast_pass() {
        let check = |ip: &str, lo| check_ip(ip.parse().unwrap(), lo, ip);
        assert_eq!(check("10.0.2.7", false), Ok(()));
        assert_eq!(
            check("10.0.2.255", false),
            Ok(()),
            "another subnet's broadcast"
        );
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "239.1.2.3",
            "250.0.0.1",
        ] {
            let e = check(bad, false).unwrap_err();
            assert!(e.to_string().starts_with(bad), "{e}");
        }
        assert_eq!(check("127.0.0.2", true), Ok(()));
        assert_eq!(
            check("10.0.2.7", true),
            Err(AddrError::OffLoopback("10.0.2.7".into()))
        );
    }
}

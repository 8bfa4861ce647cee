//! Resolving a host name on the unicast list (reach by address), on a thread of its own
//! so the core never waits for a resolver: the system's (`getaddrinfo`), with its own
//! time limits; the first IPv4 address wins.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

use super::input::NetInput;
use super::thread::spawn_named;

/// Resolves `name` on a `reach-resolve` thread and reports [`NetInput::Resolved`] for
/// `key`.
pub fn spawn(
    key: String,
    name: String,
    port: u16,
    tx: Sender<NetInput>,
) -> io::Result<JoinHandle<()>> {
    spawn_named("reach-resolve", move || {
        let result = first_ipv4(&name, port);
        let _ = tx.send(NetInput::Resolved { key, result });
    })
}

/// The first IPv4 address `name` resolves to, or why there is none.
fn first_ipv4(name: &str, port: u16) -> Result<Ipv4Addr, String> {
    let addrs = (name, port).to_socket_addrs().map_err(|e| e.to_string())?;
    addrs
        .filter_map(|a| match a {
            SocketAddr::V4(a) => Some(*a.ip()),
            SocketAddr::V6(_) => None,
        })
        .next()
        .ok_or_else(|| "it has no IPv4 address".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only `localhost` (the hosts file): a test must not ask a DNS server anything.
    #[test]
    fn localhost_resolves_to_loopback() {
        assert_eq!(first_ipv4("localhost", 1), Ok(Ipv4Addr::LOCALHOST));
    }
}

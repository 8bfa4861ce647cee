//! Which IPv4 interfaces beacons go out on, and their directed broadcast addresses.
//!
//! The address list comes from the `if-addrs` crate (getifaddrs, no hand-written ioctls);
//! the broadcast address is computed here from address and prefix, so it is right even
//! when the kernel has none set. Loopback, down interfaces and /31–/32 links (no broadcast
//! address) are skipped; the user can include or exclude interfaces by name.

use std::net::Ipv4Addr;

use serde::Serialize;

pub use crate::platform::sock::LOOPBACK_BROADCAST;

/// One usable IPv4 interface address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetInterface {
    /// Interface name, e.g. `eth0`.
    pub name: String,
    /// Our address on it.
    pub addr: Ipv4Addr,
    /// Prefix length (24 for a /24).
    pub prefix: u8,
    /// Directed broadcast address beacons are sent to.
    pub broadcast: Ipv4Addr,
}

/// Directed broadcast address of `addr/prefix`: the host bits all set.
/// `None` where a subnet has no broadcast address (/31 point-to-point, /32 host routes).
pub fn broadcast_address(addr: Ipv4Addr, prefix: u8) -> Option<Ipv4Addr> {
    if prefix > 30 {
        return None;
    }
    let host_mask = u32::MAX >> prefix;
    Some(Ipv4Addr::from(u32::from(addr) | host_mask))
}

/// Interface choice from the settings: an empty `include` means "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceFilter {
    /// Use only these interfaces (by name); empty = every eligible interface.
    pub include: Vec<String>,
    /// Never use these interfaces (by name).
    pub exclude: Vec<String>,
}

impl InterfaceFilter {
    /// Whether an interface called `name` may be used.
    pub fn allows(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

/// A raw address as the OS reports it, before filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAddr {
    /// Interface name.
    pub name: String,
    /// IPv4 address.
    pub addr: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
    /// Whether the interface is operationally usable.
    pub up: bool,
}

/// Pure selection: the interfaces beacons should use, from what the OS reported.
pub fn select(raw: &[RawAddr], filter: &InterfaceFilter) -> Vec<NetInterface> {
    let mut out: Vec<NetInterface> = raw
        .iter()
        .filter(|r| r.up && !r.addr.is_loopback() && filter.allows(&r.name))
        .filter_map(|r| {
            Some(NetInterface {
                name: r.name.clone(),
                addr: r.addr,
                prefix: r.prefix,
                broadcast: broadcast_address(r.addr, r.prefix)?,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, a.addr).cmp(&(&b.name, b.addr)));
    out.dedup_by(|a, b| a.broadcast == b.broadcast);
    out
}

/// Every IPv4 address the OS reports. An error from the OS yields an empty list and a log.
pub fn raw_addrs() -> Vec<RawAddr> {
    match if_addrs::get_if_addrs() {
        Ok(list) => list
            .into_iter()
            .filter_map(|i| {
                let up = !matches!(
                    i.oper_status,
                    if_addrs::IfOperStatus::Down
                        | if_addrs::IfOperStatus::LowerLayerDown
                        | if_addrs::IfOperStatus::NotPresent
                );
                match i.addr {
                    if_addrs::IfAddr::V4(v4) => Some(RawAddr {
                        name: i.name,
                        addr: v4.ip,
                        prefix: v4.prefixlen,
                        up,
                    }),
                    if_addrs::IfAddr::V6(_) => None,
                }
            })
            .collect(),
        Err(e) => {
            tracing::warn!("cannot list network interfaces: {e}");
            Vec::new()
        }
    }
}

/// The usable interfaces of this host under `filter`.
pub fn list(filter: &InterfaceFilter) -> Vec<NetInterface> {
    select(&raw_addrs(), filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, addr: [u8; 4], prefix: u8, up: bool) -> RawAddr {
        RawAddr {
            name: name.into(),
            addr: addr.into(),
            prefix,
            up,
        }
    }

    #[test]
    fn broadcast_from_prefix() {
        let b = |a: [u8; 4], p| broadcast_address(a.into(), p);
        assert_eq!(b([192, 168, 1, 23], 24), Some([192, 168, 1, 255].into()));
        assert_eq!(b([10, 77, 0, 10], 24), Some([10, 77, 0, 255].into()));
        assert_eq!(b([172, 16, 5, 4], 12), Some([172, 31, 255, 255].into()));
        assert_eq!(b([10, 1, 2, 3], 8), Some([10, 255, 255, 255].into()));
        assert_eq!(b([192, 168, 1, 130], 25), Some([192, 168, 1, 255].into()));
        assert_eq!(b([192, 168, 1, 100], 25), Some([192, 168, 1, 127].into()));
        assert_eq!(b([192, 168, 1, 1], 30), Some([192, 168, 1, 3].into()));
        assert_eq!(b([1, 2, 3, 4], 0), Some([255, 255, 255, 255].into()));
        assert_eq!(b([127, 0, 0, 1], 8), Some(LOOPBACK_BROADCAST));
        assert_eq!(b([10, 0, 0, 1], 31), None);
        assert_eq!(b([10, 0, 0, 1], 32), None);
    }

    #[test]
    fn select_skips_loopback_down_and_point_to_point() {
        let got = select(
            &[
                raw("lo", [127, 0, 0, 1], 8, true),
                raw("eth0", [192, 168, 1, 23], 24, true),
                raw("eth1", [10, 0, 0, 5], 16, false),
                raw("wg0", [10, 9, 0, 2], 32, true),
                raw("ppp0", [10, 8, 0, 2], 31, true),
            ],
            &InterfaceFilter::default(),
        );
        assert_eq!(
            got,
            vec![NetInterface {
                name: "eth0".into(),
                addr: [192, 168, 1, 23].into(),
                prefix: 24,
                broadcast: [192, 168, 1, 255].into(),
            }]
        );
    }

    #[test]
    fn filter_includes_and_excludes_by_name() {
        let all = [
            raw("eth0", [192, 168, 1, 23], 24, true),
            raw("docker0", [172, 17, 0, 1], 16, true),
            raw("wlan0", [192, 168, 8, 3], 24, true),
        ];
        let names = |f: &InterfaceFilter| -> Vec<String> {
            select(&all, f).into_iter().map(|i| i.name).collect()
        };
        assert_eq!(
            names(&InterfaceFilter::default()),
            ["docker0", "eth0", "wlan0"]
        );
        let f = InterfaceFilter {
            include: vec![],
            exclude: vec!["docker0".into()],
        };
        assert_eq!(names(&f), ["eth0", "wlan0"]);
        let f = InterfaceFilter {
            include: vec!["wlan0".into()],
            exclude: vec![],
        };
        assert_eq!(names(&f), ["wlan0"]);
    }

    #[test]
    fn two_addresses_on_one_subnet_broadcast_once() {
        let got = select(
            &[
                raw("eth0", [192, 168, 1, 23], 24, true),
                raw("eth0", [192, 168, 1, 24], 24, true),
            ],
            &InterfaceFilter::default(),
        );
        assert_eq!(got.len(), 1);
    }
}

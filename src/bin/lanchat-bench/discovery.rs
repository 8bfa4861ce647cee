//! Discovery: N headless nodes started one after another; how long from a node's start
//! until every node already running lists it, and from the last start until every pair
//! knows each other. Beside it, in the same run, the floor: how long a node takes from `exec` to
//! `ready` (bound, listening, first `hello` sent).
//!
//! On loopback all nodes share a discovery port on 127.255.255.255. On the namespace LAN
//! each node runs in its own network namespace on a private bridge (scripts/testlan.sh
//! with the `tlb-` prefix), as separate machines on one subnet would.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::unbounded;
use serde_json::json;

use crate::procfs::{Line, Node, run_dir};
use crate::stats::{Row, median};
use crate::{Report, free_udp_port};

/// Where the nodes run.
#[derive(Debug, Clone, Copy)]
pub enum Net {
    /// All on 127.0.0.1.
    Loopback,
    /// One namespace per node on a private bridge.
    Namespaces,
}

const PREFIX: &str = "tlb-";

pub fn run(net: Net, sizes: &[usize]) -> Result<Report> {
    let mut rows = Vec::new();
    let mut details = Vec::new();
    for &n in sizes {
        let r = match net {
            Net::Loopback => measure(net, n),
            Net::Namespaces => {
                testlan(&["up", &n.to_string()])?;
                let r = measure(net, n);
                let down = testlan(&["down"]);
                r.and_then(|r| down.map(|()| r))
            }
        }?;
        rows.extend(r.0);
        details.push(r.1);
    }
    let scenario = match net {
        Net::Loopback => "discovery-loopback",
        Net::Namespaces => "discovery-netns",
    };
    Ok(Report {
        scenario: scenario.into(),
        rows,
        details: json!(details),
    })
}

fn testlan(args: &[&str]) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testlan.sh");
    let status = Command::new("bash")
        .arg(&script)
        .args(args)
        .env("TESTLAN_PREFIX", PREFIX)
        .stdout(std::process::Stdio::null())
        .status()
        .context("run scripts/testlan.sh")?;
    if !status.success() {
        bail!("testlan.sh {args:?} failed (needs root and iproute2)");
    }
    Ok(())
}

fn measure(net: Net, n: usize) -> Result<(Vec<Row>, serde_json::Value)> {
    let dir = run_dir("discovery")?;
    let table_fulls_before = arp_table_fulls();
    let port = match net {
        Net::Loopback => free_udp_port()?,
        Net::Namespaces => 47474, // each namespace has the port to itself
    };
    let (tx, rx) = unbounded::<Line>();
    let mut nodes = Vec::with_capacity(n);
    let mut started = Vec::with_capacity(n);
    for i in 0..n {
        let (prefix, mut args): (Vec<String>, Vec<String>) = match net {
            Net::Loopback => (Vec::new(), vec!["--bind".into(), "127.0.0.1".into()]),
            Net::Namespaces => (
                ["ip", "netns", "exec", &format!("{PREFIX}{i}")]
                    .map(String::from)
                    .to_vec(),
                Vec::new(),
            ),
        };
        args.extend(["--discovery-port".into(), port.to_string()]);
        args.extend(["--name".into(), format!("n{i}")]);
        started.push(Instant::now());
        nodes.push(Node::spawn(
            &prefix,
            &args,
            &dir.join(format!("n{i}")),
            i,
            &tx,
        )?);
    }
    let last_start = *started.last().context("no nodes")?;
    // ready[i]: when node i said ready; joined[(j, id)]: when node j listed peer id.
    let mut ready: Vec<Option<Instant>> = vec![None; n];
    let mut ids: Vec<String> = vec![String::new(); n];
    let mut joined: HashMap<(usize, String), Instant> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60 + n as u64);
    let want = n * (n - 1);
    let mut known = 0;
    while known < want || ready.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((j, at, v)) = rx.recv_timeout(left) else {
            bail!("{n} nodes: only {known} of {want} pairs know each other after the deadline");
        };
        match v["event"].as_str() {
            Some("ready") => {
                ready[j] = Some(at);
                nodes[j].ready(&v);
                ids[j] = nodes[j].id.clone();
            }
            Some("peer_joined") => {
                let id = v["peer"]["id"].as_str().unwrap_or_default().to_owned();
                if joined.insert((j, id), at).is_none() {
                    known += 1;
                }
            }
            _ => {}
        }
    }
    let full_mesh = joined.values().max().map_or(0.0, |t| ms(*t - last_start));
    let mut to_ready: Vec<f64> = (0..n)
        .map(|i| ms(ready[i].unwrap_or(started[i]) - started[i]))
        .collect();
    // For each node after the first: start → the last of the nodes already running
    // listing it (the nodes started later list it as they start, which is the
    // full-mesh figure).
    let mut listed_by_all: Vec<f64> = (1..n)
        .map(|i| {
            let last = (0..i)
                .filter_map(|j| joined.get(&(j, ids[i].clone())))
                .max()
                .copied()
                .unwrap_or(started[i]);
            ms(last.saturating_duration_since(started[i]))
        })
        .collect();
    // A pair should meet within one hello/answer exchange of the later node being
    // ready; one that took over a second met through a periodic beacon: its hello or
    // the answer was lost.
    let ready_at: Vec<Instant> = (0..n).map(|i| ready[i].unwrap_or(started[i])).collect();
    let ready_of: HashMap<&str, Instant> = ids
        .iter()
        .map(String::as_str)
        .zip(ready_at.iter().copied())
        .collect();
    let late = joined
        .iter()
        .filter(|((j, id), at)| {
            let other = ready_of.get(id.as_str()).copied().unwrap_or(ready_at[*j]);
            at.saturating_duration_since(ready_at[*j].max(other)) > Duration::from_secs(1)
        })
        .count();
    let worst = listed_by_all.iter().copied().fold(0.0, f64::max);
    let med_listed = median(&mut listed_by_all);
    let med_ready = median(&mut to_ready);
    let table_fulls = arp_table_fulls() - table_fulls_before;
    let udp_errors = match net {
        Net::Namespaces => Some(udp_receive_errors(n)),
        Net::Loopback => None,
    };
    for node in &mut nodes {
        node.stop();
    }
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
    let tag = match net {
        Net::Loopback => "loopback",
        Net::Namespaces => "netns",
    };
    let mut rows = vec![
        Row::vs(
            format!(
                "{tag} {n} nodes: start → listed by every running node (median) vs start → ready"
            ),
            med_listed,
            med_ready,
            "ms",
        ),
        Row::plain(
            format!("{tag} {n} nodes: start → listed by every running node (worst)"),
            format!("{worst:.1} ms"),
        ),
        Row::plain(
            format!("{tag} {n} nodes: last start → all {want} pairs known"),
            format!("{full_mesh:.1} ms"),
        ),
        Row::plain(
            format!("{tag} {n} nodes: pairs met only through a periodic beacon (> 1 s)"),
            format!("{late} of {want}"),
        ),
    ];
    rows.push(Row::plain(
        format!("{tag} {n} nodes: host ARP table overflows (neighbour table_fulls)"),
        table_fulls.to_string(),
    ));
    if let Some((rcvbuf, in_errors)) = udp_errors {
        rows.push(Row::plain(
            format!("{tag} {n} nodes: UDP datagrams lost to full socket buffers (all hosts)"),
            format!("{rcvbuf} (InErrors {in_errors})"),
        ));
    }
    let details = json!({"net": tag, "nodes": n, "late_pairs": late,
                         "udp_rcvbuf_errors": udp_errors.map(|e| e.0),
                         "arp_table_fulls": table_fulls, "median_listed_by_all_ms": med_listed,
                         "worst_listed_by_all_ms": worst, "median_start_to_ready_ms": med_ready,
                         "last_start_to_full_mesh_ms": full_mesh,
                         "start_span_ms": ms(last_start - started[0])});
    Ok((rows, details))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// UDP `RcvbufErrors` and `InErrors` summed over the namespace hosts (/proc/net/snmp is
/// per network namespace): datagrams the kernel dropped because a socket was full.
fn udp_receive_errors(n: usize) -> (u64, u64) {
    let mut total = (0, 0);
    for i in 0..n {
        let Ok(out) = Command::new("ip")
            .args([
                "netns",
                "exec",
                &format!("{PREFIX}{i}"),
                "cat",
                "/proc/net/snmp",
            ])
            .output()
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
        let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
            continue;
        };
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            let v: u64 = value.parse().unwrap_or(0);
            match name {
                "RcvbufErrors" => total.0 += v,
                "InErrors" => total.1 += v,
                _ => {}
            }
        }
    }
    total
}

/// How often the host's ARP table was full (`table_fulls` in /proc/net/stat/arp_cache,
/// summed over CPUs). The table and its `gc_thresh3` limit are shared by every network
/// namespace, so N namespace hosts all talking to each other need N×(N−1) entries.
fn arp_table_fulls() -> u64 {
    let text = std::fs::read_to_string("/proc/net/stat/arp_cache").unwrap_or_default();
    let mut lines = text.lines();
    let Some(col) = lines
        .next()
        .and_then(|h| h.split_whitespace().position(|f| f == "table_fulls"))
    else {
        return 0;
    };
    lines
        .filter_map(|l| l.split_whitespace().nth(col))
        .filter_map(|v| u64::from_str_radix(v, 16).ok())
        .sum()
}

//! `lanchat-bench`: measures lanchat beside the limits of the machine it runs on.
//!
//! ```text
//! cargo build --release --no-default-features --bins
//! cargo run --release --no-default-features --bin lanchat-bench -- SCENARIO
//! ```
//! Each scenario prints a table and writes `target/bench/SCENARIO.json`. Every figure
//! that has a natural limit is set beside that limit measured in the same run (a raw
//! TCP exchange, the node's own start-up, the unloaded round trip), because the
//! machines this runs on are shared and noisy: read ratios and medians, not absolute
//! times. Results and the machine description live in `docs/BENCHMARKS.md`.
//!
//! Everything stays on loopback (127.0.0.1, broadcasts to 127.255.255.255) or inside
//! private network namespaces (`discovery-netns`, via scripts/testlan.sh, prefix tlb-).
//!
//! - `discovery`: N nodes on loopback; start → listed by every running node, full mesh.
//! - `discovery-netns`: the same with one network namespace per node.
//! - `rtt`: send → delivered percentiles beside a raw TCP ping-pong.
//! - `forged-peers`: one node among 1 000 forged peers: CPU, memory, round trip.
//! - `flood`: 50 000 datagrams/s for 10 s: round trip meanwhile, memory after.
//! - `idle`: one headless node alone: CPU, wake-ups, memory.
//! - `rooms`: a room message to 10 and 50 members beside as many direct messages.
//! - `rooms-memory`: a node in 100 rooms of 50 beside one in none: RSS, start-up, store
//!   size, and a room message to 49 away members beside a direct one.
//! - `transfer`: a 1 GiB file-to-file transfer beside raw TCP copies (docs/TRANSFERS.md).
//! - `folder`: 10 000 small files as one folder transfer beside the same tree as a tar
//!   archive (made, sent, unpacked) (docs/TRANSFERS.md).

mod discovery;
mod folder;
mod inproc;
mod load;
mod procfs;
mod rooms;
mod rooms_memory;
mod rtt;
mod stats;
mod transfer;

use std::net::UdpSocket;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use stats::{Row, print_table};

/// Measures lanchat beside the limits of this machine.
#[derive(Parser)]
#[command(name = "lanchat-bench")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Clone)]
enum Scenario {
    /// N headless nodes on loopback: start → listed by every running node, and the full mesh.
    Discovery {
        /// Node counts, one run each.
        #[arg(long, value_delimiter = ',', default_value = "3,30,100")]
        nodes: Vec<usize>,
    },
    /// The same, one network namespace per node on a private bridge (needs root).
    DiscoveryNetns {
        /// Node counts, one run each.
        #[arg(long, value_delimiter = ',', default_value = "3,30,100")]
        nodes: Vec<usize>,
    },
    /// Send → delivered percentiles beside a raw TCP ping-pong of the same sizes.
    Rtt {
        /// Messages timed.
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
    },
    /// One node among forged peers beaconing every 5 s.
    ForgedPeers {
        /// Forged peers.
        #[arg(long, default_value_t = 1000)]
        peers: usize,
        /// Measuring window.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// A datagram flood (garbage and beacons) at the discovery port.
    Flood {
        /// Datagrams per second.
        #[arg(long, default_value_t = 50_000)]
        rate: u64,
        /// How long.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// One headless node alone.
    Idle {
        /// Measuring window.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// A folder of many small files beside the same tree sent as one tar archive.
    Folder {
        /// Files in the tree (100 per sub-folder).
        #[arg(long, default_value_t = 10_000)]
        files: usize,
        /// Timed rounds (after one warm-up round).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// A room message to N members beside N direct messages to the same peers.
    Rooms {
        /// Member counts, one run each.
        #[arg(long, value_delimiter = ',', default_value = "10,50")]
        members: Vec<usize>,
        /// Timed rounds (after one warm-up round).
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// A node in many rooms beside the same node in none: memory, start-up, store size.
    RoomsMemory {
        /// Rooms the node is in.
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        /// Members of each room, the node included.
        #[arg(long, default_value_t = 50)]
        members: usize,
        /// Distinct synthetic people the rooms are made of.
        #[arg(long, default_value_t = 500)]
        people: usize,
        /// Timed starts of each node (after one warm-up start each).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// A file-to-file transfer beside raw TCP copies of the same file.
    Transfer {
        /// File size in MiB.
        #[arg(long, default_value_t = 1024)]
        size_mib: u64,
        /// Timed rounds (after one warm-up round).
        #[arg(long, default_value_t = 7)]
        rounds: usize,
    },
}

/// What a scenario measured.
pub struct Report {
    /// Its name (the JSON file's name).
    pub scenario: String,
    /// The printed table.
    pub rows: Vec<Row>,
    /// Everything else, for the JSON file.
    pub details: Value,
}

/// A UDP port free right now on 127.0.0.1, for a scenario's own discovery port.
pub fn free_udp_port() -> Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let report = match cli.scenario {
        Scenario::Discovery { nodes } => discovery::run(discovery::Net::Loopback, &nodes),
        Scenario::DiscoveryNetns { nodes } => discovery::run(discovery::Net::Namespaces, &nodes),
        Scenario::Rtt { messages } => rtt::run(messages),
        Scenario::ForgedPeers { peers, seconds } => load::forged_peers(peers, seconds),
        Scenario::Flood { rate, seconds } => load::flood(rate, seconds),
        Scenario::Idle { seconds } => load::idle(seconds),
        Scenario::Transfer { size_mib, rounds } => transfer::run(size_mib, rounds),
        Scenario::Folder { files, rounds } => folder::run(files, rounds),
        Scenario::Rooms { members, rounds } => rooms::run(&members, rounds),
        Scenario::RoomsMemory {
            rooms,
            members,
            people,
            rounds,
        } => rooms_memory::run(&rooms_memory::Sizes {
            rooms,
            members,
            people,
            rounds,
        }),
    }?;
    print_table(&report.scenario, &report.rows);
    let path = write_json(&report)?;
    println!("\nwritten: {}", path.display());
    Ok(())
}

/// `target/bench/SCENARIO.json`, with the machine it ran on.
fn write_json(report: &Report) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(|p| p.parent())
        .context("binary is not under target/PROFILE/")?;
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.json", report.scenario));
    let body = json!({
        "scenario": report.scenario,
        "machine": machine(),
        "rows": report.rows,
        "details": report.details,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&body)?)?;
    Ok(path)
}

/// Cores, CPU model, kernel and load at the time of the run (empty where there is no
/// /proc).
fn machine() -> Value {
    let facts = procfs::machine_facts();
    json!({
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": facts.cpu,
        "kernel": facts.kernel,
        "loadavg": facts.loadavg,
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    })
}

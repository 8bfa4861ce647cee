//! The `lanchat` command: the window by default, `--headless` for JSON lines.
//!
//! On Windows the window build is a GUI program (no console window opens beside it);
//! `--headless` there uses the handles a parent pipes, or else attaches to the console it
//! was typed in (or opens one): `lanchat::platform::console`, docs/PLATFORMS.md.
#![cfg_attr(feature = "gui", windows_subsystem = "windows")]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use lanchat::config::{self, Config, DEFAULT_DISCOVERY_PORT};
use lanchat::net::interfaces::InterfaceFilter;
use lanchat::node::{self, Command};

/// Chat, shout and share files on your local network. No server, no account, no set-up.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Run without a window: commands as JSON lines on stdin, events on stdout.
    #[arg(long)]
    headless: bool,
    /// Your display name (remembered in the data directory).
    #[arg(long)]
    name: Option<String>,
    /// Where identity and history live [default: the platform's data directory].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to bind. 127.0.0.1 keeps lanchat on this host: TCP on 127.0.0.1 and
    /// beacons only to 127.255.255.255. Another address limits it to that interface.
    #[arg(long, value_name = "ADDR")]
    bind: Option<Ipv4Addr>,
    /// Reach a lanchat beyond broadcast (another subnet, behind a router) at
    /// HOST[:PORT] (PORT: its discovery port, ours by default); repeatable. Remembered
    /// until removed (`remove_peer`, or "Remove" in the window).
    #[arg(long = "peer", value_name = "HOST[:PORT]")]
    peers: Vec<String>,
    /// TCP port for links (0 = the one of last time if free, else any free port).
    #[arg(long, default_value_t = 0, value_name = "P")]
    port: u16,
    /// UDP port for discovery, shared by every instance.
    #[arg(long, default_value_t = DEFAULT_DISCOVERY_PORT, value_name = "P")]
    discovery_port: u16,
    /// Seconds between presence beacons; a peer unheard for 3 intervals is offline.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    interval: f64,
    /// Announce only on this interface (repeatable).
    #[arg(long = "interface", value_name = "NAME")]
    interfaces: Vec<String>,
    /// Never announce on this interface (repeatable), e.g. a VPN or docker0.
    #[arg(long = "exclude-interface", value_name = "NAME")]
    exclude_interfaces: Vec<String>,
    /// Where received files land [default: the platform's downloads folder].
    #[arg(long, value_name = "DIR")]
    download_dir: Option<PathBuf>,
    /// Accept every file offer without asking (for scripts).
    #[arg(long)]
    auto_accept: bool,
    /// Decline offers of files larger than this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// Send each file at most this many bytes per second (leave room for others).
    #[arg(long, value_name = "BYTES")]
    max_send_rate: Option<u64>,
    /// UDP and TCP port for IPMsg (iptux, FeiQ, IP Messenger users), on the same
    /// address as everything else.
    #[arg(long, default_value_t = lanchat::protocol::ipmsg::DEFAULT_PORT, value_name = "P")]
    ipmsg_port: u16,
    /// Do not speak IPMsg: iptux, FeiQ and IP Messenger users neither see nor reach you.
    #[arg(long)]
    no_ipmsg: bool,
    /// Let browsers join at once: serve the page for browsers on this TCP port (0 = any
    /// free port), on the addresses lanchat uses. The link, token included, is the
    /// `web_ready` event (headless) or shown in the window. Off until asked otherwise.
    #[arg(long, value_name = "P")]
    web_port: Option<u16>,
    /// Start with the window hidden in the system tray, where the desktop has one (the
    /// "start with the session" entry uses it).
    #[arg(long)]
    hidden: bool,
}

impl Cli {
    fn config(&self) -> Result<Config> {
        if !(self.interval.is_finite() && (0.05..=3600.0).contains(&self.interval)) {
            bail!(
                "--interval must be between 0.05 and 3600 seconds, not {}",
                self.interval
            );
        }
        let data_dir = match &self.data_dir {
            Some(d) => d.clone(),
            None => config::default_data_dir()
                .context("no home directory to keep data in; pass --data-dir")?,
        };
        let download_dir = self
            .download_dir
            .clone()
            .or_else(config::default_download_dir)
            .unwrap_or_else(|| data_dir.join("downloads"));
        let defaults = Config::new(&data_dir);
        Ok(Config {
            name: self.name.clone(),
            download_dir,
            download_dir_pinned: self.download_dir.is_some(),
            auto_accept: self.auto_accept,
            max_file_size: self.max_file_size,
            send_rate_limit: self.max_send_rate.filter(|r| *r > 0),
            data_dir,
            bind: self.bind,
            port: self.port,
            discovery_port: self.discovery_port,
            interval: Duration::from_secs_f64(self.interval),
            interfaces: InterfaceFilter {
                include: self.interfaces.clone(),
                exclude: self.exclude_interfaces.clone(),
            },
            ipmsg_port: (!self.no_ipmsg).then_some(self.ipmsg_port),
            web_port: self.web_port,
            peers: self.peers.clone(),
            ..defaults
        })
    }
}

fn main() {
    if let Err(e) = run() {
        lanchat::platform::console::attach_for_message();
        eprintln!("lanchat: error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        // --help, --version or a wrong argument: clap prints it, which must be seen.
        lanchat::platform::console::attach_for_message();
        e.exit()
    });
    // Before anything is written: the logs on stderr need the console too.
    lanchat::platform::console::attach_for_headless(cli.headless);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "lanchat=info".into()),
        )
        .init();
    let config = cli.config()?;
    if cli.headless {
        return run_headless(config);
    }
    run_window(config, cli.hidden)
}

fn run_headless(config: Config) -> Result<()> {
    let node = node::start(config).context("cannot start lanchat")?;
    // Every event, however slowly stdout is read: the process is this front end.
    let subscription = node.subscribe(node::UNBOUNDED, node::no_waker());
    let commands = subscription.commands.clone();
    ctrlc::set_handler(move || {
        let _ = commands.send(Command::Quit);
    })
    .context("cannot install the SIGINT/SIGTERM handler")?;
    lanchat::headless::run(node, subscription, std::io::stdin(), std::io::stdout())
        .context("writing events to stdout")
}

#[cfg(feature = "gui")]
fn run_window(config: Config, start_hidden: bool) -> Result<()> {
    let options = lanchat::ui::WindowOptions {
        start_hidden,
        args: std::env::args_os().skip(1).collect(),
    };
    lanchat::ui::run(config, options)
}

#[cfg(not(feature = "gui"))]
fn run_window(_config: Config, _start_hidden: bool) -> Result<()> {
    bail!("this build has no window (built without the `gui` feature); use --headless")
}

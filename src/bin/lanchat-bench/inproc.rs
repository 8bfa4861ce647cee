//! A node inside the benchmark process (the library API), and the round-trip probe:
//! send one message, wait for its `delivered`, repeat.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lanchat::config::Config;
use lanchat::node::{self, Command, Event, NodeHandle};

/// An in-process loopback node.
pub struct InProc {
    /// The running node.
    pub handle: NodeHandle,
    /// Its peer id.
    pub id: String,
}

impl InProc {
    /// Starts a loopback node on `discovery_port` and waits for `ready`.
    pub fn start(dir: &Path, name: &str, discovery_port: u16) -> Result<InProc> {
        let mut config = Config::loopback(dir, discovery_port);
        config.name = Some(name.to_owned());
        let handle = node::spawn(config, node::no_waker())?;
        let id = loop {
            if let Event::Ready { id, .. } = handle.events.recv_timeout(Duration::from_secs(30))? {
                break id;
            }
        };
        Ok(InProc {
            handle,
            id: id.into(),
        })
    }

    /// Waits until `peer` is listed.
    pub fn wait_joined(&self, peer: &str) -> Result<()> {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self
                .handle
                .events
                .recv_timeout(left)
                .with_context(|| format!("peer {peer} never joined"))?
            {
                Event::PeerJoined { peer: p } if p.id == peer => return Ok(()),
                _ => {}
            }
        }
    }

    /// Sends `text` to `to` and returns the time until it is delivered, or `None` if
    /// not within `patience`.
    pub fn round_trip(&self, to: &str, text: &str, patience: Duration) -> Result<Option<Duration>> {
        let start = Instant::now();
        self.handle.commands.send(Command::Send {
            to: to.to_owned(),
            text: text.to_owned(),
        })?;
        let mut msg = None;
        let end = start + patience;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let Ok(event) = self.handle.events.recv_timeout(left) else {
                return Ok(None);
            };
            match event {
                Event::Sent { msg_id, .. } if msg.is_none() => msg = Some(msg_id),
                Event::Delivered { msg_id, .. } if Some(&msg_id) == msg.as_ref() => {
                    return Ok(Some(start.elapsed()));
                }
                Event::Error { message } => bail!("send failed: {message}"),
                _ => {}
            }
        }
    }

    /// Sends `n` messages to `to` back to back and returns the time until the last
    /// one is delivered.
    pub fn burst(&self, to: &str, text: &str, n: usize, patience: Duration) -> Result<Duration> {
        let start = Instant::now();
        for _ in 0..n {
            self.handle.commands.send(Command::Send {
                to: to.to_owned(),
                text: text.to_owned(),
            })?;
        }
        let end = start + patience;
        let mut delivered = 0;
        while delivered < n {
            let left = end.saturating_duration_since(Instant::now());
            match self
                .handle
                .events
                .recv_timeout(left)
                .with_context(|| format!("{delivered} of {n} delivered within {patience:?}"))?
            {
                Event::Delivered { .. } => delivered += 1,
                Event::Error { message } => bail!("send failed: {message}"),
                _ => {}
            }
        }
        Ok(start.elapsed())
    }

    /// Round trips every `gap` until `until`; also returns how many never came back.
    pub fn probe_until(
        &self,
        to: &str,
        until: Instant,
        gap: Duration,
    ) -> Result<(Vec<Duration>, usize)> {
        let mut samples = Vec::new();
        let mut lost = 0;
        let mut next = Instant::now();
        while Instant::now() < until {
            match self.round_trip(
                to,
                "probe: 32 bytes of chat text....",
                Duration::from_secs(10),
            )? {
                Some(d) => samples.push(d),
                None => lost += 1,
            }
            next += gap;
            // Pacing, not waiting for an outcome: sleeping is what a rate limit is.
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        Ok((samples, lost))
    }
}

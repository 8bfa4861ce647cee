//! `rooms`: one room message to N members (N = 10, 50) beside N direct messages to the
//! same N peers, from the same node in the same run: send → the last member's
//! `delivered`. The room adds one history row and N room-outbox rows in one transaction
//! where the direct burst adds N history rows; the frames are the same.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lanchat::node::{Command, Event};
use serde_json::json;

use crate::Report;
use crate::inproc::InProc;
use crate::stats::{Row, median};

/// How long one round may take before the run is given up.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `rounds` timed rounds (after one warm-up) for each member count.
pub fn run(members: &[usize], rounds: usize) -> Result<Report> {
    let mut rows = Vec::new();
    let mut details = Vec::new();
    for &n in members {
        let (room_ms, direct_ms) = one_size(n, rounds)?;
        rows.push(Row::vs(
            format!("room message to {n} members, send → all delivered (median)"),
            room_ms,
            direct_ms,
            "ms",
        ));
        details.push(
            json!({"members": n, "rounds": rounds, "room_ms": room_ms, "direct_ms": direct_ms}),
        );
    }
    Ok(Report {
        scenario: "rooms".to_owned(),
        rows,
        details: json!(details),
    })
}

/// Median milliseconds of a room message to `n` members and of `n` direct messages.
fn one_size(n: usize, rounds: usize) -> Result<(f64, f64)> {
    let dir = std::env::temp_dir().join(format!("lanchat-bench-rooms-{}", std::process::id()));
    let port = crate::free_udp_port()?;
    let sender = InProc::start(&dir.join("sender"), "sender", port)?;
    let members: Vec<InProc> = (0..n)
        .map(|i| InProc::start(&dir.join(format!("m{i}")), &format!("m{i}"), port))
        .collect::<Result<_>>()?;
    for m in &members {
        sender.wait_joined(&m.id)?;
    }
    let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
    sender.handle.commands.send(Command::RoomCreate {
        name: "bench".into(),
        members: ids.clone(),
    })?;
    let room = loop {
        match sender.handle.events.recv_timeout(PATIENCE)? {
            Event::RoomCreated { room } => break room.id,
            Event::Error { message } => bail!("room_create: {message}"),
            _ => {}
        }
    };
    let (mut room_ms, mut direct_ms) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let t = deliveries(&sender, std::slice::from_ref(&room), n)?;
        let d = deliveries(&sender, &ids, n)?;
        if round > 0 {
            room_ms.push(t.as_secs_f64() * 1e3);
            direct_ms.push(d.as_secs_f64() * 1e3);
        }
        for m in &members {
            m.handle.events.try_iter().for_each(drop);
        }
    }
    drop(members);
    drop(sender);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((median(&mut room_ms), median(&mut direct_ms)))
}

/// Sends one message to each of `to` at once and returns the time until `expect`
/// `delivered`s came back.
fn deliveries(node: &InProc, to: &[String], expect: usize) -> Result<Duration> {
    let start = Instant::now();
    for t in to {
        node.handle.commands.send(Command::Send {
            to: t.clone(),
            text: "a message of ordinary length for the fan-out".into(),
        })?;
    }
    let mut got = 0;
    while got < expect {
        let left = (start + PATIENCE).saturating_duration_since(Instant::now());
        match node
            .handle
            .events
            .recv_timeout(left)
            .with_context(|| format!("{got} of {expect} delivered within {PATIENCE:?}"))?
        {
            Event::Delivered { .. } => got += 1,
            Event::Error { message } => bail!("send: {message}"),
            _ => {}
        }
    }
    Ok(start.elapsed())
}

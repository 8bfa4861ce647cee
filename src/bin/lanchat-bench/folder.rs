//! A folder of many small files sent as one lanchat transfer, beside the same tree sent
//! the way people did before: packed into one tar archive, sent as one file, unpacked.
//!
//! Each round, in an order that turns: **folder** (from `send_file` with the folder to
//! the receiver's `transfer_done`: manifest, every file written, hashed, checked and
//! moved into place, the folder renamed) and **tar** (`tar cf`, the archive sent as one
//! file, `tar xf` on the receiving side), each after a `sync`. The tar row also shows
//! the send alone. One uncounted round first. Everything stays on 127.0.0.1 and in a
//! temporary folder removed at the end. `tar` is the system's (GNU tar here).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use lanchat::node::{Command, Event};
use serde_json::json;

use crate::Report;
use crate::procfs::run_dir;
use crate::stats::{Row, median};
use crate::transfer::{Pair, Scratch, settle};

/// Runs the scenario with `files` files.
pub fn run(files: usize, rounds: usize) -> Result<Report> {
    ensure!(files > 0 && rounds > 0, "--files and --rounds must be > 0");
    let scratch = Scratch(run_dir("folder")?);
    let src = scratch.0.join("tree");
    let bytes = make_tree(&src, files)?;
    let pair = Pair::start(&scratch.0)?;
    let dl = scratch.0.join("downloads");
    let (mut folder, mut tar_all, mut tar_send) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=rounds {
        let mut took = (0.0, (0.0, 0.0));
        for k in 0..2 {
            settle();
            if (round + k) % 2 == 0 {
                took.0 = send_folder(&pair, &src, &dl)?;
            } else {
                took.1 = send_tar(&pair, &scratch.0, &dl)?;
            }
        }
        if round == 0 {
            continue; // warm-up: the link is dialed, the tree is in the page cache
        }
        println!(
            "round {round}: folder {:.2} s, tar {:.2} s (its send alone {:.2} s)",
            took.0, took.1.0, took.1.1
        );
        folder.push(took.0);
        tar_all.push(took.1.0);
        tar_send.push(took.1.1);
    }
    drop(pair);
    let (f, t, s) = (
        median(&mut folder.clone()),
        median(&mut tar_all.clone()),
        median(&mut tar_send.clone()),
    );
    let rows = vec![
        Row::vs(
            format!("{files} files ({bytes} bytes), folder vs tar cf + send + tar xf"),
            f,
            t,
            "s",
        ),
        Row::vs("folder vs sending the tar alone", f, s, "s"),
        Row::plain(
            "files per second, folder",
            format!("{:.0}", files as f64 / f),
        ),
        Row::plain("rounds (medians of)", rounds.to_string()),
    ];
    Ok(Report {
        scenario: "folder".into(),
        rows,
        details: json!({
            "files": files, "bytes": bytes, "rounds": rounds,
            "folder_secs": folder, "tar_total_secs": tar_all, "tar_send_secs": tar_send,
        }),
    })
}

/// 100 files per sub-folder, 0 to 4 KiB each (one in fifty empty); returns the bytes.
fn make_tree(root: &Path, files: usize) -> Result<u64> {
    let mut total = 0u64;
    for i in 0..files {
        let dir = root.join(format!("dir {:03}", i / 100));
        if i % 100 == 0 {
            fs::create_dir_all(&dir)?;
        }
        let len = if i % 50 == 0 { 0 } else { (i * 7919) % 4096 };
        let body: Vec<u8> = (0..len).map(|k| (k * 31 + i) as u8).collect();
        fs::write(dir.join(format!("文件 {i:05}.txt")), body)?;
        total += len as u64;
    }
    Ok(total)
}

/// Sends `path` and waits for both sides' `transfer_done`; returns the receiver's path.
fn send_and_wait(pair: &Pair, path: &Path) -> Result<PathBuf> {
    pair.alice.commands.send(Command::SendFile {
        to: pair.bob_id.clone(),
        path: path.to_path_buf(),
    })?;
    let got = loop {
        match pair.bob.events.recv_timeout(Duration::from_secs(600))? {
            Event::TransferDone { path, .. } => break PathBuf::from(path),
            Event::TransferFailed { end, .. } => bail!("transfer failed: {end}"),
            _ => {}
        }
    };
    loop {
        match pair.alice.events.recv_timeout(Duration::from_secs(60))? {
            Event::TransferDone { .. } => break,
            Event::TransferFailed { end, .. } => bail!("sender failed: {end}"),
            _ => {}
        }
    }
    Ok(got)
}

/// One folder transfer, timed; the copy is removed after.
fn send_folder(pair: &Pair, src: &Path, dl: &Path) -> Result<f64> {
    let t = Instant::now();
    let got = send_and_wait(pair, src)?;
    let secs = t.elapsed().as_secs_f64();
    ensure!(
        got.parent() == Some(dl) && got.is_dir(),
        "landed at {got:?}"
    );
    fs::remove_dir_all(&got)?;
    Ok(secs)
}

/// Packs the tree, sends the archive, unpacks it: (all of it, the send alone).
fn send_tar(pair: &Pair, root: &Path, dl: &Path) -> Result<(f64, f64)> {
    let archive = root.join("tree.tar");
    let out = root.join("unpacked");
    fs::create_dir_all(&out)?;
    let t = Instant::now();
    tar(&[
        "cf",
        &archive.to_string_lossy(),
        "-C",
        &root.to_string_lossy(),
        "tree",
    ])?;
    let sent = Instant::now();
    let got = send_and_wait(pair, &archive)?;
    let send_secs = sent.elapsed().as_secs_f64();
    tar(&["xf", &got.to_string_lossy(), "-C", &out.to_string_lossy()])?;
    let secs = t.elapsed().as_secs_f64();
    ensure!(got.parent() == Some(dl), "landed at {got:?}");
    fs::remove_file(&got)?;
    fs::remove_file(&archive)?;
    fs::remove_dir_all(&out)?;
    Ok((secs, send_secs))
}

fn tar(args: &[&str]) -> Result<()> {
    let status = Process::new("tar").args(args).status().context("run tar")?;
    ensure!(status.success(), "tar {args:?}: {status}");
    Ok(())
}

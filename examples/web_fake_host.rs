//! A fake host for the page for browsers: the web server alone, on loopback, driven by JSON
//! lines, for the end-to-end browser test (`scripts/web-e2e.sh`) and for trying the page.
//!
//! ```text
//! cargo run --example web_fake_host -- [--port P] [--spool DIR] [--inbox DIR] [--name NAME]
//! ```
//! Prints `{"event":"web_ready","url":U}` then one line per thing a visitor does
//! (`joined`, `said`, `seen`, `uploaded`, `downloaded`, `left`). Reads commands:
//! `{"cmd":"send","visitor":V,"text":T}`, `{"cmd":"send_file","visitor":V,"path":P}`,
//! `{"cmd":"accept","upload":U}`, `{"cmd":"decline","upload":U}`, `{"cmd":"revoke"}`,
//! `{"cmd":"quit"}`. Every message is answered `delivered` at once (this host's policy).
//! Binds 127.0.0.1 only: nothing leaves the machine.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use crossbeam_channel::{select, unbounded};
use lanchat::protocol::mime;
use lanchat::web::{
    self, FileOffer, UploadId, VisitorId, WebConfig, WebInput, WebOutput, WebServer,
};
use serde_json::{Value, json};

fn main() -> Result<()> {
    let mut port = 0u16;
    let mut name = "Fake host 主机".to_owned();
    let tmp = std::env::temp_dir().join(format!("web-fake-host-{}", std::process::id()));
    let mut spool = tmp.join("spool");
    let mut inbox = tmp.join("inbox");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--port" => port = value.parse().context("--port")?,
            "--spool" => spool = PathBuf::from(value),
            "--inbox" => inbox = PathBuf::from(value),
            "--name" => name = value,
            _ => bail!("unknown argument {arg}"),
        }
    }
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (tx, inputs) = crossbeam_channel::bounded(1024);
    let server = WebServer::spawn(WebConfig::new(bind, name, spool), tx)?;
    let url = server.url();
    eprintln!("{}", web::qr::terminal(&url)?);
    say(&json!({"event": "web_ready", "url": url}));

    let (cmd_tx, commands) = unbounded();
    std::thread::Builder::new()
        .name("fake-host-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if cmd_tx.send(line).is_err() {
                    break;
                }
            }
        })?;

    let mut visitors: HashMap<String, VisitorId> = HashMap::new();
    let mut uploads: HashMap<String, UploadId> = HashMap::new();
    let mut next_msg = 0u64;
    loop {
        select! {
            recv(inputs) -> input => {
                let Ok(input) = input else { break };
                report(&server, input, &mut visitors, &mut uploads);
            }
            recv(commands) -> line => {
                let Ok(line) = line else { break };
                let cmd: Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(e) => {
                        say(&json!({"event": "error", "message": format!("bad command: {e}")}));
                        continue;
                    }
                };
                match run(&server, &cmd, &visitors, &mut uploads, &inbox, &mut next_msg) {
                    Ok(Some(quit)) if quit => break,
                    Ok(_) => {}
                    Err(e) => say(&json!({"event": "error", "message": format!("{e:#}")})),
                }
            }
        }
    }
    for input in server.stop() {
        say(&json!({"event": "late", "input": format!("{input:?}")}));
    }
    Ok(())
}

fn say(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn report(
    server: &WebServer,
    input: WebInput,
    visitors: &mut HashMap<String, VisitorId>,
    uploads: &mut HashMap<String, UploadId>,
) {
    let line = match input {
        WebInput::Joined {
            visitor,
            name,
            addr,
        } => {
            visitors.insert(visitor.to_string(), visitor.clone());
            json!({"event": "joined", "visitor": visitor, "name": name, "addr": addr.to_string()})
        }
        WebInput::Said {
            visitor,
            client_msg_id,
            text,
        } => {
            let delivered = WebOutput::Delivered {
                client_msg_id: client_msg_id.clone(),
            };
            let _ = server.push(&visitor, delivered);
            json!({"event": "said", "visitor": visitor, "id": client_msg_id, "text": text})
        }
        WebInput::Seen { visitor, ids } => json!({"event": "seen", "visitor": visitor, "ids": ids}),
        WebInput::Uploaded {
            visitor,
            upload,
            name,
            size,
            mime,
            spool_path,
        } => {
            uploads.insert(upload.to_string(), upload.clone());
            json!({"event": "uploaded", "visitor": visitor, "upload": upload, "name": name,
                   "size": size, "mime": mime, "spool_path": spool_path})
        }
        WebInput::Fetching {
            visitor,
            download,
            size,
        } => json!({"event": "fetching", "visitor": visitor, "download": download, "size": size}),
        WebInput::Fetched { .. } => return,
        WebInput::Downloaded {
            visitor,
            download,
            bytes,
            complete,
        } => json!({
            "event": "downloaded", "visitor": visitor, "download": download,
            "bytes": bytes, "complete": complete}),
        WebInput::Left { visitor } => {
            visitors.remove(visitor.as_str());
            json!({"event": "left", "visitor": visitor})
        }
    };
    say(&line);
}

/// Carries out one command; `Some(true)` to quit.
fn run(
    server: &WebServer,
    cmd: &Value,
    visitors: &HashMap<String, VisitorId>,
    uploads: &mut HashMap<String, UploadId>,
    inbox: &std::path::Path,
    next_msg: &mut u64,
) -> Result<Option<bool>> {
    let field = |k: &str| cmd[k].as_str().with_context(|| format!("missing \"{k}\""));
    let visitor = || -> Result<&VisitorId> {
        let id = field("visitor")?;
        visitors.get(id).with_context(|| format!("no visitor {id}"))
    };
    match field("cmd")? {
        "send" => {
            *next_msg += 1;
            let id = format!("h{next_msg}");
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            let output = WebOutput::Message {
                id: id.clone(),
                text: field("text")?.to_owned(),
                time_ms: u64::try_from(now.as_millis())?,
            };
            server.push(visitor()?, output)?;
            say(&json!({"event": "sent", "id": id}));
        }
        "send_file" => {
            let path = PathBuf::from(field("path")?);
            let name = path
                .file_name()
                .context("no file name")?
                .to_string_lossy()
                .into_owned();
            let head = std::fs::read(&path).map(|b| b[..b.len().min(mime::SNIFF_LEN)].to_vec())?;
            let offer = FileOffer {
                mime: mime::detect(&name, &head).to_owned(),
                path,
                name,
            };
            let id = server.offer_file(visitor()?, offer)?;
            say(&json!({"event": "offered", "download": id}));
        }
        "accept" => {
            let upload = uploads.remove(field("upload")?).context("no such upload")?;
            let path = server.accept_upload(&upload, inbox)?;
            say(&json!({"event": "accepted", "upload": upload, "path": path}));
        }
        "decline" => {
            let upload = uploads.remove(field("upload")?).context("no such upload")?;
            server.decline_upload(&upload)?;
            say(&json!({"event": "declined", "upload": upload}));
        }
        "revoke" => say(&json!({"event": "web_ready", "url": server.revoke()})),
        "quit" => return Ok(Some(true)),
        other => bail!("unknown command {other}"),
    }
    Ok(None)
}

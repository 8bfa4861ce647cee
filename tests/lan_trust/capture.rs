//! The passive capture: tcpdump on alice's cable while she sends bob a chat and a file.

use std::io::Read;
use std::process::{Child, Command as Process, Stdio};

use crossbeam_channel::{Receiver, unbounded};
use serde_json::json;

use super::common::{DEADLINE, TempDir};
use super::{Lan, contains, joined, lan_or_skip, lines, node, skip};

/// tcpdump on alice's cable (her veth's end on the bridge: a bridge device itself
/// sees only what is flooded), writing every frame to its stdout as it comes, read here
/// on a thread.
struct Capture {
    child: Child,
    chunks: Receiver<Vec<u8>>,
    wire: Vec<u8>,
}

impl Capture {
    /// Starts capturing in the bridge's namespace; `Err` if tcpdump cannot run.
    fn start(lan: &Lan) -> Result<Capture, String> {
        let prefix = lan.exec("br");
        let mut child = Process::new(&prefix[0])
            .args(&prefix[1..])
            .args(["tcpdump", "-i", "tl-v0", "-U", "-s", "0", "-w", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start tcpdump: {e}"))?;
        let stderr = lines(child.stderr.take().expect("piped"), "tcpdump");
        let mut stdout = child.stdout.take().expect("piped");
        let (tx, chunks) = unbounded();
        std::thread::Builder::new()
            .name("test-capture".into())
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = stdout.read(&mut buf) {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the capture reader");
        match stderr.recv_timeout(DEADLINE) {
            Ok(line) if line.contains("listening on") => Ok(Capture {
                child,
                chunks,
                wire: Vec::new(),
            }),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("tcpdump did not start: {other:?}"))
            }
        }
    }

    /// Reads the capture until it holds `marker`; whether it came.
    fn until(&mut self, marker: &[u8]) -> bool {
        while !contains(&self.wire, marker) {
            match self.chunks.recv_timeout(DEADLINE) {
                Ok(chunk) => self.wire.extend_from_slice(&chunk),
                Err(_) => return false,
            }
        }
        true
    }

    /// Stops the capture (SIGINT: tcpdump writes what it has and exits) and returns
    /// every byte it captured.
    fn stop(mut self) -> Vec<u8> {
        let pid = self.child.id().to_string();
        let _ = Process::new("kill").args(["-INT", &pid]).status();
        self.child.wait().expect("tcpdump exits");
        self.wire.extend(self.chunks.iter().flatten());
        self.wire
    }
}

#[test]
fn a_capture_of_the_wire_shows_no_chat_text_file_name_or_file_bytes() {
    let test = "a_capture_of_the_wire_shows_no_chat_text_file_name_or_file_bytes";
    let Some(lan) = lan_or_skip(2, 'c', test) else {
        return;
    };
    let dir = TempDir::new("lan-capture");
    let mut capture = match Capture::start(&lan) {
        Ok(c) => c,
        Err(why) => return skip(test, &why),
    };
    let mark = uuid::Uuid::new_v4().simple().to_string();
    let text = format!("SECRET-{mark} 机密 {mark}");
    let file_name = format!("NAME-{mark}.bin");
    let file_bytes = format!("FILEBYTES-{mark}|");
    let shout = format!("PUBLIC-{mark}");
    let file = dir.join(&file_name);
    let body: Vec<u8> = file_bytes.as_bytes().repeat(300_000 / file_bytes.len());
    std::fs::write(&file, &body).expect("write the marker file");

    let mut alice = node(&lan, 0, &dir.join("alice"), "alice", &[]);
    let mut bob = node(&lan, 1, &dir.join("bob"), "bob", &["--auto-accept"]);
    joined(&mut alice, &bob.id);
    joined(&mut bob, &alice.id);

    alice.cmd(json!({"cmd":"send","to":bob.id,"text":text}));
    alice.wait("delivered", |v| v["event"] == "delivered");
    let m = bob.wait("message", |v| v["event"] == "message");
    assert_eq!(m["text"], json!(text));
    alice.cmd(json!({"cmd":"send_file","to":bob.id,"path":file}));
    let done = bob.wait("transfer_done", |v| v["event"] == "transfer_done");
    let saved = done["path"].as_str().expect("a path");
    assert!(saved.ends_with(&file_name), "{done}");
    assert_eq!(std::fs::read(saved).expect("the received file"), body);
    bob.cmd(json!({"cmd":"shout","text":shout}));
    alice.wait("the shout", |v| {
        v["event"] == "shout" && v["text"] == json!(shout)
    });
    // The control: a shout is public by design, and the capture reads it. Everything
    // before it on the cable was captured before it.
    assert!(
        capture.until(shout.as_bytes()),
        "the capture must hold the public shout"
    );
    alice.cmd(json!({"cmd":"quit"}));
    bob.cmd(json!({"cmd":"quit"}));
    assert!(alice.child.wait().expect("alice exits").success());
    assert!(bob.child.wait().expect("bob exits").success());

    let wire = capture.stop();
    assert!(
        wire.len() > body.len(),
        "the file crossed the bridge: {} bytes captured for a {}-byte file",
        wire.len(),
        body.len()
    );
    for (what, marker) in [
        ("the chat text", format!("SECRET-{mark}")),
        ("the chat text in Chinese", format!("机密 {mark}")),
        ("the file name", format!("NAME-{mark}")),
        ("the file bytes", format!("FILEBYTES-{mark}")),
    ] {
        assert!(
            !contains(&wire, marker.as_bytes()),
            "{what} ({marker}) is readable on the wire"
        );
    }
}

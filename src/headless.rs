//! The headless front end: commands as JSON lines on stdin, events as JSON lines on
//! stdout. Logs never go to stdout (they go to stderr), so stdout is machine-readable.
//!
//! Every bad line gets an `error` event and the process keeps running. End of input, the
//! `quit` command, SIGINT and SIGTERM all stop the node cleanly (it says bye first).
//! A command line may carry `"request_id": <u64>`: the answers to it (and the errors it
//! causes) carry the same field. The contract is documented in `docs/HEADLESS.md`.

use std::io::{self, BufRead, Read, Write};

use crossbeam_channel::Receiver;
use serde::Deserialize;

use crate::net::spawn_named;
use crate::node::{Command, Commands, Envelope, Event, Node, Subscription};

/// Longest command line accepted; longer lines are skipped with an error.
pub const MAX_LINE: usize = 4 << 20;

/// Parses one command line. The error says what was wrong, for an `error` event.
pub fn parse_command(line: &str) -> Result<Command, String> {
    serde_json::from_str::<Command>(line).map_err(|e| {
        let msg = e.to_string();
        if msg.starts_with("unknown variant") {
            format!("unknown command: {msg}")
        } else {
            format!("bad command line: {msg}")
        }
    })
}

/// The `request_id` of a command line, if it has a valid one (read apart from the
/// command, so a line with a bad command still gets its error answered to it).
pub fn request_id(line: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Id {
        request_id: Option<u64>,
    }
    serde_json::from_str::<Id>(line).ok()?.request_id
}

/// Serialises one event as a JSON line (without the newline).
pub fn event_line(event: &Event) -> String {
    serde_json::to_string(event).expect("events always serialise")
}

/// Runs the front end until the node stops: reads `input` on a thread, writes the
/// subscription's events to `output`. The caller subscribed (and may have handed a copy
/// of the commands to signal handlers).
pub fn run<R, W>(mut node: Node, subscription: Subscription, input: R, output: W) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    let Subscription { commands, events } = subscription;
    // The reader thread is not joined: it may be blocked on a terminal read forever.
    // It holds only a command sender, which goes quiet once the node has stopped.
    spawn_named("headless-stdin", move || read_commands(input, &commands))?;
    let written = write_events(&events, output);
    node.shutdown();
    written
}

/// Writes each event as one line and flushes it at once, until `stopped`. A line is in
/// the pipe as soon as it is written, so a reader that kills the process right after
/// reading a line loses none written before it (a buffer that waited for the queue to
/// drain lost a few `message` lines to a SIGKILL: `docs/BENCHMARKS.md`).
fn write_events<W: Write>(events: &Receiver<Envelope>, mut out: W) -> io::Result<()> {
    let mut line = Vec::new();
    for envelope in events.iter() {
        line.clear();
        serde_json::to_writer(&mut line, &envelope).expect("events always serialise");
        line.push(b'\n');
        out.write_all(&line)?;
        out.flush()?;
        if matches!(envelope.event, Event::Stopped) {
            break;
        }
    }
    Ok(())
}

fn read_commands<R: Read>(input: R, commands: &Commands) {
    let mut reader = io::BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match reader
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("stdin: {e}");
                0
            }
        };
        if n == 0 {
            break; // end of input: quit
        }
        if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
            // Skip the rest of the over-long line.
            let _ = reader.by_ref().skip_until(b'\n');
            let _ = commands.send(Command::Error(format!(
                "command line longer than {MAX_LINE} bytes skipped"
            )));
            continue;
        }
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t.trim(),
            Err(_) => {
                let _ = commands.send(Command::Error("command line is not UTF-8".into()));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let cmd = parse_command(text).unwrap_or_else(Command::Error);
        let sent = match request_id(text) {
            Some(id) => commands.request(id, cmd),
            None => commands.send(cmd),
        };
        if sent.is_err() {
            return;
        }
    }
    let _ = commands.send(Command::Quit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse_command(r#"{"cmd":"send","to":"张三","text":"你好"}"#).unwrap(),
            Command::Send {
                to: "张三".into(),
                text: "你好".into()
            }
        );
        assert_eq!(parse_command(r#"{"cmd":"peers"}"#).unwrap(), Command::Peers);
        assert_eq!(parse_command(r#"{"cmd":"quit"}"#).unwrap(), Command::Quit);
        assert_eq!(
            parse_command(r#"{"cmd":"rename","name":"x"}"#).unwrap(),
            Command::Rename { name: "x".into() }
        );
        assert_eq!(
            parse_command(r#"{"cmd":"shout","text":"hi"}"#).unwrap(),
            Command::Shout { text: "hi".into() }
        );
    }

    #[test]
    fn file_commands_parse() {
        assert_eq!(
            parse_command(r#"{"cmd":"send_file","to":"bob","path":"/tmp/照片.png"}"#).unwrap(),
            Command::SendFile {
                to: "bob".into(),
                path: "/tmp/照片.png".into()
            }
        );
        for (line, want) in [
            (
                r#"{"cmd":"accept","transfer_id":"t"}"#,
                Command::Accept {
                    transfer_id: "t".into(),
                },
            ),
            (
                r#"{"cmd":"decline","transfer_id":"t"}"#,
                Command::Decline {
                    transfer_id: "t".into(),
                },
            ),
            (
                r#"{"cmd":"cancel","transfer_id":"t"}"#,
                Command::Cancel {
                    transfer_id: "t".into(),
                },
            ),
        ] {
            assert_eq!(parse_command(line).unwrap(), want, "{line}");
        }
        assert!(
            parse_command(r#"{"cmd":"accept"}"#)
                .unwrap_err()
                .contains("missing field `transfer_id`")
        );
    }

    #[test]
    fn file_event_shapes() {
        let v = |e: &Event| serde_json::from_str::<serde_json::Value>(&event_line(e)).unwrap();
        let t = || "t1".to_owned();
        assert_eq!(
            v(&Event::FileOffer {
                transfer_id: t().into(),
                from: "p".into(),
                verified: false,
                name: "a.png".into(),
                size: 5,
                mime: "image/png".into(),
                folder: None,
                room: None,
            }),
            json!({"event":"file_offer","transfer_id":"t1","from":"p","verified":false,
                   "name":"a.png","size":5,"mime":"image/png"})
        );
        assert_eq!(
            v(&Event::OfferSent {
                transfer_id: t().into(),
                to: "p".into(),
                name: "a.png".into(),
                size: 5,
                mime: "image/png".into(),
                folder: None,
                room: None,
            }),
            json!({"event":"offer_sent","transfer_id":"t1","to":"p","name":"a.png","size":5,"mime":"image/png"})
        );
        assert_eq!(
            v(&Event::OfferSent {
                transfer_id: t().into(),
                to: "p".into(),
                name: "a.png".into(),
                size: 5,
                mime: "image/png".into(),
                folder: None,
                room: Some("room-1".into()),
            }),
            json!({"event":"offer_sent","transfer_id":"t1","to":"p","name":"a.png","size":5,
                   "mime":"image/png","room":"room-1"})
        );
        assert_eq!(
            v(&Event::OfferSent {
                transfer_id: t().into(),
                to: "p".into(),
                name: "相册".into(),
                size: 5,
                mime: "inode/directory".into(),
                folder: Some(crate::protocol::folder::FolderSummary {
                    files: 2,
                    folders: 1
                }),
                room: None,
            }),
            json!({"event":"offer_sent","transfer_id":"t1","to":"p","name":"相册","size":5,
                   "mime":"inode/directory","folder":{"files":2,"folders":1}})
        );
        assert_eq!(
            v(&Event::TransferProgress {
                transfer_id: t().into(),
                bytes: 3,
                total: 5,
                files: Some(1),
            }),
            json!({"event":"transfer_progress","transfer_id":"t1","bytes":3,"total":5,"files":1})
        );
        assert_eq!(
            v(&Event::TransferStarted {
                transfer_id: t().into(),
                offset: 2,
                total: 5
            }),
            json!({"event":"transfer_started","transfer_id":"t1","offset":2,"total":5})
        );
        assert_eq!(
            v(&Event::TransferProgress {
                transfer_id: t().into(),
                bytes: 3,
                total: 5,
                files: None,
            }),
            json!({"event":"transfer_progress","transfer_id":"t1","bytes":3,"total":5})
        );
        assert_eq!(
            v(&Event::TransferDone {
                transfer_id: t().into(),
                path: "/d/a.png".into()
            }),
            json!({"event":"transfer_done","transfer_id":"t1","path":"/d/a.png"})
        );
        assert_eq!(
            v(&Event::TransferFailed {
                transfer_id: t().into(),
                end: crate::node::TransferEnd::declined(
                    crate::protocol::DeclineCode::User,
                    "declined"
                )
            }),
            json!({"event":"transfer_failed","transfer_id":"t1","reason":"declined",
                   "kind":"declined","retry":false})
        );
    }

    /// Records what reached it at each flush.
    #[derive(Default)]
    struct FlushLog {
        unflushed: Vec<u8>,
        flushed: Vec<String>,
    }

    impl Write for &mut FlushLog {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.unflushed.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            let chunk = String::from_utf8(std::mem::take(&mut self.unflushed)).unwrap();
            self.flushed.push(chunk);
            Ok(())
        }
    }

    #[test]
    fn every_event_line_is_flushed_as_it_is_written() {
        // Three events already waiting, as in a burst: each still leaves on its own.
        let (tx, rx) = crossbeam_channel::unbounded();
        let delivered = |m: &str| Event::Delivered {
            msg_id: m.into(),
            to: "p".into(),
            peer: None,
        };
        for e in [
            delivered("a"),
            delivered("b"),
            Event::Stopped,
            delivered("late"),
        ] {
            tx.send(Envelope::from(e)).unwrap();
        }
        let mut log = FlushLog::default();
        write_events(&rx, &mut log).unwrap();
        assert_eq!(
            log.flushed,
            [
                "{\"event\":\"delivered\",\"msg_id\":\"a\",\"to\":\"p\"}\n",
                "{\"event\":\"delivered\",\"msg_id\":\"b\",\"to\":\"p\"}\n",
                "{\"event\":\"stopped\"}\n",
            ],
            "one flush per line, nothing after stopped"
        );
        assert!(log.unflushed.is_empty());
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(
            parse_command("hello")
                .unwrap_err()
                .starts_with("bad command line")
        );
        assert!(
            parse_command(r#"{"cmd":"dance"}"#)
                .unwrap_err()
                .starts_with("unknown command")
        );
        assert!(
            parse_command(r#"{"cmd":"send","to":"x"}"#)
                .unwrap_err()
                .contains("missing field `text`")
        );
        assert!(
            parse_command(r#"{"to":"x"}"#)
                .unwrap_err()
                .contains("missing field `cmd`")
        );
        assert!(
            parse_command(r#"{"cmd":"error"}"#).is_err(),
            "internal variant not reachable"
        );
    }

    #[test]
    fn event_shapes() {
        let v = |e: &Event| serde_json::from_str::<serde_json::Value>(&event_line(e)).unwrap();
        assert_eq!(
            v(&Event::Delivered {
                msg_id: "m".into(),
                to: "p".into(),
                peer: None,
            }),
            json!({"event":"delivered","msg_id":"m","to":"p"})
        );
        assert_eq!(
            v(&Event::PeerLeft {
                id: "p".into(),
                reason: crate::node::LeftReason::Timeout,
                name: "n".into(),
                protocol: crate::node::Protocol::Lanchat,
            }),
            json!({"event":"peer_left","id":"p","reason":"timeout","name":"n","protocol":"lanchat"})
        );
        assert_eq!(
            v(&Event::SendFailed {
                msg_id: "m".into(),
                to: "p".into(),
                reason: "too long".into()
            }),
            json!({"event":"send_failed","msg_id":"m","to":"p","reason":"too long"})
        );
        assert_eq!(
            v(&Event::DeliveryWaiting {
                to: "p".into(),
                reason: "cannot save messages right now (the disk is full)".into()
            }),
            json!({"event":"delivery_waiting","to":"p",
                   "reason":"cannot save messages right now (the disk is full)"})
        );
        assert_eq!(
            v(&Event::DeliveryResumed { to: "p".into() }),
            json!({"event":"delivery_resumed","to":"p"})
        );
        assert_eq!(
            v(&Event::PeerLeft {
                id: "web-v".into(),
                reason: crate::node::LeftReason::Bye,
                name: "小红".into(),
                protocol: crate::node::Protocol::Web,
            }),
            json!({"event":"peer_left","id":"web-v","reason":"bye","name":"小红","protocol":"web"})
        );
        assert_eq!(
            v(&Event::WebReady {
                url: "http://127.0.0.1:8080/t/ab/".into(),
                links: vec!["http://127.0.0.1:8080/t/ab/".into()],
                port: 8080,
            }),
            json!({"event":"web_ready","url":"http://127.0.0.1:8080/t/ab/",
                   "links":["http://127.0.0.1:8080/t/ab/"],"port":8080})
        );
        assert_eq!(v(&Event::WebStopped), json!({"event":"web_stopped"}));
        for (line, want) in [
            (r#"{"cmd":"web_start"}"#, Command::WebStart { port: 0 }),
            (
                r#"{"cmd":"web_start","port":8088}"#,
                Command::WebStart { port: 8088 },
            ),
            (r#"{"cmd":"web_stop"}"#, Command::WebStop),
            (r#"{"cmd":"web_new_link"}"#, Command::WebNewLink),
        ] {
            assert_eq!(parse_command(line).unwrap(), want, "{line}");
        }
        assert_eq!(
            v(&Event::error("x")),
            json!({"event":"error","message":"x"})
        );
        assert_eq!(v(&Event::Stopped), json!({"event":"stopped"}));
        assert_eq!(
            v(&Event::Message {
                room: None,
                from: "p".into(),
                from_name: "张三".into(),
                msg_id: "m".into(),
                text: "你好".into(),
                sent_at: 5
            }),
            json!({"event":"message","from":"p","from_name":"张三","msg_id":"m","text":"你好","sent_at":5})
        );
        let peer = crate::node::PeerInfo {
            id: "p".into(),
            name: "n".into(),
            host: "h".into(),
            group: String::new(),
            addr: [127, 0, 0, 1].into(),
            port: 9,
            online: true,
            status: "online".into(),
            last_seen: 1,
            protocol: crate::node::Protocol::Lanchat,
            trust: crate::node::PeerTrust {
                fingerprint: Some("05972 33818 00001 00002 00003 00004".into()),
                verified: true,
                key_changed_from: None,
                encrypted: true,
            },
        };
        assert_eq!(
            v(&Event::PeerJoined { peer: peer.clone() }),
            json!({"event":"peer_joined","peer":{"id":"p","name":"n","host":"h","group":"","addr":"127.0.0.1",
                   "port":9,"online":true,"status":"online","last_seen":1,"protocol":"lanchat",
                   "fingerprint":"05972 33818 00001 00002 00003 00004","verified":true,
                   "key_changed_from":null,"encrypted":true}})
        );
        assert_eq!(
            v(&Event::KeyChanged {
                peer,
                name: "n".into(),
                verified_peer: "q".into()
            })["verified_peer"],
            json!("q")
        );
    }

    #[test]
    fn trust_shapes() {
        let v = |e: &Event| serde_json::from_str::<serde_json::Value>(&event_line(e)).unwrap();
        for (line, want) in [
            (
                r#"{"cmd":"safety_code","peer":"bob"}"#,
                Command::SafetyCode { peer: "bob".into() },
            ),
            (
                r#"{"cmd":"verify","peer":"bob"}"#,
                Command::Verify { peer: "bob".into() },
            ),
            (
                r#"{"cmd":"unverify","peer":"bob"}"#,
                Command::Unverify { peer: "bob".into() },
            ),
            (
                r#"{"cmd":"set_auto_accept","from":"verified"}"#,
                Command::SetAutoAccept {
                    from: crate::config::AutoAccept::Verified,
                },
            ),
        ] {
            assert_eq!(parse_command(line).unwrap(), want, "{line}");
        }
        assert_eq!(
            v(&Event::SafetyCode {
                peer: "p".into(),
                name: "bob".into(),
                code: "12345 67890".into(),
                verified: false
            }),
            json!({"event":"safety_code","peer":"p","name":"bob","code":"12345 67890",
                   "verified":false})
        );
        assert_eq!(
            v(&Event::Ready {
                id: "p".into(),
                fingerprint: "05972 33818".into(),
                name: "n".into(),
                host: "h".into(),
                addr: "127.0.0.1".into(),
                port: 1,
                discovery_port: 2,
                data_dir: "/d".into()
            })["fingerprint"],
            json!("05972 33818")
        );
        assert_eq!(
            v(&Event::AutoAcceptChanged {
                from: crate::config::AutoAccept::Everyone
            }),
            json!({"event":"auto_accept_changed","from":"everyone"})
        );
    }
}

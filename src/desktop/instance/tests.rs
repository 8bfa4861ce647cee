use std::io::{Read, Write};
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};

use super::*;
use crate::desktop::{Request, Requests};

const WAIT: Duration = Duration::from_secs(10);

/// A directory of its own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("lanchat-instance-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn server(dir: &Path) -> (InstanceServer, Receiver<Request>) {
    let (tx, rx) = unbounded();
    let server = InstanceServer::start(dir, Requests::new(tx, crate::node::no_waker()))
        .expect("listening on loopback");
    (server, rx)
}

/// Sends raw bytes as a client would and returns the reply line.
fn raw(server: &InstanceServer, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(server.local_addr()).expect("connects");
    // The server may answer and close before reading all of an oversized request: a
    // reset is then fine, the reply read before it is what counts.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    reply
}

#[test]
fn the_request_line_is_pinned() {
    assert_eq!(
        encode_request("t0k"),
        b"{\"cmd\":\"show\",\"token\":\"t0k\"}\n"
    );
    assert_eq!(encode_reply(&Ok(())), b"{\"ok\":true}\n");
    let refused: serde_json::Value =
        serde_json::from_slice(&encode_reply(&Err(RequestError::WrongToken))).unwrap();
    assert_eq!(
        refused,
        serde_json::json!({"ok": false, "error": "wrong token"})
    );
    assert!(reply_is_ok(b"{\"ok\":true}"));
    for no in [
        &b"{\"ok\":false}"[..],
        b"{\"ok\":\"true\"}",
        b"ok",
        b"",
        b"[true]",
    ] {
        assert!(!reply_is_ok(no), "{:?}", String::from_utf8_lossy(no));
    }
}

#[test]
fn requests_are_checked_against_the_token() {
    let line = encode_request("secret");
    let line = &line[..line.len() - 1];
    assert_eq!(decode_request(line, "secret"), Ok(()));
    assert_eq!(
        decode_request(line, "secreT"),
        Err(RequestError::WrongToken)
    );
    assert_eq!(
        decode_request(line, "secret2"),
        Err(RequestError::WrongToken)
    );
    assert_eq!(
        decode_request(br#"{"cmd":"quit","token":"secret"}"#, "secret"),
        Err(RequestError::UnknownCommand("quit".into()))
    );
    for garbage in [
        &b""[..],
        b"\x00\xff",
        b"{\"cmd\":\"show\"}",
        b"{\"cmd\":1,\"token\":\"secret\"}",
        b"show secret",
    ] {
        assert!(
            matches!(
                decode_request(garbage, "secret"),
                Err(RequestError::Malformed(_))
            ),
            "{:?}",
            String::from_utf8_lossy(garbage)
        );
    }
}

#[test]
fn lines_are_capped_and_must_end() {
    assert_eq!(read_line(&b"abc\nrest"[..]).unwrap(), b"abc");
    assert_eq!(read_line(&b"\n"[..]).unwrap(), b"");
    let long = vec![b'x'; MAX_LINE as usize];
    assert!(read_line(&long[..]).is_err(), "no newline within the cap");
    let mut exact = vec![b'x'; MAX_LINE as usize - 1];
    exact.push(b'\n');
    assert_eq!(read_line(&exact[..]).unwrap().len(), MAX_LINE as usize - 1);
    assert!(read_line(&b"no newline"[..]).is_err());
    assert!(read_line(&b""[..]).is_err());
}

#[test]
fn a_second_start_finds_the_window_and_it_is_asked_to_show() {
    let dir = TempDir::new();
    let (server, requests) = server(&dir.0);
    let file: WindowFile =
        serde_json::from_slice(&std::fs::read(dir.0.join(FILE)).unwrap()).unwrap();
    assert_eq!(file.port, server.local_addr().port());
    assert_eq!(file.pid, std::process::id());
    assert_eq!(file.token.len(), 32);
    if let Some(mode) = crate::platform::files::mode(&dir.0.join(FILE)).unwrap() {
        assert_eq!(mode & 0o777, 0o600, "only its owner may read the token");
    }

    assert_eq!(ask_to_show(&dir.0), Answer::Shown);
    assert_eq!(
        requests
            .recv_timeout(WAIT)
            .expect("the window is asked to show"),
        Request::Show
    );
    assert_eq!(
        ask_to_show(&dir.0),
        Answer::Shown,
        "again, as often as asked"
    );
    requests.recv_timeout(WAIT).expect("asked again");

    drop(server);
    assert!(!dir.0.join(FILE).exists(), "the file goes with the window");
    assert!(matches!(ask_to_show(&dir.0), Answer::NotRunning(_)));
}

#[test]
fn hostile_clients_are_answered_and_never_raise_the_window() {
    let dir = TempDir::new();
    let (server, requests) = server(&dir.0);
    let cases: [&[u8]; 5] = [
        b"{\"cmd\":\"show\",\"token\":\"guessed\"}\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[b'{'; 4096],
        b"{\"cmd\":\"show\",\"tok",
        b"",
    ];
    for bytes in cases {
        let reply = raw(&server, bytes);
        assert!(
            !reply_is_ok(&reply[..reply.len().saturating_sub(1)]),
            "refused: {:?}",
            String::from_utf8_lossy(&reply)
        );
    }
    assert!(requests.try_recv().is_err(), "nothing reached the window");
    // It still serves the real thing afterwards.
    assert_eq!(ask_to_show(&dir.0), Answer::Shown);
    assert_eq!(requests.recv_timeout(WAIT).unwrap(), Request::Show);
}

#[test]
fn a_stale_or_broken_file_means_no_window() {
    let dir = TempDir::new();
    assert!(
        matches!(ask_to_show(&dir.0), Answer::NotRunning(_)),
        "no file"
    );

    std::fs::write(dir.0.join(FILE), b"\x00 not json").unwrap();
    assert!(matches!(ask_to_show(&dir.0), Answer::NotRunning(_)));

    // A port nobody listens on any more: taken and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stale = WindowFile {
        port,
        token: "old".into(),
        pid: 1,
    };
    std::fs::write(dir.0.join(FILE), serde_json::to_vec(&stale).unwrap()).unwrap();
    assert!(matches!(ask_to_show(&dir.0), Answer::NotRunning(_)));

    // A window of another data directory on that port does not answer for this one.
    let other = TempDir::new();
    let (other_server, other_requests) = server(&other.0);
    let wrong = WindowFile {
        port: other_server.local_addr().port(),
        ..stale
    };
    std::fs::write(dir.0.join(FILE), serde_json::to_vec(&wrong).unwrap()).unwrap();
    assert!(matches!(ask_to_show(&dir.0), Answer::NotRunning(_)));
    assert!(other_requests.try_recv().is_err());
}

//! A fake host around a real `WebServer` on loopback, and a browser-like client: plain
//! requests (ureq), an event stream read on its own thread, and raw sockets for the
//! hostile cases. Nothing waits by sleeping: every wait is a `recv_timeout`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded, unbounded};
use lanchat::web::{WebConfig, WebInput, WebLimits, WebServer};
use serde_json::Value;

pub use crate::common::{DEADLINE, TempDir};

/// Limits for tests: generous rates (many requests from one address), short times.
pub fn test_limits() -> WebLimits {
    let mut limits = WebLimits::default();
    limits.requests.per_sec = 10_000.0;
    limits.requests.burst = 10_000.0;
    limits.messages = limits.requests;
    limits.joins = limits.requests;
    limits.leave_after = Duration::from_millis(300);
    limits.heartbeat = Duration::from_millis(100);
    limits
}

/// A server with a fake host: the test reads what visitors do from `inputs`.
pub struct Fake {
    pub server: WebServer,
    pub inputs: Receiver<WebInput>,
    pub dir: TempDir,
}

impl Fake {
    pub fn start() -> Fake {
        Fake::with(test_limits(), 1024)
    }

    pub fn with(limits: WebLimits, channel: usize) -> Fake {
        let dir = TempDir::new("web");
        let mut config = WebConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "主机 Host",
            dir.join("spool"),
        );
        config.limits = limits;
        let (tx, inputs) = bounded(channel);
        let server = WebServer::spawn(config, tx).expect("start the web server");
        Fake {
            server,
            inputs,
            dir,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The next thing a visitor did, which must match `pred`.
    pub fn expect(&self, what: &str, pred: impl Fn(&WebInput) -> bool) -> WebInput {
        let input = self
            .inputs
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("expected {what}"));
        assert!(pred(&input), "expected {what}, got {input:?}");
        input
    }

    /// Nothing was reported (after whatever is already queued was looked at).
    pub fn expect_nothing(&self) {
        if let Ok(input) = self.inputs.try_recv() {
            panic!("expected no report, got {input:?}");
        }
    }

    /// A visitor joins as `name`; returns them with the Joined report's id.
    pub fn join(&self, name: &str) -> (Visitor, lanchat::web::VisitorId) {
        let v = Visitor::join(&self.url(), name);
        let id = match self.expect("joined", |i| matches!(i, WebInput::Joined { .. })) {
            WebInput::Joined {
                visitor, name: n, ..
            } => {
                assert_eq!(n, name);
                visitor
            }
            _ => unreachable!(),
        };
        (v, id)
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_global(Some(DEADLINE))
        .build()
        .into()
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn from(mut r: ureq::http::Response<ureq::Body>) -> Reply {
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = r
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .expect("read the body");
        Reply {
            status: r.status().as_u16(),
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn get(url: &str, cookie: Option<&str>) -> Reply {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    Reply::from(req.call().expect("GET"))
}

pub fn post(url: &str, cookie: Option<&str>, content_type: &str, body: &[u8]) -> Reply {
    let mut req = agent().post(url).header("Content-Type", content_type);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    Reply::from(req.send(body).expect("POST"))
}

pub fn post_json(url: &str, cookie: Option<&str>, body: &Value) -> Reply {
    post(url, cookie, "application/json", body.to_string().as_bytes())
}

/// A joined browser session: its link and cookie.
pub struct Visitor {
    pub url: String,
    pub cookie: String,
}

impl Visitor {
    pub fn join(url: &str, name: &str) -> Visitor {
        let r = post_json(
            &format!("{url}api/join"),
            None,
            &serde_json::json!({"name": name}),
        );
        assert_eq!(r.status, 200, "join: {}", r.text());
        let set = r.header("set-cookie").expect("a session cookie");
        let cookie = set.split(';').next().unwrap().to_owned();
        Visitor {
            url: url.to_owned(),
            cookie,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        get(&format!("{}{path}", self.url), Some(&self.cookie))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        post_json(&format!("{}{path}", self.url), Some(&self.cookie), body)
    }

    pub fn say(&self, id: &str, text: &str) -> Reply {
        self.post_json("api/say", &serde_json::json!({"id": id, "text": text}))
    }

    pub fn upload(&self, name: &str, bytes: &[u8]) -> Reply {
        let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
        post(
            &format!("{}api/upload?name={q}", self.url),
            Some(&self.cookie),
            "application/octet-stream",
            bytes,
        )
    }

    /// Opens the event stream after `after` (and `Last-Event-ID` if given).
    /// The page's event stream, on a socket of its own (HTTP/1.0, so the body is the
    /// stream as sent); dropping it closes the connection, as closing a tab does.
    pub fn events(&self, after: u64, last_event_id: Option<u64>) -> Events {
        let (addr, path) = self
            .url
            .trim_start_matches("http://")
            .split_once('/')
            .unwrap();
        let stream = TcpStream::connect(addr).expect("connect for the event stream");
        let last = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "GET /{path}api/events?after={after} HTTP/1.0\r\nHost: {addr}\r\nCookie: {}\r\n{last}\r\n",
            self.cookie
        );
        (&stream).write_all(req.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut status = String::new();
        reader.read_line(&mut status).expect("the status line");
        assert_eq!(status.split(' ').nth(1), Some("200"), "{status}");
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("a header");
            if header.trim_end().is_empty() {
                break;
            }
        }
        Events::read(reader, stream)
    }
}

/// Server-sent events, parsed on a reader thread: `(id, data)` per event; the channel
/// closes when the stream ends.
pub struct Events {
    rx: Receiver<(Option<u64>, Value)>,
    stream: TcpStream,
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

impl Events {
    fn read(reader: impl BufRead + Send + 'static, stream: TcpStream) -> Events {
        let (tx, rx) = unbounded();
        std::thread::Builder::new()
            .name("test-sse".into())
            .spawn(move || {
                let mut id = None;
                for line in reader.lines() {
                    let Ok(line) = line else { break };
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        let value = serde_json::from_str(data).expect("JSON data");
                        if tx.send((id.take(), value)).is_err() {
                            break;
                        }
                    }
                }
            })
            .unwrap();
        Events { rx, stream }
    }

    /// The next event, which must be of `kind`.
    pub fn next(&self, kind: &str) -> (Option<u64>, Value) {
        let (id, v) = self
            .rx
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("expected a {kind} event"));
        assert_eq!(v["kind"], kind, "{v}");
        (id, v)
    }

    /// The next event, whatever its kind.
    pub fn next_any(&self) -> (Option<u64>, Value) {
        self.rx
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("expected an event"))
    }

    /// The stream ends (the server closed it).
    pub fn expect_end(&self) {
        match self.rx.recv_timeout(DEADLINE) {
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {}
            other => panic!("expected the stream to end, got {other:?}"),
        }
    }
}

/// A raw connection from a chosen loopback address (127.0.0.x is all this machine).
pub fn raw(server: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(from, 0).into())
        .expect("bind the client address");
    socket.connect(&server.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// Sends `request` raw and returns the status of the answer, or `None` if the server
/// closed the connection without one.
pub fn raw_status(stream: &mut TcpStream, request: &[u8]) -> Option<u16> {
    // The server may close while we write (it refused early): that is an answer too.
    let _ = stream.write_all(request);
    read_status(stream)
}

/// The status line of what comes back next, or `None` on close.
pub fn read_status(stream: &mut TcpStream) -> Option<u16> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Ok(_) => return None,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("no answer: {e}"),
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.split(' ').nth(1).and_then(|s| s.parse().ok())
}

/// Reads until the server closes the connection (panics if it does not within the
/// deadline).
pub fn expect_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
}

/// An event stream on a raw socket, open (status 200 read), to be dropped like a tab.
pub fn raw_events(fake: &Fake, visitor: &Visitor) -> TcpStream {
    let path = visitor
        .url
        .trim_start_matches("http://")
        .split_once('/')
        .unwrap()
        .1;
    let mut s = raw(fake.addr(), "127.0.0.1".parse().unwrap());
    let req = format!(
        "GET /{path}api/events HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\r\n",
        visitor.cookie
    );
    assert_eq!(raw_status(&mut s, req.as_bytes()), Some(200));
    s
}

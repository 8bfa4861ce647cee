//! The hostile person on the LAN: malformed requests, huge heads, slow and stalled
//! clients, path tricks, oversized bodies, floods of requests and connections. Each gets
//! the right status or a closed connection; the server keeps serving; memory stays bounded.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lanchat::web::{MAX_HEADER_BYTES, WebInput, WebLimits};
use serde_json::json;

use crate::harness::*;

fn from(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

fn token_path(fake: &Fake) -> String {
    fake.url()
        .trim_start_matches("http://")
        .split_once('/')
        .unwrap()
        .1
        .to_owned()
}

/// The server still answers a good request.
fn still_serving(fake: &Fake) {
    assert_eq!(get(&format!("{}api/info", fake.url()), None).status, 200);
}

#[test]
fn malformed_and_oversized_heads_are_refused() {
    let fake = Fake::start();
    let path = token_path(&fake);
    let mut s = raw(fake.addr(), from(1));
    assert_eq!(raw_status(&mut s, b"GARBAGE\r\n\r\n"), Some(400));
    let mut s = raw(fake.addr(), from(1));
    assert_eq!(
        raw_status(&mut s, b"GET / HTTP/9.9\r\n\r\n").unwrap_or(400) / 100,
        4
    );
    let mut s = raw(fake.addr(), from(1));
    assert_eq!(raw_status(&mut s, b"\x00\x01\x02\xff\r\n\r\n"), Some(400));

    let big = format!(
        "GET /{path} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(MAX_HEADER_BYTES)
    );
    let mut s = raw(fake.addr(), from(1));
    assert_eq!(raw_status(&mut s, big.as_bytes()), Some(431));

    let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
    let req = format!("GET /{path} HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let mut s = raw(fake.addr(), from(1));
    assert_eq!(raw_status(&mut s, req.as_bytes()), Some(431));

    // A header line that never ends: cut off at the cap, not buffered forever.
    let mut s = raw(fake.addr(), from(1));
    s.write_all(format!("GET /{path} HTTP/1.1\r\nX-Endless: ").as_bytes())
        .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < 64 << 20 && s.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(sent < 64 << 20, "the server read 64 MiB of one header");
    still_serving(&fake);
}

#[test]
fn path_tricks_wrong_methods_and_bad_bodies() {
    let fake = Fake::start();
    let path = token_path(&fake);
    let (visitor, _) = fake.join("x");
    for trick in [
        "file/../../../etc/passwd",
        "file/..%2f..%2fetc%2fpasswd",
        "..%2fapp.js",
        "api/../api/info",
        "app.js/.",
        "./app.js",
        "%2e%2e/",
    ] {
        let req = format!("GET /{path}{trick} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut s = raw(fake.addr(), from(2));
        assert_eq!(raw_status(&mut s, req.as_bytes()), Some(404), "{trick}");
    }
    let req = format!("GET /{path}/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut s = raw(fake.addr(), from(2));
    assert_eq!(raw_status(&mut s, req.as_bytes()), Some(404));
    assert_eq!(get(&format!("{}api/say", fake.url()), None).status, 405);

    let url = &visitor.url;
    let cookie = Some(visitor.cookie.as_str());
    let post = |path: &str, body: &[u8]| {
        crate::harness::post(&format!("{url}{path}"), cookie, "application/json", body)
    };
    assert_eq!(post("api/say", b"{not json").status, 400);
    assert_eq!(post("api/say", br#"{"id":"a b","text":"x"}"#).status, 400);
    assert_eq!(post("api/say", br#"{"id":"a","text":"   "}"#).status, 400);
    let long = json!({"id": "a", "text": "字".repeat(12_000)}).to_string();
    assert_eq!(post("api/say", long.as_bytes()).status, 413);
    // A huge body is refused by its declared size, before it is read.
    let req = format!(
        "POST /{path}api/say HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nContent-Length: 1048576\r\n\r\n",
        visitor.cookie
    );
    let mut s = raw(fake.addr(), from(2));
    assert_eq!(raw_status(&mut s, req.as_bytes()), Some(413));
    assert_eq!(
        post("api/join", br#"{"name":"\u0000\u0007  "}"#).status,
        200,
        "already joined"
    );
    assert_eq!(
        crate::harness::post_json(
            &format!("{url}api/join"),
            None,
            &json!({"name": "\u{0}\u{7}  "})
        )
        .status,
        400
    );
    // Another site's page posting with the visitor's cookie.
    let r = agent()
        .post(format!("{url}api/say"))
        .header("Cookie", &visitor.cookie)
        .header("Origin", "http://evil.example")
        .header("Content-Type", "application/json")
        .send(br#"{"id":"x","text":"forged"}"#.as_slice())
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    fake.expect_nothing();
    still_serving(&fake);
}

#[test]
fn uploads_are_capped_before_and_while_they_arrive() {
    let mut limits = test_limits();
    limits.max_upload = 100_000;
    limits.max_spool = 150_000;
    limits.idle_timeout = Duration::from_millis(500);
    limits.leave_after = Duration::from_secs(600);
    let fake = Fake::with(limits, 64);
    let (visitor, _) = fake.join("x");
    let path = token_path(&fake);
    let secret = &visitor.cookie;

    // Declared too large: refused before a byte of the body is read.
    let req = format!(
        "POST /{path}api/upload?name=big HTTP/1.1\r\nHost: x\r\nCookie: {secret}\r\nContent-Length: 100001\r\n\r\n"
    );
    let mut s = raw(fake.addr(), from(3));
    assert_eq!(raw_status(&mut s, req.as_bytes()), Some(413));
    // No declared size (chunked): 411.
    let req = format!(
        "POST /{path}api/upload?name=c HTTP/1.1\r\nHost: x\r\nCookie: {secret}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    );
    let mut s = raw(fake.addr(), from(3));
    assert_eq!(raw_status(&mut s, req.as_bytes()), Some(411));
    assert_eq!(
        visitor.upload("", b"x").status,
        202,
        "an empty name becomes 'file'"
    );
    fake.expect(
        "uploaded",
        |i| matches!(i, WebInput::Uploaded { name, .. } if name == "file"),
    );
    let r = crate::harness::post(
        &format!("{}api/upload", visitor.url),
        Some(secret),
        "x/y",
        b"x",
    );
    assert_eq!(r.status, 400, "no name");

    // The spool as a whole: one waiting upload of 100 000 leaves no room for another.
    assert_eq!(visitor.upload("a", &vec![1u8; 100_000]).status, 202);
    fake.expect("uploaded", |i| matches!(i, WebInput::Uploaded { .. }));
    assert_eq!(visitor.upload("b", &vec![1u8; 60_000]).status, 507);

    // Declares 90 000, sends 10 and stalls: cut off, the .part deleted, nothing reported.
    let req = format!(
        "POST /{path}api/upload?name=slow HTTP/1.1\r\nHost: x\r\nCookie: {secret}\r\nContent-Length: 40000\r\n\r\n0123456789"
    );
    let mut s = raw(fake.addr(), from(3));
    s.write_all(req.as_bytes()).unwrap();
    let status = read_status(&mut s);
    assert!(matches!(status, None | Some(408)), "{status:?}");
    expect_closed(&mut s);
    // The server's one thread dropped that connection whole before it answers this.
    still_serving(&fake);
    fake.expect_nothing();
    let spool: Vec<_> = std::fs::read_dir(fake.dir.join("spool")).unwrap().collect();
    assert_eq!(spool.len(), 2, "only the two uploads that arrived whole");
    assert_eq!(fake.server.stats().spool_bytes, 100_001);
}

#[test]
fn slow_and_silent_clients_are_timed_out() {
    let mut limits = test_limits();
    limits.header_timeout = Duration::from_millis(300);
    limits.idle_timeout = Duration::from_millis(600);
    let fake = Fake::with(limits, 64);
    // Connects and says nothing.
    let mut silent = raw(fake.addr(), from(4));
    // Starts a head and never finishes it (slowloris).
    let mut slow = raw(fake.addr(), from(4));
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    expect_closed(&mut silent);
    expect_closed(&mut slow);
    still_serving(&fake);
}

#[test]
fn a_page_that_stops_reading_loses_its_stream_not_our_memory() {
    let mut limits = test_limits();
    limits.idle_timeout = Duration::from_millis(600);
    limits.leave_after = Duration::from_secs(600);
    let fake = Fake::with(limits, 64);
    let (visitor, id) = fake.join("stuck");
    let mut tab = raw_events(&fake, &visitor);
    // Far more than the socket buffers and the stream's backlog hold.
    let text = "满".repeat(20_000);
    for n in 0..600 {
        let m = lanchat::web::WebOutput::Message {
            id: format!("h{n}"),
            text: text.clone(),
            time_ms: 0,
        };
        fake.server.push(&id, m).unwrap();
    }
    let stats = fake.server.stats();
    assert_eq!(
        stats.streams, 0,
        "the stream that could not keep up was dropped"
    );
    assert!(stats.log_bytes <= 4 << 20, "{stats:?}");
    expect_closed(&mut tab);
    still_serving(&fake);
}

#[test]
fn floods_are_rate_limited_per_address_and_stay_bounded() {
    let mut limits = WebLimits::default();
    limits.requests.per_sec = 5.0;
    limits.requests.burst = 10.0;
    limits.max_conns_per_addr = 8;
    let fake = Fake::with(limits, 64);
    let path = token_path(&fake);
    // 200 requests on one keep-alive connection from one address: the first ten pass.
    let mut s = raw(fake.addr(), from(5));
    let mut statuses = Vec::new();
    for _ in 0..200 {
        let req = format!("GET /{path}api/info HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        statuses.push(read_status(&mut s).expect("an answer"));
        skip_body(&mut s);
    }
    assert!(
        statuses.iter().filter(|&&c| c == 200).count() <= 12,
        "{statuses:?}"
    );
    assert!(statuses.iter().filter(|&&c| c == 429).count() >= 180);
    // Another address is not affected.
    let mut other = raw(fake.addr(), from(6));
    let req = format!("GET /{path}api/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(raw_status(&mut other, req.as_bytes()), Some(200));

    // 100 connections from one address: only 8 stay open.
    let mut conns: Vec<_> = (0..100).map(|_| raw(fake.addr(), from(7))).collect();
    let mut open = 0;
    for c in &mut conns {
        c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut b = [0u8; 1];
        match std::io::Read::read(c, &mut b) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            _ => open += 1,
        }
    }
    assert_eq!(open, 8);
    assert!(fake.server.stats().connections <= 8 + 2);
    drop(conns);
    let mut third = raw(fake.addr(), from(8));
    assert_eq!(raw_status(&mut third, req.as_bytes()), Some(200));
    fake.expect_nothing();
}

/// Reads past a response's head and `Content-Length` body.
fn skip_body(s: &mut std::net::TcpStream) {
    use std::io::{BufRead, BufReader, Read};
    let mut reader = BufReader::new(s);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).unwrap();
    assert!(reader.buffer().is_empty(), "one answer per request");
}

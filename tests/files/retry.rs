//! Resume without the user: a data connection cut midway is retried by the sender and
//! finishes with only the missing bytes sent; Retry on either side; a restarted sender
//! whose file changed says why it cannot resume. The cut comes from a proxy in front of
//! the receiver (`proxy`): the sender only knows the receiver from a beacon (signed with
//! the receiver's key, read from its data folder) that points at the proxy, so its links
//! and data connections all go through it: the handshake proves the receiver at the
//! proxy's address, which is where the sender dials from then on.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::common::{TempDir, TestNode, free_udp_port};
use crate::proxy::CutProxy;
use crate::wire::{broadcaster, here_beacon, loopback_broadcast, node_keys};
use crate::{config, listing, noise, pair, send_file, wait_done, wait_failed};
use lanchat::node::{Command, Event};
use lanchat::protocol::LinkMsg;
use lanchat::protocol::hash::FileHasher;
use lanchat::trust::file_stream::CHUNK;
use lanchat::trust::noise;
use lanchat::trust::transport::TAG_LEN;

/// Where the first data connection is cut, in bytes toward the receiver.
const CUT: u64 = 3_000_000;

/// Bob receives (auto-accepting) behind a proxy; Alice knows him only through it.
pub struct Behind {
    pub dir: TempDir,
    pub a: TestNode,
    pub b: TestNode,
    pub proxy: CutProxy,
}

pub fn behind_proxy(tag: &str, retry_attempts: u32) -> Behind {
    behind_proxy_with(tag, retry_attempts, Duration::from_millis(20))
}

fn behind_proxy_with(tag: &str, retry_attempts: u32, retry_delay: Duration) -> Behind {
    let dir = TempDir::new(tag);
    let mut cb = config(&dir.0, "bob", free_udp_port());
    cb.auto_accept = true;
    let b = TestNode::start_with(cb);
    let alice_port = free_udp_port();
    let mut ca = config(&dir.0, "alice", alice_port);
    ca.retry_delay = retry_delay;
    ca.retry_attempts = retry_attempts;
    let mut a = TestNode::start_with(ca);
    let proxy = CutProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, b.port)));
    // A ten-minute interval: Bob, as the beacon has it, stays online for the whole test.
    let bob_keys = node_keys(&dir.join("bob"));
    broadcaster()
        .send_to(
            &here_beacon(&bob_keys, "bob", proxy.addr.port(), 600_000),
            loopback_broadcast(alice_port),
        )
        .expect("send bob's beacon");
    a.wait_joined(&b.id.clone());
    Behind { dir, a, b, proxy }
}

/// Bytes a data connection carries toward the receiver before its first chunk: the
/// handshake's two messages from the sender, and the sealed `file_data` frame.
fn data_head_bytes(id: &str, offset: u64) -> u64 {
    let head = LinkMsg::FileData {
        transfer_id: id.to_owned(),
        offset,
    };
    let handshake = (4 + noise::MSG1_LEN) + (4 + noise::MSG3_LEN);
    (handshake + head.to_frame().unwrap().len() + TAG_LEN) as u64
}

/// The bytes a data connection carries toward the receiver for a stream from `offset`:
/// the head, the file in sealed chunks (a length and a tag each), the sealed `file_end`.
fn data_bytes(id: &str, bytes: &[u8], offset: u64) -> u64 {
    let mut h = FileHasher::new();
    h.update(bytes);
    let end = LinkMsg::FileEnd { hash: h.finish() };
    let rest = bytes.len() as u64 - offset;
    let chunks = rest.div_ceil(CHUNK as u64);
    let sealed_end = (end.to_frame().unwrap().len() + TAG_LEN) as u64;
    data_head_bytes(id, offset) + rest + chunks * (4 + TAG_LEN as u64) + sealed_end
}

pub fn started(n: &mut TestNode, id: &str) -> u64 {
    let ev = n.wait(
        "transfer_started",
        |e| matches!(e, Event::TransferStarted { transfer_id, .. } if transfer_id == id),
    );
    let Event::TransferStarted { offset, .. } = ev else {
        unreachable!()
    };
    offset
}

pub fn interrupted(n: &mut TestNode, id: &str) -> (u32, Option<u64>) {
    let ev = n.wait(
        "transfer_interrupted",
        |e| matches!(e, Event::TransferInterrupted { transfer_id, .. } if transfer_id == id),
    );
    let Event::TransferInterrupted {
        attempt,
        retry_in_ms,
        ..
    } = ev
    else {
        unreachable!()
    };
    (attempt, retry_in_ms)
}

fn retrying(n: &mut TestNode, id: &str) -> u32 {
    let ev = n.wait(
        "transfer_retrying",
        |e| matches!(e, Event::TransferRetrying { transfer_id, .. } if transfer_id == id),
    );
    let Event::TransferRetrying { attempt, .. } = ev else {
        unreachable!()
    };
    attempt
}

fn no_failure(n: &mut TestNode) {
    let failed: Vec<Event> = n
        .drain()
        .into_iter()
        .filter(|e| matches!(e, Event::TransferFailed { .. }))
        .collect();
    assert!(failed.is_empty(), "{}: {failed:?}", n.name);
}

#[test]
fn a_data_connection_cut_midway_resumes_by_itself_and_sends_only_the_rest() {
    let Behind {
        dir,
        mut a,
        mut b,
        proxy,
    } = behind_proxy("cut", 8);
    let bytes = noise(8_000_000, 21);
    let src = dir.join("movie.bin");
    fs::write(&src, &bytes).unwrap();
    proxy.arm(CUT);
    let id = send_file(&mut a, &b.id.clone(), &src);
    assert_eq!(started(&mut b, &id), 0);
    // Both sides: interrupted, not failed; only the sender will try again by itself.
    let (attempt, retry_in) = interrupted(&mut a, &id);
    assert_eq!((attempt, retry_in), (1, Some(20)));
    assert_eq!(interrupted(&mut b, &id), (0, None));
    assert!(proxy.has_cut());
    assert_eq!(retrying(&mut a, &id), 1);
    // The resume starts after the bytes on the receiver's disk: at most what passed the
    // proxy (if the new offer comes before the receiver has read all its socket held,
    // it drops the rest), and the second connection carries exactly the remainder.
    let offset = started(&mut b, &id);
    let arrived = CUT - data_head_bytes(&id, 0);
    assert!(
        offset > 0 && offset <= arrived,
        "resumed at {offset} of {arrived}"
    );
    let got = wait_done(&mut b, &id);
    wait_done(&mut a, &id);
    assert!(fs::read(&got).unwrap() == bytes, "whole file, right hash");
    let big: Vec<u64> = proxy
        .upstream_bytes()
        .into_iter()
        .filter(|n| *n > 100_000)
        .collect();
    assert_eq!(big, [CUT, data_bytes(&id, &bytes, offset)]);
    assert_eq!(listing(&dir.join("bob-downloads")), ["movie.bin"]);
    no_failure(&mut a);
    no_failure(&mut b);
}

#[test]
fn when_the_link_drops_with_the_stream_the_offer_goes_out_as_soon_as_a_link_is_back() {
    // A ten-minute wait: only a new link can bring the offer back within the test.
    let Behind {
        dir,
        mut a,
        mut b,
        proxy,
    } = behind_proxy_with("linkdrop", 8, Duration::from_secs(600));
    let bob = b.id.clone();
    let bytes = noise(6_000_000, 41);
    let src = dir.join("album.zip");
    fs::write(&src, &bytes).unwrap();
    proxy.arm_all(CUT);
    let id = send_file(&mut a, &bob, &src);
    assert_eq!(started(&mut b, &id), 0);
    assert_eq!(interrupted(&mut a, &id), (1, Some(600_000)));
    interrupted(&mut b, &id);
    // Something else to say brings a link back; the transfer rides along at once.
    a.chat(&bob, "still there?");
    b.wait("the chat", |e| matches!(e, Event::Message { .. }));
    assert_eq!(retrying(&mut a, &id), 1);
    assert!(started(&mut b, &id) > 0, "resumed");
    assert!(fs::read(wait_done(&mut b, &id)).unwrap() == bytes);
    wait_done(&mut a, &id);
    no_failure(&mut a);
    no_failure(&mut b);
}

#[test]
fn retry_on_either_side_resumes_a_transfer_the_sender_gave_up() {
    // No automatic retries: a cut is final for the sender.
    let Behind {
        dir,
        mut a,
        mut b,
        proxy,
    } = behind_proxy("retry", 0);
    let bob = b.id.clone();
    let first = noise(5_000_000, 31);
    let src = dir.join("first.bin");
    fs::write(&src, &first).unwrap();
    proxy.arm(CUT);
    let id = send_file(&mut a, &bob, &src);
    assert_eq!(started(&mut b, &id), 0);
    wait_failed(&mut a, &id);
    assert_eq!(
        interrupted(&mut b, &id),
        (0, None),
        "the receiver keeps waiting"
    );
    // The receiver's Retry asks the sender, which takes it up from its history.
    b.send(Command::Retry {
        transfer_id: id.clone().into(),
    });
    assert_eq!(retrying(&mut b, &id), 0);
    assert_eq!(retrying(&mut a, &id), 0);
    assert!(started(&mut b, &id) > 0, "resumed");
    assert!(fs::read(wait_done(&mut b, &id)).unwrap() == first);
    wait_done(&mut a, &id);

    // The sender's Retry.
    let second = noise(5_000_000, 32);
    let src2 = dir.join("second.bin");
    fs::write(&src2, &second).unwrap();
    proxy.arm(CUT);
    let id2 = send_file(&mut a, &bob, &src2);
    assert_eq!(started(&mut b, &id2), 0);
    wait_failed(&mut a, &id2);
    interrupted(&mut b, &id2);
    a.send(Command::Retry {
        transfer_id: id2.clone().into(),
    });
    assert_eq!(retrying(&mut a, &id2), 0);
    let offset = started(&mut b, &id2);
    assert!(offset > 0, "resumed at {offset}: {:#?}", b.drain());
    assert!(fs::read(wait_done(&mut b, &id2)).unwrap() == second);
    wait_done(&mut a, &id2);

    // What cannot be retried says why.
    for (what, want) in [
        (id.clone(), "already delivered"),
        ("0123456789abcdef".to_owned(), "no transfer"),
    ] {
        a.send(Command::Retry {
            transfer_id: what.into(),
        });
        let e = a.wait("error", |e| matches!(e, Event::Error { .. }));
        assert!(
            matches!(&e, Event::Error { message } if message.contains(want)),
            "{e:?}"
        );
    }
    assert_eq!(
        listing(&dir.join("bob-downloads")),
        ["first.bin", "second.bin"]
    );
}

#[test]
fn a_restarted_sender_whose_file_changed_says_why_it_cannot_resume() {
    let (dir, port, mut a, mut b) = pair("changed", false);
    let src = dir.join("draft.txt");
    fs::write(&src, b"version one").unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    b.wait("file_offer", |e| matches!(e, Event::FileOffer { .. }));
    drop(a); // never accepted: the offer is unfinished
    fs::write(&src, b"version two, longer").unwrap();
    let mut a = TestNode::start_with(config(&dir.0, "alice", port));
    let reason = wait_failed(&mut a, &id);
    let shown = fs::canonicalize(&src).unwrap();
    assert!(
        reason.starts_with("not resumed after a restart")
            && reason.contains(&shown.display().to_string())
            && reason.contains("changed since it was offered (11 bytes then, 19 now)"),
        "{reason}"
    );
    assert!(listing(&dir.join("bob-downloads")).is_empty());
}

#[test]
fn a_receiver_restarted_midway_gets_the_rest_without_being_asked_again() {
    let dir = TempDir::new("rx-restart");
    let port = free_udp_port();
    let mut ca = config(&dir.0, "alice", port);
    ca.send_rate_limit = Some(2 << 20);
    ca.retry_delay = Duration::from_millis(20);
    let mut a = TestNode::start_with(ca);
    // Bob accepts by hand: after his restart nobody accepts again.
    let cb = config(&dir.0, "bob", port);
    let mut b = TestNode::start_with(cb.clone());
    a.wait_joined(&b.id.clone());
    let bytes = noise(8_000_000, 61);
    let src = dir.join("slides.pdf");
    fs::write(&src, &bytes).unwrap();
    let id = send_file(&mut a, &b.id.clone(), &src);
    b.wait("file_offer", |e| matches!(e, Event::FileOffer { .. }));
    b.send(Command::Accept {
        transfer_id: id.clone().into(),
    });
    b.wait(
        "a megabyte",
        |e| matches!(e, Event::TransferProgress { bytes, .. } if *bytes >= 1_000_000),
    );
    drop(b); // the receiver quits midway
    let (attempt, _) = interrupted(&mut a, &id);
    assert_eq!(attempt, 1);
    let mut b = TestNode::start_with(cb);
    b.wait("file_offer again", |e| matches!(e, Event::FileOffer { .. }));
    let offset = started(&mut b, &id);
    assert!(offset >= 1_000_000, "resumed at {offset}");
    assert!(fs::read(wait_done(&mut b, &id)).unwrap() == bytes);
    wait_done(&mut a, &id);
    no_failure(&mut a);
}

#[test]
fn cancelling_a_transfer_the_sender_gave_up_drops_the_bytes_the_receiver_kept() {
    let Behind {
        dir,
        mut a,
        mut b,
        proxy,
    } = behind_proxy("cancel-given-up", 0);
    let bob = b.id.clone();
    let src = dir.join("draft.bin");
    fs::write(&src, noise(5_000_000, 33)).unwrap();
    proxy.arm(CUT);
    let id = send_file(&mut a, &bob, &src);
    assert_eq!(started(&mut b, &id), 0);
    wait_failed(&mut a, &id);
    interrupted(&mut b, &id);
    let downloads = dir.join("bob-downloads");
    assert_eq!(listing(&downloads), ["draft.bin.part"], "kept for a resume");
    // The sender no longer runs it, but history remembers it: cancelling tells Bob.
    a.send(Command::Cancel {
        transfer_id: id.clone().into(),
    });
    assert_eq!(wait_failed(&mut a, &id), "cancelled");
    let why = wait_failed(&mut b, &id);
    assert!(why.contains("cancelled by the sender"), "{why}");
    assert!(listing(&downloads).is_empty(), "the kept bytes are gone");
}

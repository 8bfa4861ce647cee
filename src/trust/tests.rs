//! The handshake and sealed streams end to end over loopback TCP, and what a hostile
//! peer on the LAN can try against them.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::file_stream::{CHUNK, SealedReader, SealedWriter, StreamError};
use super::frame_io::TcpFrames;
use super::keys::KeyPair;
use super::noise::{self, HandshakeError, Initiator, MSG1_LEN, Responder, Session};
use super::transport::{Open, Seal};
use crate::protocol::frame;

fn keys(n: u8) -> KeyPair {
    KeyPair::from_secrets(&[n; 32], &[n.wrapping_add(50); 32])
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// A connected pair of loopback streams.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dialled = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    (dialled, accepted)
}

/// One end's outcome: its session and stream, or why it failed.
type End = Result<(Session, TcpFrames), HandshakeError>;

/// Runs the responder with `b`'s keys on a named thread while `a` dials.
fn handshake(a: KeyPair, b: KeyPair, expect: Option<String>) -> (End, End) {
    let (dialled, accepted) = tcp_pair();
    let responder = thread::Builder::new()
        .name("test-responder".into())
        .spawn(move || {
            let mut io = TcpFrames::new(accepted);
            noise::respond(&mut io, &b, soon()).map(|s| (s, io))
        })
        .unwrap();
    let mut io = TcpFrames::new(dialled);
    let initiated = match noise::initiate(&mut io, &a, expect.as_deref(), soon()) {
        Ok(session) => Ok((session, io)),
        Err(e) => {
            drop(io); // closes our side, so the responder's wait for msg3 ends
            Err(e)
        }
    };
    (initiated, responder.join().expect("responder thread"))
}

#[test]
fn both_ends_prove_who_they_are_and_talk_sealed() {
    let (a, b) = (keys(1), keys(2));
    let (a_id, b_id) = (a.peer_id(), b.peer_id());
    let (ra, rb) = handshake(a, b, Some(b_id.clone()));
    let (mut sa, _) = ra.expect("initiator finishes");
    let (mut sb, _) = rb.expect("responder finishes");
    assert_eq!(sa.remote_id, b_id);
    assert_eq!(sb.remote_id, a_id);
    assert_eq!(sa.handshake_hash, sb.handshake_hash);
    let sealed = sa
        .seal
        .seal(b"{\"type\":\"chat\",\"text\":\"secret\"}")
        .unwrap();
    assert!(
        !sealed.windows(6).any(|w| w == b"secret"),
        "no plaintext on the wire"
    );
    assert_eq!(
        sb.open.open(&sealed).unwrap(),
        b"{\"type\":\"chat\",\"text\":\"secret\"}"
    );
    let back = sb.seal.seal(b"ack").unwrap();
    assert_eq!(sa.open.open(&back).unwrap(), b"ack");
}

#[test]
fn dialling_bob_reaches_bob_or_nobody() {
    let (alice, mallory, bob_id) = (keys(1), keys(3), keys(2).peer_id());
    let (ra, rm) = handshake(alice, mallory, Some(bob_id.clone()));
    match ra {
        Err(HandshakeError::WrongPeer { expected, got }) => {
            assert_eq!(expected, bob_id);
            assert_eq!(got, keys(3).peer_id());
        }
        other => panic!(
            "expected wrong_peer, got {:?}",
            other.map(|(s, _)| s.remote_id)
        ),
    }
    // Alice stopped before msg3: Mallory never learns who called.
    let err = rm.map(|(s, _)| s.remote_id).unwrap_err();
    assert_eq!(err.label(), "closed", "{err}");
}

#[test]
fn a_v1_hello_and_garbage_are_refused_before_any_cryptography() {
    let b = keys(2);
    let err = Responder::start(&b, br#"{"type":"hello","id":"x","version":1}"#)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.label(), "version");
    for bad in [
        &b""[..],
        b"lanchat2",
        &[0u8; MSG1_LEN],
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        let err = Responder::start(&b, bad).map(|_| ()).unwrap_err();
        assert_eq!(err.label(), "malformed", "{bad:?}");
    }
}

#[test]
fn tampered_or_wrong_length_handshake_messages_fail() {
    let (a, b) = (keys(1), keys(2));
    // msg2 with one bit flipped: the initiator refuses it.
    let (initiator, msg1) = Initiator::start(&a, None).unwrap();
    let (_, mut msg2) = Responder::start(&b, &msg1).unwrap();
    msg2[100] ^= 1;
    assert_eq!(initiator.finish(&msg2).unwrap_err().label(), "decrypt");
    // msg3 with one bit flipped, then cut short: the responder refuses both.
    for cut in [false, true] {
        let (initiator, msg1) = Initiator::start(&a, None).unwrap();
        let (responder, msg2) = Responder::start(&b, &msg1).unwrap();
        let (mut msg3, _) = initiator.finish(&msg2).unwrap();
        let err = if cut {
            responder.finish(&msg3[..msg3.len() - 1]).unwrap_err()
        } else {
            msg3[10] ^= 1;
            responder.finish(&msg3).unwrap_err()
        };
        assert_eq!(err.label(), if cut { "malformed" } else { "decrypt" });
    }
}

#[test]
fn a_reflected_handshake_is_refused() {
    // Our own msg1 answered by ourselves (an attacker looping our connection back).
    let a = keys(1);
    let (initiator, msg1) = Initiator::start(&a, None).unwrap();
    let (_, msg2) = Responder::start(&a, &msg1).unwrap();
    assert_eq!(initiator.finish(&msg2).unwrap_err().label(), "own_key");
}

#[test]
fn a_silent_responder_times_out_at_the_deadline() {
    let (dialled, _accepted) = tcp_pair();
    let mut io = TcpFrames::new(dialled);
    let err = noise::initiate(&mut io, &keys(1), None, Instant::now()).unwrap_err();
    assert_eq!(err.label(), "timeout", "{err}");
}

#[test]
fn an_oversized_first_frame_is_refused_without_reading_it() {
    let (mut dialled, accepted) = tcp_pair();
    dialled.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let mut io = TcpFrames::new(accepted);
    let err = noise::respond(&mut io, &keys(2), soon()).unwrap_err();
    assert_eq!(err.label(), "malformed", "{err}");
}

/// The sessions of a finished in-memory handshake: (initiator's, responder's).
fn sessions() -> (Session, Session) {
    let (a, b) = (keys(1), keys(2));
    let (initiator, msg1) = Initiator::start(&a, None).unwrap();
    let (responder, msg2) = Responder::start(&b, &msg1).unwrap();
    let (msg3, sa) = initiator.finish(&msg2).unwrap();
    (sa, responder.finish(&msg3).unwrap())
}

/// A sender's wire: header frame, the chunks of `data` from `offset`, trailer.
fn sealed_file(seal: super::NoiseSeal, id: &str, data: &[u8], offset: u64) -> Vec<u8> {
    let mut w = SealedWriter::new(Vec::new(), seal);
    w.write_frame(b"{\"type\":\"file_data\"}").unwrap();
    let mut at = offset as usize;
    while at < data.len() {
        let n = w
            .write_chunk(id, at as u64, data.len() - at, |buf| {
                let n = buf.len().min(data.len() - at);
                buf[..n].copy_from_slice(&data[at..at + n]);
                Ok(n)
            })
            .unwrap();
        at += n;
    }
    w.write_frame(b"{\"type\":\"file_end\"}").unwrap();
    std::mem::take(w.get_mut())
}

/// What a receiver makes of `wire`: the file bytes from `offset`, or the first error.
fn receive(
    open: super::NoiseOpen,
    wire: &[u8],
    id: &str,
    size: u64,
    offset: u64,
) -> Result<Vec<u8>, StreamError> {
    let mut r = SealedReader::new(wire, open);
    assert_eq!(r.read_frame()?, b"{\"type\":\"file_data\"}");
    let mut got = Vec::new();
    let mut at = offset;
    while at < size {
        let max = usize::try_from(size - at).unwrap();
        let chunk = r.read_chunk(id, at, max)?;
        at += chunk.len() as u64;
        got.extend_from_slice(chunk);
    }
    assert_eq!(r.read_frame()?, b"{\"type\":\"file_end\"}");
    Ok(got)
}

fn file_bytes() -> Vec<u8> {
    (0..CHUNK * 2 + 1000).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn file_bytes_arrive_whole_from_any_offset() {
    let data = file_bytes();
    for offset in [0, 1, CHUNK as u64, data.len() as u64 - 1] {
        let (sa, sb) = sessions();
        let wire = sealed_file(sa.seal, "t1", &data, offset);
        assert!(!wire.windows(64).any(|w| data.windows(64).next() == Some(w)));
        let got = receive(sb.open, &wire, "t1", data.len() as u64, offset).unwrap();
        assert_eq!(got, &data[offset as usize..]);
    }
}

/// Splits a sealed wire into its frames (header included).
fn frames_of(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut dec = frame::FrameDecoder::new();
    dec.push(wire);
    std::iter::from_fn(|| dec.next_frame().unwrap())
        .map(|body| frame::encode(&body).unwrap())
        .collect()
}

#[test]
fn tampered_reordered_replayed_spliced_and_cut_file_streams_fail() {
    let data = file_bytes();
    let size = data.len() as u64;
    // A fresh session each time: `damage` edits the sender's frames (head, three chunks,
    // trailer) before the receiver of the same session reads them as transfer `id`.
    let check = |id: &str, want: &str, damage: &dyn Fn(&mut Vec<Vec<u8>>)| {
        let (sa, sb) = sessions();
        let mut frames = frames_of(&sealed_file(sa.seal, "t1", &data, 0));
        assert_eq!(frames.len(), 5);
        damage(&mut frames);
        let err = receive(sb.open, &frames.concat(), id, size, 0).unwrap_err();
        assert_eq!(err.label(), want, "{err}");
    };
    check("t1", "forged", &|f| f[2][100] ^= 1); // one bit of a chunk
    check("t1", "forged", &|f| f.swap(1, 2)); // two chunks swapped
    check("t1", "forged", &|f| f[2] = f[1].clone()); // a chunk sent twice
    check("t2", "forged", &|_| {}); // the chunks of another transfer
    check("t1", "truncated", &|f| f.truncate(3)); // cut after two chunks
    check("t1", "truncated", &|f| {
        f[2].truncate(1000); // cut inside the second chunk
        f.truncate(3);
    });
    // A trailer where a chunk should be: the sender cannot end the file early.
    check("t1", "forged", &|f| {
        f.remove(3);
        f.remove(2);
    });
    // A chunk announced longer than any chunk: refused before it is read.
    check("t1", "too_long", &|f| {
        f.truncate(1);
        f.push(u32::MAX.to_be_bytes().to_vec());
    });
    // Another connection's chunk at the same transfer and offset (same static keys,
    // other ephemeral keys): refused.
    let (other, _) = sessions();
    let spliced = frames_of(&sealed_file(other.seal, "t1", &data, 0));
    check("t1", "forged", &|f| f[2] = spliced[2].clone());
    // Undamaged, the same helper receives the whole file.
    let (sa, sb) = sessions();
    let wire = sealed_file(sa.seal, "t1", &data, 0);
    assert_eq!(receive(sb.open, &wire, "t1", size, 0).unwrap(), data);
}

#[test]
fn a_sealed_file_crosses_real_tcp() {
    let data = file_bytes();
    let (sa, sb) = sessions();
    let (dialled, accepted) = tcp_pair();
    let sender = thread::Builder::new()
        .name("test-sender".into())
        .spawn({
            let data = data.clone();
            move || -> io::Result<()> {
                let wire = sealed_file(sa.seal, "t1", &data, 0);
                (&dialled).write_all(&wire)
            }
        })
        .unwrap();
    let got = receive(sb.open, &read_all(accepted), "t1", data.len() as u64, 0).unwrap();
    sender.join().unwrap().unwrap();
    assert_eq!(got, data);
}

fn read_all(mut stream: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    io::Read::read_to_end(&mut stream, &mut out).unwrap();
    out
}

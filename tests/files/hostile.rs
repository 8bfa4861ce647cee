//! A hand-made sender that lies: wrong hash, hostile names.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::{DEADLINE, TempDir, TestNode, free_udp_port};
use crate::{config, listing, noise, wait_done, wait_failed};
use lanchat::protocol::hash::FileHasher;
use lanchat::protocol::{FrameDecoder, LinkMsg};

/// A peer made by hand: a link on a raw socket, for what a real node never sends.
pub struct FakePeer {
    stream: TcpStream,
    decoder: FrameDecoder,
    id: String,
}

impl FakePeer {
    pub fn connect(port: u16) -> FakePeer {
        FakePeer::connect_as(port, &"f".repeat(32))
    }

    /// A fake peer with the given id.
    pub fn connect_as(port: u16, id: &str) -> FakePeer {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the node");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let id = id.to_owned();
        let mut p = FakePeer {
            stream,
            decoder: FrameDecoder::new(),
            id: id.clone(),
        };
        p.send(&LinkMsg::Hello {
            id,
            name: "mallory".into(),
            version: 1,
            instance: "i".into(),
            port: 0,
        });
        assert!(matches!(p.recv(), LinkMsg::Hello { .. }));
        p
    }

    pub fn send(&mut self, m: &LinkMsg) {
        self.stream.write_all(&m.to_frame().unwrap()).unwrap();
    }

    pub fn recv(&mut self) -> LinkMsg {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(body) = self.decoder.next_frame().unwrap() {
                return LinkMsg::decode(&body).unwrap();
            }
            let n = self
                .stream
                .read(&mut buf)
                .expect("a frame within the deadline");
            assert!(n > 0, "the node closed the link");
            self.decoder.push(&buf[..n]);
        }
    }

    /// Offers `name`, waits for the accept, streams `data` and a trailer with `hash`;
    /// returns the receiver's verdict on the data connection.
    fn transfer(&mut self, port: u16, tid: &str, name: &str, data: &[u8], hash: &str) -> LinkMsg {
        self.send(&LinkMsg::FileOffer {
            transfer_id: tid.into(),
            name: name.into(),
            size: data.len() as u64,
            mime: String::new(),
        });
        let offset = loop {
            match self.recv() {
                LinkMsg::FileAccept {
                    transfer_id,
                    offset,
                } if transfer_id == tid => break offset,
                other => assert!(!matches!(other, LinkMsg::FileDecline { .. }), "{other:?}"),
            }
        };
        assert_eq!(offset, 0);
        let mut data_conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        data_conn.set_read_timeout(Some(DEADLINE)).unwrap();
        let head = LinkMsg::FileData {
            transfer_id: tid.into(),
            offset: 0,
        };
        let mut wire = head.to_frame().unwrap();
        wire.extend_from_slice(data);
        wire.extend(
            LinkMsg::FileEnd {
                hash: hash.to_owned(),
            }
            .to_frame()
            .unwrap(),
        );
        data_conn.write_all(&wire).unwrap();
        let mut dec = FrameDecoder::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(body) = dec.next_frame().unwrap() {
                return LinkMsg::decode(&body).unwrap();
            }
            let n = data_conn.read(&mut buf).expect("a verdict");
            assert!(n > 0, "closed without a verdict");
            dec.push(&buf[..n]);
        }
    }
}

pub fn hash_of(data: &[u8]) -> String {
    let mut h = FileHasher::new();
    h.update(data);
    h.finish()
}

fn receiver(tag: &str) -> (TempDir, TestNode) {
    let dir = TempDir::new(tag);
    let mut c = config(&dir.0, "bob", free_udp_port());
    c.auto_accept = true;
    let b = TestNode::start_with(c);
    (dir, b)
}

#[test]
fn a_corrupted_stream_is_rejected_and_nothing_is_lost() {
    let (dir, mut b) = receiver("corrupt");
    let dl = dir.join("bob-downloads");
    fs::create_dir_all(&dl).unwrap();
    fs::write(dl.join("report.pdf"), b"precious").unwrap();
    let mut m = FakePeer::connect(b.port);
    let data = noise(300_000, 5);
    let mut flipped = data.clone();
    flipped[123_456] ^= 1;
    let tid = "c".repeat(32);
    // The bytes differ from what the hash describes: one flipped bit.
    let verdict = m.transfer(b.port, &tid, "report.pdf", &flipped, &hash_of(&data));
    assert!(
        matches!(&verdict, LinkMsg::FileCancel { reason, .. } if reason.contains("hash mismatch")),
        "{verdict:?}"
    );
    assert!(wait_failed(&mut b, &tid).contains("hash mismatch"));
    assert_eq!(listing(&dl), ["report.pdf"], "no .part promoted or left");
    assert_eq!(fs::read(dl.join("report.pdf")).unwrap(), b"precious");
    // The same peer then sends it right; it lands beside the user's file.
    let tid2 = "d".repeat(32);
    let verdict = m.transfer(b.port, &tid2, "report.pdf", &data, &hash_of(&data));
    assert!(matches!(verdict, LinkMsg::FileDone { .. }), "{verdict:?}");
    assert_eq!(wait_done(&mut b, &tid2), dl.join("report (1).pdf"));
    assert_eq!(m.id.len(), 32);
}

#[test]
fn hostile_names_land_safely_inside_the_download_folder() {
    let (dir, mut b) = receiver("hostile");
    let dl = dir.join("bob-downloads");
    let mut m = FakePeer::connect(b.port);
    let long = "n".repeat(500);
    let names = [
        "../../etc/passwd",
        "a/b",
        "..",
        "C:\\x",
        "nul\0byte",
        long.as_str(),
        "CON",
        "",
        "/abs/path.txt",
    ];
    for (i, name) in names.iter().enumerate() {
        let tid = format!("{i:032x}");
        let data = format!("file {i}").into_bytes();
        let verdict = m.transfer(b.port, &tid, name, &data, &hash_of(&data));
        assert!(
            matches!(verdict, LinkMsg::FileDone { .. }),
            "{name:?}: {verdict:?}"
        );
        let path = wait_done(&mut b, &tid);
        assert_eq!(path.parent(), Some(dl.as_path()), "{name:?} → {path:?}");
        assert_eq!(fs::read(&path).unwrap(), data);
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !file_name.starts_with('.') && file_name.len() <= 200,
            "{file_name:?}"
        );
    }
    assert_eq!(listing(&dl).len(), names.len());
    assert!(!dir.join("etc").exists() && !dir.0.parent().unwrap().join("etc/passwd").exists());
}

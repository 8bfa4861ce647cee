//! A hand-made sender that lies: wrong hash, hostile names. It speaks protocol v2 by
//! hand (the handshake, sealed frames, sealed chunks), so what it lies about is what
//! the encryption cannot catch: the sender itself.

use std::fs;
use std::net::{SocketAddr, TcpStream};

use crate::common::{DEADLINE, TempDir, TestNode, free_udp_port};
use crate::wire::{RawPeer, new_keys};
use crate::{config, listing, noise, wait_done, wait_failed};
use lanchat::protocol::LinkMsg;
use lanchat::protocol::hash::FileHasher;
use lanchat::trust::KeyPair;
use lanchat::trust::file_stream::{CHUNK, SealedReader, SealedWriter};

/// A peer made by hand: a link on a raw socket, for what a real node never sends.
pub struct FakePeer {
    link: RawPeer,
    keys: KeyPair,
    port: u16,
}

/// A data connection made by hand, after its handshake.
pub struct DataConn {
    out: SealedWriter<TcpStream>,
    back: SealedReader<std::io::Chain<std::io::Cursor<Vec<u8>>, TcpStream>>,
}

impl DataConn {
    /// `file_data` for `tid` from `offset`.
    pub fn head(&mut self, tid: &str, offset: u64) {
        let head = LinkMsg::FileData {
            transfer_id: tid.into(),
            offset,
        };
        self.out
            .write_frame(&head.to_body())
            .expect("write file_data");
    }

    /// `data` as the chunks of `tid` starting at file offset `offset`.
    pub fn bytes(&mut self, tid: &str, offset: u64, data: &[u8]) {
        let mut at = 0;
        while at < data.len() {
            let n = (data.len() - at).min(CHUNK);
            self.out
                .write_chunk(tid, offset + at as u64, n, |buf| {
                    buf[..n].copy_from_slice(&data[at..at + n]);
                    Ok(n)
                })
                .expect("write a chunk");
            at += n;
        }
    }

    /// Any sealed frame (a folder's manifest).
    pub fn frame(&mut self, body: &[u8]) {
        self.out.write_frame(body).expect("write a frame");
    }

    /// `file_end` with `hash`.
    pub fn end(&mut self, hash: &str) {
        let end = LinkMsg::FileEnd {
            hash: hash.to_owned(),
        };
        self.out
            .write_frame(&end.to_body())
            .expect("write file_end");
    }

    /// The receiver's verdict.
    pub fn verdict(&mut self) -> LinkMsg {
        let body = self.back.read_frame().expect("a verdict");
        LinkMsg::decode(body).unwrap()
    }
}

impl FakePeer {
    /// A new peer with a key of its own.
    pub fn connect(port: u16) -> FakePeer {
        FakePeer::connect_as(port, new_keys())
    }

    /// A fake peer with the given identity.
    pub fn connect_as(port: u16, keys: KeyPair) -> FakePeer {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let link = RawPeer::try_connect_as(addr, &keys, "mallory").expect("a link");
        link.stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut p = FakePeer { link, keys, port };
        assert!(matches!(p.recv(), LinkMsg::Hello { .. }));
        p
    }

    /// Our peer id.
    pub fn id(&self) -> &str {
        &self.link.id
    }

    pub fn send(&mut self, m: &LinkMsg) {
        self.link.send(m);
    }

    pub fn recv(&mut self) -> LinkMsg {
        self.link.recv().expect("the node closed the link")
    }

    /// A data connection to the node, its handshake done (only the node may answer).
    pub fn data(&self) -> DataConn {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let node = self.link.node_id.clone();
        let conn = RawPeer::handshake(addr, &self.keys, Some(&node)).expect("a data connection");
        let (out, back) = conn.into_file_stream();
        DataConn { out, back }
    }

    /// Offers `name`, waits for the accept, streams `data` and a trailer with `hash`;
    /// returns the receiver's verdict on the data connection.
    fn transfer(&mut self, tid: &str, name: &str, data: &[u8], hash: &str) -> LinkMsg {
        self.send(&LinkMsg::FileOffer {
            transfer_id: tid.into(),
            name: name.into(),
            size: data.len() as u64,
            mime: String::new(),
            folder: None,
            room: None,
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
        let mut conn = self.data();
        conn.head(tid, 0);
        conn.bytes(tid, 0, data);
        conn.end(hash);
        conn.verdict()
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
    let verdict = m.transfer(&tid, "report.pdf", &flipped, &hash_of(&data));
    assert!(
        matches!(&verdict, LinkMsg::FileCancel { reason, .. } if reason.contains("hash mismatch")),
        "{verdict:?}"
    );
    assert!(wait_failed(&mut b, &tid).contains("hash mismatch"));
    assert_eq!(listing(&dl), ["report.pdf"], "no .part promoted or left");
    assert_eq!(fs::read(dl.join("report.pdf")).unwrap(), b"precious");
    // The same peer then sends it right; it lands beside the user's file.
    let tid2 = "d".repeat(32);
    let verdict = m.transfer(&tid2, "report.pdf", &data, &hash_of(&data));
    assert!(matches!(verdict, LinkMsg::FileDone { .. }), "{verdict:?}");
    assert_eq!(wait_done(&mut b, &tid2), dl.join("report (1).pdf"));
    assert_eq!(m.id().len(), 32);
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
        let verdict = m.transfer(&tid, name, &data, &hash_of(&data));
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

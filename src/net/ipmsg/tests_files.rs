//! IPMsg file threads on loopback: a requested file served from its offset, a changed
//! file refused, a fetch resumed into its `.part`, cut short, or aimed at nobody.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};

use super::tests::{Node, WAIT, getfiledata, report, start, temp_dir};
use super::*;

#[test]
fn a_requested_file_is_served_from_the_offset_then_closed() {
    let Node { ipmsg, tx, rx } = start(8);
    let dir = temp_dir("serve");
    let path = dir.join("a.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&path, &data).unwrap();
    let mut client = TcpStream::connect(ipmsg.local_addr()).unwrap();
    client.write_all(&getfiledata(9, 10_000, 1000)).unwrap();
    let IpmsgInput::FileRequest {
        stream,
        peer,
        packet,
        request,
    } = rx.recv_timeout(WAIT).expect("the request")
    else {
        panic!("not a request")
    };
    assert_eq!(SocketAddr::V4(peer), client.local_addr().unwrap());
    assert_eq!(packet.packet_no, 77);
    assert!(request.packet_no.matches(9) && request.file_id.matches(10_000));
    assert_eq!(request.offset, 1000);
    let job = ServeJob {
        job: 4,
        path: path.clone(),
        size: data.len() as u64,
        offset: 1000,
    };
    let _thread = ipmsg.serve(job, stream, tx.clone()).expect("serve");
    let mut got = Vec::new();
    client.set_read_timeout(Some(WAIT)).unwrap();
    client.read_to_end(&mut got).expect("the bytes, then EOF");
    assert_eq!(got, &data[1000..]);
    // Done once the receiver, having every byte, closes its side.
    drop(client);
    assert_eq!(
        report(&rx),
        FileReport {
            job: 4,
            outgoing: true,
            event: FileEvent::Done { bytes: 300_000 }
        }
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn a_file_that_changed_since_the_offer_is_not_served() {
    let Node { ipmsg, tx, rx } = start(8);
    let dir = temp_dir("changed");
    let path = dir.join("a.bin");
    fs::write(&path, b"now longer than offered").unwrap();
    let mut client = TcpStream::connect(ipmsg.local_addr()).unwrap();
    client.write_all(&getfiledata(1, 1, 0)).unwrap();
    let IpmsgInput::FileRequest { stream, .. } = rx.recv_timeout(WAIT).expect("request") else {
        panic!("not a request")
    };
    let job = ServeJob {
        job: 5,
        path,
        size: 3,
        offset: 0,
    };
    let _thread = ipmsg.serve(job, stream, tx).expect("serve");
    let FileEvent::Failed { reason, broken, .. } = report(&rx).event else {
        panic!("served a changed file")
    };
    assert!(
        reason.contains("changed since it was offered") && !broken,
        "{reason}"
    );
    let mut got = Vec::new();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let _ = client.read_to_end(&mut got);
    assert!(got.is_empty());
    let _ = fs::remove_dir_all(dir);
}

/// A fake offering peer: accepts one connection, records the request, sends `data`
/// (maybe only part of it) and closes.
fn offering_peer(
    data: Vec<u8>,
    cut_at: Option<usize>,
) -> (SocketAddrV4, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
        unreachable!()
    };
    let thread = std::thread::Builder::new()
        .name("test-offerer".into())
        .spawn(move || {
            let (mut s, _) = listener.accept().expect("the fetcher connects");
            s.set_read_timeout(Some(WAIT)).unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 256];
            while !req.contains(&0) {
                let n = s.read(&mut b).expect("request");
                assert!(n > 0, "closed before asking");
                req.extend_from_slice(&b[..n]);
            }
            let upto = cut_at.unwrap_or(data.len());
            let _ = s.write_all(&data[..upto]);
            // Trailing junk past the size must be ignored.
            if cut_at.is_none() {
                let _ = s.write_all(b"JUNK");
            }
            req
        })
        .unwrap();
    (addr, thread)
}

#[test]
fn a_fetch_resumes_into_the_part_and_stops_at_the_size() {
    let Node { ipmsg, tx, rx } = start(8);
    let dir = temp_dir("fetch");
    let part = dir.join("x.part");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
    // 1000 good bytes kept from an earlier try, and 10 stale ones after them.
    let mut kept = data[..1000].to_vec();
    kept.extend_from_slice(b"stalestale");
    fs::write(&part, &kept).unwrap();
    let (addr, peer) = offering_peer(data[1000..].to_vec(), None);
    let request = getfiledata(9, 10_000, 1000);
    let job = FetchJob {
        job: 8,
        addr,
        request: request.clone(),
        part: part.clone(),
        size: data.len() as u64,
        offset: 1000,
    };
    let _thread = ipmsg.fetch(job, tx).expect("fetch");
    assert_eq!(
        report(&rx),
        FileReport {
            job: 8,
            outgoing: false,
            event: FileEvent::Done { bytes: 200_000 }
        }
    );
    assert_eq!(peer.join().unwrap(), request);
    assert_eq!(fs::read(&part).unwrap(), data);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn a_fetch_cut_short_keeps_what_arrived() {
    let Node { ipmsg, tx, rx } = start(8);
    let dir = temp_dir("cut");
    let part = dir.join("y.part");
    let data = vec![42u8; 50_000];
    let (addr, peer) = offering_peer(data.clone(), Some(20_000));
    let job = FetchJob {
        job: 9,
        addr,
        request: getfiledata(1, 1, 0),
        part: part.clone(),
        size: 50_000,
        offset: 0,
    };
    let _thread = ipmsg.fetch(job, tx).expect("fetch");
    let FileEvent::Failed {
        bytes,
        reason,
        broken,
    } = report(&rx).event
    else {
        panic!("a short file was taken as whole")
    };
    assert!(broken, "worth another try: {reason}");
    assert!(reason.contains("30000 bytes before the end"), "{reason}");
    assert_eq!(bytes, 20_000);
    peer.join().unwrap();
    assert_eq!(fs::read(&part).unwrap(), &data[..20_000]);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn a_fetch_from_nobody_fails_as_broken() {
    let Node { ipmsg, tx, rx } = start(8);
    let dir = temp_dir("nobody");
    // A port nobody listens on: bind one, then free it.
    let addr = {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        match l.local_addr().unwrap() {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => unreachable!(),
        }
    };
    let job = FetchJob {
        job: 10,
        addr,
        request: getfiledata(1, 1, 0),
        part: dir.join("z.part"),
        size: 10,
        offset: 0,
    };
    let _thread = ipmsg.fetch(job, tx).expect("fetch");
    let FileEvent::Failed { broken, reason, .. } = report(&rx).event else {
        panic!("fetched from nobody")
    };
    assert!(broken && reason.contains(&addr.to_string()), "{reason}");
    let _ = fs::remove_dir_all(dir);
}

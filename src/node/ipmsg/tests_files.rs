//! Files in the IPMsg part: iptux's offer as lanchat file offers (a folder refused in
//! words), the pull's request, a decline as `RELEASEFILES`; our offer, the requests
//! served only for what was offered to that address, a release from the peer; a broken
//! pull tried again by itself.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use super::tests::{IPTUX, entry, heard, iptux, part, sent};
use super::*;
use crate::net::transfer::{RecvJob, StreamId};
use crate::node::clock::Now;
use crate::protocol::TransferId;
use crate::protocol::ipmsg::{Command, FileInfo, FileRequest, HexOrDecimal, Opt, Payload};

/// iptux's own offer: its own packet (2097184), empty text, ids from 10000.
fn iptux_offer(files: Vec<FileInfo>) -> Packet {
    let m = Payload::Message {
        text: String::new(),
        files,
    };
    iptux(9, Command(2_097_184), m, None)
}

fn offers(news: &[News]) -> Vec<(TransferId, String, u64)> {
    news.iter()
        .filter_map(|n| match n {
            News::File {
                msg:
                    LinkMsg::FileOffer {
                        transfer_id,
                        name,
                        size,
                        ..
                    },
                route: Route::Ipmsg(IPTUX),
                ..
            } => Some((transfer_id.as_str().into(), name.clone(), *size)),
            _ => None,
        })
        .collect()
}

fn recv_job(id: &TransferId, offset: u64) -> RecvJob {
    RecvJob {
        transfer_id: id.to_string(),
        part: PathBuf::from("/d/blob.bin.part"),
        sidecar: PathBuf::from("/data/partial/x.json"),
        dir: PathBuf::from("/d"),
        name: "blob.bin".into(),
        size: 200_000,
        offset,
        folder: None,
    }
}

#[test]
fn iptux_s_offer_becomes_file_offers_and_a_folder_is_refused_in_words() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    let news = heard(
        &mut p,
        iptux_offer(vec![
            FileInfo::regular(10000, "blob.bin", 200_000, 1_700_000_000),
            FileInfo {
                attr: 2,
                ..FileInfo::regular(10001, "相册", 0, 0)
            },
        ]),
        t,
        &mut out,
    );
    let got = offers(&news);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].1.as_str(), got[0].2), ("blob.bin", 200_000));
    assert!(
        news.iter()
            .any(|n| matches!(n, News::Refused(w) if w.contains("相册") && w.contains("folder")))
    );
    assert!(
        news.iter().all(|n| !matches!(n, News::Chat(_))),
        "no text, no chat"
    );
    assert!(sent(&mut out).is_empty(), "iptux's offer asks no ack");
    // Heard again (a retransmission): the same transfer, which transfers knows already.
    let again = heard(
        &mut p,
        iptux_offer(vec![FileInfo::regular(
            10000,
            "blob.bin",
            200_000,
            1_700_000_000,
        )]),
        t,
        &mut out,
    );
    assert_eq!(offers(&again)[0].0, got[0].0);
}

#[test]
fn accepting_pulls_with_getfiledata_and_declining_releases() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    let news = heard(
        &mut p,
        iptux_offer(vec![FileInfo::regular(10000, "blob.bin", 200_000, 0)]),
        t,
        &mut out,
    );
    let id = offers(&news)[0].0.clone();
    let accept = LinkMsg::FileAccept {
        transfer_id: id.to_string(),
        offset: 4096,
    };
    assert_eq!(
        p.carry(IPTUX, accept, t, &mut out),
        Carried::Fetch {
            transfer: id.clone(),
            offset: 4096
        }
    );
    let job = p
        .fetch_job(StreamId(7), &recv_job(&id, 4096))
        .expect("known offer");
    assert_eq!(
        (job.addr, job.size, job.offset, job.job),
        (IPTUX, 200_000, 4096, 7)
    );
    let request = Packet::parse(&job.request).unwrap();
    // packetNo and fileID in hex, as iptux reads them: 9 → 9, 10000 → 2710, 4096 → 1000.
    assert!(
        job.request.ends_with(b":96:9:2710:1000\0"),
        "{:?}",
        job.request
    );
    let Payload::GetFileData(r) = request.payload else {
        panic!()
    };
    assert!(r.packet_no.matches(9) && r.file_id.matches(10000) && r.offset == 4096);
    assert_eq!(
        p.job(StreamId(7)).map(|j| j.transfer.clone()),
        Some(id.clone())
    );
    // Retry after a break: the offer again, for transfers to resume.
    let resume = LinkMsg::FileResume {
        transfer_id: id.to_string(),
    };
    assert!(matches!(
        p.carry(IPTUX, resume, t, &mut out),
        Carried::Reoffer(LinkMsg::FileOffer { .. })
    ));
    let decline = LinkMsg::FileDecline {
        transfer_id: id.to_string(),
        reason: String::new(),
        code: None,
    };
    p.carry(IPTUX, decline, t, &mut out);
    let [(to, release, _)] = &sent(&mut out)[..] else {
        panic!()
    };
    assert_eq!((*to, &release.payload), (IPTUX, &Payload::Release(9)));
    assert!(
        p.fetch_job(StreamId(8), &recv_job(&id, 0)).is_none(),
        "forgotten"
    );
}

#[test]
fn our_offer_is_served_only_to_that_address_and_only_once_offered() {
    let t = Now::read();
    let mut p = part(t);
    let peer = entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    let id = TransferId::from("t1");
    p.offer_file(
        IPTUX,
        &id,
        ("lanchat文件.bin", 200_000, 1_700_000_000),
        t,
        &mut out,
    );
    let [(to, offer, _)] = &sent(&mut out)[..] else {
        panic!()
    };
    assert_eq!(*to, IPTUX);
    assert!(offer.command.has(Opt::FileAttach) && offer.command.has(Opt::SendCheck));
    let Payload::Message { text, files } = &offer.payload else {
        panic!()
    };
    assert!(text.is_empty());
    let [file] = &files[..] else { panic!() };
    assert_eq!(
        (file.name.as_str(), file.size, file.mtime),
        ("lanchat文件.bin", 200_000, 1_700_000_000)
    );
    // Offered again (a retry of a broken stream): the offer stands, no new packet.
    p.offer_file(IPTUX, &id, ("lanchat文件.bin", 200_000, 0), t, &mut out);
    assert!(sent(&mut out).is_empty());
    // iptux asks with the packet number in hex and the file id in hex.
    let ask = FileRequest {
        packet_no: HexOrDecimal::parse(&format!("{:x}", offer.packet_no)).unwrap(),
        file_id: HexOrDecimal::parse(&format!("{:x}", file.id)).unwrap(),
        offset: 0,
    };
    assert_eq!(p.requested(IPTUX, &ask), Some((peer.clone(), id.clone())));
    let elsewhere = SocketAddrV4::new(Ipv4Addr::new(10, 78, 0, 66), 2425);
    assert_eq!(
        p.requested(elsewhere, &ask),
        None,
        "not offered to that address"
    );
    let other_file = FileRequest::new(offer.packet_no, file.id + 1, 0);
    assert_eq!(p.requested(IPTUX, &other_file), None);
    assert_eq!(p.counters().requests_refused.get("not_offered"), Some(&2));
    // The peer releases it: a decline for transfers, and it is never served.
    let release = iptux(
        40,
        Command::new(Mode::ReleaseFiles, &[]),
        Payload::Release(offer.packet_no),
        None,
    );
    let news = heard(&mut p, release, t, &mut out);
    assert!(matches!(
        &news[..],
        [News::File { msg: LinkMsg::FileDecline { transfer_id, .. }, .. }] if *transfer_id == *id
    ));
    assert_eq!(p.requested(IPTUX, &ask), None);
}

#[test]
fn a_cancelled_offer_of_ours_is_never_served_and_a_served_one_not_again() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    for name in ["a", "b"] {
        p.offer_file(IPTUX, &name.into(), (name, 10, 0), t, &mut out);
    }
    let asks: Vec<FileRequest> = sent(&mut out)
        .iter()
        .map(|(_, o, _)| match &o.payload {
            Payload::Message { files, .. } => FileRequest::new(o.packet_no, files[0].id, 0),
            _ => panic!(),
        })
        .collect();
    let cancel = LinkMsg::FileCancel {
        transfer_id: "a".into(),
        reason: String::new(),
    };
    p.carry(IPTUX, cancel, t, &mut out);
    assert!(
        sent(&mut out).is_empty(),
        "nothing to say: IPMsg has no sender's cancel"
    );
    assert_eq!(p.requested(IPTUX, &asks[0]), None);
    let (_, b) = p.requested(IPTUX, &asks[1]).expect("offered");
    p.serving(StreamId(3), b, &PathBuf::from("/f/b"), 0);
    assert_eq!(
        p.job_ended(StreamId(3), true).map(|j| j.path),
        Some(PathBuf::from("/f/b"))
    );
    assert_eq!(p.requested(IPTUX, &asks[1]), None, "served once");
}

#[test]
fn a_broken_pull_is_offered_again_for_a_resume_after_a_second() {
    let t = Now::read();
    let mut p = part(t);
    entry(&mut p, t, Charset::Utf8);
    let mut out = Out::default();
    let news = heard(
        &mut p,
        iptux_offer(vec![FileInfo::regular(10000, "blob.bin", 200_000, 0)]),
        t,
        &mut out,
    );
    let id = offers(&news)[0].0.clone();
    p.fetch_job(StreamId(1), &recv_job(&id, 0)).unwrap();
    assert!(p.job_ended(StreamId(1), false).is_some());
    assert_eq!(p.pull_broke(&id, false, t), Some(Duration::from_secs(1)));
    assert!(
        p.tick(t.after(Duration::from_millis(999)), &mut out)
            .is_empty()
    );
    let again = p.tick(t.after(Duration::from_secs(1)), &mut out);
    assert_eq!(
        offers(&again).first().map(|o| o.0.clone()),
        Some(id.clone())
    );
    // A pull that finished forgets the offer.
    p.fetch_job(StreamId(2), &recv_job(&id, 100)).unwrap();
    p.job_ended(StreamId(2), true);
    assert!(p.fetch_job(StreamId(3), &recv_job(&id, 0)).is_none());
}

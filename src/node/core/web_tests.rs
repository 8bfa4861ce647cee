//! The page for browsers through the core, over a port that serves nothing: a visitor
//! joins and is a peer, messages both ways with `delivered`, an upload that waits for
//! `accept` (and one declined), a file fetched, the visitor leaving and coming back to
//! their conversation, the page stopped. Inputs are fed as the web side would.

use std::net::SocketAddr;

use crossbeam_channel::{Receiver, unbounded};

use super::fake::{FakePort, ME, TempDir, core_in};
use super::*;
use crate::net::{NetInput, WebNews};
use crate::node::command::Command;
use crate::node::event::LeftReason;
use crate::node::peer::Protocol;
use crate::node::web::peer_of;
use crate::web::{DownloadId, TransferState, UploadId, VisitorId, WebInput, WebOutput};

fn visitor() -> VisitorId {
    VisitorId("0123456789abcdef0123456789abcdef".into())
}

fn web(core: &mut Core<FakePort>, news: WebNews, now: Now) {
    let (_tx, none): (_, Receiver<NetInput<&'static str>>) = unbounded();
    core.handle_input(NetInput::Web(Box::new(news)), &none, now);
}

fn input(core: &mut Core<FakePort>, input: WebInput, now: Now) {
    web(core, WebNews::Visitor(input), now);
}

fn drain(events: &Receiver<Event>) -> Vec<Event> {
    events.try_iter().collect()
}

fn joined(name: &str) -> WebInput {
    WebInput::Joined {
        visitor: visitor(),
        name: name.into(),
        addr: SocketAddr::from(([127, 0, 0, 9], 50_123)),
    }
}

/// A core with the page on and 小红 in it.
fn with_visitor(dir: &TempDir) -> (Core<FakePort>, Receiver<Event>, Now) {
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    core.handle_command(ME, Command::WebStart { port: 0 }, t0);
    input(&mut core, joined("小红"), t0);
    (core, events, t0)
}

#[test]
fn the_page_starts_on_the_address_lanchat_uses_and_says_its_link() {
    let dir = TempDir::new("web-start");
    let t0 = Now::read();
    let (mut core, events) = core_in(&dir.0, t0);
    core.announce_start(t0);
    drain(&events);
    core.handle_command(ME, Command::WebStart { port: 0 }, t0);
    let addr = core.port.web.on.expect("started");
    assert!(addr.ip().is_loopback(), "--bind 127.0.0.1: loopback only");
    assert_eq!(core.port.web.host_name, "me");
    let ready = drain(&events);
    assert!(
        matches!(&ready[..], [Event::WebReady { url, links, port: 8080 }]
            if url == "http://127.0.0.1:8080/t/token0/" && links.len() == 1),
        "{ready:?}"
    );
    core.handle_command(ME, Command::WebNewLink, t0);
    assert!(matches!(&drain(&events)[..], [Event::WebReady { url, .. }] if url.contains("token1")));
    core.handle_command(ME, Command::WebStop, t0);
    assert_eq!(drain(&events), [Event::WebStopped]);
    assert!(core.port.web.on.is_none());
    core.handle_command(ME, Command::WebNewLink, t0);
    assert!(
        matches!(&drain(&events)[..], [Event::Error { .. }]),
        "off: no new link"
    );
}

#[test]
fn a_visitor_is_a_peer_and_messages_go_both_ways_with_delivered() {
    let dir = TempDir::new("web-chat");
    let (mut core, events, t0) = with_visitor(&dir);
    let peer = peer_of(&visitor());
    let joined: Vec<_> = drain(&events)
        .into_iter()
        .filter_map(|e| match e {
            Event::PeerJoined { peer } => Some(peer),
            _ => None,
        })
        .collect();
    assert_eq!(joined.len(), 1);
    assert_eq!(
        (
            joined[0].id.as_str(),
            joined[0].name.as_str(),
            joined[0].protocol,
            joined[0].host.as_str()
        ),
        (peer.as_str(), "小红", Protocol::Web, "browser")
    );

    // Theirs: a message, stored, and the page told the host has it.
    let said = WebInput::Said {
        visitor: visitor(),
        client_msg_id: "c1".into(),
        text: "你好，主人".into(),
    };
    input(&mut core, said.clone(), t0);
    assert!(
        drain(&events)
            .iter()
            .any(|e| matches!(e, Event::Message { from, text, from_name, .. }
            if *from == peer && text == "你好，主人" && from_name == "小红"))
    );
    assert_eq!(
        core.port.web.pushed.last(),
        Some(&(
            visitor(),
            WebOutput::Delivered {
                client_msg_id: "c1".into()
            }
        ))
    );
    input(&mut core, said, t0);
    assert!(drain(&events).is_empty(), "a retried send is stored once");

    // Ours: shown on their page; delivered once the page showed it.
    let send = Command::Send {
        to: "小红".into(),
        text: "欢迎！".into(),
    };
    core.handle_command(ME, send, t0);
    let msg_id = match &drain(&events)[..] {
        [Event::Sent { msg_id, .. }] => msg_id.clone(),
        other => panic!("expected sent, got {other:?}"),
    };
    assert!(matches!(core.port.web.pushed.last(),
        Some((_, WebOutput::Message { id, text, .. })) if *id == *msg_id && text == "欢迎！"));
    let seen = WebInput::Seen {
        visitor: visitor(),
        ids: vec![msg_id.to_string()],
    };
    input(&mut core, seen, t0);
    assert_eq!(
        drain(&events),
        [Event::Delivered {
            msg_id: msg_id.clone(),
            to: peer.clone(),
            peer: None,
        }]
    );
    let history = core.store.history(&peer, None, 10).unwrap();
    assert_eq!(history.len(), 2, "both ways in history");
}

#[test]
fn an_upload_lands_only_after_accept_and_a_declined_one_is_deleted() {
    let dir = TempDir::new("web-upload");
    let (mut core, events, t0) = with_visitor(&dir);
    drain(&events);
    let uploaded = |id: &str| WebInput::Uploaded {
        visitor: visitor(),
        upload: UploadId(id.into()),
        name: "照片.png".into(),
        size: 1234,
        mime: "image/png".into(),
        spool_path: dir.0.join("web-spool").join(format!("web-{id}.part")),
    };
    input(&mut core, uploaded("u1"), t0);
    let offer = drain(&events);
    assert!(
        matches!(&offer[..], [Event::FileOffer { transfer_id, name, size: 1234, from, .. }]
            if transfer_id.as_str() == "u1" && name == "照片.png" && *from == peer_of(&visitor())),
        "{offer:?}"
    );
    assert!(
        core.port.web.landing.is_empty(),
        "nothing lands before the accept"
    );

    let accept = Command::Accept {
        transfer_id: "u1".into(),
    };
    core.handle_command(ME, accept, t0);
    assert_eq!(
        core.port.web.landing,
        [(UploadId("u1".into()), core.config.download_dir.clone())]
    );
    assert!(matches!(
        &drain(&events)[..],
        [Event::TransferStarted { total: 1234, .. }]
    ));
    let landed = core.config.download_dir.join("照片.png");
    let news = WebNews::Landed {
        upload: UploadId("u1".into()),
        visitor: visitor(),
        result: Ok(landed.clone()),
    };
    web(&mut core, news, t0);
    assert_eq!(
        drain(&events),
        [Event::TransferDone {
            transfer_id: "u1".into(),
            path: landed.display().to_string()
        }]
    );
    assert!(matches!(
        core.port.web.pushed.last(),
        Some((
            _,
            WebOutput::Transfer {
                state: TransferState::Accepted,
                ..
            }
        ))
    ));
    let stored = core.store.transfer("u1").unwrap().expect("in history");
    assert_eq!(stored.state, crate::store::TransferState::Done);

    input(&mut core, uploaded("u2"), t0);
    drain(&events);
    let decline = Command::Decline {
        transfer_id: "u2".into(),
    };
    core.handle_command(ME, decline, t0);
    assert_eq!(core.port.web.declined, [UploadId("u2".into())]);
    assert!(matches!(
        &drain(&events)[..],
        [Event::TransferFailed { .. }]
    ));
    let accept_late = Command::Accept {
        transfer_id: "u2".into(),
    };
    core.handle_command(ME, accept_late, t0);
    assert!(matches!(
        &drain(&events)[..],
        [Event::Error { .. }] | [Event::TransferFailed { .. }]
    ));
}

#[test]
fn a_file_sent_to_a_visitor_is_done_once_their_browser_fetched_it() {
    let dir = TempDir::new("web-download");
    let (mut core, events, t0) = with_visitor(&dir);
    drain(&events);
    let path = dir.0.join("说明.txt");
    std::fs::write(&path, "这是一个测试文件。\n").unwrap();
    let send = Command::SendFile {
        to: "小红".into(),
        path: path.clone(),
    };
    core.handle_command(ME, send, t0);
    let transfer_id = match &drain(&events)[..] {
        [
            Event::OfferSent {
                transfer_id, name, ..
            },
        ] if name == "说明.txt" => transfer_id.clone(),
        other => panic!("expected offer_sent, got {other:?}"),
    };
    assert_eq!(core.port.web.offered.len(), 1);
    let download = DownloadId("d1".into());
    let fetching = WebInput::Fetching {
        visitor: visitor(),
        download: download.clone(),
        size: 28,
    };
    input(&mut core, fetching.clone(), t0);
    assert!(matches!(
        &drain(&events)[..],
        [Event::TransferStarted { .. }]
    ));
    let done = WebInput::Downloaded {
        visitor: visitor(),
        download: download.clone(),
        bytes: 28,
        complete: true,
    };
    input(&mut core, done.clone(), t0);
    assert_eq!(
        drain(&events),
        [Event::TransferDone {
            transfer_id: transfer_id.clone(),
            path: path.display().to_string()
        }]
    );
    input(&mut core, fetching, t0);
    input(&mut core, done, t0);
    assert!(drain(&events).is_empty(), "fetched again: nothing new");

    let missing = Command::SendFile {
        to: "小红".into(),
        path: dir.0.join("nope"),
    };
    core.handle_command(ME, missing, t0);
    assert!(matches!(&drain(&events)[..], [Event::Error { .. }]));

    // A browser takes files one by one: a folder is refused, saying so.
    let folder = Command::SendFile {
        to: "小红".into(),
        path: dir.0.clone(),
    };
    core.handle_command(ME, folder, t0);
    assert!(
        matches!(&drain(&events)[..], [Event::Error { message }] if message.contains("is a folder")),
        "a folder to a visitor"
    );
}

#[test]
fn a_visitor_who_leaves_and_comes_back_sees_their_conversation_again() {
    let dir = TempDir::new("web-return");
    let (mut core, events, t0) = with_visitor(&dir);
    let peer = peer_of(&visitor());
    let said = WebInput::Said {
        visitor: visitor(),
        client_msg_id: "c1".into(),
        text: "在吗？".into(),
    };
    input(&mut core, said, t0);
    let left = WebInput::Left { visitor: visitor() };
    input(&mut core, left, t0);
    let gone = drain(&events);
    assert!(
        gone.iter().any(|e| matches!(e, Event::PeerLeft { id, reason: LeftReason::Bye, name, protocol: Protocol::Web }
            if *id == peer && name == "小红")),
        "{gone:?}"
    );

    // Written while they are away: it waits, as for any peer offline.
    let send = Command::Send {
        to: peer.to_string(),
        text: "我在".into(),
    };
    core.handle_command(ME, send, t0);
    let pushed_before = core.port.web.pushed.len();

    input(&mut core, joined("小红"), t0);
    let back = drain(&events);
    assert!(
        back.iter()
            .any(|e| matches!(e, Event::PeerJoined { peer: p } if p.id == peer))
    );
    let shown: Vec<&WebOutput> = core.port.web.pushed[pushed_before..]
        .iter()
        .map(|(_, o)| o)
        .collect();
    assert!(
        matches!(&shown[..], [
            WebOutput::Mine { id: c1, text, .. },
            WebOutput::Delivered { client_msg_id: d1 },
            WebOutput::Message { text: waited, .. },
        ] if c1 == "c1" && d1 == "c1" && text == "在吗？" && waited == "我在"),
        "their message from history, then ours that waited: {shown:?}"
    );
}

#[test]
fn stopping_the_page_makes_every_visitor_leave_and_ends_their_waiting_files() {
    let dir = TempDir::new("web-stop");
    let (mut core, events, t0) = with_visitor(&dir);
    let uploaded = WebInput::Uploaded {
        visitor: visitor(),
        upload: UploadId("u1".into()),
        name: "a.bin".into(),
        size: 3,
        mime: "application/octet-stream".into(),
        spool_path: dir.0.join("x"),
    };
    input(&mut core, uploaded, t0);
    drain(&events);
    core.handle_command(ME, Command::WebStop, t0);
    let stopped = drain(&events);
    assert!(stopped.iter().any(|e| matches!(
        e,
        Event::PeerLeft {
            protocol: Protocol::Web,
            ..
        }
    )));
    assert!(stopped.iter().any(
        |e| matches!(e, Event::TransferFailed { transfer_id, .. } if transfer_id.as_str() == "u1")
    ));
    assert_eq!(stopped.last(), Some(&Event::WebStopped));
    let late = WebInput::Left { visitor: visitor() };
    input(&mut core, late, t0);
    assert!(
        drain(&events).is_empty(),
        "a late report of the stopped server finds nobody"
    );
}

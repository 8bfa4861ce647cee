//! The web part alone, with no core: routes per visit, what a chat or an ack on a route
//! becomes on the page, what a visitor's leaving takes with it.

use std::net::SocketAddr;

use super::*;
use crate::node::out::Action;

fn v(s: &str) -> VisitorId {
    VisitorId(s.into())
}

fn addr() -> SocketAddr {
    SocketAddr::from(([192, 168, 1, 20], 40_000))
}

#[test]
fn each_visit_has_its_own_route_and_a_stale_one_reaches_nobody() {
    let mut web = Web::default();
    let first = web.joined(v("a"), "小红".into(), addr());
    assert_eq!(first.peer.as_str(), "web-a");
    assert!(is_visitor(&first.peer));
    assert_eq!(first.addr, std::net::Ipv4Addr::new(192, 168, 1, 20));
    assert_eq!(web.route("web-a"), Some(first.route));
    let mut out = Out::default();
    let gone = web.left(&v("a"), &mut out).expect("was here");
    assert_eq!(gone.route, first.route);
    assert_eq!(web.route("web-a"), None);
    assert!(web.left(&v("a"), &mut out).is_none(), "told once");

    let again = web.joined(v("a"), "小红".into(), addr());
    assert_ne!(again.route, first.route, "a new visit, a new route");
    let Route::Web(stale) = first.route else {
        unreachable!()
    };
    let chat = LinkMsg::Chat {
        msg_id: "m".into(),
        sent_at: 1,
        text: "x".into(),
        room: None,
        change: None,
    };
    web.send(stale, chat.clone(), &mut out);
    assert!(
        out.is_empty(),
        "what went on the old visit goes again on the new one"
    );
    let Route::Web(now) = again.route else {
        unreachable!()
    };
    web.send(now, chat, &mut out);
    web.send(
        now,
        LinkMsg::Ack {
            msg_id: "c1".into(),
        },
        &mut out,
    );
    let pushed: Vec<WebOutput> = out
        .take()
        .into_iter()
        .map(|a| match a {
            Action::Web(WebCall::Push { output, .. }) => output,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        pushed,
        [
            WebOutput::Message {
                id: "m".into(),
                text: "x".into(),
                time_ms: 1
            },
            WebOutput::Delivered {
                client_msg_id: "c1".into()
            }
        ]
    );
}

#[test]
fn a_visitors_words_and_acks_are_theirs_only_while_here() {
    let mut web = Web::default();
    assert!(web.said(&v("a"), "c".into(), "t".into(), 5).is_none());
    web.joined(v("a"), "a".into(), addr());
    let chat = web.said(&v("a"), "c".into(), "t".into(), 5).unwrap();
    assert_eq!(
        (chat.peer.as_str(), chat.msg_id.as_str(), chat.sent_at),
        ("web-a", "c", 5)
    );
    assert_eq!(web.seen(&v("a"), vec!["m".into()]).len(), 1);
    assert!(web.seen(&v("b"), vec!["m".into()]).is_empty());
    let mut out = Out::default();
    assert_eq!(web.all_gone(false, &mut out).len(), 1);
    assert!(web.is_empty() && web.on().is_none());
}

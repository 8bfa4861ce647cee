//! The chat part with no sockets and no store: resend order across routes, the window,
//! a burst's answers in order (frames before events), incoming chats shown once and
//! always acknowledged.

use super::outbox::WINDOW;
use super::*;
use crate::node::fanout::SubscriberId;
use crate::node::out::Action;

const L1: Route = Route::Link(1);
const L2: Route = Route::Link(2);

struct Up(Option<Route>);

impl Routes for Up {
    fn route(&self, _peer: &str) -> Option<Route> {
        self.0
    }
}

fn origin() -> Origin {
    Origin {
        subscriber: SubscriberId(1),
        request_id: Some(3),
    }
}

/// Queues `n` messages to `p` as one stored burst, with no route up.
fn queued(chat: &mut Chat, n: usize) -> Vec<MsgId> {
    let checked: Vec<Checked> = (0..n)
        .map(|i| {
            (
                origin(),
                chat.message("p".into(), format!("m{i}"), i, i, false, 0),
            )
        })
        .collect();
    let ids = checked
        .iter()
        .map(|(_, m)| m.as_ref().unwrap().msg_id.clone())
        .collect();
    let unrouted = chat.burst_stored(checked, Ok(()), &Up(None), &mut Out::default());
    assert_eq!(unrouted, [PeerId::from("p")], "waiting for a route");
    ids
}

/// The chats a list of actions sends, `(route, msg_id)`.
fn sent(acts: &[Action]) -> Vec<(Route, String)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send {
                route,
                msg: LinkMsg::Chat { msg_id, .. },
            } => Some((*route, msg_id.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn what_a_route_carried_goes_again_in_order_on_the_next() {
    let mut chat = Chat::new(Outbox::new());
    let ids = queued(&mut chat, 3);
    let mut out = Out::default();
    assert!(!chat.pump("p", Some(L1), &mut out));
    let acts = out.take();
    let want: Vec<(Route, String)> = ids.iter().map(|id| (L1, id.to_string())).collect();
    assert_eq!(sent(&acts), want);
    assert!(
        matches!(acts.last(), Some(Action::Record(Record::MarkSent { msgs, .. })) if msgs == &ids),
        "marked sent once written: {acts:?}"
    );
    // The first is acknowledged; the link drops before the others are.
    let again = chat.on_acks(vec![("p".into(), ids[0].clone())], &mut out);
    assert_eq!(again, [PeerId::from("p")]);
    assert!(
        matches!(&out.take()[..], [Action::Emit(Event::Delivered { msg_id, .. }), Action::Record(Record::Delivered(_))] if *msg_id == ids[0])
    );
    assert!(
        chat.on_acks(vec![("p".into(), ids[0].clone())], &mut out)
            .is_empty(),
        "a duplicate ack"
    );
    chat.route_down(L1);
    chat.pump("p", Some(L2), &mut out);
    let acts = out.take();
    assert_eq!(
        sent(&acts),
        [(L2, ids[1].to_string()), (L2, ids[2].to_string())],
        "the rest, in order, on the new route"
    );
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Record(_))),
        "the store already says sent"
    );
}

#[test]
fn the_window_lets_one_more_out_per_ack() {
    let mut chat = Chat::new(Outbox::new());
    let ids = queued(&mut chat, WINDOW + 2);
    let mut out = Out::default();
    chat.pump("p", Some(L1), &mut out);
    assert_eq!(sent(&out.take()).len(), WINDOW);
    chat.on_acks(vec![("p".into(), ids[5].clone())], &mut out);
    out.take();
    chat.pump("p", Some(L1), &mut out);
    assert_eq!(sent(&out.take()), [(L1, ids[WINDOW].to_string())]);
}

#[test]
fn a_burst_goes_on_the_wire_first_then_is_answered_in_order() {
    let mut chat = Chat::new(Outbox::new());
    let bad = Chat::check_text("").unwrap_err();
    let checked = vec![
        (
            origin(),
            chat.message("p".into(), "one".into(), 0, 0, true, 7),
        ),
        (origin(), Err(bad)),
        (
            origin(),
            chat.message("p".into(), "two".into(), 1, 1, true, 7),
        ),
    ];
    assert!(
        checked[0].1.as_ref().unwrap().stored_sent,
        "its route is up"
    );
    let mut out = Out::default();
    let unrouted = chat.burst_stored(checked, Ok(()), &Up(Some(L1)), &mut out);
    assert!(unrouted.is_empty());
    let acts = out.take();
    let kinds: Vec<&str> = acts
        .iter()
        .map(|a| match a {
            Action::Send { .. } => "frame",
            Action::Emit(Event::Sent { .. }) => "sent",
            Action::Reply {
                to,
                event: Event::Error { .. },
            } if *to == origin() => "error",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["frame", "frame", "sent", "error", "sent"]);

    // Not stored: nothing queued, every one answered with an error.
    let mut chat = Chat::new(Outbox::new());
    let checked = vec![(
        origin(),
        chat.message("p".into(), "x".into(), 0, 0, true, 7),
    )];
    chat.burst_stored(checked, Err("disk full".into()), &Up(Some(L1)), &mut out);
    assert!(
        matches!(&out.take()[..], [Action::Reply { event: Event::Error { message }, .. }]
        if message.starts_with("send: the message was not sent") && message.contains("disk full"))
    );
    assert!(chat.outbox().is_empty());
}

#[test]
fn an_incoming_chat_is_shown_once_and_always_acknowledged() {
    let mut chat = Chat::new(Outbox::new());
    let chats = || {
        vec![InChat {
            route: L1,
            peer: "p".into(),
            msg_id: "m1".into(),
            sent_at: 5,
            text: "hi".into(),
        }]
    };
    let mut out = Out::default();
    chat.chats_stored(chats(), vec!["bob".into()], Ok(vec![true]), &mut out);
    assert!(matches!(
        &out.take()[..],
        [
            Action::Emit(Event::Message { .. }),
            Action::Send {
                msg: LinkMsg::Ack { .. },
                ..
            }
        ]
    ));
    chat.chats_stored(chats(), vec!["bob".into()], Ok(vec![false]), &mut out);
    assert!(
        matches!(
            &out.take()[..],
            [Action::Send {
                msg: LinkMsg::Ack { .. },
                ..
            }]
        ),
        "a duplicate: acked, not shown"
    );
    chat.chats_stored(chats(), vec!["bob".into()], Err("locked".into()), &mut out);
    assert!(
        matches!(&out.take()[..], [Action::Emit(Event::Error { .. })]),
        "not stored: no ack"
    );
}

#[test]
fn shouts_are_numbered_and_heard_once() {
    let mut chat = Chat::new(Outbox::new());
    let (a, b) = (chat.next_shout(), chat.next_shout());
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_ne!(a.msg_id, b.msg_id);
    assert!(chat.first_shout("p", "s1"));
    assert!(!chat.first_shout("p", "s1"));
    assert!(chat.first_shout("q", "s1"), "ids are per sender");
}

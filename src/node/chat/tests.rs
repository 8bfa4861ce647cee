//! The chat part with no sockets and no store: resend order across routes, the window,
//! a burst's answers in order (frames before events), incoming chats shown once and
//! always answered; a recipient's "not now" (held, probed with back-off, released),
//! its "never" (failed, the next goes), its silence; all with made-up times.

use std::time::Duration;

use super::hold::{FIRST_RETRY, MAX_RETRY, NO_ANSWER};
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
    let unrouted = chat.burst_stored(checked, Ok(()), &Up(None), t0(), &mut Out::default());
    assert_eq!(unrouted, [PeerId::from("p")], "waiting for a route");
    ids
}

/// One start for every made-up time in a test.
fn t0() -> Instant {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn ack(id: &MsgId) -> Answer {
    Answer::Ack {
        peer: "p".into(),
        msg_id: id.clone(),
    }
}

fn nack(route: Route, id: &MsgId, permanent: bool) -> Answer {
    Answer::Nack {
        peer: "p".into(),
        route,
        msg_id: id.clone(),
        permanent,
        reason: if permanent {
            "the message is too long".into()
        } else {
            "cannot save messages right now (the disk is full)".into()
        },
        retry: Duration::from_millis(if permanent { 0 } else { 100 }),
    }
}

/// The events a list of actions emits.
fn events(acts: &[Action]) -> Vec<&Event> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Emit(e) => Some(e),
            _ => None,
        })
        .collect()
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
    assert!(!chat.pump("p", Some(L1), t0(), &mut out));
    let acts = out.take();
    let want: Vec<(Route, String)> = ids.iter().map(|id| (L1, id.to_string())).collect();
    assert_eq!(sent(&acts), want);
    assert!(
        matches!(acts.last(), Some(Action::Record(Record::MarkSent { msgs, .. })) if msgs == &ids),
        "marked sent once written: {acts:?}"
    );
    // The first is acknowledged; the link drops before the others are.
    let again = chat.on_answers(vec![ack(&ids[0])], t0(), &mut out);
    assert_eq!(again, [PeerId::from("p")]);
    assert!(
        matches!(&out.take()[..], [Action::Emit(Event::Delivered { msg_id, .. }), Action::Record(Record::Delivered(_))] if *msg_id == ids[0])
    );
    assert!(
        chat.on_answers(vec![ack(&ids[0])], t0(), &mut out)
            .is_empty(),
        "a duplicate ack"
    );
    chat.route_down(L1);
    chat.pump("p", Some(L2), t0(), &mut out);
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
    chat.pump("p", Some(L1), t0(), &mut out);
    assert_eq!(sent(&out.take()).len(), WINDOW);
    chat.on_answers(vec![ack(&ids[5])], t0(), &mut out);
    out.take();
    chat.pump("p", Some(L1), t0(), &mut out);
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
    let unrouted = chat.burst_stored(checked, Ok(()), &Up(Some(L1)), t0(), &mut out);
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
    chat.burst_stored(
        checked,
        Err("disk full".into()),
        &Up(Some(L1)),
        t0(),
        &mut out,
    );
    assert!(
        matches!(&out.take()[..], [Action::Reply { event: Event::Error { message }, .. }]
        if message.starts_with("send: the message was not sent") && message.contains("disk full"))
    );
    assert!(chat.outbox().is_empty());
}

#[test]
fn an_incoming_chat_is_shown_once_and_always_answered() {
    let mut chat = Chat::new(Outbox::new());
    let chats = || {
        vec![InChat {
            route: L1,
            peer: "p".into(),
            msg_id: "m1".into(),
            sent_at: 5,
            text: "hi".into(),
            room: None,
            verdict: None,
        }]
    };
    let mut out = Out::default();
    assert_eq!(chat.admit(&chats(), t0()), [Admit::Store]);
    chat.chats_stored(chats(), vec!["bob".into()], vec![Stored::New], &mut out);
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
    chat.chats_stored(chats(), vec!["bob".into()], vec![Stored::Again], &mut out);
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
    let why = chat.store_failed("the disk is full", t0());
    let not_now = || vec![Stored::NotNow(why.clone())];
    chat.chats_stored(chats(), vec!["bob".into()], not_now(), &mut out);
    assert!(
        matches!(&out.take()[..], [
            Action::Emit(Event::Error { message }),
            Action::Send { msg: LinkMsg::Nack { permanent: false, reason, retry_ms: 500, .. }, .. },
        ] if message.contains("bob") && reason.contains("the disk is full")),
        "not stored: a temporary nack, and our user hears it"
    );
    chat.chats_stored(chats(), vec!["bob".into()], not_now(), &mut out);
    assert!(
        matches!(
            &out.take()[..],
            [Action::Send {
                msg: LinkMsg::Nack { .. },
                ..
            }]
        ),
        "heard once"
    );
    let refused = vec![Stored::Refused("too long".into())];
    chat.chats_stored(chats(), vec!["bob".into()], refused, &mut out);
    assert!(matches!(
        &out.take()[..],
        [Action::Send {
            msg: LinkMsg::Nack {
                permanent: true,
                ..
            },
            ..
        }]
    ));
}

#[test]
fn not_now_holds_the_peer_and_probes_with_back_off_until_it_takes_one() {
    let mut chat = Chat::new(Outbox::new());
    let ids = queued(&mut chat, 5);
    let mut out = Out::default();
    let t = t0();
    chat.pump("p", Some(L1), t, &mut out);
    assert_eq!(sent(&out.take()).len(), 5);
    // The recipient cannot save: every one is nacked; the first one holds the peer.
    let nacks = ids.iter().map(|id| nack(L1, id, false)).collect();
    assert!(chat.on_answers(nacks, t, &mut out).is_empty());
    let acts = out.take();
    assert!(
        matches!(&events(&acts)[..], [Event::DeliveryWaiting { to, reason }]
            if to == "p" && reason.contains("disk is full")),
        "said once: {acts:?}"
    );
    assert_eq!(chat.outbox().in_flight("p"), 0, "all unsent again");
    let d = &chat.delivery(t)[0];
    assert_eq!((d.queued, d.in_flight), (5, 0));
    assert!(
        d.waiting
            .as_deref()
            .is_some_and(|w| w.contains("disk is full"))
    );
    // Nothing goes before the wait; then only the oldest, once.
    let up = Up(Some(L1));
    chat.tick(&up, t + Duration::from_millis(99), &mut out);
    assert!(sent(&out.take()).is_empty());
    chat.pump("p", Some(L1), t, &mut out);
    assert!(
        sent(&out.take()).is_empty(),
        "a new route or a beacon does not bypass it"
    );
    let mut at = t + FIRST_RETRY;
    let mut waits = Vec::new();
    for _ in 0..5 {
        let mut step = at;
        loop {
            chat.tick(&up, step, &mut out);
            let probe = sent(&out.take());
            if !probe.is_empty() {
                assert_eq!(probe, [(L1, ids[0].to_string())], "the oldest only");
                break;
            }
            step += Duration::from_millis(10);
        }
        waits.push(step - at);
        at = step;
        chat.tick(&up, at + Duration::from_secs(1), &mut out);
        assert!(sent(&out.take()).is_empty(), "one probe at a time");
        chat.on_answers(vec![nack(L1, &ids[0], false)], at, &mut out);
        assert!(
            events(&out.take()).is_empty(),
            "the same reason: not said again"
        );
    }
    // The first wait was before the loop (FIRST_RETRY: longer than the hint); then
    // doubling, up to MAX_RETRY.
    assert_eq!(waits, [0, 500, 1000, 2000, 2000].map(Duration::from_millis));
    // It can save again: the probe's ack releases the peer and the rest goes at once.
    chat.tick(&up, at + MAX_RETRY, &mut out);
    assert_eq!(sent(&out.take()).len(), 1);
    let again = chat.on_answers(vec![ack(&ids[0])], at + MAX_RETRY, &mut out);
    let acts = out.take();
    assert!(matches!(
        &events(&acts)[..],
        [Event::Delivered { .. }, Event::DeliveryResumed { to }] if to == "p"
    ));
    assert_eq!(again, [PeerId::from("p")]);
    chat.pump("p", Some(L1), at + MAX_RETRY, &mut out);
    let rest: Vec<String> = ids[1..].iter().map(ToString::to_string).collect();
    let got: Vec<String> = sent(&out.take()).into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, rest, "in order");
    assert!(chat.delivery(at)[0].waiting.is_none());
}

#[test]
fn a_stale_not_now_is_ignored() {
    let mut chat = Chat::new(Outbox::new());
    let ids = queued(&mut chat, 2);
    let mut out = Out::default();
    chat.pump("p", Some(L2), t0(), &mut out);
    out.take();
    // From a route the message is not on (the old link), or for one not in flight.
    chat.on_answers(vec![nack(L1, &ids[0], false)], t0(), &mut out);
    assert!(out.take().is_empty());
    assert_eq!(chat.outbox().in_flight("p"), 2);
}

#[test]
fn never_fails_that_message_and_the_next_ones_go() {
    let mut chat = Chat::new(Outbox::new());
    let ids = queued(&mut chat, WINDOW + 1);
    let mut out = Out::default();
    chat.pump("p", Some(L1), t0(), &mut out);
    out.take();
    let next = chat.on_answers(vec![nack(L1, &ids[1], true)], t0(), &mut out);
    let acts = out.take();
    assert!(
        matches!(&acts[..], [
            Action::Record(Record::Failed { msg_id, reason, .. }),
            Action::Emit(Event::SendFailed { msg_id: failed, to, reason: why }),
        ] if *msg_id == ids[1] && failed == msg_id && to == "p" && why == reason
            && reason.contains("too long")),
        "{acts:?}"
    );
    assert_eq!(next, [PeerId::from("p")]);
    chat.pump("p", Some(L1), t0(), &mut out);
    assert_eq!(
        sent(&out.take()),
        [(L1, ids[WINDOW].to_string())],
        "the window moved on"
    );
    assert_eq!(chat.outbox().len(), WINDOW);
    // Never again, even if a duplicate nack comes.
    chat.on_answers(vec![nack(L1, &ids[1], true)], t0(), &mut out);
    assert!(out.take().is_empty());
}

#[test]
fn a_silent_recipient_is_held_and_probed() {
    let mut chat = Chat::new(Outbox::new());
    let ids = queued(&mut chat, 3);
    let mut out = Out::default();
    chat.pump("p", Some(L1), t0(), &mut out);
    out.take();
    let up = Up(Some(L1));
    // Answers keep it going: silence counts from the last one.
    chat.on_answers(vec![ack(&ids[0])], t0() + NO_ANSWER / 2, &mut out);
    out.take();
    chat.tick(&up, t0() + NO_ANSWER, &mut out);
    assert!(out.take().is_empty());
    let later = t0() + NO_ANSWER / 2 + NO_ANSWER;
    chat.tick(&up, later, &mut out);
    let acts = out.take();
    assert!(
        matches!(&events(&acts)[..], [Event::DeliveryWaiting { reason, .. }]
            if reason.contains("has not answered")),
        "{acts:?}"
    );
    chat.tick(&up, later + FIRST_RETRY, &mut out);
    assert_eq!(sent(&out.take()), [(L1, ids[1].to_string())], "a probe");
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

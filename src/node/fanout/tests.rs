//! Subscribers: answers only to who asked, a reader that falls behind cut off, the
//! request id in JSON, commands stamped.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn counting() -> (Waker, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let m = n.clone();
    (
        Arc::new(move || {
            m.fetch_add(1, Ordering::Relaxed);
        }),
        n,
    )
}

fn origin(id: u64, request_id: Option<u64>) -> Origin {
    Origin {
        subscriber: SubscriberId(id),
        request_id,
    }
}

#[test]
fn events_reach_everyone_and_answers_only_who_asked() {
    let mut f = Fanout::default();
    let (w1, woken1) = counting();
    let (s1, plain) = Subscriber::new::<Event>(SubscriberId(1), UNBOUNDED, w1);
    let (s2, tagged) = Subscriber::new::<Envelope>(SubscriberId(2), UNBOUNDED, no_waker());
    f.add(s1);
    f.add(s2);
    f.emit(Event::Stopped);
    assert_eq!(plain.try_recv(), Ok(Event::Stopped));
    assert_eq!(tagged.try_recv(), Ok(Event::Stopped.into()));
    f.reply(origin(2, Some(7)), Event::error("x"));
    assert!(plain.try_recv().is_err(), "not for the other subscriber");
    assert_eq!(
        tagged.try_recv().unwrap(),
        Envelope {
            event: Event::error("x"),
            request_id: Some(7)
        }
    );
    f.reply(origin(1, None), Event::error("y"));
    assert_eq!(plain.try_recv(), Ok(Event::error("y")));
    f.reply(Origin::node(), Event::error("z"));
    assert!(
        plain.is_empty() && tagged.is_empty(),
        "the node's own answers go nowhere"
    );
    assert_eq!(
        woken1.load(Ordering::Relaxed),
        2,
        "woken after each of its events"
    );
}

#[test]
fn a_subscriber_that_does_not_read_is_cut_off_and_the_others_go_on() {
    let mut f = Fanout::default();
    let (slow, slow_rx) = Subscriber::new::<Event>(SubscriberId(1), 2, no_waker());
    let (fast, fast_rx) = Subscriber::new::<Event>(SubscriberId(2), 2, no_waker());
    f.add(slow);
    f.add(fast);
    for _ in 0..5 {
        f.emit(Event::Stopped);
        assert_eq!(
            fast_rx.try_recv(),
            Ok(Event::Stopped),
            "the reader keeps up"
        );
    }
    assert_eq!(slow_rx.try_iter().count(), 2, "what it had stays readable");
    assert!(
        matches!(
            slow_rx.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        ),
        "then it is disconnected"
    );
    drop(fast_rx);
    f.emit(Event::Stopped);
    assert!(f.is_empty(), "a dropped receiver leaves");
}

#[test]
fn a_request_id_is_one_more_field_and_absent_without_one() {
    let line = |e: Envelope| serde_json::to_string(&e).unwrap();
    let event = Event::Renamed {
        name: "张三".into(),
    };
    assert_eq!(
        line(event.clone().into()),
        serde_json::to_string(&event).unwrap(),
        "byte for byte the event alone"
    );
    let with = Envelope {
        event,
        request_id: Some(42),
    };
    assert_eq!(
        line(with),
        r#"{"event":"renamed","name":"张三","request_id":42}"#
    );
}

#[test]
fn commands_are_stamped_with_who_asked() {
    let (tx, rx) = unbounded();
    let c = Commands::new(tx, SubscriberId(3));
    c.request(9, Command::Peers).unwrap();
    c.send(Command::NetStatus).unwrap();
    let stamps: Vec<(Origin, Command)> = rx
        .try_iter()
        .map(|i| match i {
            Inbound::Command { origin, command } => (origin, command),
            Inbound::Subscribe(_) => unreachable!(),
        })
        .collect();
    assert_eq!(
        stamps,
        [
            (origin(3, Some(9)), Command::Peers),
            (origin(3, None), Command::NetStatus)
        ]
    );
    drop(rx);
    assert_eq!(c.send(Command::Quit).unwrap_err().0, Command::Quit);
}

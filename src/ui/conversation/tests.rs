//! Paging back, a message both stored and live, and a window around a search hit.

use super::*;
use crate::store::{Direction, MsgState};

fn stored(id: i64) -> StoredMessage {
    StoredMessage {
        id,
        peer: "p".into(),
        msg_id: format!("m{id}"),
        dir: Direction::In,
        from: "p".into(),
        from_name: "张三".into(),
        text: format!("message {id}"),
        sent_at: 1_790_000_000_000 + id as u64,
        state: MsgState::Received,
        reason: None,
    }
}

fn page(rows: std::ops::RangeInclusive<i64>) -> Vec<StoredMessage> {
    rows.map(stored).collect()
}

fn rows(c: &Conversation) -> Vec<i64> {
    c.messages.iter().map(|m| m.row.unwrap_or(-1)).collect()
}

fn live(id: &str) -> ChatMessage {
    ChatMessage {
        msg_id: id.into(),
        from_name: "张三".into(),
        text: "live".into(),
        sent_at: 1,
        mark: Mark::Received,
        transfer: None,
        row: None,
        delivered_to: Vec::new(),
        refused_by: Vec::new(),
    }
}

fn conv() -> ConvKey {
    ConvKey::Peer("p".into())
}

#[test]
fn pages_back_once_each_until_the_start() {
    let mut c = Conversation::default();
    let k = conv();
    assert_eq!(c.ask_newest(&k), Some(history(&k, None, None)));
    assert_eq!(c.ask_newest(&k), None, "asked once");
    assert_eq!(c.ask_older(&k), None, "nothing to page back from yet");
    c.load(&k, page(301..=500), vec![], None, None);
    assert_eq!(c.ask_older(&k), Some(history(&k, Some(301), None)));
    assert_eq!(c.ask_older(&k), None, "one page in flight");
    c.load(&k, page(101..=300), vec![], Some(301), None);
    assert_eq!(c.messages.len(), 400);
    assert_eq!(c.shape.prepended, 400);
    assert_eq!(c.ask_older(&k), Some(history(&k, Some(101), None)));
    c.load(&k, page(1..=100), vec![], Some(101), None);
    assert_eq!(rows(&c), (1..=500).collect::<Vec<_>>());
    assert_eq!(c.older, Paging::End, "a short page is the start");
    assert_eq!(c.ask_older(&k), None);
    // An answer nobody waits for (a repeat) changes nothing.
    c.load(&k, page(1..=100), vec![], Some(101), None);
    assert_eq!(c.messages.len(), 500);
}

#[test]
fn a_message_stored_and_reported_live_is_shown_once() {
    let mut c = Conversation::default();
    let k = conv();
    c.arrive(live("m9"));
    c.load(&k, page(1..=9), vec![], None, None);
    let ids: Vec<&str> = c.messages.iter().map(|m| m.msg_id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
    assert_eq!(c.messages[8].row, None, "the live one is kept");
    c.load(&k, page(1..=9), vec![], None, None);
    assert_eq!(c.messages.len(), 9, "the same page again adds nothing");
}

#[test]
fn a_jump_shows_a_window_that_joins_the_newest_when_paging_meets_it() {
    let mut c = Conversation::default();
    let k = conv();
    c.ask_newest(&k);
    c.load(&k, page(801..=1000), vec![], None, None);
    assert_eq!(c.jump(&k, "m900", 900), Vec::new(), "already shown");
    let asked = c.jump(&k, "m5", 5);
    assert_eq!(
        asked,
        [history(&k, Some(6), None), history(&k, None, Some(5))]
    );
    assert!(c.is_window() && c.messages.is_empty());
    c.load(&k, page(1..=5), vec![], Some(6), None);
    c.load(&k, page(6..=205), vec![], None, Some(5));
    assert_eq!(rows(&c), (1..=205).collect::<Vec<_>>());
    assert_eq!(c.older, Paging::End);
    // Arrivals while the window is shown wait with the newest rows.
    c.arrive(live("new"));
    assert_eq!(c.messages.len(), 205);
    assert_eq!(c.ask_newer(&k), Some(history(&k, None, Some(205))));
    c.load(&k, page(206..=405), vec![], None, Some(205));
    c.load(&k, page(406..=605), vec![], None, Some(405));
    assert_eq!(c.messages.len(), 405, "a page not asked for is ignored");
    c.ask_newer(&k);
    c.load(&k, page(406..=605), vec![], None, Some(405));
    c.ask_newer(&k);
    // This page reaches row 801, already held: the window ends.
    c.load(&k, page(606..=805), vec![], None, Some(605));
    assert!(!c.is_window());
    assert_eq!(c.messages.len(), 1001);
    assert_eq!(c.messages.back().unwrap().msg_id, "new");
    assert_eq!(
        rows(&c)[..1000],
        (1..=1000).collect::<Vec<_>>()[..],
        "contiguous, each once"
    );
}

#[test]
fn back_to_newest_restores_what_was_shown_and_what_arrived() {
    let mut c = Conversation::default();
    let k = conv();
    c.ask_newest(&k);
    c.load(&k, page(801..=1000), vec![], None, None);
    c.jump(&k, "m5", 5);
    c.load(&k, page(1..=5), vec![], Some(6), None);
    c.arrive(live("new"));
    let epoch = c.shape.epoch;
    assert!(c.back_to_newest());
    assert_eq!(c.shape.epoch, epoch + 1);
    assert_eq!(c.messages.len(), 201);
    assert_eq!(c.older, Paging::More, "paging back resumes where it was");
    assert_eq!(c.ask_older(&k), Some(history(&k, Some(801), None)));
    // The window's late answer is ignored.
    c.load(&k, page(6..=205), vec![], None, Some(5));
    assert_eq!(c.messages.len(), 201);
    assert!(!c.back_to_newest());
}

#[test]
fn a_newest_page_answered_during_a_window_is_asked_again_after_it() {
    let mut c = Conversation::default();
    let k = conv();
    c.ask_newest(&k);
    c.jump(&k, "m5", 5);
    c.load(&k, page(801..=1000), vec![], None, None);
    assert!(c.messages.is_empty(), "not shown in the window");
    c.back_to_newest();
    assert_eq!(c.ask_newest(&k), Some(history(&k, None, None)));
}

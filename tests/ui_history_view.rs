//! The conversation view over long histories, driven through the real widgets
//! (egui_kittest) with the core replaced by channels the test holds: only the rows on
//! screen are laid out, scrolling up pages back through `history` with `before`, a page
//! put before the rows keeps the row on screen in place, and a search hit older than
//! anything loaded is loaded around it and shown.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use lanchat::node::{Command, Event};
use lanchat::store::{Direction, Transfer, TransferState};
use lanchat::ui::App;
use lanchat::ui::state::ConvKey;
use ui_common::{Fake, page, peer, stored, wheel};

/// The window with 张三 (`a1`) online and their conversation open, its newest page
/// (rows `newest`) loaded.
fn open_chat(newest: std::ops::RangeInclusive<i64>) -> (Harness<'static, App>, Fake) {
    let (mut harness, fake) = ui_common::window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    let asked: Vec<Command> = fake.commands.try_iter().collect();
    assert!(
        asked.contains(&history(None, None)),
        "opening the chat asks for its newest page: {asked:?}"
    );
    fake.feed(page(newest, None, None));
    harness.run();
    (harness, fake)
}

fn history(before: Option<i64>, after: Option<i64>) -> Command {
    Command::History {
        peer: "a1".into(),
        limit: 200,
        before,
        after,
    }
}

fn laid_out(harness: &Harness<'static, App>) -> usize {
    harness.state().view.conversations.rows_laid_out
}

fn asked_history(fake: &Fake) -> Vec<Command> {
    fake.commands
        .try_iter()
        .filter(|c| matches!(c, Command::History { .. }))
        .collect()
}

/// Wheels up until the window asks for a page of history (at most `tries` turns), in
/// turns short enough never to hit the top of the rows loaded.
fn wheel_up_until_asked(
    harness: &mut Harness<'static, App>,
    fake: &Fake,
    tries: usize,
) -> Vec<Command> {
    for _ in 0..tries {
        wheel(harness, 400.0);
        let asked = asked_history(fake);
        if !asked.is_empty() {
            return asked;
        }
    }
    panic!("no history page was asked for after {tries} turns of the wheel");
}

#[test]
fn a_long_conversation_lays_out_only_the_rows_on_screen() {
    let (mut harness, fake) = open_chat(1..=1000);
    let shown = laid_out(&harness);
    harness.get_by_label("message 1000");
    assert!(
        harness.query_by_label("message 1").is_none(),
        "the oldest row is far off screen"
    );
    let in_tree = harness.query_all_by_label_contains("message ").count();
    assert!(
        (5..60).contains(&shown) && in_tree <= shown,
        "1000 rows loaded, {shown} laid out, {in_tree} in the accessibility tree"
    );
    // At the bottom, the view follows a message that arrives.
    fake.feed(ui_common::message("a1", "live1", "just now"));
    harness.run();
    let composer = harness.get_by_label("Message to 张三").rect();
    let r = harness.get_by_label("just now").rect();
    assert!(
        r.top() > 60.0 && r.bottom() <= composer.top(),
        "the newest message is on screen, above the composer: {r:?}"
    );
    assert!(harness.query_by_label_contains("new message").is_none());
    // Scrolled to the middle, still a screenful.
    wheel(&mut harness, 20_000.0);
    assert!(harness.query_by_label("message 1000").is_none());
    assert!((5..60).contains(&laid_out(&harness)));

    // A short conversation: every row.
    let (harness, _fake) = open_chat(1..=10);
    assert_eq!(laid_out(&harness), 10);
    harness.get_by_label("message 1");
}

#[test]
fn scrolling_to_the_top_asks_for_the_page_before_the_oldest_row_once() {
    let (mut harness, fake) = open_chat(801..=1000);
    let asked = wheel_up_until_asked(&mut harness, &fake, 60);
    assert_eq!(asked, [history(Some(801), None)]);
    wheel(&mut harness, 3000.0);
    assert!(
        asked_history(&fake).is_empty(),
        "one page in flight at a time"
    );

    // The start of the history: a short page, and nothing more is asked.
    fake.feed(page(701..=800, Some(801), None));
    harness.run();
    for _ in 0..10 {
        wheel(&mut harness, 3000.0);
    }
    harness.get_by_label("message 701");
    assert!(asked_history(&fake).is_empty(), "the start was reached");
    assert_eq!(
        harness
            .state()
            .state
            .messages(&ConvKey::Peer("a1".into()))
            .len(),
        300
    );
}

/// The rows fully on screen (between the header and the composer): label and top.
fn rows_on_screen(harness: &Harness<'static, App>) -> Vec<(String, f32)> {
    let mut rows: Vec<(String, f32)> = harness
        .query_all_by_label_contains("message ")
        // A label's text is its accesskit value.
        .map(|n| (n.accesskit_node().value().unwrap_or_default(), n.rect()))
        .filter(|(_, r)| r.top() > 80.0 && r.bottom() < 580.0)
        .map(|(label, r)| (label, r.top()))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

#[test]
fn a_page_put_before_the_rows_keeps_the_row_on_screen_in_place() {
    let (mut harness, fake) = open_chat(801..=1000);
    wheel_up_until_asked(&mut harness, &fake, 60);
    let before = rows_on_screen(&harness);
    assert!(
        before.len() >= 3 && before.iter().all(|r| r.0.starts_with("message ")),
        "some rows are on screen: {before:?}"
    );
    fake.feed(page(601..=800, Some(801), None));
    harness.run();
    let after = rows_on_screen(&harness);
    assert_eq!(
        before.iter().map(|r| &r.0).collect::<Vec<_>>(),
        after.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "the same rows on screen"
    );
    for ((label, y0), (_, y1)) in before.iter().zip(&after) {
        assert!((y0 - y1).abs() < 1.0, "{label} moved from {y0} to {y1}");
    }
    // The page is there above it, ready to be scrolled to.
    wheel(&mut harness, 1000.0);
    harness.get_by_label("message 800");
}

#[test]
fn a_search_hit_older_than_what_is_loaded_opens_the_page_around_it() {
    let (mut harness, fake) = open_chat(801..=1000);
    ui_common::search(&mut harness, &fake, "message 5", vec![stored(5)]);
    harness
        .get_by_role_and_label(Role::Button, "张三: message 5")
        .click();
    harness.run();
    assert_eq!(
        asked_history(&fake),
        [history(Some(6), None), history(None, Some(5))],
        "the page ending at the hit and the page after it"
    );
    fake.feed(page(1..=5, Some(6), None));
    fake.feed(page(6..=205, None, Some(5)));
    harness.run();
    let hit = harness.get_by_label("message 5").rect();
    let composer = harness.get_by_label("Message to 张三").rect();
    assert!(
        hit.top() > 60.0 && hit.bottom() <= composer.top(),
        "the hit is on screen: {hit:?}"
    );
    assert_eq!(harness.state().view.highlight.as_deref(), Some("m5"));
    assert!(harness.query_by_label("message 1000").is_none());

    // The way back to the newest messages, as they were.
    harness.get_by_label_contains("Newest messages").click();
    harness.run();
    harness.get_by_label("message 1000");
    assert!(asked_history(&fake).is_empty(), "nothing to read again");
}

#[test]
fn scrolling_down_from_an_old_hit_pages_forward_until_it_meets_the_newest_rows() {
    let (mut harness, fake) = open_chat(801..=1000);
    ui_common::search(&mut harness, &fake, "message 5", vec![stored(5)]);
    harness
        .get_by_role_and_label(Role::Button, "张三: message 5")
        .click();
    harness.run();
    asked_history(&fake);
    fake.feed(page(1..=5, Some(6), None));
    fake.feed(page(6..=205, None, Some(5)));
    harness.run();
    // Each page forward is asked for once the view nears the newest row it holds.
    for after in [205, 405, 605] {
        let mut asked = Vec::new();
        for _ in 0..60 {
            wheel(&mut harness, -400.0);
            asked = asked_history(&fake);
            if !asked.is_empty() {
                break;
            }
        }
        assert_eq!(asked, [history(None, Some(after))]);
        fake.feed(page(after + 1..=after + 200, None, Some(after)));
        harness.run();
    }
    // The last page reached row 801, shown before the jump: the two runs are one again.
    let conv = &harness.state().state.conversations[&ConvKey::Peer("a1".into())];
    assert!(!conv.is_window());
    assert_eq!(conv.messages.len(), 1000);
    assert!(
        conv.messages
            .iter()
            .zip(1..)
            .all(|(m, row)| m.row == Some(row)),
        "rows 1 to 1000, each once, in order"
    );
}

/// A transfer with `a1` as history recorded it, created the same millisecond as stored
/// row 4 was sent (row 5 comes a millisecond later).
fn stored_transfer(id: &str, dir: Direction, name: &str, state: TransferState) -> Transfer {
    Transfer {
        id: id.into(),
        peer: "a1".into(),
        dir,
        name: name.into(),
        size: 48_211,
        mime: "application/pdf".into(),
        path: format!("/home/lin/Downloads/{name}"),
        bytes_done: 48_211,
        hash: None,
        state,
        created_at: stored(4).sent_at,
        updated_at: stored(4).sent_at,
        room: None,
    }
}

#[test]
fn files_from_earlier_runs_come_back_as_cards_among_the_messages() {
    let (mut harness, fake) = ui_common::window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    let Event::History { messages, .. } = page(1..=8, None, None) else {
        unreachable!()
    };
    let transfers = vec![
        stored_transfer("t1", Direction::In, "议程.pdf", TransferState::Done),
        stored_transfer("t2", Direction::Out, "旧照片.zip", TransferState::Declined),
        stored_transfer("t3", Direction::Out, "movie.mkv", TransferState::Paused),
    ];
    let history = |transfers| Event::History {
        peer: "a1".into(),
        messages: messages.clone(),
        transfers,
        deliveries: Vec::new(),
        before: None,
        after: None,
    };
    fake.feed(history(transfers.clone()));
    harness.run();
    harness.get_by_label_contains("议程.pdf");
    harness.get_by_role_and_label(Role::Button, "Show in folder");
    harness.get_by_label_contains("declined");
    // One that never ended: interrupted, and Retry asks the core to take it up.
    harness.get_by_label_contains("interrupted when lanchat stopped");
    harness
        .get_by_role_and_label(Role::Button, "Retry now")
        .click();
    harness.run();
    assert!(
        fake.commands.try_iter().any(|c| c
            == Command::Retry {
                transfer_id: "t3".into()
            }),
        "Retry on a stored card retries that transfer"
    );
    // Cards sit by time among the messages, and a page read again adds none twice.
    fake.feed(history(transfers));
    harness.run();
    let rows: Vec<_> = harness
        .state()
        .state
        .messages(&ConvKey::Peer("a1".into()))
        .iter()
        .map(|m| m.msg_id.clone())
        .collect();
    let at = |id: &str| rows.iter().position(|r| r == id).unwrap();
    assert_eq!(rows.len(), 11, "8 messages and 3 cards: {rows:?}");
    assert!(at(&stored(4).msg_id) < at("t1") && at("t3") < at(&stored(5).msg_id));
}

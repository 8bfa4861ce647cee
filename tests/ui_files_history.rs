//! The window's file cards, stored history and search, driven through the real widgets
//! (egui_kittest) with the core replaced by channels the test holds.
#![cfg(feature = "gui")]

mod ui_common;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lanchat::node::{Command, Event, Party, TransferEnd};
use lanchat::protocol::DeclineCode;
use lanchat::store::{Direction, MsgState, StoredMessage};
use lanchat::ui::App;
use lanchat::ui::state::ConvKey;
use ui_common::{Fake, peer};

/// The window with one online peer, 张三 (`a1`).
fn window() -> (Harness<'static, App>, Fake) {
    let (harness, fake) = ui_common::window();
    fake.feed(Event::PeerJoined {
        peer: peer("a1", "张三"),
    });
    (harness, fake)
}

fn stored(id: i64, msg_id: &str, dir: Direction, state: MsgState, text: &str) -> StoredMessage {
    StoredMessage {
        id,
        peer: "a1".into(),
        msg_id: msg_id.into(),
        dir,
        from: if dir == Direction::In {
            "a1"
        } else {
            "me0000000000"
        }
        .into(),
        from_name: if dir == Direction::In {
            "张三"
        } else {
            "林晓"
        }
        .into(),
        text: text.into(),
        sent_at: 1_790_000_000_000 + id as u64,
        state,
        reason: None,
    }
}

#[test]
fn a_file_offer_is_a_card_with_accept_then_progress_then_saved() {
    let (mut harness, fake) = window();
    fake.feed(Event::FileOffer {
        verified: false,
        transfer_id: "t1".into(),
        from: "a1".into(),
        name: "报告.pdf".into(),
        size: 2_000_000,
        mime: "application/pdf".into(),
        folder: None,
        room: None,
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三, 1 unread")
        .click();
    harness.run();
    harness.get_by_label("报告.pdf");
    harness.get_by_role_and_label(Role::Button, "Attach a file");
    harness.get_by_label_contains("2.0 MB");
    harness
        .get_by_role_and_label(Role::Button, "Accept")
        .click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Accept {
            transfer_id: "t1".into()
        }]
    );

    fake.feed(Event::TransferStarted {
        transfer_id: "t1".into(),
        offset: 0,
        total: 2_000_000,
    });
    fake.feed(Event::TransferProgress {
        transfer_id: "t1".into(),
        bytes: 1_000_000,
        total: 2_000_000,
        files: None,
    });
    harness.run();
    harness.get_by_label_contains("1.0 MB of 2.0 MB");
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Accept")
            .is_none()
    );
    harness
        .get_by_role_and_label(Role::Button, "Cancel")
        .click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Cancel {
            transfer_id: "t1".into()
        }]
    );

    fake.feed(Event::TransferDone {
        transfer_id: "t1".into(),
        path: "/tmp/报告.pdf".into(),
    });
    harness.run();
    harness.get_by_label_contains("Saved in /tmp");
    harness.get_by_role_and_label(Role::Button, "Show in folder");
}

#[test]
fn declining_and_a_failed_transfer_say_what_happened() {
    let (mut harness, fake) = window();
    fake.feed(Event::FileOffer {
        verified: false,
        transfer_id: "t2".into(),
        from: "a1".into(),
        name: "big.iso".into(),
        size: 4_000_000_000,
        mime: "application/octet-stream".into(),
        folder: None,
        room: None,
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三, 1 unread")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Decline")
        .click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Decline {
            transfer_id: "t2".into()
        }]
    );
    fake.feed(Event::TransferFailed {
        transfer_id: "t2".into(),
        end: TransferEnd::declined(DeclineCode::User, "declined"),
    });
    harness.run();
    harness.get_by_label_contains("declined");
}

#[test]
fn stored_history_loads_at_start_with_its_marks() {
    let (mut harness, fake) = window();
    harness.run();
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Attach a file")
            .is_none(),
        "files go to one peer, not to Everyone"
    );
    let asked: Vec<Command> = fake.commands.try_iter().collect();
    assert!(
        asked.contains(&Command::History {
            peer: "everyone".into(),
            limit: 200,
            before: None,
            after: None
        }),
        "the open conversation's history is asked for: {asked:?}"
    );
    fake.feed(Event::History {
        peer: "a1".into(),
        messages: vec![
            stored(1, "h1", Direction::In, MsgState::Received, "昨天的消息"),
            stored(2, "h2", Direction::Out, MsgState::Delivered, "got it"),
            stored(3, "h3", Direction::Out, MsgState::Pending, "还没送到"),
        ],
        transfers: vec![],
        deliveries: Vec::new(),
        before: None,
        after: None,
    });
    harness.run();
    assert_eq!(
        harness.state().state.unread_total(),
        0,
        "history is not unread"
    );
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    harness.get_by_label("昨天的消息");
    harness.get_by_label("got it");
    harness.get_by_label("还没送到");
    harness.get_by_label_contains("waiting: it goes out when they are back online");
    // The same page again (a reconnect) adds nothing twice.
    fake.feed(Event::History {
        peer: "a1".into(),
        messages: vec![stored(
            1,
            "h1",
            Direction::In,
            MsgState::Received,
            "昨天的消息",
        )],
        transfers: vec![],
        deliveries: Vec::new(),
        before: None,
        after: None,
    });
    harness.run();
    assert_eq!(
        harness
            .state()
            .state
            .messages(&ConvKey::Peer("a1".into()))
            .len(),
        3
    );
}

#[test]
fn search_asks_the_core_and_a_hit_opens_its_conversation() {
    let (mut harness, fake) = window();
    harness.run();
    let field = harness.get_by_role_and_label(Role::TextInput, "Search messages");
    field.focus();
    field.type_text("开会");
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Search {
            query: "开会".into(),
            limit: 200
        }]
    );
    fake.feed(Event::SearchResults {
        query: "开会".into(),
        hits: vec![stored(
            7,
            "h7",
            Direction::In,
            MsgState::Received,
            "明天开会吗",
        )],
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三: 明天开会吗")
        .click();
    harness.run();
    assert_eq!(harness.state().state.selected, ConvKey::Peer("a1".into()));
}

#[test]
fn a_broken_transfer_shows_interrupted_and_retry_issues_the_command() {
    let (mut harness, fake) = window();
    let offer = |id: &str| Event::OfferSent {
        transfer_id: id.into(),
        to: "a1".into(),
        name: "视频.mp4".into(),
        size: 9_000_000,
        mime: "video/mp4".into(),
        folder: None,
        room: None,
    };
    fake.feed(offer("t3"));
    harness.run();
    harness.get_by_role_and_label(Role::Button, "张三").click();
    harness.run();
    fake.feed(Event::TransferStarted {
        transfer_id: "t3".into(),
        offset: 0,
        total: 9_000_000,
    });
    fake.feed(Event::TransferInterrupted {
        transfer_id: "t3".into(),
        reason: "the receiver closed the connection after 3000000 bytes".into(),
        attempt: 1,
        retry_in_ms: Some(1000),
    });
    harness.run();
    harness.get_by_label_contains("Interrupted: the receiver closed the connection");
    harness.get_by_label_contains("trying again by itself (try 1)");
    harness
        .get_by_role_and_label(Role::Button, "Retry now")
        .click();
    harness.run();
    let retry = || Command::Retry {
        transfer_id: "t3".into(),
    };
    assert_eq!(fake.user_commands(), [retry()]);
    fake.feed(Event::TransferRetrying {
        transfer_id: "t3".into(),
        attempt: 0,
    });
    harness.run();
    harness.get_by_label_contains("Trying again");

    // Given up: the failed card keeps a Retry; a declined one has none.
    fake.feed(Event::TransferFailed {
        transfer_id: "t3".into(),
        end: TransferEnd::GaveUp {
            tries: 8,
            last: "the receiver closed the connection".into(),
        },
    });
    fake.feed(offer("t4"));
    fake.feed(Event::TransferFailed {
        transfer_id: "t4".into(),
        end: TransferEnd::Declined {
            by: Party::Receiver,
            code: DeclineCode::Other,
            reason: "no thanks".into(),
        },
    });
    harness.run();
    assert_eq!(
        harness
            .query_all_by_role_and_label(Role::Button, "Retry")
            .count(),
        1,
        "only the broken transfer can be retried"
    );
    harness.get_by_role_and_label(Role::Button, "Retry").click();
    harness.run();
    assert_eq!(fake.user_commands(), [retry()]);

    // Offered again (a resume) is the same card, not a second bubble.
    let bubbles =
        |h: &Harness<'static, App>| h.state().state.messages(&ConvKey::Peer("a1".into())).len();
    let before = bubbles(&harness);
    fake.feed(offer("t3"));
    harness.run();
    assert_eq!(bubbles(&harness), before);
    harness.get_by_label_contains("Trying again");
    // Once it arrived, the same file sent again is a new card.
    fake.feed(Event::TransferDone {
        transfer_id: "t3".into(),
        path: "/home/me/视频.mp4".into(),
    });
    fake.feed(offer("t3"));
    harness.run();
    assert_eq!(bubbles(&harness), before + 1);
}

#[test]
fn a_receiver_waiting_for_the_sender_can_ask_it_to_retry() {
    let (mut harness, fake) = window();
    fake.feed(Event::FileOffer {
        verified: false,
        transfer_id: "t5".into(),
        from: "a1".into(),
        name: "照片.png".into(),
        size: 5_000_000,
        mime: "image/png".into(),
        folder: None,
        room: None,
    });
    fake.feed(Event::TransferStarted {
        transfer_id: "t5".into(),
        offset: 0,
        total: 5_000_000,
    });
    fake.feed(Event::TransferInterrupted {
        transfer_id: "t5".into(),
        reason: "stream ended after 1000000 of 5000000 bytes".into(),
        attempt: 0,
        retry_in_ms: None,
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三, 1 unread")
        .click();
    harness.run();
    harness.get_by_label_contains("waiting for the sender to offer it again");
    harness
        .get_by_role_and_label(Role::Button, "Retry now")
        .click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Retry {
            transfer_id: "t5".into()
        }]
    );
}

#[test]
fn a_folder_is_one_card_counting_files_and_bytes() {
    let (mut harness, fake) = window();
    fake.feed(Event::FileOffer {
        verified: true,
        transfer_id: "f1".into(),
        from: "a1".into(),
        name: "相册".into(),
        size: 3_000_000,
        mime: "inode/directory".into(),
        folder: Some(lanchat::protocol::folder::FolderSummary {
            files: 120,
            folders: 4,
        }),
        room: None,
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "张三, 1 unread")
        .click();
    harness.run();
    harness.get_by_label("相册");
    harness.get_by_label("📁");
    harness.get_by_label_contains("Folder · 120 files, 4 folders · 3.0 MB");
    harness.get_by_role_and_label(Role::Button, "Send a folder");
    harness
        .get_by_role_and_label(Role::Button, "Accept")
        .click();
    harness.run();
    assert_eq!(
        fake.user_commands(),
        [Command::Accept {
            transfer_id: "f1".into()
        }]
    );
    fake.feed(Event::TransferStarted {
        transfer_id: "f1".into(),
        offset: 0,
        total: 3_000_000,
    });
    fake.feed(Event::TransferProgress {
        transfer_id: "f1".into(),
        bytes: 1_500_000,
        total: 3_000_000,
        files: Some(57),
    });
    harness.run();
    harness.get_by_label_contains("57 of 120 files · 1.5 MB of 3.0 MB");
    fake.feed(Event::TransferDone {
        transfer_id: "f1".into(),
        path: "/tmp/相册".into(),
    });
    harness.run();
    harness.get_by_label_contains("Saved in /tmp");
}

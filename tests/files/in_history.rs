//! Transfers in a conversation's history: what the window shows as file cards after a
//! restart.

use std::fs;

use crate::common::TestNode;
use crate::{config, pair, send_file, wait_done};
use lanchat::node::{Command, Event};
use lanchat::store::{Direction, Transfer, TransferState};

/// Asks `node` for the history with `peer`; returns its transfers.
fn transfers(node: &mut TestNode, peer: &str) -> Vec<Transfer> {
    node.send(Command::History {
        peer: peer.to_owned(),
        limit: 50,
        before: None,
        after: None,
    });
    match node.wait("history or error", |e| {
        matches!(e, Event::History { .. } | Event::Error { .. })
    }) {
        Event::History { transfers, .. } => transfers,
        other => panic!("{}: history failed: {other:?}", node.name),
    }
}

#[test]
fn finished_transfers_come_back_with_the_history_also_after_a_restart() {
    let (dir, port, mut a, mut b) = pair("in-history", true);
    let (alice, bob) = (a.id.clone(), b.id.clone());
    let src = dir.join("报告.txt");
    fs::write(&src, "第一季度").unwrap();
    let id = send_file(&mut a, &bob, &src);
    let got = wait_done(&mut b, &id);
    wait_done(&mut a, &id);

    let sent = transfers(&mut a, &bob);
    assert!(
        matches!(&sent[..], [t] if t.id == id && t.dir == Direction::Out
            && t.state == TransferState::Done && t.name == "报告.txt" && t.size == 12),
        "alice's side: {sent:?}"
    );
    // Bob's side, after a restart: the card still says where the file is.
    drop(b);
    let mut b = TestNode::start_with(config(&dir.0, "bob", port));
    let received = transfers(&mut b, &alice);
    assert!(
        matches!(&received[..], [t] if t.id == id && t.dir == Direction::In
            && t.state == TransferState::Done && t.path == got.to_string_lossy()),
        "bob's side after a restart: {received:?}"
    );
    // The room has no files.
    b.send(Command::History {
        peer: "everyone".into(),
        limit: 50,
        before: None,
        after: None,
    });
    let room = b.wait("history", |e| matches!(e, Event::History { .. }));
    assert!(matches!(room, Event::History { transfers, .. } if transfers.is_empty()));
}

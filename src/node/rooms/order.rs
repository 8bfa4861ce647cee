//! The order of a room's changes: every member applies the same changes, in whatever
//! order its links bring them, and ends with the same room.
//!
//! Each change has a [`Mark`]: its signed `at`, then its author's id to break ties, so any
//! two changes compare the same way everywhere. The room keeps the mark of the change that
//! set its name, and per peer the mark of the last change that brought them in (an add
//! that names them, the create) or took them out (their leave), for members and for those
//! who left. A change older than the mark it would overwrite changes nothing:
//! - two renames at once, or a rename that reaches a member after a later one: the later
//!   name stays everywhere;
//! - a leave that crosses an add naming the leaver again (re-invited after leaving): the
//!   later of the two decides, everywhere;
//! - an add that reaches a member only after a later leave of whom it adds: they stay out.
//!
//! That is last-writer-wins per field (a state-based CRDT register each), the usual way
//! to make replicas agree without a coordinator. Our own changes are made with an `at` past
//! every mark they follow (see [`own_at`]), so a clock behind the others' cannot make our
//! rename lose to the name it replaces, or our re-add to the leave it answers.
//!
//! What it cannot order: a member who joins learns the room as its adder held it, so a
//! leave the adder had not yet seen never reaches them (the leaver does not know them).
//! Such a member sends the leaver messages that are refused ("has left the room"). An
//! add from a build before `added` lists everyone and so re-adds, by its mark, whoever
//! left before it reached a member and after its author wrote it.
//!
//! Pure code: no store, socket or clock.

use std::collections::BTreeMap;

use crate::protocol::room::{ChangeOp, MAX_MEMBERS, Member, RoomChange};
use crate::store::{Mark, StoredRoom};

/// Most marks a room keeps for peers who left: past it the oldest are forgotten (an add
/// older than a forgotten leave then brings its peer back; see the module documentation).
pub const MAX_GONE: usize = MAX_MEMBERS;

/// A change's place in the order.
pub fn mark(c: &RoomChange) -> Mark {
    Mark {
        at: c.at,
        by: c.author.clone(),
    }
}

/// The `at` for our change `op` of `room` (as we hold it before; `None`: a new room) made
/// at `now`: past every mark it follows (the name's for a rename, those of whom it adds,
/// ours for a leave), so it orders after them at every member.
pub fn own_at(
    before: Option<&StoredRoom>,
    op: ChangeOp,
    adds: &[String],
    me: &str,
    now: u64,
) -> u64 {
    let Some(r) = before else { return now };
    let at = |id: &str| r.marks.get(id).map_or(0, |m| m.at);
    let follows = match op {
        ChangeOp::Create => 0,
        ChangeOp::Rename => r.name_mark.at,
        ChangeOp::Add => adds.iter().map(|id| at(id)).max().unwrap_or(0),
        ChangeOp::Leave => at(me),
    };
    now.max(follows.saturating_add(1))
}

/// The marks of a room first heard of by `c` (a create, or an add that has us): the
/// name's as the change tells it (a create set it; an add carries it), the create's for
/// every member, an add's for whom it adds; the others' are not known (older than any).
pub fn first(c: &RoomChange) -> (Mark, BTreeMap<String, Mark>) {
    let name = match c.op {
        ChangeOp::Create => mark(c),
        _ => Mark {
            at: c.name_at,
            by: c.name_by.clone(),
        },
    };
    let marks = c
        .members
        .iter()
        .filter(|m| c.op == ChangeOp::Create || adds(c, &m.id))
        .map(|m| (m.id.clone(), mark(c)))
        .collect();
    (name, marks)
}

/// Whether add (or create) `c` brings `id` in: whom it names, or everyone it lists when
/// it names nobody (adds from before `added`).
fn adds(c: &RoomChange, id: &String) -> bool {
    c.added.is_empty() || c.added.contains(id)
}

/// Applies an add (or a create of a room we hold already) to `room`: each peer it brings
/// in whose last change is older joins (made safe by `tidy`) or, already in, is marked by
/// it; the others stay as they are.
pub fn add(room: &mut StoredRoom, c: &RoomChange, tidy: impl Fn(&Member) -> Member) {
    let key = mark(c);
    for m in c.members.iter().filter(|m| adds(c, &m.id)) {
        if room.marks.get(&m.id).is_some_and(|old| *old >= key) {
            continue;
        }
        if !room.members.iter().any(|a| a.id == m.id) {
            if room.members.len() >= MAX_MEMBERS {
                continue;
            }
            room.members.push(tidy(m));
        }
        room.marks.insert(m.id.clone(), key.clone());
    }
}

/// Applies a rename to `room`, `name` being its name made safe: taken if it is newer
/// than the change that set the name we hold.
pub fn rename(room: &mut StoredRoom, c: &RoomChange, name: String) {
    let key = mark(c);
    if room.name_mark < key {
        room.name = name;
        room.name_mark = key;
    }
}

/// Applies its author's leave to `room`: they go if it is newer than what brought them
/// in; the mark stays (at most [`MAX_GONE`] of those who left).
pub fn leave(room: &mut StoredRoom, c: &RoomChange) {
    let key = mark(c);
    if room.marks.get(&c.author).is_some_and(|old| *old >= key) {
        return;
    }
    room.members.retain(|m| m.id != c.author);
    room.marks.insert(c.author.clone(), key);
    let mut gone: Vec<(Mark, String)> = room
        .marks
        .iter()
        .filter(|(id, _)| !room.members.iter().any(|m| &m.id == *id))
        .map(|(id, m)| (m.clone(), id.clone()))
        .collect();
    if gone.len() > MAX_GONE {
        gone.sort();
        for (_, id) in &gone[..gone.len() - MAX_GONE] {
            room.marks.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Member {
        Member {
            id: id.into(),
            name: id.to_uppercase(),
            key: format!("key-{id}"),
            addr: String::new(),
            port: 0,
        }
    }

    /// A change by `author` at `at` (unsigned: order does not check signatures).
    fn change(op: ChangeOp, author: &str, at: u64, name: &str, members: &[&str]) -> RoomChange {
        RoomChange {
            room: "room-0123456789abcdef0123456789abcdef".into(),
            op,
            name: name.into(),
            members: members.iter().map(|id| member(id)).collect(),
            author: author.into(),
            at,
            msg_id: format!("{author}-{at}"),
            added: Vec::new(),
            name_at: 0,
            name_by: String::new(),
            sig: String::new(),
        }
    }

    /// Dave's leave at `at` (the rest of carol's room stays).
    fn dave_leaves(at: u64) -> RoomChange {
        change(
            ChangeOp::Leave,
            "dave",
            at,
            "team",
            &["alice", "bob", "carol"],
        )
    }

    fn apply(room: &mut StoredRoom, c: &RoomChange) {
        match c.op {
            ChangeOp::Create | ChangeOp::Add => add(room, c, Member::clone),
            ChangeOp::Rename => rename(room, c, c.name.clone()),
            ChangeOp::Leave => leave(room, c),
        }
    }

    /// Carol's copy of a room of alice, bob, carol and dave, made by alice at 1.
    fn carols() -> StoredRoom {
        let made = change(
            ChangeOp::Create,
            "alice",
            1,
            "team",
            &["alice", "bob", "carol", "dave"],
        );
        let (name_mark, marks) = first(&made);
        StoredRoom {
            id: made.room.clone(),
            name: "team".into(),
            joined: true,
            members: made.members.clone(),
            name_mark,
            marks,
        }
    }

    fn ids(room: &StoredRoom) -> Vec<String> {
        let mut v: Vec<String> = room.members.iter().map(|m| m.id.clone()).collect();
        v.sort();
        v
    }

    /// Every order of `changes` on `from`.
    fn every_order(from: &StoredRoom, changes: &[RoomChange]) -> Vec<StoredRoom> {
        fn go(from: &StoredRoom, left: Vec<RoomChange>, out: &mut Vec<StoredRoom>) {
            if left.is_empty() {
                return out.push(from.clone());
            }
            for i in 0..left.len() {
                let mut rest = left.clone();
                let c = rest.remove(i);
                let mut r = from.clone();
                apply(&mut r, &c);
                go(&r, rest, out);
            }
        }
        let mut out = Vec::new();
        go(from, changes.to_vec(), &mut out);
        out
    }

    #[test]
    fn members_end_with_the_same_room_whatever_order_changes_reach_them_in() {
        // Two renames at once (bob's is the later), dave leaves at 15 and alice, having
        // seen it, adds him again at 30, bob adds erin at 25 from a list that still held
        // dave, and alice renames once more at 12 (older than bob's name).
        let everyone = ["alice", "bob", "carol", "dave"];
        let mut re_add = change(ChangeOp::Add, "alice", 30, "team", &everyone);
        re_add.added = vec!["dave".into()];
        let mut erin = change(
            ChangeOp::Add,
            "bob",
            25,
            "team",
            &["alice", "bob", "carol", "dave", "erin"],
        );
        erin.added = vec!["erin".into()];
        let changes = [
            change(ChangeOp::Rename, "alice", 20, "项目组", &everyone),
            change(ChangeOp::Rename, "bob", 20, "crew", &everyone),
            dave_leaves(15),
            re_add,
            erin,
            change(ChangeOp::Rename, "alice", 12, "old", &everyone),
        ];
        let ends = every_order(&carols(), &changes);
        assert_eq!(ends.len(), 720);
        for end in &ends {
            // Tie at 20: bob's id orders after alice's.
            assert_eq!(end.name, "crew");
            assert_eq!(ids(end), ["alice", "bob", "carol", "dave", "erin"]);
            assert_eq!(
                (&end.name_mark, &end.marks),
                (&ends[0].name_mark, &ends[0].marks)
            );
        }
    }

    #[test]
    fn a_leave_after_the_add_that_named_them_wins_in_every_order() {
        let everyone = ["alice", "bob", "carol", "dave"];
        let mut re_add = change(ChangeOp::Add, "alice", 30, "team", &everyone);
        re_add.added = vec!["dave".into()];
        let changes = [dave_leaves(15), re_add, dave_leaves(40)];
        for end in every_order(&carols(), &changes) {
            assert_eq!(ids(&end), ["alice", "bob", "carol"]);
            assert_eq!(end.marks["dave"].at, 40);
        }
    }

    #[test]
    fn an_add_older_than_a_leave_does_not_bring_the_leaver_back() {
        let mut room = carols();
        apply(&mut room, &dave_leaves(15));
        // Written before the leave, with dave still in the list (a build before `added`).
        let stale = change(
            ChangeOp::Add,
            "bob",
            10,
            "team",
            &["alice", "bob", "carol", "dave"],
        );
        apply(&mut room, &stale);
        assert_eq!(ids(&room), ["alice", "bob", "carol"]);
    }

    #[test]
    fn our_own_change_orders_after_what_it_follows_even_with_a_clock_behind() {
        let mut room = carols();
        apply(
            &mut room,
            &change(ChangeOp::Rename, "bob", 5_000, "crew", &[]),
        );
        apply(
            &mut room,
            &change(ChangeOp::Leave, "dave", 7_000, "team", &[]),
        );
        let adds = ["dave".to_string()];
        assert_eq!(
            own_at(Some(&room), ChangeOp::Rename, &[], "carol", 100),
            5_001
        );
        assert_eq!(
            own_at(Some(&room), ChangeOp::Add, &adds, "carol", 100),
            7_001
        );
        assert_eq!(
            own_at(Some(&room), ChangeOp::Rename, &[], "carol", 9_000),
            9_000
        );
        assert_eq!(
            own_at(Some(&room), ChangeOp::Leave, &[], "carol", 0),
            2,
            "past the create"
        );
        assert_eq!(own_at(None, ChangeOp::Create, &[], "carol", 3), 3);
    }

    #[test]
    fn a_joiner_takes_the_names_mark_from_the_add_and_orders_later_renames_by_it() {
        let mut add = change(
            ChangeOp::Add,
            "alice",
            30,
            "crew",
            &["alice", "bob", "erin"],
        );
        add.added = vec!["erin".into()];
        (add.name_at, add.name_by) = (20, "bob".into());
        let (name_mark, marks) = first(&add);
        assert_eq!(
            name_mark,
            Mark {
                at: 20,
                by: "bob".into()
            }
        );
        assert_eq!(marks.keys().collect::<Vec<_>>(), ["erin"]);
        let mut room = StoredRoom {
            name: "crew".into(),
            members: add.members.clone(),
            name_mark,
            marks,
            ..StoredRoom::default()
        };
        // A rename older than bob's reaches erin late: crew stays, as everywhere else.
        apply(
            &mut room,
            &change(ChangeOp::Rename, "alice", 12, "old", &[]),
        );
        assert_eq!(room.name, "crew");
        apply(
            &mut room,
            &change(ChangeOp::Rename, "alice", 31, "new", &[]),
        );
        assert_eq!(room.name, "new");
    }

    #[test]
    fn marks_of_those_who_left_are_bounded() {
        let mut room = carols();
        for i in 0..(MAX_GONE + 10) as u64 {
            let id = format!("p{i:04}");
            let mut a = change(ChangeOp::Add, "alice", 100 + 2 * i, "team", &[id.as_str()]);
            a.added = vec![id.clone()];
            apply(&mut room, &a);
            apply(
                &mut room,
                &change(ChangeOp::Leave, &id, 101 + 2 * i, "team", &[]),
            );
        }
        let gone = room.marks.keys().filter(|id| id.starts_with('p')).count();
        assert_eq!(gone, MAX_GONE);
        assert!(!room.marks.contains_key("p0000"), "the oldest forgotten");
        assert_eq!(ids(&room), ["alice", "bob", "carol", "dave"]);
    }
}

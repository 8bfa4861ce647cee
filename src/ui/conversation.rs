//! One conversation as the window holds it: the pages of stored history read so far plus
//! what arrived during this run, and where paging stands. No egui here.
//!
//! The rows shown are one contiguous run of the conversation, oldest first. Normally the
//! run ends at the newest message: it grows at the end as messages arrive and at the start
//! as older pages are read (`history` with `before`). After a jump to a search hit older
//! than anything loaded, the run is a *window* around the hit (`before` hit + 1 and `after`
//! hit): what was shown until then is held aside, and keeps growing with arrivals, until
//! paging forward (`after`) meets it again or the user goes back to the newest.
//!
//! It never sends anything: the `ask_*` methods say which [`Command`] to send and remember
//! that it is in flight, so a page is asked for once and its answer is recognised by the
//! `before`/`after` the core echoes.

use std::collections::{HashSet, VecDeque};

pub use super::message::{ChatMessage, ConvKey, Mark};
use super::stored_cards::merge_cards;
use crate::node::Command;
use crate::store::StoredMessage;

/// Messages per page of stored history (the first page, and each one read when scrolling).
pub const PAGE: usize = 200;

/// Paging in one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Paging {
    /// Nothing asked yet, or more may be there.
    #[default]
    More,
    /// A page was asked for with this key (`before` or `after`); waiting for it.
    Asked(Option<i64>),
    /// The store has nothing further this way.
    End,
}

/// Counters a view follows to update its per-row data without comparing rows: rows added
/// at the start, at the end, and a new `epoch` when the run was replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Bumped whenever the rows shown were replaced (a jump, a return to the newest).
    pub epoch: u64,
    /// Rows put before the first one, in total.
    pub prepended: u64,
    /// Rows put after the last one, in total.
    pub appended: u64,
}

/// The rows shown until a jump, set aside while a window around an old message is shown.
#[derive(Debug, Clone, Default)]
struct Held {
    messages: VecDeque<ChatMessage>,
    older: Paging,
}

/// The messages of one conversation and how many arrived unseen.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The rows shown, oldest first (one contiguous run of the conversation).
    pub messages: VecDeque<ChatMessage>,
    /// Arrived while the conversation was not in view.
    pub unread: usize,
    /// Name to show if the peer itself is unknown (a message from before a beacon).
    pub fallback_name: String,
    /// Messages that arrived during this run (shown or held), for the new-messages pill.
    pub arrived: usize,
    /// How the rows shown changed (for the view's height cache).
    pub shape: Shape,
    /// Paging back from the oldest row shown.
    pub older: Paging,
    /// Paging forward from the newest row shown (only while a window is shown).
    pub newer: Paging,
    /// Set while a window around an old message is shown.
    held: Option<Held>,
}

impl Conversation {
    /// Whether the rows shown are a window around an old message, not the newest ones.
    pub fn is_window(&self) -> bool {
        self.held.is_some()
    }

    /// The smallest store row shown (the `before` of the next older page).
    pub fn oldest_row(&self) -> Option<i64> {
        self.messages.iter().find_map(|m| m.row)
    }

    /// The largest store row shown (the `after` of the next page forward).
    pub fn newest_row(&self) -> Option<i64> {
        self.messages.iter().rev().find_map(|m| m.row)
    }

    /// Where a message is among the rows shown.
    pub fn position(&self, msg_id: &str) -> Option<usize> {
        self.messages.iter().position(|m| m.msg_id == msg_id)
    }

    /// A message that arrived during this run: shown at the end, or held while a window
    /// is shown.
    pub fn arrive(&mut self, msg: ChatMessage) {
        self.arrived += 1;
        match &mut self.held {
            Some(held) => held.messages.push_back(msg),
            None => {
                self.messages.push_back(msg);
                self.shape.appended += 1;
            }
        }
    }

    /// A message by id, shown or held.
    pub fn find_mut(&mut self, msg_id: &str) -> Option<&mut ChatMessage> {
        let held = self.held.iter_mut().flat_map(|h| h.messages.iter_mut());
        held.rev()
            .chain(self.messages.iter_mut().rev())
            .find(|m| m.msg_id == msg_id)
    }

    /// The command for the newest page, once: when the conversation is first opened.
    pub fn ask_newest(&mut self, conv: &ConvKey) -> Option<Command> {
        if self.older != Paging::More || self.oldest_row().is_some() || self.is_window() {
            return None;
        }
        self.older = Paging::Asked(None);
        Some(history(conv, None, None))
    }

    /// The command for the page before the oldest row shown, unless one is in flight or
    /// the start was reached.
    pub fn ask_older(&mut self, conv: &ConvKey) -> Option<Command> {
        if self.older != Paging::More {
            return None;
        }
        let before = self.oldest_row()?;
        self.older = Paging::Asked(Some(before));
        Some(history(conv, Some(before), None))
    }

    /// The command for the page after the newest row shown, while a window is shown.
    pub fn ask_newer(&mut self, conv: &ConvKey) -> Option<Command> {
        if !self.is_window() || self.newer != Paging::More {
            return None;
        }
        let after = self.newest_row()?;
        self.newer = Paging::Asked(Some(after));
        Some(history(conv, None, Some(after)))
    }

    /// Shows the stored message at `row` (a search hit): nothing to ask if it is among the
    /// rows shown; else the rows shown are set aside and the pages ending at and following
    /// it are asked for.
    pub fn jump(&mut self, conv: &ConvKey, msg_id: &str, row: i64) -> Vec<Command> {
        if self.position(msg_id).is_some() {
            return Vec::new();
        }
        let shown = std::mem::take(&mut self.messages);
        if self.held.is_none() {
            self.held = Some(Held {
                messages: shown,
                older: self.older,
            });
        }
        self.shape.epoch += 1;
        self.older = Paging::Asked(Some(row + 1));
        self.newer = Paging::Asked(Some(row));
        vec![
            history(conv, Some(row + 1), None),
            history(conv, None, Some(row)),
        ]
    }

    /// Leaves a window and shows the newest rows again (as they were, with what arrived
    /// meanwhile). Returns whether there was a window.
    pub fn back_to_newest(&mut self) -> bool {
        let Some(held) = self.held.take() else {
            return false;
        };
        self.messages = held.messages;
        self.older = held.older;
        self.newer = Paging::More;
        self.shape.epoch += 1;
        true
    }

    /// Folds in one `history` answer, told apart by the `before`/`after` it echoes.
    pub fn load(
        &mut self,
        conv: &ConvKey,
        stored: Vec<StoredMessage>,
        cards: Vec<ChatMessage>,
        before: Option<i64>,
        after: Option<i64>,
    ) -> bool {
        let full = stored.len() >= PAGE;
        match (before, after) {
            (_, Some(after)) => {
                if self.newer != Paging::Asked(Some(after)) {
                    return false; // a page for a window that is gone
                }
                self.newer = if full { Paging::More } else { Paging::End };
                self.append_page(conv, stored, cards)
            }
            (Some(before), None) => {
                if self.older != Paging::Asked(Some(before)) {
                    return false;
                }
                self.older = if full { Paging::More } else { Paging::End };
                self.prepend_page(conv, stored, cards);
                true
            }
            (None, None) => {
                // The newest page: shown before what arrived during this run. Also taken
                // unasked (a front end may be fed it), and again (nothing is shown twice).
                if let Some(held) = &mut self.held {
                    // Asked before a jump: asked again when the newest rows are shown.
                    if held.older == Paging::Asked(None) {
                        held.older = Paging::More;
                    }
                    return false;
                }
                if matches!(self.older, Paging::More | Paging::Asked(None)) {
                    self.older = if full { Paging::More } else { Paging::End };
                }
                self.prepend_page(conv, stored, cards);
                true
            }
        }
    }

    /// Puts a page (and its file `cards`) before the rows shown, skipping what is already
    /// there: a stored message can also have been reported live, and a repeated page adds
    /// nothing.
    fn prepend_page(
        &mut self,
        conv: &ConvKey,
        stored: Vec<StoredMessage>,
        cards: Vec<ChatMessage>,
    ) {
        let oldest = self.oldest_row();
        // Rows shown are contiguous, so only live rows (no row id) can repeat a page's,
        // and those are all at the end: arrivals are added there, pages before them.
        let live: HashSet<&str> = self
            .messages
            .iter()
            .rev()
            .take_while(|m| m.row.is_none())
            .map(|m| m.msg_id.as_str())
            .collect();
        let mut older: Vec<ChatMessage> = stored
            .into_iter()
            .filter(|m| oldest.is_none_or(|o| m.id < o) && !live.contains(m.msg_id.as_str()))
            .map(|m| ChatMessage::stored(m, conv))
            .collect();
        merge_cards(&mut older, cards);
        if self.fallback_name.is_empty()
            && let Some(m) = older.iter().find(|m| m.mark == Mark::Received)
        {
            self.fallback_name.clone_from(&m.from_name);
        }
        self.shape.prepended += older.len() as u64;
        for m in older.into_iter().rev() {
            self.messages.push_front(m);
        }
    }

    /// Puts a page (and its file `cards`) after the rows of a window; when it reaches the
    /// rows held aside (or the newest), the two are joined and the window ends. Returns
    /// whether it was used.
    fn append_page(
        &mut self,
        conv: &ConvKey,
        stored: Vec<StoredMessage>,
        cards: Vec<ChatMessage>,
    ) -> bool {
        let newest = self.newest_row();
        let reached_end = self.newer == Paging::End;
        let Some(held) = &self.held else {
            return false;
        };
        let held_ids: HashSet<&str> = held.messages.iter().map(|m| m.msg_id.as_str()).collect();
        let meets = stored.iter().any(|m| held_ids.contains(m.msg_id.as_str()));
        let mut page: Vec<ChatMessage> = stored
            .into_iter()
            .filter(|m| newest.is_none_or(|n| m.id > n) && !held_ids.contains(m.msg_id.as_str()))
            .map(|m| ChatMessage::stored(m, conv))
            .collect();
        let cards = cards
            .into_iter()
            .filter(|c| !held_ids.contains(c.msg_id.as_str()))
            .collect();
        merge_cards(&mut page, cards);
        self.shape.appended += page.len() as u64;
        self.messages.extend(page);
        if meets || reached_end {
            self.join_held();
        }
        true
    }

    /// Ends a window whose last page met the rows held aside: they follow it.
    fn join_held(&mut self) {
        let Some(held) = self.held.take() else {
            return;
        };
        let shown: HashSet<String> = self.messages.iter().map(|m| m.msg_id.clone()).collect();
        let rest: Vec<ChatMessage> = held
            .messages
            .into_iter()
            .filter(|m| !shown.contains(&m.msg_id))
            .collect();
        self.shape.appended += rest.len() as u64;
        self.messages.extend(rest);
        self.newer = Paging::More;
    }
}

fn history(conv: &ConvKey, before: Option<i64>, after: Option<i64>) -> Command {
    Command::History {
        peer: conv.peer(),
        limit: PAGE,
        before,
        after,
    }
}

#[cfg(test)]
mod tests;

//! What the panels read from [`ChatState`]: the open conversation, unread counts, the
//! peer list in display order, titles. Nothing here changes the model but `select` and
//! `mark_read`, which the frame loop calls between frames.

use std::collections::VecDeque;

use super::{ChatMessage, ChatState, ConvKey, NO_MESSAGES};
use crate::node::PeerInfo;

impl ChatState {
    /// Opens a conversation and clears its unread count.
    pub fn select(&mut self, conv: ConvKey) {
        self.selected = conv;
        self.mark_read();
    }

    /// The open conversation has been seen.
    pub fn mark_read(&mut self) {
        if let Some(c) = self.conversations.get_mut(&self.selected) {
            c.unread = 0;
        }
    }

    /// Unread messages across all conversations (for the window title).
    pub fn unread_total(&self) -> usize {
        self.conversations.values().map(|c| c.unread).sum()
    }

    /// Unread messages in one conversation.
    pub fn unread(&self, conv: &ConvKey) -> usize {
        self.conversations.get(conv).map_or(0, |c| c.unread)
    }

    /// The messages of a conversation shown now, oldest first.
    pub fn messages(&self, conv: &ConvKey) -> &VecDeque<ChatMessage> {
        self.conversations
            .get(conv)
            .map_or(&NO_MESSAGES, |c| &c.messages)
    }

    /// Peers for the list: online first, then by name; peers we only know from a
    /// conversation are not included (see [`ChatState::strangers`]).
    pub fn peers_sorted(&self) -> Vec<&PeerInfo> {
        let mut v: Vec<&PeerInfo> = self.peers.values().collect();
        v.sort_by(|a, b| {
            b.online
                .cmp(&a.online)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                .then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    /// Conversations with peers missing from the peer table: (id, name), by name.
    pub fn strangers(&self) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = self
            .conversations
            .iter()
            .filter_map(|(k, c)| match k {
                // A conversation only opened (its history asked for) is no one yet.
                ConvKey::Peer(id)
                    if !self.peers.contains_key(id)
                        && (!c.messages.is_empty() || c.is_window()) =>
                {
                    Some((id.as_str(), c.fallback_name.as_str()))
                }
                _ => None,
            })
            .collect();
        v.sort_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// A conversation's title: the peer's name, or "Everyone".
    pub fn title(&self, conv: &ConvKey) -> String {
        match conv {
            ConvKey::Everyone => "Everyone".to_owned(),
            ConvKey::Room(id) => self
                .rooms
                .get(id)
                .map_or_else(|| "a room you left".to_owned(), |r| r.name.clone()),
            ConvKey::Peer(id) => self
                .peers
                .get(id)
                .map(|p| p.name.clone())
                .or_else(|| {
                    self.conversations
                        .get(conv)
                        .map(|c| c.fallback_name.clone())
                })
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| short_id(id).to_owned()),
        }
    }
}

/// The first 8 characters of a peer id, for display.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

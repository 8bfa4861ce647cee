//! Storing a burst of incoming chats, the one store write whose result chat needs to
//! answer them: chat says which may be stored, they go in one transaction, and chat
//! shows and answers them by how that went.
//!
//! When the transaction fails because of the data (SQLite refuses a row: too big, a
//! constraint), one chat is to blame, not the burst: they are stored one at a time, so
//! only that one is refused for good and the others are saved. When it fails for a
//! passing reason (a full disk, a lock), none is stored and each is answered "not now".

use std::collections::HashSet;

use super::Core;
use crate::net::Port;
use crate::node::chat::InChat;
use crate::node::chat::inbox::{Admit, Stored};
use crate::node::clock::Now;
use crate::node::out::Route;
use crate::store::{Direction, MsgState, NewMessage, Store, StoreError};

impl<P: Port> Core<P> {
    /// Stores what chat admits of `chats` (one transaction), then chat shows and
    /// answers each.
    pub(super) fn store_chats(&mut self, chats: Vec<InChat>, now: Now) {
        let names: Vec<String> = chats
            .iter()
            .map(|c| {
                self.presence
                    .get(&c.peer)
                    .map(|p| p.name.clone())
                    .or_else(|| self.rooms.member(&c.peer).map(|m| m.name.clone()))
                    .unwrap_or_default()
            })
            .collect();
        let admitted = self.chat.admit(&chats, now.at);
        let rows: Vec<NewMessage> = chats
            .iter()
            .zip(&names)
            .zip(&admitted)
            .filter(|(_, a)| **a == Admit::Store)
            .map(|((c, name), _)| row(c, name))
            .collect();
        let outcome = if rows.is_empty() {
            Ok(Vec::new())
        } else {
            self.store.insert_messages(&rows).map(|ids| {
                ids.iter()
                    .map(|id| {
                        if id.is_some() {
                            Stored::New
                        } else {
                            Stored::Again
                        }
                    })
                    .collect()
            })
        };
        let mut stored = match outcome {
            Ok(s) => s.into_iter(),
            Err(e) if e.is_temporary() => {
                tracing::warn!("{} incoming messages not saved: {e}", rows.len());
                let why = self.chat.store_failed(&e.cause(), now.at);
                vec![Stored::NotNow(why); rows.len()].into_iter()
            }
            Err(e) => {
                tracing::warn!("a burst of incoming messages refused ({e}); saving one by one");
                let routes: Vec<Route> = chats
                    .iter()
                    .zip(&admitted)
                    .filter(|(_, a)| **a == Admit::Store)
                    .map(|(c, _)| c.route)
                    .collect();
                let (each, down) = one_by_one(&mut self.store, &rows, &routes);
                let why = down.map(|cause| self.chat.store_failed(&cause, now.at));
                each.into_iter()
                    .map(|s| s.unwrap_or_else(|| Stored::NotNow(why.clone().unwrap_or_default())))
                    .collect::<Vec<_>>()
                    .into_iter()
            }
        };
        drop(rows);
        let results = admitted
            .into_iter()
            .map(|a| match a {
                Admit::Store => stored.next().expect("one result per row"),
                Admit::Refuse(why) => Stored::Refused(why),
                Admit::NotNow(why) => Stored::NotNow(why),
            })
            .collect();
        self.chat.chats_stored(chats, names, results, &mut self.out);
    }
}

/// An incoming chat as a row.
fn row<'a>(c: &'a InChat, name: &'a str) -> NewMessage<'a> {
    NewMessage {
        peer: c.room.as_deref().unwrap_or(&c.peer),
        msg_id: &c.msg_id,
        dir: Direction::In,
        from: &c.peer,
        from_name: name,
        text: &c.text,
        sent_at: c.sent_at,
        state: MsgState::Received,
    }
}

/// Stores `rows` (arrived on `routes`) one at a time: a row SQLite refuses is refused
/// for good; after a passing failure on a route the rest of that route is not tried
/// (order). `None` for those not stored now; the passing failure's cause beside.
fn one_by_one(
    store: &mut Store,
    rows: &[NewMessage],
    routes: &[Route],
) -> (Vec<Option<Stored>>, Option<String>) {
    let mut stopped: HashSet<Route> = HashSet::new();
    let mut cause = None;
    let each = rows
        .iter()
        .zip(routes)
        .map(|(r, route)| {
            if stopped.contains(route) {
                return None;
            }
            match store.insert_message(r) {
                Ok(Some(_)) => Some(Stored::New),
                Ok(None) => Some(Stored::Again),
                Err(e) if e.is_temporary() => {
                    stopped.insert(*route);
                    cause = Some(e.cause());
                    None
                }
                Err(e) => Some(refused(&e)),
            }
        })
        .collect();
    (each, cause)
}

fn refused(e: &StoreError) -> Stored {
    tracing::info!("an incoming message refused by the store: {e}");
    Stored::Refused(e.cause())
}

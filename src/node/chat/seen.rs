//! A bounded set of recently seen ids: drops a shout heard twice (on several interfaces).
//! Direct messages are recognised by the store instead, across restarts too.

use std::collections::{HashSet, VecDeque};

/// Remembers the last `cap` ids inserted.
#[derive(Debug)]
pub struct SeenSet {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl SeenSet {
    /// A set that remembers up to `cap` ids.
    pub fn new(cap: usize) -> Self {
        SeenSet {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Records `id`; `true` if it was not seen before.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_duplicates_and_forgets_the_oldest() {
        let mut s = SeenSet::new(2);
        assert!(s.insert("a"));
        assert!(!s.insert("a"));
        assert!(s.insert("b"));
        assert!(s.insert("c"));
        assert!(s.insert("a"), "forgotten after cap newer ids");
        assert!(!s.insert("c"));
    }
}

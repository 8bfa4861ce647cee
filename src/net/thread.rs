//! Named threads: every thread the crate starts has a name (it shows in debuggers,
//! `top -H` and panics) and is joined by whoever started it — at once, or, for a thread
//! told to stop that may take a moment to see it, by a [`Reaper`] that never makes the
//! caller wait on a peer.

use std::io;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Starts a named thread (names show in debuggers, `top -H` and panics).
pub fn spawn_named<F>(name: &str, f: F) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new().name(name.to_owned()).spawn(f)
}

/// Threads told to stop that may still be running: a link's reader waiting out a tick,
/// a writer blocked on a peer that reads nothing (where `shutdown()` wakes no blocked
/// write, until its write timeout), a dial in `connect`. Closing a link or a stream
/// hands its threads here instead of joining them on the core thread; they are joined
/// once finished ([`Reaper::reap`]) and waited for, with a bound, when everything stops
/// ([`Reaper::finish`]).
#[derive(Debug, Default)]
pub struct Reaper {
    threads: Vec<JoinHandle<()>>,
}

impl Reaper {
    /// Takes threads to join later.
    pub fn add(&mut self, threads: impl IntoIterator<Item = JoinHandle<()>>) {
        self.threads.extend(threads);
    }

    /// Joins the threads that have ended.
    pub fn reap(&mut self) {
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.threads)
            .into_iter()
            .partition(JoinHandle::is_finished);
        self.threads = running;
        for t in done {
            let _ = t.join();
        }
    }

    /// Threads not yet joined.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Whether every thread was joined.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// Joins the oldest until at most `most` are left (each was told to stop, so this
    /// waits at most a tick per thread): keeps the number of threads bounded.
    pub fn keep_at_most(&mut self, most: usize) {
        self.reap();
        while self.threads.len() > most {
            let _ = self.threads.remove(0).join();
        }
    }

    /// Joins every thread, however long it takes (for threads that end within a tick).
    pub fn join_all(&mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Waits at most `within` for every thread to end and joins those that did. The
    /// others are left to end by themselves (each was told to stop, and each blocked
    /// call it can be in has a time limit): they are named in the log and counted in
    /// the return value. A stop never waits longer than this on a peer.
    pub fn finish(&mut self, within: Duration) -> usize {
        let until = Instant::now() + within;
        while !self.threads.iter().all(JoinHandle::is_finished) {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            std::thread::park_timeout(left.min(Duration::from_millis(2)));
        }
        self.reap();
        let left = std::mem::take(&mut self.threads);
        for t in &left {
            tracing::warn!(
                "thread {} did not stop within {within:?}; it ends on its own",
                t.thread().name().unwrap_or("?")
            );
        }
        left.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;

    #[test]
    fn a_reaper_joins_the_finished_and_never_waits_past_its_bound() {
        let mut reaper = Reaper::default();
        let (release, held) = bounded::<()>(0);
        let stuck = spawn_named("test-stuck", move || {
            let _ = held.recv();
        })
        .expect("spawn");
        let (done_tx, done) = bounded(1);
        let quick = spawn_named("test-quick", move || {
            let _ = done_tx.send(());
        })
        .expect("spawn");
        reaper.add([stuck, quick]);
        done.recv().expect("the quick thread ran");
        assert_eq!(
            reaper.finish(Duration::from_millis(50)),
            1,
            "one left running"
        );
        assert!(reaper.is_empty());
        drop(release); // the stuck one ends on its own
    }
}

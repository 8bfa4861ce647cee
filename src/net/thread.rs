//! Named threads: every thread the crate starts has a name (it shows in debuggers,
//! `top -H` and panics) and is joined by whoever started it.

use std::io;
use std::thread::JoinHandle;

/// Starts a named thread (names show in debuggers, `top -H` and panics).
pub fn spawn_named<F>(name: &str, f: F) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new().name(name.to_owned()).spawn(f)
}

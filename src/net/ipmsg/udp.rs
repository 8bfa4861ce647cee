//! The threads reading the IPMsg UDP socket(s): each datagram is parsed and forwarded as
//! [`IpmsgInput::Datagram`], or dropped and counted when the core's channel is full, so
//! a flood costs bounded memory. Nothing is answered here. Reading, stopping and socket
//! errors are [`crate::net::datagram`]'s, the same as discovery's: a stop ends the wait on
//! every system, and Windows' errors are counted in [`IpmsgStats::errors`], never paused on.

use std::io;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};

use super::{IpmsgInput, IpmsgStats, offer};
use crate::net::datagram;
use crate::net::spawn_named;
use crate::platform::wake::{self, Wake};
use crate::protocol::ipmsg::{MAX_PACKET, Packet};

/// A thread reading one UDP socket; stopped and joined on drop.
#[derive(Debug)]
pub struct Reader {
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    wake: Wake,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Starts a thread called `name` reading `socket` into `tx`.
    pub fn spawn<T>(
        socket: &UdpSocket,
        name: &str,
        tx: Sender<T>,
        stats: Arc<IpmsgStats>,
    ) -> io::Result<Reader>
    where
        T: From<IpmsgInput> + Send + 'static,
    {
        Reader::with_wake(socket, name, tx, stats, wake::datagram_wake())
    }

    /// [`Reader::spawn`] with a given way of stopping (tests take Windows' on Linux).
    pub fn with_wake<T>(
        socket: &UdpSocket,
        name: &str,
        tx: Sender<T>,
        stats: Arc<IpmsgStats>,
        wake: Wake,
    ) -> io::Result<Reader>
    where
        T: From<IpmsgInput> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let mut source = datagram::Socket::with_wake(socket.try_clone()?, stop.clone(), wake);
        let stop2 = stop.clone();
        let thread = spawn_named(name, move || read_loop(&mut source, &tx, &stats, &stop2))?;
        Ok(Reader {
            socket: socket.try_clone()?,
            stop,
            wake,
            thread: Some(thread),
        })
    }
}

fn read_loop<T: From<IpmsgInput>>(
    source: &mut datagram::Socket,
    tx: &Sender<T>,
    stats: &IpmsgStats,
    stop: &AtomicBool,
) {
    // One byte more than the limit, so an oversized datagram is seen as oversized.
    let mut buf = vec![0u8; MAX_PACKET + 1];
    while let Some((from, n)) = datagram::next(source, &mut buf, stop, &stats.errors) {
        stats.datagrams.fetch_add(1, Ordering::Relaxed);
        let input = IpmsgInput::Datagram {
            from,
            len: n,
            packet: Packet::parse(&buf[..n]),
        };
        if let Err(TrySendError::Disconnected(_)) = offer(tx, input, stats) {
            break;
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        datagram::stop(&self.socket, &self.stop, self.wake);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

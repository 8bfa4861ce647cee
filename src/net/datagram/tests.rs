//! The datagram reader against Windows' errors (played on Linux by a scripted source)
//! and a real socket stopped by its flag alone.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Duration;

use crossbeam_channel::bounded;

use super::*;
use crate::net::spawn_named;

/// What the scripted socket does next.
enum Step {
    /// Waiting for a datagram fails.
    WaitFails(i32),
    /// A datagram from `from`: read, or its read fails with an error code.
    Datagram(SocketAddrV4, Result<&'static [u8], i32>),
}

struct Script {
    steps: VecDeque<Step>,
    current: Option<Result<&'static [u8], i32>>,
    stop: Arc<AtomicBool>,
}

impl Datagrams for Script {
    fn sender(&mut self) -> io::Result<Option<SocketAddr>> {
        match self.steps.pop_front() {
            Some(Step::WaitFails(code)) => Err(io::Error::from_raw_os_error(code)),
            Some(Step::Datagram(from, read)) => {
                self.current = Some(read);
                Ok(Some(from.into()))
            }
            None => {
                self.stop.store(true, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.current.take().expect("recv after a sender") {
            Ok(bytes) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            Err(code) => Err(io::Error::from_raw_os_error(code)),
        }
    }
}

fn script(steps: Vec<Step>) -> (Script, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let script = Script {
        steps: steps.into(),
        current: None,
        stop: stop.clone(),
    };
    (script, stop)
}

const WSAEMSGSIZE: i32 = 10040;
const WSAECONNRESET: i32 = 10054;

#[test]
fn windows_errors_are_counted_and_never_stall_the_reader() {
    let from = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 5000);
    let mut steps: Vec<Step> = (0..10_000)
        .map(|_| Step::WaitFails(WSAECONNRESET))
        .collect();
    steps.push(Step::Datagram(from, Err(WSAEMSGSIZE)));
    steps.push(Step::Datagram(from, Err(WSAECONNRESET)));
    steps.push(Step::Datagram(from, Ok(b"{}")));
    let (mut source, stop) = script(steps);
    let errors = SocketErrors::default();
    let mut buf = [0u8; 64];
    // Ten thousand echoes cost ten thousand counts, not ten thousand pauses: a pause
    // each would make this take over eight minutes.
    assert_eq!(
        next(&mut source, &mut buf, &stop, &errors),
        Some((from, buf.len())),
        "an oversized datagram is one as long as the buffer"
    );
    assert_eq!(next(&mut source, &mut buf, &stop, &errors), Some((from, 2)));
    assert_eq!(&buf[..2], b"{}");
    assert_eq!(next(&mut source, &mut buf, &stop, &errors), None, "stopped");
    assert_eq!(errors.take(), [("icmp_reset", 10_001)]);
    assert_eq!(errors.take(), [], "counts are taken once");
}

#[test]
fn another_error_is_counted_as_a_socket_error() {
    let from = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 5000);
    // EACCES on Linux, ERROR_INVALID_PARAMETER's neighbour elsewhere: no datagram error.
    let (mut source, stop) = script(vec![Step::WaitFails(13), Step::Datagram(from, Ok(b"x"))]);
    let errors = SocketErrors::default();
    let mut buf = [0u8; 8];
    assert_eq!(next(&mut source, &mut buf, &stop, &errors), Some((from, 1)));
    assert_eq!(errors.take(), [("socket_error", 1)]);
}

/// Both ways of stopping, on Linux: with `shutdown()` (Linux's own) and without it, as
/// on Windows, where only the flag tells the reader, within a tick.
#[test]
fn a_real_reader_stops_by_its_flag_within_a_bound() {
    for wake in [Wake::Shutdown, Wake::Tick(Duration::from_millis(20))] {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let stop_flag = Arc::new(AtomicBool::new(false));
        let mut source =
            Socket::with_wake(socket.try_clone().expect("clone"), stop_flag.clone(), wake);
        let (tx, rx) = bounded(4);
        let thread_stop = stop_flag.clone();
        let reader = spawn_named("test-datagrams", move || {
            let errors = SocketErrors::default();
            let mut buf = [0u8; 16];
            while let Some((_, n)) = next(&mut source, &mut buf, &thread_stop, &errors) {
                let _ = tx.send(Some(buf[..n].to_vec()));
            }
            let _ = tx.send(None);
        })
        .expect("spawn");
        let to = socket.local_addr().expect("addr");
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|s| s.send_to(&[7u8; 40], to))
            .expect("send");
        let got = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the datagram");
        assert_eq!(got, Some(vec![7u8; 16]), "{wake:?}: cut to the buffer");
        stop(&socket, &stop_flag, wake);
        let end = rx
            .recv_timeout(Duration::from_secs(1))
            .expect("the reader stops within a second");
        assert_eq!(end, None, "{wake:?}");
        reader.join().expect("the reader ends");
    }
}

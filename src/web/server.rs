//! Threads and sockets: the listener, each connection, the sweeper, and the state they share.
//!
//! One named thread (`web-server`) runs a current-thread tokio runtime: the accept loop,
//! one task per connection (hyper's HTTP/1 with capped heads and a head timeout, plus an
//! idle watchdog), and the sweeper that tells the host who left. File I/O goes to the
//! runtime's small blocking pool (`web-blocking`). With no visitor the sweeper waits on a
//! notification and only the listener is armed: an idle server never wakes.
//!
//! Stopping (or revoking the link) is a message on a watch channel: every connection task
//! ends at once, which closes its socket and every event stream on it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::TrySendError;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, watch};

use super::api::{Report, VisitorId, WebInput};
use super::body::{OnDrop, Watched, idle};
use super::files::{Files, Upload};
use super::hub::{Hub, HubLimits};
use super::limits::{ConnCounter, RateLimiter};
use super::{MAX_HEADER_BYTES, MAX_HEADERS, WebConfig, WebError, WebLimits, handlers, token};

/// Lifecycle reports kept while the host's channel is full; past this the oldest go.
const MAX_BACKLOG: usize = 4096;

/// How soon a backlog of reports is offered to the host again.
const BACKLOG_RETRY: Duration = Duration::from_millis(200);

/// What connection tasks watch: a new generation (link revoked) or a stop ends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Signal {
    pub generation: u64,
    pub stopped: bool,
}

/// The state behind the server's one mutex.
pub(super) struct State {
    /// The link's token.
    pub token: String,
    /// The host's name as shown.
    pub host_name: String,
    /// Visitors.
    pub hub: Hub,
    /// Uploads and downloads.
    pub files: Files,
    /// Reports the host's channel had no room for, in order.
    pub backlog: VecDeque<WebInput>,
}

/// What every task and the host's handle share.
pub(super) struct Shared {
    pub limits: WebLimits,
    pub epoch: Instant,
    pub state: Mutex<State>,
    pub host: Box<dyn Report>,
    pub wake: Notify,
    pub signal: watch::Sender<Signal>,
    pub requests: Mutex<RateLimiter>,
    pub messages: Mutex<RateLimiter>,
    pub joins: Mutex<RateLimiter>,
    pub conns: Mutex<ConnCounter>,
}

/// Locks a mutex, carrying on past a panic elsewhere (the state stays consistent: every
/// change is a few field updates).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The state.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Reports something a request did; false when the host cannot take it now (answer
    /// 503 and undo). Called under the state lock, so reports keep the state's order.
    pub fn report(&self, state: &State, input: WebInput) -> bool {
        state.backlog.is_empty() && self.host.try_report(input).is_ok()
    }

    /// Reports something that must not be lost (a leave, a download's end, what was seen):
    /// kept in order and offered again if the host's channel is full.
    pub fn report_later(&self, state: &mut State, input: WebInput) {
        if state.backlog.is_empty() {
            match self.host.try_report(input) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(input)) => state.backlog.push_back(input),
            }
        } else {
            state.backlog.push_back(input);
        }
        if state.backlog.len() > MAX_BACKLOG {
            state.backlog.pop_front();
            tracing::warn!("web: the host's channel stayed full; a report was dropped");
        }
        self.wake.notify_one();
    }

    /// Offers the backlog to the host again.
    fn flush(&self, state: &mut State) {
        while let Some(input) = state.backlog.pop_front() {
            match self.host.try_report(input) {
                Ok(()) => {}
                Err(TrySendError::Disconnected(_)) => state.backlog.clear(),
                Err(TrySendError::Full(input)) => {
                    state.backlog.push_front(input);
                    break;
                }
            }
        }
    }

    /// Visitors are gone (already out of the hub, their uploads out of the books): their
    /// `.part` files are deleted, then the host is told, so a `Left` never arrives while
    /// a visitor's file is still in the spool. Call without the lock held.
    pub fn forget(&self, visitors: Vec<VisitorId>, uploads: &[Upload]) {
        delete_spool(uploads);
        let mut state = self.lock();
        for visitor in visitors {
            self.report_later(&mut state, WebInput::Left { visitor });
        }
    }
}

/// Deletes uploads' spool files (declined, abandoned); a file already gone is fine.
pub(super) fn delete_spool(uploads: &[Upload]) {
    for upload in uploads {
        if let Err(e) = std::fs::remove_file(&upload.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("web: cannot delete {}: {e}", upload.path.display());
        }
    }
}

/// Deletes `web-*.part` files a previous run left in the spool (it crashed, or was killed):
/// no visitor of this run can own them, and nothing else names files so.
fn sweep_stale_spool(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("web-")
            && name.ends_with(".part")
            && let Err(e) = std::fs::remove_file(entry.path())
        {
            tracing::warn!("web: cannot delete {}: {e}", entry.path().display());
        }
    }
}

/// The running server: the host's handle. Dropping it stops the server.
pub struct WebServer {
    pub(super) shared: Arc<Shared>,
    pub(super) addr: SocketAddr,
    pub(super) thread: Option<JoinHandle<()>>,
}

impl WebServer {
    /// Starts the server on `config.bind` (port 0: any free port); what visitors do
    /// arrives on `host` (a `Sender<WebInput>`, or the core's wrapper). The socket is
    /// bound before this returns.
    pub fn spawn(config: WebConfig, host: impl Report) -> Result<WebServer, WebError> {
        let bind = config.bind;
        let listener =
            TcpListener::bind(bind).map_err(|source| WebError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| WebError::Bind { addr: bind, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| WebError::Bind { addr, source })?;
        std::fs::create_dir_all(&config.spool_dir).map_err(|source| WebError::Spool {
            path: config.spool_dir.clone(),
            source,
        })?;
        sweep_stale_spool(&config.spool_dir);
        let limits = config.limits.clone();
        let hub = Hub::new(HubLimits {
            max_visitors: limits.max_visitors,
            leave_after: limits.leave_after,
        });
        let files = Files::new(
            config.spool_dir.clone(),
            limits.max_upload,
            limits.max_spool,
        );
        let (signal, _) = watch::channel(Signal {
            generation: 0,
            stopped: false,
        });
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            state: Mutex::new(State {
                token: token::random_hex(),
                host_name: config.host_name,
                hub,
                files,
                backlog: VecDeque::new(),
            }),
            host: Box::new(host),
            wake: Notify::new(),
            signal,
            requests: Mutex::new(RateLimiter::new(limits.requests)),
            messages: Mutex::new(RateLimiter::new(limits.messages)),
            joins: Mutex::new(RateLimiter::new(limits.joins)),
            conns: Mutex::new(ConnCounter::new(
                limits.max_conns_per_addr,
                limits.max_conns,
            )),
            limits,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("web-blocking")
            .max_blocking_threads(4)
            .build()
            .map_err(WebError::Thread)?;
        let task_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("web-server".to_owned())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, task_shared));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(WebError::Thread)?;
        Ok(WebServer {
            shared,
            addr,
            thread: Some(thread),
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("web: cannot use the listening socket: {e}");
            return;
        }
    };
    let mut signal = shared.signal.subscribe();
    tokio::spawn(sweeper(shared.clone()));
    loop {
        tokio::select! {
            _ = signal.wait_for(|s| s.stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if lock(&shared.conns).admit(peer.ip()) {
                        tokio::spawn(serve(stream, peer, shared.clone()));
                    }
                    // Over a cap: dropping the stream closes it at once.
                }
                Err(e) => {
                    // Out of file descriptors, most likely: let connections finish.
                    tracing::warn!("web: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// One connection: HTTP/1 until the client closes, goes idle, or the link or server ends.
async fn serve(stream: tokio::net::TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let release = shared.clone();
    let _counted = OnDrop::new(move || lock(&release.conns).release(peer.ip()));
    let mut signal = shared.signal.subscribe();
    let generation = signal.borrow().generation;
    let last = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched::new(stream, shared.epoch, last.clone()));
    let limits = &shared.limits;
    let service_shared = shared.clone();
    let service = service_fn(move |request| {
        let shared = service_shared.clone();
        async move { Ok::<_, Infallible>(handlers::handle(request, peer, &shared).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(io, service);
    tokio::select! {
        _ = connection => {}
        _ = idle(shared.epoch, last, limits.idle_timeout) => {}
        _ = signal.wait_for(|s| s.stopped || s.generation != generation) => {}
    }
}

/// Tells the host who left, when they leave; retries reports the host had no room for.
async fn sweeper(shared: Arc<Shared>) {
    let mut signal = shared.signal.subscribe();
    loop {
        let deadline = {
            let mut state = shared.lock();
            shared.flush(&mut state);
            let retry = (!state.backlog.is_empty()).then(|| Instant::now() + BACKLOG_RETRY);
            match (state.hub.next_deadline(), retry) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let notified = shared.wake.notified();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            _ = notified => {}
            _ = signal.wait_for(|s| s.stopped) => return,
        }
        let (gone, uploads) = {
            let mut state = shared.lock();
            let gone = state.hub.sweep(Instant::now());
            let uploads: Vec<Upload> = gone
                .iter()
                .flat_map(|v| state.files.take_visitor(v))
                .collect();
            (gone, uploads)
        };
        shared.forget(gone, &uploads);
    }
}

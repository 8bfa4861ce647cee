//! Response bodies and connection I/O: a body fed by a channel (event streams, downloads),
//! a socket wrapper that notes when bytes last moved, and the plain responses.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio::time::Sleep;

/// Every response body.
pub type Body = UnsyncBoxBody<Bytes, io::Error>;

/// Runs a closure when dropped: a stream's end, however it ends.
pub struct OnDrop(Option<Box<dyn FnOnce() + Send>>);

impl OnDrop {
    /// Calls `f` on drop.
    pub fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(f)))
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// A body that sends `first`, then whatever arrives on the channel until it closes; with a
/// heartbeat, an SSE comment whenever nothing was sent for that long.
pub struct ChannelBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    heartbeat: Option<(Duration, Pin<Box<Sleep>>)>,
    _on_drop: Option<OnDrop>,
}

impl ChannelBody {
    /// A body of `first` then the channel's chunks.
    pub fn new(first: Bytes, rx: mpsc::Receiver<Bytes>) -> Self {
        Self {
            first: (!first.is_empty()).then_some(first),
            rx,
            heartbeat: None,
            _on_drop: None,
        }
    }

    /// Sends `: \n\n` after `every` without data.
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = Some((every, Box::pin(tokio::time::sleep(every))));
        self
    }

    /// Runs `guard`'s closure when the body is dropped.
    pub fn on_drop(mut self, guard: OnDrop) -> Self {
        self._on_drop = Some(guard);
        self
    }

    fn rearm(&mut self) {
        if let Some((every, sleep)) = &mut self.heartbeat {
            sleep.as_mut().reset(tokio::time::Instant::now() + *every);
        }
    }
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(first) = self.first.take() {
            self.rearm();
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                self.rearm();
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let beat = match &mut self.heartbeat {
                    Some((_, sleep)) => sleep.as_mut().poll(cx).is_ready(),
                    None => false,
                };
                if beat {
                    // hyper polls again after writing it, which arms the new timer.
                    self.rearm();
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b": \n\n")))));
                }
                Poll::Pending
            }
        }
    }
}

/// Milliseconds since the server started, as kept in [`Watched`]'s stamp.
pub fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A socket that stamps the time whenever a byte moves either way, for the idle timeout.
pub struct Watched<S> {
    inner: S,
    epoch: Instant,
    last: Arc<AtomicU64>,
}

impl<S> Watched<S> {
    /// Wraps `inner`; stamps go to `last` as [`millis_since`] `epoch`.
    pub fn new(inner: S, epoch: Instant, last: Arc<AtomicU64>) -> Self {
        last.store(millis_since(epoch), Ordering::Relaxed);
        Self { inner, epoch, last }
    }

    fn stamp(&self) {
        self.last.store(millis_since(self.epoch), Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.stamp();
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.stamp();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.stamp();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves once no byte moved for `limit` (per `last`, stamped by [`Watched`]).
pub async fn idle(epoch: Instant, last: Arc<AtomicU64>, limit: Duration) {
    loop {
        let since = millis_since(epoch).saturating_sub(last.load(Ordering::Relaxed));
        let since = Duration::from_millis(since);
        if since >= limit {
            return;
        }
        tokio::time::sleep(limit - since).await;
    }
}

/// A body of fixed bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// Headers every response carries: no sniffing, no caching, no framing, and no
/// `Referer` that would carry the token to another site.
pub fn harden<B>(mut response: Response<B>) -> Response<B> {
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A plain-text response. The same few words for every denial: a request without the
/// token learns nothing about the host.
pub fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    harden(response)
}

/// A JSON response.
pub fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    harden(response)
}

/// 429, with a hint of when to come back.
pub fn too_many() -> Response<Body> {
    let mut response = text(StatusCode::TOO_MANY_REQUESTS, "too many requests\n");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// 503: the host is busy (its channel is full) or the server is full.
pub fn busy() -> Response<Body> {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "busy, try again\n");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

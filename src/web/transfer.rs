//! The streaming endpoints: live events, uploads into the spool, downloads of offered files.
//!
//! An upload is written to its `.part` as it arrives, never held whole in memory; its size
//! is declared up front (`Content-Length`), reserved against the caps before a byte is
//! read, and checked at the end. A download is read from disk in chunks behind a small
//! channel, so a slow browser slows the reading, not the memory.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use super::api::{UploadId, VisitorId, WebInput};
use super::body::{Body, ChannelBody, OnDrop, busy, harden, json, text};
use super::files::Refusal;
use super::handlers::{header, join_first, visitor};
use super::headers::{content_disposition, last_event_id};
use super::log::PageEvent;
use super::route;
use super::server::{Shared, delete_spool};
use crate::protocol::{mime, sanitize};

/// Bytes read from disk per chunk of a download.
const CHUNK: usize = 256 * 1024;

/// Chunks of a download waiting for the socket.
const CHUNKS_AHEAD: usize = 4;

/// How often a fetch says how far it got, at most.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// How long the page waits before reconnecting a dropped event stream, in milliseconds.
const RETRY_MS: u32 = 2000;

/// `GET api/events`: what happened after the cursor (`Last-Event-ID` or `after=`), then
/// live events, with a heartbeat comment.
pub fn events(request: &Request<Incoming>, shared: &Arc<Shared>, now: Instant) -> Response<Body> {
    let Some(me) = visitor(request, shared, now) else {
        return join_first();
    };
    let after = last_event_id(header(
        request,
        header::HeaderName::from_static("last-event-id"),
    ))
    .unwrap_or_else(|| route::cursor(request.uri().query()));
    let Some((replay, rx, serial)) = shared.lock().hub.open_stream(&me, after) else {
        return join_first();
    };
    let mut first = format!("retry: {RETRY_MS}\n\n").into_bytes();
    first.extend_from_slice(&replay);
    let closer = shared.clone();
    let guard = OnDrop::new(move || {
        closer.lock().hub.close_stream(&me, serial, Instant::now());
        closer.wake.notify_one();
    });
    let body = ChannelBody::new(Bytes::from(first), rx)
        .heartbeat(shared.limits.heartbeat)
        .on_drop(guard);
    let mut response = harden(Response::new(http_body_util::BodyExt::boxed_unsync(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    response
}

/// `POST api/upload?name=N` with the file as the body.
pub async fn upload(request: Request<Incoming>, shared: &Shared, now: Instant) -> Response<Body> {
    let Some(me) = visitor(&request, shared, now) else {
        return join_first();
    };
    let Some(name) = route::query_value(request.uri().query(), "name") else {
        return text(StatusCode::BAD_REQUEST, "a file name is needed\n");
    };
    let name = sanitize::file_name(&name);
    let Some(size) = header(&request, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok())
    else {
        return text(StatusCode::LENGTH_REQUIRED, "the size is needed\n");
    };
    let reserved = shared.lock().files.reserve(&me, name.clone(), size);
    let (id, path) = match reserved {
        Ok(r) => r,
        Err(Refusal::TooLarge) => return text(StatusCode::PAYLOAD_TOO_LARGE, "file too large\n"),
        Err(Refusal::TooMany) => {
            return text(StatusCode::TOO_MANY_REQUESTS, "too many files waiting\n");
        }
        Err(Refusal::SpoolFull) => return text(StatusCode::INSUFFICIENT_STORAGE, "no room\n"),
    };
    // Until it is offered, a failed, timed-out or cut-off upload (the connection dropped
    // with this future) gives back its reservation and deletes its .part.
    let mut pending = Pending {
        shared,
        id: Some(id.clone()),
        path: path.clone(),
    };
    let head = match receive(request.into_body(), &path, shared).await {
        Ok(head) => head,
        Err(response) => return response,
    };
    pending.id = None;
    let mime = mime::detect(&name, &head).to_owned();
    let mut state = shared.lock();
    if state.files.complete(&id).is_none() {
        // The visitor left (or the link was revoked) while it arrived.
        drop(state);
        let _ = std::fs::remove_file(&path);
        return join_first();
    }
    let offer = WebInput::Uploaded {
        visitor: me.clone(),
        upload: id.clone(),
        name: name.clone(),
        size,
        mime,
        spool_path: path,
    };
    if !shared.report(&state, offer) {
        drop(state);
        drop_upload(shared, &id);
        return busy();
    }
    if let Some(v) = state.hub.get_mut(&me) {
        v.show(&PageEvent::Upload {
            id: id.as_str(),
            name: &name,
            size,
        });
    }
    json(
        StatusCode::ACCEPTED,
        &json!({"id": id, "name": name, "size": size}),
    )
}

/// Writes the body to `path`; returns its first bytes (for the media type). hyper ends
/// the body at the declared length and fails it if the client sends less.
async fn receive(
    mut body: Incoming,
    path: &std::path::Path,
    shared: &Shared,
) -> Result<Vec<u8>, Response<Body>> {
    let failed = |what: &'static str| text(StatusCode::INTERNAL_SERVER_ERROR, what);
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(|e| {
            tracing::warn!("web: cannot create {}: {e}", path.display());
            failed("cannot store the file\n")
        })?;
    let mut out = BufWriter::with_capacity(CHUNK, file);
    let mut head = Vec::with_capacity(mime::SNIFF_LEN);
    loop {
        let frame = tokio::time::timeout(shared.limits.idle_timeout, body.frame())
            .await
            .map_err(|_| text(StatusCode::REQUEST_TIMEOUT, "too slow\n"))?;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|_| text(StatusCode::BAD_REQUEST, "the upload broke off\n"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = mime::SNIFF_LEN.saturating_sub(head.len()).min(data.len());
        head.extend_from_slice(&data[..room]);
        out.write_all(&data)
            .await
            .map_err(|_| failed("cannot store the file\n"))?;
    }
    out.flush()
        .await
        .map_err(|_| failed("cannot store the file\n"))?;
    Ok(head)
}

/// Forgets an upload that failed and deletes its `.part`.
fn drop_upload(shared: &Shared, id: &UploadId) {
    let upload = shared.lock().files.take(id);
    delete_spool(upload.as_slice());
}

/// An upload still arriving: dropped with it unless it arrived.
struct Pending<'a> {
    shared: &'a Shared,
    id: Option<UploadId>,
    path: std::path::PathBuf,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            drop_upload(self.shared, &id);
            // Its visitor may have left (taking the reservation) before the file existed.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `GET file/{id}`: a file the host offered this visitor; pictures inline.
pub async fn download(
    request: &Request<Incoming>,
    id: &str,
    shared: &Arc<Shared>,
    now: Instant,
) -> Response<Body> {
    let Some(me) = visitor(request, shared, now) else {
        return join_first();
    };
    let Some((download, offer)) = shared
        .lock()
        .files
        .download(&me, id)
        .map(|(id, d)| (id, d.clone()))
    else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    let opened = match tokio::fs::File::open(&offer.path).await {
        Ok(file) => file.metadata().await.map(|m| (file, m.len())),
        Err(e) => Err(e),
    };
    let Ok((file, len)) = opened else {
        return text(StatusCode::GONE, "the file is gone\n");
    };
    let picture = mime::is_picture(&offer.mime) && offer.mime != "image/svg+xml";
    {
        let fetching = WebInput::Fetching {
            visitor: me.clone(),
            download: download.clone(),
            size: len,
        };
        let mut state = shared.lock();
        shared.report_later(&mut state, fetching);
    }
    let (tx, rx) = mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(feed(file, len, tx, shared.clone(), me, download));
    let body = ChannelBody::new(Bytes::new(), rx);
    let mut response = harden(Response::new(BodyExt::boxed_unsync(body)));
    let h = response.headers_mut();
    let mime = if picture {
        offer.mime.as_str()
    } else {
        "application/octet-stream"
    };
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&offer.name, picture)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}

/// Reads the file into the body's channel; tells the host how far it got.
async fn feed(
    mut file: tokio::fs::File,
    len: u64,
    tx: mpsc::Sender<Bytes>,
    shared: Arc<Shared>,
    visitor: VisitorId,
    download: super::api::DownloadId,
) {
    let mut sent = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let mut told = Instant::now();
    while sent < len {
        let want = usize::try_from(len - sent).unwrap_or(CHUNK).min(CHUNK);
        let n = match file.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
            break;
        }
        sent += n as u64;
        if told.elapsed() >= PROGRESS_EVERY {
            told = Instant::now();
            let fetched = WebInput::Fetched {
                visitor: visitor.clone(),
                download: download.clone(),
                bytes: sent,
            };
            let state = shared.lock();
            // Best effort: a full channel drops it; the next one or the end says more.
            let _ = shared.report(&state, fetched);
        }
    }
    let done = WebInput::Downloaded {
        visitor,
        download,
        bytes: sent,
        complete: sent == len,
    };
    let mut state = shared.lock();
    shared.report_later(&mut state, done);
}

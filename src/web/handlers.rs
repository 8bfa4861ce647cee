//! The endpoints that are not transfers: the page and its files, info, join, say, seen,
//! leave; and the checks every request passes first (rate, token, origin).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::api::{VisitorId, WebInput};
use super::body::{Body, busy, full, harden, json, text, too_many};
use super::headers::{clean_name, same_origin, session_cookie, set_cookie, valid_client_id};
use super::log::{Author, PageEvent};
use super::route::{self, Miss, Route};
use super::server::{Shared, lock};
use super::{MAX_JSON_BODY, MAX_TEXT_BYTES, token, transfer};

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// The page may load only its own script, style and pictures, and talk only to us.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob:; connect-src 'self'; form-action 'none'; \
    frame-ancestors 'none'; base-uri 'none'";

/// Answers one request.
pub async fn handle(
    request: Request<Incoming>,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> Response<Body> {
    let now = Instant::now();
    if !lock(&shared.requests).allow(peer.ip(), now) {
        return too_many();
    }
    let path = request.uri().path().to_owned();
    let Ok(target) = route::parse(request.method().as_str(), &path) else {
        return forbidden();
    };
    if !token::same_secret(target.token, &shared.lock().token) {
        return forbidden();
    }
    let route = match target.route {
        Ok(route) => route,
        Err(Miss::WrongMethod) => return text(StatusCode::METHOD_NOT_ALLOWED, "wrong method\n"),
        Err(_) => return text(StatusCode::NOT_FOUND, "not found\n"),
    };
    if request.method() == Method::POST
        && !same_origin(
            header(&request, header::ORIGIN),
            header(&request, header::HOST),
        )
    {
        return forbidden();
    }
    let token = target.token.to_owned();
    match route {
        Route::AddSlash => redirect(&format!("{path}/")),
        Route::Page => page(),
        Route::Script => asset(APP_JS, "text/javascript; charset=utf-8"),
        Route::Style => asset(STYLE_CSS, "text/css; charset=utf-8"),
        Route::Info => info(&request, shared, now),
        Route::Join => join(request, peer, shared, &token, now).await,
        Route::Say => say(request, peer, shared, now).await,
        Route::Seen => seen(request, shared, now).await,
        Route::Leave => leave(&request, shared, now),
        Route::Events => transfer::events(&request, shared, now),
        Route::Upload => transfer::upload(request, shared, now).await,
        Route::File(id) => transfer::download(&request, id, shared, now).await,
    }
}

/// The same answer for no token, a wrong token, or a foreign origin.
fn forbidden() -> Response<Body> {
    text(StatusCode::FORBIDDEN, "forbidden\n")
}

/// A header's value as text, if present and visible ASCII.
pub fn header<B>(request: &Request<B>, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name)?.to_str().ok()
}

/// The visitor this request's session cookie belongs to, now seen.
pub fn visitor<B>(request: &Request<B>, shared: &Shared, now: Instant) -> Option<VisitorId> {
    let secret = session_cookie(header(request, header::COOKIE)?)?;
    let mut state = shared.lock();
    let id = state.hub.by_session(secret, now)?.id.clone();
    Some(id)
}

/// 401: no session (never joined, left, or the link was revoked).
pub fn join_first() -> Response<Body> {
    text(StatusCode::UNAUTHORIZED, "join first\n")
}

/// Reads a small JSON body: 413 over [`MAX_JSON_BODY`], 408 if it does not arrive in
/// time, 400 if it is not the expected JSON.
pub async fn read_json<T: DeserializeOwned>(
    request: Request<Incoming>,
    within: Duration,
) -> Result<T, Response<Body>> {
    let declared = header(&request, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_JSON_BODY as u64) {
        return Err(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n"));
    }
    let body = request.into_body();
    let collected = tokio::time::timeout(within, Limited::new(body, MAX_JSON_BODY).collect())
        .await
        .map_err(|_| text(StatusCode::REQUEST_TIMEOUT, "too slow\n"))?;
    let bytes = match collected {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n"));
        }
        Err(_) => return Err(text(StatusCode::BAD_REQUEST, "broken body\n")),
    };
    serde_json::from_slice(&bytes).map_err(|_| text(StatusCode::BAD_REQUEST, "bad json\n"))
}

fn redirect(to: &str) -> Response<Body> {
    let mut response = text(StatusCode::PERMANENT_REDIRECT, "moved\n");
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn page() -> Response<Body> {
    let mut response = asset(INDEX_HTML, "text/html; charset=utf-8");
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

fn asset(body: &'static str, mime: &'static str) -> Response<Body> {
    let mut response = Response::new(full(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    harden(response)
}

fn info(request: &Request<Incoming>, shared: &Shared, now: Instant) -> Response<Body> {
    let me = visitor(request, shared, now);
    let secret = header(request, header::COOKIE).and_then(session_cookie);
    let mut state = shared.lock();
    let host = state.host_name.clone();
    let returning = match (&me, secret) {
        (None, Some(secret)) => state.hub.former(secret).map(|name| json!({"name": name})),
        _ => None,
    };
    let me = me.and_then(|id| {
        let v = state.hub.get_mut(&id)?;
        Some(json!({"id": v.id, "name": v.name, "cursor": v.log.last()}))
    });
    json(
        StatusCode::OK,
        &json!({
            "host": host,
            "visitor": me,
            "returning": returning,
            "max_upload": shared.limits.max_upload,
            "max_text": MAX_TEXT_BYTES,
            "encrypted": false,
        }),
    )
}

#[derive(Deserialize)]
struct JoinBody {
    name: String,
}

async fn join(
    request: Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
    token: &str,
    now: Instant,
) -> Response<Body> {
    if let Some(id) = visitor(&request, shared, now) {
        let mut state = shared.lock();
        let name = state.hub.get_mut(&id).map(|v| v.name.clone());
        return json(StatusCode::OK, &json!({"id": id, "name": name}));
    }
    if !lock(&shared.joins).allow(peer.ip(), now) {
        return too_many();
    }
    let former = header(&request, header::COOKIE)
        .and_then(session_cookie)
        .map(str::to_owned);
    let body: JoinBody = match read_json(request, shared.limits.idle_timeout).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let Some(name) = clean_name(&body.name) else {
        return text(StatusCode::BAD_REQUEST, "a name is needed\n");
    };
    let mut state = shared.lock();
    // A visitor who left (a tab closed, a phone asleep) comes back as themselves.
    let returning = former.as_deref().filter(|s| state.hub.former(s).is_some());
    let joined = match returning {
        Some(secret) => state
            .hub
            .rejoin(secret, name.clone(), now)
            .map(|id| (id, secret.to_owned())),
        None => state.hub.join(name.clone(), now),
    };
    let Some((id, secret)) = joined else {
        return busy();
    };
    let report = WebInput::Joined {
        visitor: id.clone(),
        name: name.clone(),
        addr: peer,
    };
    if !shared.report(&state, report) {
        // Not taken: a returning visitor is remembered as they were, a new one forgotten.
        match returning {
            Some(_) => state.hub.retire(&id),
            None => state.hub.remove(&id),
        }
        return busy();
    }
    drop(state);
    shared.wake.notify_one();
    let mut response = json(StatusCode::OK, &json!({"id": id, "name": name}));
    if let Ok(cookie) = HeaderValue::from_str(&set_cookie(token, &secret)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct SayBody {
    id: String,
    text: String,
}

async fn say(
    request: Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
    now: Instant,
) -> Response<Body> {
    let Some(me) = visitor(&request, shared, now) else {
        return join_first();
    };
    if !lock(&shared.messages).allow(peer.ip(), now) {
        return too_many();
    }
    let body: SayBody = match read_json(request, shared.limits.idle_timeout).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    if !valid_client_id(&body.id) || body.text.trim().is_empty() {
        return text(StatusCode::BAD_REQUEST, "an id and a text are needed\n");
    }
    if body.text.len() > MAX_TEXT_BYTES {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "message too long\n");
    }
    let wall_ms = unix_ms(SystemTime::now());
    let mut state = shared.lock();
    let Some(v) = state.hub.get_mut(&me) else {
        return join_first();
    };
    if !v.first_time(&body.id) {
        return json(StatusCode::OK, &json!({"id": body.id, "repeat": true}));
    }
    let said = WebInput::Said {
        visitor: me.clone(),
        client_msg_id: body.id.clone(),
        text: body.text.clone(),
    };
    if !shared.report(&state, said) {
        if let Some(v) = state.hub.get_mut(&me) {
            v.forget_id(&body.id);
        }
        return busy();
    }
    if let Some(v) = state.hub.get_mut(&me) {
        v.show(&PageEvent::Message {
            from: Author::Me,
            id: &body.id,
            text: &body.text,
            time_ms: wall_ms,
        });
    }
    json(StatusCode::ACCEPTED, &json!({"id": body.id}))
}

#[derive(Deserialize)]
struct SeenBody {
    upto: u64,
}

async fn seen(request: Request<Incoming>, shared: &Shared, now: Instant) -> Response<Body> {
    let Some(me) = visitor(&request, shared, now) else {
        return join_first();
    };
    let body: SeenBody = match read_json(request, shared.limits.idle_timeout).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let mut state = shared.lock();
    let ids = match state.hub.get_mut(&me) {
        Some(v) => v.seen(body.upto),
        None => return join_first(),
    };
    if !ids.is_empty() {
        shared.report_later(&mut state, WebInput::Seen { visitor: me, ids });
    }
    text(StatusCode::NO_CONTENT, "")
}

fn leave(request: &Request<Incoming>, shared: &Shared, now: Instant) -> Response<Body> {
    if let Some(me) = visitor(request, shared, now) {
        shared.lock().hub.leaving(&me, now);
        shared.wake.notify_one();
    }
    text(StatusCode::NO_CONTENT, "")
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

//! One input through every request parser of ours, asserting what each promises: the fuzz
//! target `web_request` and the seed regression test both call [`request_parts`]. Pure.

use std::path::{Component, Path};

use super::{headers, route};
use crate::protocol::sanitize;

/// Splits `data` into method, path, query and a header value (by newlines) and runs the
/// route, query, cookie, origin, `Last-Event-ID`, name and `Content-Disposition` code on
/// them.
///
/// # Panics
/// When a parser breaks its promise: that is the finding.
pub fn request_parts(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let query = parts.next();
    let value = parts.next().unwrap_or_default();

    if let Ok(target) = route::parse(method, path) {
        assert!(path.starts_with("/t/"));
        assert!(!target.token.is_empty() && !target.token.contains('/'));
        if let Ok(route::Route::File(id)) = target.route {
            assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    if let Some(name) = route::query_value(query, "name") {
        let safe = sanitize::file_name(&name);
        let mut components = Path::new(&safe).components();
        assert!(
            matches!(components.next(), Some(Component::Normal(_))),
            "{safe:?}"
        );
        assert!(components.next().is_none(), "{safe:?}");
    }
    let _ = route::cursor(query);
    if let Some(secret) = headers::session_cookie(value) {
        assert!(secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    let _ = headers::same_origin(Some(value), query);
    let _ = headers::last_event_id(Some(value));
    for inline in [true, false] {
        let d = headers::content_disposition(value, inline);
        assert!(d.is_ascii() && !d.contains(['\r', '\n', '\0']), "{d:?}");
        assert!(hyper::header::HeaderValue::from_str(&d).is_ok(), "{d:?}");
    }
    if let Some(name) = headers::clean_name(value) {
        assert!(!name.is_empty() && name.chars().count() <= headers::MAX_NAME_CHARS);
        assert!(!name.chars().any(char::is_control));
    }
    let _ = headers::valid_client_id(value);
}

#[cfg(test)]
mod tests {
    #[test]
    fn ordinary_and_odd_inputs_pass() {
        for input in [
            &b""[..],
            b"GET\n/t/abc/file/0123456789abcdef0123456789abcdef\nname=..%2F..%2Fx&after=3\nlanchat_visitor=0123456789abcdef0123456789abcdef",
            b"POST\n/t/\n\xff\xfe\n\r\n\"\x00",
            "GET\n/t/x/\nname=照片.png\n照片 \u{7}".as_bytes(),
        ] {
            super::request_parts(input);
        }
    }
}

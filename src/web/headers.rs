//! Header values we read or write ourselves, and what visitors type: pure functions, fuzzed.
//!
//! The session cookie, the `Origin` check, `Last-Event-ID`, `Content-Disposition` with an
//! RFC 5987 name, the visitor's name and a message's client id. hyper parses the request;
//! these only look at single values it hands over.

use super::token::is_hex_id;

/// The session cookie's name.
pub const COOKIE: &str = "lanchat_visitor";

/// Longest visitor name kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Longest client message id, in bytes.
pub const MAX_CLIENT_ID: usize = 64;

/// The session secret from a `Cookie` header, if it holds a well-formed one.
pub fn session_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| is_hex_id(value))
}

/// The `Set-Cookie` value for a session under `token`: only sent back to this link's
/// paths, not readable by scripts, not sent by other sites.
pub fn set_cookie(token: &str, secret: &str) -> String {
    format!("{COOKIE}={secret}; Path=/t/{token}/; HttpOnly; SameSite=Strict")
}

/// Whether a request's `Origin` (when the browser sent one) is this server's own
/// `Host`: other pages may not post to the API with the visitor's cookie.
pub fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    match (origin, host) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .strip_prefix("http://")
            .is_some_and(|o| o.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

/// A `Last-Event-ID` header as a cursor.
pub fn last_event_id(header: Option<&str>) -> Option<u64> {
    header?.trim().parse().ok()
}

/// `Content-Disposition` for a file called `name`: `inline` or `attachment`, an ASCII
/// fallback name, and the real name in UTF-8 (RFC 5987/6266) for browsers, which prefer it.
pub fn content_disposition(name: &str, inline: bool) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '_',
        })
        .collect();
    let encoded: String =
        name.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|'
                | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// A visitor's name as typed, cleaned: control characters dropped, spaces trimmed, at most
/// [`MAX_NAME_CHARS`] characters; `None` when nothing is left.
pub fn clean_name(typed: &str) -> Option<String> {
    let kept: String = typed.chars().filter(|c| !c.is_control()).collect();
    let name: String = kept.trim().chars().take(MAX_NAME_CHARS).collect();
    let name = name.trim_end().to_owned();
    (!name.is_empty()).then_some(name)
}

/// Whether a page's message id is acceptable: 1–64 of `[A-Za-z0-9_-]`.
pub fn valid_client_id(id: &str) -> bool {
    (1..=MAX_CLIENT_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(session_cookie(&format!("{COOKIE}={S}")), Some(S));
        assert_eq!(
            session_cookie(&format!("a=b; {COOKIE}=\"{S}\"; c")),
            Some(S)
        );
        assert_eq!(session_cookie(&format!("x{COOKIE}={S}")), None);
        assert_eq!(session_cookie(&format!("{COOKIE}={}", &S[1..])), None);
        assert_eq!(session_cookie(&format!("{COOKIE}=../../{S}")), None);
        assert_eq!(session_cookie(""), None);
        assert_eq!(session_cookie(";;;==;"), None);
        let set = set_cookie("tok", S);
        assert!(set.contains("Path=/t/tok/") && set.contains("HttpOnly"));
    }

    #[test]
    fn only_our_own_origin_may_post() {
        assert!(same_origin(None, Some("127.0.0.1:8080")));
        assert!(same_origin(
            Some("http://127.0.0.1:8080"),
            Some("127.0.0.1:8080")
        ));
        assert!(!same_origin(
            Some("http://evil.example"),
            Some("127.0.0.1:8080")
        ));
        assert!(!same_origin(Some("null"), Some("127.0.0.1:8080")));
        assert!(!same_origin(Some("http://127.0.0.1:8080"), None));
    }

    #[test]
    fn chinese_names_survive_in_rfc5987_form() {
        assert_eq!(
            content_disposition("照片 1.png", true),
            "inline; filename=\"__ 1.png\"; filename*=UTF-8''%E7%85%A7%E7%89%87%201.png"
        );
        let d = content_disposition("a\"b\\c;\r\n.txt", false);
        assert!(
            d.starts_with("attachment; filename=\"a_b_c;__.txt\""),
            "{d}"
        );
        assert!(!d.contains(['\r', '\n']));
    }

    #[test]
    fn names_and_ids_are_cleaned() {
        assert_eq!(clean_name("  小明\n "), Some("小明".to_owned()));
        assert_eq!(clean_name("\u{7}\t "), None);
        assert_eq!(clean_name(&"名".repeat(100)).unwrap().chars().count(), 64);
        assert!(valid_client_id("m-1_a"));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("a b"));
        assert!(!valid_client_id(&"x".repeat(65)));
        assert_eq!(last_event_id(Some(" 7 ")), Some(7));
        assert_eq!(last_event_id(Some("x")), None);
    }
}

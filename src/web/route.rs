//! Which endpoint a request is for, from its method and path: pure functions, fuzzed.
//!
//! Every path is `/t/{token}/...`. [`parse`] only splits and matches fixed ASCII
//! segments: nothing is percent-decoded or joined into a file path, so `..`, `%2e`,
//! backslashes or doubled slashes simply match no route. The token itself is checked by
//! the caller, in constant time, before the route is looked at.

use super::token::is_hex_id;

/// The endpoints, after the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /t/{token}`: redirect to the page (a relative link needs the slash).
    AddSlash,
    /// `GET /t/{token}/`: the page.
    Page,
    /// `GET app.js`.
    Script,
    /// `GET style.css`.
    Style,
    /// `GET api/info`: the host's name, the visitor (if any), the limits.
    Info,
    /// `POST api/join`: a name in, a session cookie out.
    Join,
    /// `POST api/say`: a message.
    Say,
    /// `POST api/seen`: the page has shown events up to a cursor.
    Seen,
    /// `GET api/events`: server-sent events from a cursor.
    Events,
    /// `POST api/upload?name=N`: a file as the raw body.
    Upload,
    /// `POST api/leave`: the tab is closing.
    Leave,
    /// `GET file/{id}`: a file the host offered.
    File(&'a str),
}

/// Why a request matched no endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No `/t/{token}/` prefix: 403, like a wrong token.
    NoToken,
    /// Token present but no such endpoint: 404 (only after the token was checked).
    NotFound,
    /// The endpoint exists for another method: 405.
    WrongMethod,
}

/// A request's target: the token as given and the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The token from the path, unchecked.
    pub token: &'a str,
    /// The endpoint, or why there is none.
    pub route: Result<Route<'a>, Miss>,
}

/// Splits `path` (without the query) into token and endpoint for `method`.
pub fn parse<'a>(method: &str, path: &'a str) -> Result<Target<'a>, Miss> {
    let rest = path.strip_prefix("/t/").ok_or(Miss::NoToken)?;
    let (token, tail) = match rest.split_once('/') {
        Some((token, tail)) => (token, Some(tail)),
        None => (rest, None),
    };
    if token.is_empty() {
        return Err(Miss::NoToken);
    }
    let route = match tail {
        None => expect(method, "GET", Route::AddSlash),
        Some(tail) => endpoint(method, tail),
    };
    Ok(Target { token, route })
}

fn endpoint<'a>(method: &str, tail: &'a str) -> Result<Route<'a>, Miss> {
    let (want, route) = match tail {
        "" => ("GET", Route::Page),
        "app.js" => ("GET", Route::Script),
        "style.css" => ("GET", Route::Style),
        "api/info" => ("GET", Route::Info),
        "api/events" => ("GET", Route::Events),
        "api/join" => ("POST", Route::Join),
        "api/say" => ("POST", Route::Say),
        "api/seen" => ("POST", Route::Seen),
        "api/upload" => ("POST", Route::Upload),
        "api/leave" => ("POST", Route::Leave),
        _ => match tail.strip_prefix("file/") {
            Some(id) if is_hex_id(id) => ("GET", Route::File(id)),
            _ => return Err(Miss::NotFound),
        },
    };
    expect(method, want, route)
}

fn expect<'a>(method: &str, want: &str, route: Route<'a>) -> Result<Route<'a>, Miss> {
    // HEAD is a GET without a body; hyper drops the body itself.
    if method == want || (want == "GET" && method == "HEAD") {
        Ok(route)
    } else {
        Err(Miss::WrongMethod)
    }
}

/// The value of `key` in a query string, percent-decoded; `None` when absent.
pub fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A cursor (`after=N` in the query): events after N; 0 when absent or not a number.
pub fn cursor(query: Option<&str>) -> u64 {
    query_value(query, "after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "0123456789abcdef0123456789abcdef";

    fn route(method: &str, path: &str) -> Result<Route<'static>, Miss> {
        let path: &'static str = Box::leak(path.to_owned().into_boxed_str());
        parse(method, path)?.route
    }

    #[test]
    fn endpoints_are_found_under_the_token() {
        assert_eq!(route("GET", &format!("/t/{T}/")), Ok(Route::Page));
        assert_eq!(route("HEAD", &format!("/t/{T}/")), Ok(Route::Page));
        assert_eq!(route("GET", &format!("/t/{T}")), Ok(Route::AddSlash));
        assert_eq!(route("GET", &format!("/t/{T}/app.js")), Ok(Route::Script));
        assert_eq!(route("POST", &format!("/t/{T}/api/say")), Ok(Route::Say));
        assert_eq!(
            route("GET", &format!("/t/{T}/api/events")),
            Ok(Route::Events)
        );
        let file = format!("/t/{T}/file/{T}");
        assert_eq!(route("GET", &file), Ok(Route::File(T)));
        assert_eq!(parse("GET", &file).unwrap().token, T);
    }

    #[test]
    fn no_token_is_told_apart_from_no_endpoint() {
        for path in [
            "/",
            "",
            "/index.html",
            "/t/",
            "/t//",
            "/T/x/",
            "/favicon.ico",
        ] {
            assert_eq!(parse("GET", path), Err(Miss::NoToken), "{path}");
        }
        assert_eq!(route("GET", &format!("/t/{T}/nope")), Err(Miss::NotFound));
        assert_eq!(
            route("GET", &format!("/t/{T}/api/say")),
            Err(Miss::WrongMethod)
        );
        assert_eq!(route("DELETE", &format!("/t/{T}/")), Err(Miss::WrongMethod));
    }

    #[test]
    fn path_tricks_match_nothing() {
        for tail in [
            "../t/x/",
            "file/../../etc/passwd",
            "file/%2e%2e%2fetc",
            "file/0123456789ABCDEF0123456789ABCDEF",
            "file/0123456789abcdef0123456789abcdef/",
            "file/0123456789abcdef0123456789abcdef/../x",
            "api//say",
            "api\\say",
            "app.js/",
            "./app.js",
            "%61pp.js",
            "app.js\0",
        ] {
            assert_eq!(
                route("GET", &format!("/t/{T}/{tail}")),
                Err(Miss::NotFound),
                "{tail}"
            );
        }
    }

    #[test]
    fn queries_are_decoded() {
        assert_eq!(
            query_value(Some("name=%E7%85%A7%E7%89%87.png&x=1"), "name").as_deref(),
            Some("照片.png")
        );
        assert_eq!(query_value(Some("a=b"), "name"), None);
        assert_eq!(query_value(None, "name"), None);
        assert_eq!(cursor(Some("after=42")), 42);
        assert_eq!(cursor(Some("after=-1")), 0);
        assert_eq!(cursor(Some("after=99999999999999999999999")), 0);
        assert_eq!(cursor(None), 0);
    }
}

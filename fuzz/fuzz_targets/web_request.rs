//! Any method, path, query and header value: the web server's own parsing (routes, the
//! query, the session cookie, `Origin`, `Last-Event-ID`, names, `Content-Disposition`)
//! never panics and keeps its promises (`lanchat::web::fuzzing::request_parts`). hyper
//! parses the HTTP itself; this covers what is ours.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lanchat::web::fuzzing::request_parts(data);
});

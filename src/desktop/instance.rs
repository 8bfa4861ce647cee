//! One window per data directory: a second `lanchat` started with the same data
//! directory brings the running window to the front instead of starting a second node.
//!
//! The running window listens on `127.0.0.1:<any port>` and writes the port and a random
//! token to `window.json` in the data directory (readable by its owner only). A second
//! start reads the file, connects, sends one line — `{"cmd":"show","token":"…"}` — and
//! gets `{"ok":true}` back once the window was asked to show itself. Anything else (no
//! file, nobody listening, another program on that port, a wrong answer) means no window
//! is running and the caller starts normally; if the data directory then turns out to be
//! locked, it belongs to a headless lanchat, whose clear error stands.
//!
//! The line format is pure functions here ([`encode_request`], [`decode_request`]); the
//! listener is [`server::InstanceServer`], the one place that accepts these connections.
//! Nothing here listens beyond loopback. The token keeps other local users' programs from
//! raising the window; it grants nothing else.

pub mod server;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use server::InstanceServer;

/// The file a running window writes in its data directory.
pub const FILE: &str = "window.json";

/// Longest request or reply line read, newline included. Anything longer is refused
/// before it is buffered further.
pub const MAX_LINE: u64 = 256;

/// How long either side waits to connect, for a line, or to write one.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// What `window.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFile {
    /// The port on 127.0.0.1 the window listens on.
    pub port: u16,
    /// The secret a request must carry.
    pub token: String,
    /// The window's process id (for people reading the file).
    pub pid: u32,
}

/// Why a request line was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    /// Longer than [`MAX_LINE`], or no newline before it ended.
    #[error("request line too long or unterminated")]
    Framing,
    /// Not the JSON object expected.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The token does not match this window's.
    #[error("wrong token")]
    WrongToken,
    /// A command this window does not know.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
}

/// Failure to set up the listening side.
#[derive(Debug, Error)]
pub enum InstanceError {
    /// The loopback listener could not be opened.
    #[error("cannot listen on 127.0.0.1 for a second lanchat: {0}")]
    Listen(io::Error),
    /// `window.json` could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The listener thread could not be started.
    #[error("cannot start the lanchat-instance thread: {0}")]
    Thread(io::Error),
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    cmd: &'a str,
    token: &'a str,
}

/// The line a second start sends to ask the window with `token` to show itself.
pub fn encode_request(token: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&Wire { cmd: "show", token }).expect("serialises");
    line.push(b'\n');
    line
}

/// Checks one request line (without its newline) against this window's `token`.
pub fn decode_request(line: &[u8], token: &str) -> Result<(), RequestError> {
    let wire: Wire =
        serde_json::from_slice(line).map_err(|e| RequestError::Malformed(e.to_string()))?;
    if !same_secret(wire.token.as_bytes(), token.as_bytes()) {
        return Err(RequestError::WrongToken);
    }
    match wire.cmd {
        "show" => Ok(()),
        other => Err(RequestError::UnknownCommand(
            other.chars().take(32).collect(),
        )),
    }
}

/// The reply to a request: `{"ok":true}`, or the reason it was refused.
pub fn encode_reply(result: &Result<(), RequestError>) -> Vec<u8> {
    let value = match result {
        Ok(()) => serde_json::json!({ "ok": true }),
        Err(e) => serde_json::json!({ "ok": false, "error": e.to_string() }),
    };
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// Whether a reply line says the window will show itself.
pub fn reply_is_ok(line: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(line)
        .is_ok_and(|v| v.get("ok") == Some(&serde_json::Value::Bool(true)))
}

/// Compares two secrets in time that depends on their length only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads one line of at most [`MAX_LINE`] bytes and returns it without its newline.
/// A line that is longer, or ends without a newline, is [`RequestError::Framing`].
pub fn read_line(reader: impl Read) -> Result<Vec<u8>, io::Error> {
    let mut line = Vec::new();
    BufReader::new(reader.take(MAX_LINE)).read_until(b'\n', &mut line)?;
    if line.pop() != Some(b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            RequestError::Framing,
        ));
    }
    Ok(line)
}

/// What asking for a running window found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A window with this data directory is running and was asked to show itself.
    Shown,
    /// No window answered, and why (for the log).
    NotRunning(String),
}

/// Asks a window running with `data_dir` to show itself.
pub fn ask_to_show(data_dir: &Path) -> Answer {
    let path = data_dir.join(FILE);
    let file = match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<WindowFile>(&bytes) {
            Ok(f) => f,
            Err(e) => return Answer::NotRunning(format!("{} is unreadable: {e}", path.display())),
        },
        Err(e) => return Answer::NotRunning(format!("no {}: {e}", path.display())),
    };
    match exchange(&file) {
        Ok(reply) if reply_is_ok(&reply) => Answer::Shown,
        Ok(reply) => Answer::NotRunning(format!(
            "127.0.0.1:{} refused: {}",
            file.port,
            String::from_utf8_lossy(&reply)
        )),
        Err(e) => Answer::NotRunning(format!("127.0.0.1:{}: {e}", file.port)),
    }
}

fn exchange(file: &WindowFile) -> io::Result<Vec<u8>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, file.port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(&encode_request(&file.token))?;
    read_line(&stream)
}

#[cfg(test)]
mod tests;

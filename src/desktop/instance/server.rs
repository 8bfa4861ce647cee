//! The running window's side: a listener on 127.0.0.1 that turns a valid request into
//! [`Request::Show`], on a thread of its own (`lanchat-instance`), and `window.json`
//! telling a second start where it is.
//!
//! Connections are served one at a time, each with a short timeout, and a request line is
//! capped, so a client that sends nothing, garbage or too much costs one timeout and is
//! answered with an error; the window is never touched unless the token matches.
//! Dropping the server stops and joins the thread and removes the file.

use std::fs;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::{
    FILE, InstanceError, RequestError, TIMEOUT, WindowFile, decode_request, encode_reply, read_line,
};
use crate::desktop::{Request, Requests};
use crate::net::spawn_named;

/// A running window's listener for second starts. Dropping it stops it.
#[derive(Debug)]
pub struct InstanceServer {
    addr: SocketAddr,
    file: PathBuf,
    token: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InstanceServer {
    /// Listens on 127.0.0.1 and writes `window.json` into `data_dir` (which the caller
    /// holds the lock of). Each valid request is passed on as [`Request::Show`].
    pub fn start(data_dir: &Path, requests: Requests) -> Result<InstanceServer, InstanceError> {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(InstanceError::Listen)?;
        let addr = listener.local_addr().map_err(InstanceError::Listen)?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let file = data_dir.join(FILE);
        write_private(
            &file,
            &WindowFile {
                port: addr.port(),
                token: token.clone(),
                pid: std::process::id(),
            },
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_stop, thread_token) = (stop.clone(), token.clone());
        let thread = spawn_named("lanchat-instance", move || {
            serve(&listener, &thread_token, &thread_stop, &requests);
        });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                let _ = fs::remove_file(&file);
                return Err(InstanceError::Thread(e));
            }
        };
        Ok(InstanceServer {
            addr,
            file,
            token,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for InstanceServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocked accept; it sees the flag and returns.
        let _ = TcpStream::connect_timeout(&self.addr, TIMEOUT);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Only our own file: never one a later window wrote.
        let ours = fs::read(&self.file)
            .ok()
            .and_then(|b| serde_json::from_slice::<WindowFile>(&b).ok())
            .is_some_and(|f| f.token == self.token);
        if ours {
            let _ = fs::remove_file(&self.file);
        }
    }
}

fn serve(listener: &TcpListener, token: &str, stop: &AtomicBool, requests: &Requests) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            Ok(stream) => match answer(&stream, token) {
                Ok(true) => requests.send(Request::Show),
                Ok(false) => {}
                Err(e) => tracing::debug!("a second start's request failed: {e}"),
            },
            Err(e) => tracing::debug!("accepting a second start's connection: {e}"),
        }
    }
}

/// Reads one request, answers it, and says whether it was valid.
fn answer(mut stream: &TcpStream, token: &str) -> io::Result<bool> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let result = match read_line(stream) {
        Ok(line) => decode_request(&line, token),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(RequestError::Framing),
        Err(e) => return Err(e),
    };
    if let Err(e) = &result {
        tracing::warn!(
            "refused a request to show the window from {}: {e}",
            stream
                .peer_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string())
        );
    }
    stream.write_all(&encode_reply(&result))?;
    Ok(result.is_ok())
}

/// Writes `file` atomically, readable by its owner only.
fn write_private(path: &Path, file: &WindowFile) -> Result<(), InstanceError> {
    let tmp = path.with_extension("json.tmp");
    let body = serde_json::to_vec_pretty(file).expect("serialises");
    let write = || -> io::Result<()> {
        let _ = fs::remove_file(&tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        crate::platform::files::owner_only(&mut options);
        options.open(&tmp)?.write_all(&body)?;
        fs::rename(&tmp, path)
    };
    write().map_err(|source| InstanceError::Write {
        path: path.to_path_buf(),
        source,
    })
}

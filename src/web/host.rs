//! What the host calls on a running [`WebServer`]: the link, pushing to a visitor's page,
//! offering files, deciding uploads, renaming, revoking, stopping.
//!
//! Called from the host's threads; each holds the server's mutex for bookkeeping only.
//! Landing an accepted upload (a rename, or a copy across file systems) happens on the
//! caller's thread, outside the lock.

use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::api::{DownloadId, FileOffer, TransferState, UploadId, VisitorId, WebInput, WebOutput};
use super::files::Download;
use super::log::{Author, PageEvent};
use super::server::{Signal, WebServer, delete_spool, lock};
use super::{WebError, token};
use crate::protocol::sanitize;

/// A snapshot of what a [`WebServer`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebStats {
    /// Visitors here.
    pub visitors: usize,
    /// Event streams open.
    pub streams: usize,
    /// Bytes of visitors' logs kept in memory.
    pub log_bytes: usize,
    /// Bytes of uploads reserved in the spool.
    pub spool_bytes: u64,
    /// Connections open.
    pub connections: usize,
    /// Addresses the request limiter remembers.
    pub tracked_addresses: usize,
}

impl WebServer {
    /// The address the server listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The link a browser opens, token included. When bound to an unspecified address
    /// (`0.0.0.0`), it names loopback: use [`WebServer::url_for`] with a LAN address.
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        self.url_for(ip)
    }

    /// The link with `ip` as the host part (an address of this machine on the LAN).
    pub fn url_for(&self, ip: IpAddr) -> String {
        let token = self.shared.lock().token.clone();
        let at = SocketAddr::new(ip, self.addr.port());
        format!("http://{at}/t/{token}/")
    }

    /// Visitors here now, with their names.
    pub fn visitors(&self) -> Vec<(VisitorId, String)> {
        let mut state = self.shared.lock();
        let mut all: Vec<_> = state
            .hub
            .visitors_mut()
            .map(|v| (v.id.clone(), v.name.clone()))
            .collect();
        all.sort();
        all
    }

    /// What the server holds now: for the host's status and for tests of its bounds.
    pub fn stats(&self) -> WebStats {
        let (visitors, streams, log_bytes, spool_bytes) = {
            let mut state = self.shared.lock();
            let visitors = state.hub.len();
            let (streams, log_bytes) = state
                .hub
                .visitors_mut()
                .fold((0, 0), |(s, b), v| (s + v.streams(), b + v.log.bytes()));
            (visitors, streams, log_bytes, state.files.reserved())
        };
        WebStats {
            visitors,
            streams,
            log_bytes,
            spool_bytes,
            connections: lock(&self.shared.conns).open(),
            tracked_addresses: lock(&self.shared.requests).tracked(),
        }
    }

    /// Shows `output` on `visitor`'s page (kept, so a reload shows it again).
    pub fn push(&self, visitor: &VisitorId, output: WebOutput) -> Result<(), WebError> {
        let mut state = self.shared.lock();
        let v = state
            .hub
            .get_mut(visitor)
            .ok_or_else(|| WebError::UnknownVisitor(visitor.clone()))?;
        match &output {
            WebOutput::Message { id, text, time_ms } => v.show(&PageEvent::Message {
                from: Author::Host,
                id,
                text,
                time_ms: *time_ms,
            }),
            WebOutput::Delivered { client_msg_id } => {
                v.show(&PageEvent::Delivered { id: client_msg_id });
            }
            WebOutput::Mine { id, text, time_ms } => v.show(&PageEvent::Message {
                from: Author::Me,
                id,
                text,
                time_ms: *time_ms,
            }),
            WebOutput::Upload {
                id,
                name,
                size,
                state,
            } => {
                v.show(&PageEvent::Upload {
                    id,
                    name,
                    size: *size,
                });
                if *state != TransferState::Waiting {
                    v.show(&PageEvent::Transfer { id, state: *state });
                }
            }
            WebOutput::Transfer { id, state } => v.show(&PageEvent::Transfer { id, state: *state }),
        }
        Ok(())
    }

    /// Offers `visitor` a file: their page shows a link named by the file's name (a
    /// picture inline) and fetches it from disk when clicked. The host is told with
    /// [`WebInput::Downloaded`] when a fetch ends.
    pub fn offer_file(
        &self,
        visitor: &VisitorId,
        offer: FileOffer,
    ) -> Result<DownloadId, WebError> {
        let size = fs::metadata(&offer.path)
            .map_err(|source| WebError::File {
                path: offer.path.clone(),
                source,
            })?
            .len();
        let mut state = self.shared.lock();
        if state.hub.get_mut(visitor).is_none() {
            return Err(WebError::UnknownVisitor(visitor.clone()));
        }
        let picture =
            crate::protocol::mime::is_picture(&offer.mime) && offer.mime != "image/svg+xml";
        let id = state.files.offer(Download {
            visitor: visitor.clone(),
            path: offer.path,
            name: offer.name.clone(),
            mime: offer.mime.clone(),
            size,
        });
        if let Some(v) = state.hub.get_mut(visitor) {
            v.show(&PageEvent::File {
                id: id.as_str(),
                name: &offer.name,
                size,
                mime: &offer.mime,
                picture,
            });
        }
        Ok(id)
    }

    /// The host accepts an upload: it moves from the spool into `dir` under its name
    /// (numbered if taken, never overwriting), and the page shows it accepted. Returns
    /// where it landed. On failure the upload stays in the spool, still waiting.
    ///
    /// This copies the file when the spool and `dir` are on different file systems: a
    /// host that must not block takes the upload ([`WebServer::take_upload`]) and lands it
    /// ([`land`]) on a thread of its own.
    pub fn accept_upload(&self, upload: &UploadId, dir: &Path) -> Result<PathBuf, WebError> {
        let taken = self.take_upload(upload)?;
        match land(&taken, dir) {
            Ok(dest) => {
                self.show_state(&taken.visitor, upload, TransferState::Accepted);
                Ok(dest)
            }
            Err(e) => {
                let mut state = self.shared.lock();
                state.files.restore(upload.clone(), taken.into_upload());
                Err(e)
            }
        }
    }

    /// Takes a whole upload out of the spool's books for the host to [`land`]: from now on
    /// its file is the host's (the server no longer deletes it when its visitor leaves).
    /// Show the outcome on the page with [`WebOutput::Transfer`].
    pub fn take_upload(&self, upload: &UploadId) -> Result<Taken, WebError> {
        let mut state = self.shared.lock();
        match state.files.take(upload) {
            Some(u) if u.complete => Ok(Taken {
                upload: upload.clone(),
                visitor: u.visitor,
                name: u.name,
                size: u.size,
                spool_path: u.path,
            }),
            Some(u) => {
                state.files.restore(upload.clone(), u);
                Err(WebError::UploadIncomplete(upload.clone()))
            }
            None => Err(WebError::UnknownUpload(upload.clone())),
        }
    }

    /// Withdraws a file offered to a visitor: its link stops working and the page shows it
    /// cancelled.
    pub fn withdraw_offer(&self, download: &DownloadId) -> Result<(), WebError> {
        let gone = self.shared.lock().files.withdraw(download);
        let offer = gone.ok_or_else(|| WebError::UnknownDownload(download.clone()))?;
        let output = WebOutput::Transfer {
            id: download.to_string(),
            state: TransferState::Cancelled,
        };
        let _ = self.push(&offer.visitor, output);
        Ok(())
    }

    /// The host declines an upload: its `.part` is deleted and the page shows it declined.
    pub fn decline_upload(&self, upload: &UploadId) -> Result<(), WebError> {
        let taken = self
            .shared
            .lock()
            .files
            .take(upload)
            .ok_or_else(|| WebError::UnknownUpload(upload.clone()))?;
        delete_spool(std::slice::from_ref(&taken));
        self.show_state(&taken.visitor, upload, TransferState::Declined);
        Ok(())
    }

    fn show_state(&self, visitor: &VisitorId, upload: &UploadId, state: TransferState) {
        let output = WebOutput::Transfer {
            id: upload.to_string(),
            state,
        };
        // The visitor may have left meanwhile: nothing to show then.
        let _ = self.push(visitor, output);
    }

    /// Changes the host's name on every open page.
    pub fn set_host_name(&self, name: &str) {
        let mut state = self.shared.lock();
        state.host_name = name.to_owned();
        let frame = PageEvent::Host { name }.frame(0);
        for v in state.hub.visitors_mut() {
            v.send(frame.clone());
        }
    }

    /// A new link: the old token stops working at once, every session ends (event
    /// streams close, cookies stop working), uploads waiting are deleted and every visitor
    /// is reported as left. Returns the new link.
    pub fn revoke(&self) -> String {
        let (gone, uploads) = {
            let mut state = self.shared.lock();
            state.token = token::random_hex();
            (state.hub.clear(), state.files.take_all())
        };
        self.shared.signal.send_modify(|s| s.generation += 1);
        self.shared.forget(gone, &uploads);
        self.url()
    }

    /// Stops the server: every connection and event stream closes, uploads waiting are
    /// deleted, the thread is joined. Returns the reports the host's channel had no room
    /// for (visitors leaving with the server among them), in order.
    pub fn stop(mut self) -> Vec<WebInput> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Vec<WebInput> {
        let Some(thread) = self.thread.take() else {
            return Vec::new();
        };
        self.shared
            .signal
            .send_modify(|s: &mut Signal| s.stopped = true);
        if thread.join().is_err() {
            tracing::error!("web: the server thread panicked");
        }
        let (gone, uploads) = {
            let mut state = self.shared.lock();
            (state.hub.clear(), state.files.take_all())
        };
        self.shared.forget(gone, &uploads);
        self.shared.lock().backlog.drain(..).collect()
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// An upload the host took out of the spool's books ([`WebServer::take_upload`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// Its id.
    pub upload: UploadId,
    /// Who sent it.
    pub visitor: VisitorId,
    /// Its safe name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its `.part` in the spool, now the host's to land or delete.
    pub spool_path: PathBuf,
}

impl Taken {
    fn into_upload(self) -> super::files::Upload {
        super::files::Upload {
            visitor: self.visitor,
            name: self.name,
            size: self.size,
            path: self.spool_path,
            complete: true,
        }
    }
}

/// Moves a taken upload into `dir` under its name or the first free numbered variant: a
/// hard link then unlink (same file system), else a copy into a new file (blocking, as
/// long as the file is big). Never overwrites. On failure the spool file stays.
pub fn land(taken: &Taken, dir: &Path) -> Result<PathBuf, WebError> {
    let (spool, name) = (taken.spool_path.as_path(), taken.name.as_str());
    let file_err = |path: &Path| {
        let path = path.to_owned();
        move |source| WebError::File { path, source }
    };
    fs::create_dir_all(dir).map_err(file_err(dir))?;
    for candidate in sanitize::candidates(name) {
        let dest = dir.join(&candidate);
        match fs::hard_link(spool, &dest) {
            Ok(()) => {
                let _ = fs::remove_file(spool);
                return Ok(dest);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(_) => {}
        }
        match copy_new(spool, &dest) {
            Ok(()) => {
                let _ = fs::remove_file(spool);
                return Ok(dest);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(file_err(&dest)(e)),
        }
    }
    Err(WebError::NoFreeName {
        dir: dir.to_owned(),
        name: name.to_owned(),
    })
}

/// Copies `from` into a file `to` that must not exist yet; removes a partial copy.
fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut out = OpenOptions::new().write(true).create_new(true).open(to)?;
    let copied = fs::File::open(from).and_then(|mut src| io::copy(&mut src, &mut out));
    if let Err(e) = copied.and_then(|_| out.sync_all()) {
        drop(out);
        let _ = fs::remove_file(to);
        return Err(e);
    }
    Ok(())
}

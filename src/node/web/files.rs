//! Files between the host and its visitors, in the web part: a visitor's upload is an
//! offer (`file_offer`) that lands only once the host accepts it; a file the host sends
//! (`send_file`) is offered on the page for the browser to fetch. Each is a transfer with
//! the events and history records of any other (`offer_sent`, `transfer_started`,
//! `transfer_progress`, `transfer_done`, `transfer_failed`), so front ends need no
//! special case.
//!
//! Bookkeeping and small file work only (a `stat` and a 16-byte read of a file offered,
//! as the transfers part does): moving bytes is the server's and the port's.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::WebCall;
use crate::node::clock::Now;
use crate::node::event::Event;
use crate::node::fanout::Origin;
use crate::node::out::{Out, Record};
use crate::node::transfer_end::{Party, TransferEnd};
use crate::protocol::{DeclineCode, PeerId, TransferId, mime, sanitize};
use crate::store::{Direction, Transfer, TransferState};
use crate::web::{self, DownloadId, FileOffer, UploadId, VisitorId, WebError, WebOutput};

/// What the host decided about offers in general (the `--auto-accept` and
/// `--max-file-size` settings, the download folder now).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Accept every offer at once.
    pub auto_accept: bool,
    /// Decline larger offers.
    pub max_file_size: Option<u64>,
    /// Where accepted files land.
    pub dir: PathBuf,
}

/// A visitor's upload, waiting in the spool or landing.
#[derive(Debug, Clone)]
struct Up {
    upload: UploadId,
    visitor: VisitorId,
    size: u64,
    landing: bool,
}

/// A file we offer a visitor.
#[derive(Debug, Clone)]
struct Down {
    peer: PeerId,
    offer: FileOffer,
    size: u64,
    /// Where the page fetches it, while offered on a page.
    download: Option<DownloadId>,
    /// A fetch is under way.
    fetching: bool,
    /// Fetched whole once: later fetches (a picture shown again) say nothing.
    done: bool,
}

/// Files both ways with visitors (see the module documentation).
#[derive(Debug, Default)]
pub struct Files {
    uploads: HashMap<TransferId, Up>,
    downloads: HashMap<TransferId, Down>,
}

impl Files {
    /// Whether `id` is one of ours (so `accept`, `decline`, `cancel` come here).
    pub fn owns(&self, id: &str) -> bool {
        self.uploads.contains_key(id) || self.downloads.contains_key(id)
    }

    /// A visitor's file arrived whole in the spool: offered to the host (or accepted or
    /// declined at once, as `policy` says). Its transfer id is the upload's.
    pub fn uploaded(
        &mut self,
        from: (&PeerId, &VisitorId),
        upload: UploadId,
        about: (String, u64, String),
        policy: &Policy,
        now: Now,
        out: &mut Out,
    ) {
        let (peer, visitor) = from;
        let (name, size, mime) = about;
        let id = TransferId::from(upload.as_str());
        out.record(Record::NewTransfer(record(
            &id,
            peer,
            Direction::In,
            (&name, size, &mime),
            String::new(),
            now,
        )));
        out.emit(Event::FileOffer {
            transfer_id: id.clone(),
            from: peer.clone(),
            name,
            size,
            mime,
            verified: false, // a browser visitor has no key
            folder: None,
            room: None,
        });
        self.uploads.insert(
            id.clone(),
            Up {
                upload,
                visitor: visitor.clone(),
                size,
                landing: false,
            },
        );
        if policy.max_file_size.is_some_and(|max| size > max) {
            let end = TransferEnd::declined(DeclineCode::TooLarge, "larger than the size limit");
            self.end_upload(&id, end, out);
        } else if policy.auto_accept {
            self.accept(None, &id, &policy.dir, out);
        }
    }

    /// `accept`: the upload lands in `dir` (on the port's thread).
    pub fn accept(&mut self, origin: Option<Origin>, id: &TransferId, dir: &Path, out: &mut Out) {
        let Some(up) = self.uploads.get_mut(id) else {
            return out.reply(
                origin,
                Event::error(format!("accept: {id} is not a file from a browser")),
            );
        };
        if up.landing {
            return out.reply(
                origin,
                Event::error(format!("accept: {id} is already accepted")),
            );
        }
        up.landing = true;
        out.web(WebCall::Land {
            upload: up.upload.clone(),
            dir: dir.to_owned(),
        });
        out.record(Record::TransferStarted(id.clone(), 0));
        out.emit(Event::TransferStarted {
            transfer_id: id.clone(),
            offset: 0,
            total: up.size,
        });
    }

    /// `decline`: the upload is deleted, the page says declined.
    pub fn decline(&mut self, origin: Origin, id: &TransferId, out: &mut Out) {
        match self.uploads.get(id) {
            Some(up) if !up.landing => {
                let end = TransferEnd::declined(DeclineCode::User, "declined");
                self.end_upload(id, end, out);
            }
            Some(_) => out.reply(
                Some(origin),
                Event::error(format!("decline: {id} is already accepted")),
            ),
            None => out.reply(
                Some(origin),
                Event::error(format!("decline: {id} is not a file from a browser")),
            ),
        }
    }

    /// `cancel`: an upload not yet accepted is deleted; a file offered is taken back.
    pub fn cancel(&mut self, origin: Origin, id: &TransferId, out: &mut Out) {
        let by_us = TransferEnd::Cancelled {
            by: Party::Us,
            said: String::new(),
        };
        if self.uploads.get(id).is_some_and(|u| u.landing) {
            return out.reply(
                Some(origin),
                Event::error(format!("cancel: {id} is being saved already")),
            );
        }
        if self.uploads.contains_key(id) {
            return self.end_upload(id, by_us, out);
        }
        if let Some(down) = self.downloads.remove(id) {
            if let Some(download) = down.download {
                out.web(WebCall::Withdraw(download));
            }
            if !down.done {
                report_end(id, by_us, out);
            }
        }
    }

    fn end_upload(&mut self, id: &TransferId, end: TransferEnd, out: &mut Out) {
        let Some(up) = self.uploads.remove(id) else {
            return;
        };
        out.web(WebCall::Decline(up.upload));
        report_end(id, end, out);
    }

    /// An accepted upload landed at `result`'s path, or could not.
    pub fn landed(&mut self, upload: &UploadId, result: Result<PathBuf, String>, out: &mut Out) {
        let id = TransferId::from(upload.as_str());
        let Some(up) = self.uploads.remove(&id) else {
            return;
        };
        let state = match result {
            Ok(path) => {
                let path = path.display().to_string();
                out.record(Record::TransferPath(id.clone(), path.clone()));
                out.record(Record::TransferState(id.clone(), TransferState::Done));
                out.emit(Event::TransferDone {
                    transfer_id: id,
                    path,
                });
                web::TransferState::Accepted
            }
            Err(e) => {
                report_end(
                    &id,
                    TransferEnd::failed(format!("cannot save it: {e}")),
                    out,
                );
                web::TransferState::Failed
            }
        };
        let output = WebOutput::Transfer {
            id: upload.to_string(),
            state,
        };
        out.web(WebCall::Push {
            visitor: up.visitor,
            output,
        });
    }

    /// `send_file` to a visitor's peer: offered on their page now (`visitor` here), or
    /// when they come back. Returns the transfer, or why the file cannot be offered.
    pub fn offer(
        &mut self,
        to: (&PeerId, Option<&VisitorId>),
        path: &Path,
        now: Now,
        out: &mut Out,
    ) -> Result<TransferId, String> {
        let (peer, visitor) = to;
        let (size, head) = look(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| sanitize::file_name(&n.to_string_lossy()))
            .ok_or_else(|| format!("{}: not a file", path.display()))?;
        let mime = mime::detect(&name, &head).to_owned();
        let id = TransferId::from(uuid::Uuid::new_v4().simple().to_string());
        let shown = path.display().to_string();
        out.record(Record::NewTransfer(record(
            &id,
            peer,
            Direction::Out,
            (&name, size, &mime),
            shown,
            now,
        )));
        out.emit(Event::OfferSent {
            transfer_id: id.clone(),
            to: peer.clone(),
            name: name.clone(),
            size,
            mime: mime.clone(),
            folder: None,
            room: None,
        });
        let offer = FileOffer {
            path: path.to_owned(),
            name,
            mime,
        };
        self.downloads.insert(
            id.clone(),
            Down {
                peer: peer.clone(),
                offer,
                size,
                download: None,
                fetching: false,
                done: false,
            },
        );
        if let Some(visitor) = visitor {
            self.offer_on_page(&id, visitor, out);
        }
        Ok(id)
    }

    /// A file from history shown again on a returning visitor's page: fetched already,
    /// so fetching it again says nothing.
    pub fn offer_again(
        &mut self,
        id: TransferId,
        (peer, visitor): (&PeerId, &VisitorId),
        offer: FileOffer,
        out: &mut Out,
    ) {
        if self.downloads.contains_key(&id) {
            return; // still under way: offered with the others waiting
        }
        let Ok(meta) = std::fs::metadata(&offer.path) else {
            return;
        };
        let down = Down {
            peer: peer.clone(),
            offer,
            size: meta.len(),
            download: None,
            fetching: false,
            done: true,
        };
        self.downloads.insert(id.clone(), down);
        self.offer_on_page(&id, visitor, out);
    }

    fn offer_on_page(&self, id: &TransferId, visitor: &VisitorId, out: &mut Out) {
        if let Some(down) = self.downloads.get(id) {
            out.web(WebCall::Offer {
                visitor: visitor.clone(),
                transfer: id.clone(),
                offer: down.offer.clone(),
            });
        }
    }

    /// The page has the offer as `result`'s download (or the file could not be offered).
    pub fn offered(
        &mut self,
        id: &TransferId,
        result: Result<DownloadId, WebError>,
        out: &mut Out,
    ) {
        match result {
            Ok(download) => {
                if let Some(down) = self.downloads.get_mut(id) {
                    down.download = Some(download);
                }
            }
            // The visitor left meanwhile: offered again when they are back.
            Err(WebError::UnknownVisitor(_)) => {}
            Err(e) => {
                if self.downloads.remove(id).is_some_and(|d| !d.done) {
                    report_end(id, TransferEnd::failed(e.to_string()), out);
                }
            }
        }
    }

    /// A visitor came back as `peer`: files that waited for them are offered again.
    pub fn visitor_back(&self, peer: &PeerId, visitor: &VisitorId, out: &mut Out) {
        let waiting: Vec<TransferId> = self
            .downloads
            .iter()
            .filter(|(_, d)| d.peer == *peer && !d.done)
            .map(|(id, _)| id.clone())
            .collect();
        for id in waiting {
            self.offer_on_page(&id, visitor, out);
        }
    }

    /// A visitor's browser started fetching one of our files.
    pub fn fetching(&mut self, download: &DownloadId, out: &mut Out) {
        let Some((id, down)) = self.by_download(download) else {
            return;
        };
        if down.done {
            return;
        }
        down.fetching = true;
        let total = down.size;
        out.record(Record::TransferStarted(id.clone(), 0));
        out.emit(Event::TransferStarted {
            transfer_id: id,
            offset: 0,
            total,
        });
    }

    /// How far a fetch has got.
    pub fn fetched(&mut self, download: &DownloadId, bytes: u64, out: &mut Out) {
        if let Some((id, down)) = self.by_download(download)
            && down.fetching
            && !down.done
        {
            let total = down.size;
            out.emit(Event::TransferProgress {
                transfer_id: id,
                bytes,
                total,
                files: None,
            });
        }
    }

    /// A fetch ended, whole or not.
    pub fn downloaded(&mut self, download: &DownloadId, complete: bool, out: &mut Out) {
        let Some((id, down)) = self.by_download(download) else {
            return;
        };
        if down.done || !down.fetching {
            return;
        }
        down.fetching = false;
        if complete {
            down.done = true;
            let path = down.offer.path.display().to_string();
            out.record(Record::TransferState(id.clone(), TransferState::Done));
            out.emit(Event::TransferDone {
                transfer_id: id,
                path,
            });
        } else {
            // The browser may fetch it again: its link still works.
            out.record(Record::TransferState(id.clone(), TransferState::Paused));
            out.emit(Event::TransferInterrupted {
                transfer_id: id,
                reason: "the browser stopped fetching it; its link still works".to_owned(),
                attempt: 0,
                retry_in_ms: None,
            });
        }
    }

    fn by_download(&mut self, download: &DownloadId) -> Option<(TransferId, &mut Down)> {
        self.downloads
            .iter_mut()
            .find(|(_, d)| d.download.as_ref() == Some(download))
            .map(|(id, d)| (id.clone(), d))
    }

    /// A visitor left: their uploads not yet accepted are gone (the server deleted them);
    /// our offers lose their links and wait for them to come back (those fetched already
    /// are forgotten).
    pub fn visitor_left(&mut self, visitor: &VisitorId, out: &mut Out) {
        let gone: Vec<TransferId> = self
            .uploads
            .iter()
            .filter(|(_, u)| u.visitor == *visitor && !u.landing)
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.uploads.remove(&id);
            let end = TransferEnd::Cancelled {
                by: Party::Sender,
                said: "the visitor left".to_owned(),
            };
            report_end(&id, end, out);
        }
        let peer = super::peer_of(visitor);
        self.downloads.retain(|_, d| d.peer != peer || !d.done);
        for down in self.downloads.values_mut().filter(|d| d.peer == peer) {
            down.download = None;
            down.fetching = false;
        }
    }

    /// The server stopped (or its link was renewed: nobody can come back), `why`:
    /// everything not yet done ends. Uploads landing finish by themselves.
    pub fn end_all(&mut self, why: &str, out: &mut Out) {
        let waiting: Vec<TransferId> = self
            .uploads
            .iter()
            .filter(|(_, u)| !u.landing)
            .map(|(id, _)| id.clone())
            .collect();
        for id in waiting {
            self.uploads.remove(&id);
            report_end(&id, TransferEnd::failed(why), out);
        }
        for (id, down) in self.downloads.drain() {
            if !down.done {
                report_end(&id, TransferEnd::failed(why), out);
            }
        }
    }
}

/// A transfer ended without the file: recorded, then told.
fn report_end(id: &TransferId, end: TransferEnd, out: &mut Out) {
    out.record(Record::TransferState(id.clone(), end.state()));
    out.emit(Event::TransferFailed {
        transfer_id: id.clone(),
        end,
    });
}

/// A file's size and first bytes (for its media type).
fn look(path: &Path) -> std::io::Result<(u64, Vec<u8>)> {
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a file"));
    }
    let mut head = Vec::with_capacity(mime::SNIFF_LEN);
    file.by_ref()
        .take(mime::SNIFF_LEN as u64)
        .read_to_end(&mut head)?;
    Ok((meta.len(), head))
}

/// A transfer as history first records it.
fn record(
    id: &TransferId,
    peer: &PeerId,
    dir: Direction,
    what: (&str, u64, &str),
    path: String,
    now: Now,
) -> Transfer {
    Transfer::offered((id, peer, dir), what, path, now.wall)
}

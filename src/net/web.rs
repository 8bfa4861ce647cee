//! The page for browsers as the port serves it: the [`WebServer`] (a socket and a thread
//! of its own, while it is on), the threads that land accepted uploads, and the wrapper
//! that hands the server's reports to the core as [`NetInput::Web`].
//!
//! The core asks through [`WebPort`]; every decision (who is a peer, what goes in
//! history, whether a file is wanted) is the core's web part. Nothing here decides.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select};

use super::input::NetInput;
use super::thread::spawn_named;
use crate::web::{
    self, DownloadId, FileOffer, Report, UploadId, VisitorId, WebConfig, WebError, WebInput,
    WebOutput, WebServer,
};

/// What the web side tells the core.
#[derive(Debug, Clone, PartialEq)]
pub enum WebNews {
    /// What a visitor did.
    Visitor(WebInput),
    /// An accepted upload was moved into the download folder, or could not be (its spool
    /// file is deleted then).
    Landed {
        /// The upload.
        upload: UploadId,
        /// Who sent it.
        visitor: VisitorId,
        /// Where it landed, or why not.
        result: Result<PathBuf, String>,
    },
}

/// What the core may ask of the page for browsers. Every call returns at once; landing an
/// upload reports back later as [`WebNews::Landed`].
pub trait WebPort {
    /// Starts the server (a running one is stopped first); returns where it listens.
    fn start(&mut self, config: WebConfig) -> Result<SocketAddr, WebError>;

    /// Stops the server: every connection and event stream closes, uploads waiting are
    /// deleted. Nothing if it is off.
    fn stop(&mut self);

    /// The link a browser opens with `ip` as its host part (`None` while off).
    fn link(&self, ip: IpAddr) -> Option<String>;

    /// A new token: the old link stops working and every visitor is reported gone.
    fn new_link(&mut self);

    /// Shows `output` on `visitor`'s page.
    fn push(&mut self, visitor: &VisitorId, output: WebOutput) -> Result<(), WebError>;

    /// Offers `visitor` a file to fetch.
    fn offer(&mut self, visitor: &VisitorId, offer: FileOffer) -> Result<DownloadId, WebError>;

    /// Takes back an offer (its link stops working).
    fn withdraw(&mut self, download: &DownloadId) -> Result<(), WebError>;

    /// Declines an upload: its spool file is deleted, the page says so.
    fn decline(&mut self, upload: &UploadId) -> Result<(), WebError>;

    /// Takes a whole upload out of the spool and moves it into `dir` on a thread of its
    /// own (a copy when `dir` is on another file system); the result comes back as
    /// [`WebNews::Landed`].
    fn land(&mut self, upload: &UploadId, dir: PathBuf) -> Result<(), WebError>;

    /// The host's name as pages show it.
    fn set_host_name(&mut self, name: &str);

    /// Joins landing threads that have finished.
    fn reap(&mut self);
}

/// The server's reports, wrapped for the core's input channel.
struct Reports(Sender<NetInput>);

impl Report for Reports {
    fn try_report(&self, input: WebInput) -> Result<(), TrySendError<WebInput>> {
        let news = |n: NetInput| match n {
            NetInput::Web(news) => match *news {
                WebNews::Visitor(input) => input,
                other => unreachable!("only visitors' reports are sent here: {other:?}"),
            },
            other => unreachable!("only web news is sent here: {other:?}"),
        };
        self.0
            .try_send(NetInput::Web(Box::new(WebNews::Visitor(input))))
            .map_err(|e| match e {
                TrySendError::Full(n) => TrySendError::Full(news(n)),
                TrySendError::Disconnected(n) => TrySendError::Disconnected(news(n)),
            })
    }
}

/// The real [`WebPort`]: the server while it is on, and the landing threads.
pub struct WebSide {
    tx: Sender<NetInput>,
    server: Option<WebServer>,
    landing: Vec<JoinHandle<()>>,
    /// Dropped on drop: a landing thread stops waiting for room in the core's queue (the
    /// core is the one joining it then).
    quit: Option<Sender<()>>,
    quitting: Receiver<()>,
}

impl WebSide {
    /// Off; what it hears later goes to `tx`.
    pub fn new(tx: Sender<NetInput>) -> Self {
        let (quit, quitting) = bounded(0);
        WebSide {
            tx,
            server: None,
            landing: Vec::new(),
            quit: Some(quit),
            quitting,
        }
    }

    fn server(&self) -> Result<&WebServer, WebError> {
        self.server.as_ref().ok_or(WebError::Off)
    }
}

impl WebPort for WebSide {
    fn start(&mut self, config: WebConfig) -> Result<SocketAddr, WebError> {
        self.stop();
        let server = WebServer::spawn(config, Reports(self.tx.clone()))?;
        let addr = server.local_addr();
        self.server = Some(server);
        Ok(addr)
    }

    fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            // The core ends every visitor itself; reports still waiting are moot.
            drop(server.stop());
        }
    }

    fn link(&self, ip: IpAddr) -> Option<String> {
        self.server.as_ref().map(|s| s.url_for(ip))
    }

    fn new_link(&mut self) {
        if let Some(server) = &self.server {
            server.revoke();
        }
    }

    fn push(&mut self, visitor: &VisitorId, output: WebOutput) -> Result<(), WebError> {
        self.server()?.push(visitor, output)
    }

    fn offer(&mut self, visitor: &VisitorId, offer: FileOffer) -> Result<DownloadId, WebError> {
        self.server()?.offer_file(visitor, offer)
    }

    fn withdraw(&mut self, download: &DownloadId) -> Result<(), WebError> {
        self.server()?.withdraw_offer(download)
    }

    fn decline(&mut self, upload: &UploadId) -> Result<(), WebError> {
        self.server()?.decline_upload(upload)
    }

    fn land(&mut self, upload: &UploadId, dir: PathBuf) -> Result<(), WebError> {
        let taken = self.server()?.take_upload(upload)?;
        let (tx, quitting) = (self.tx.clone(), self.quitting.clone());
        let thread = spawn_named("web-land", move || {
            let result = web::land(&taken, &dir).map_err(|e| {
                // The transfer ends here: the spool file is nobody's now.
                let _ = std::fs::remove_file(&taken.spool_path);
                e.to_string()
            });
            let news = WebNews::Landed {
                upload: taken.upload,
                visitor: taken.visitor,
                result,
            };
            let news = NetInput::Web(Box::new(news));
            select! {
                send(tx, news) -> _ => {}
                recv(quitting) -> _ => {}
            }
        })
        .map_err(WebError::Thread)?;
        self.landing.push(thread);
        Ok(())
    }

    fn set_host_name(&mut self, name: &str) {
        if let Some(server) = &self.server {
            server.set_host_name(name);
        }
    }

    fn reap(&mut self) {
        let (done, running) = std::mem::take(&mut self.landing)
            .into_iter()
            .partition(JoinHandle::is_finished);
        self.landing = running;
        for t in done {
            let _ = t.join();
        }
    }
}

impl Drop for WebSide {
    fn drop(&mut self) {
        self.stop();
        self.quit.take();
        for t in self.landing.drain(..) {
            let _ = t.join();
        }
    }
}

//! The native "choose files" dialog (rfd, through the desktop portal), run on a thread of
//! its own so the window keeps drawing while it is open.

use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

/// Files chosen for a peer: (peer id, path).
type Picked = (String, PathBuf);

/// At most one dialog at a time; what it picked comes back through a channel.
pub struct FilePicker {
    tx: Sender<Picked>,
    rx: Receiver<Picked>,
    open: Option<JoinHandle<()>>,
}

impl Default for FilePicker {
    fn default() -> Self {
        let (tx, rx) = unbounded();
        FilePicker { tx, rx, open: None }
    }
}

impl FilePicker {
    /// Opens the dialog for files to send to `peer`, unless one is already open.
    pub fn pick(&mut self, ctx: &egui::Context, peer: String) {
        if self.open.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let (tx, ctx) = (self.tx.clone(), ctx.clone());
        let spawned = std::thread::Builder::new()
            .name("ui-file-dialog".into())
            .spawn(move || {
                let files = rfd::FileDialog::new()
                    .set_title("Send files")
                    .pick_files()
                    .unwrap_or_default();
                for path in files {
                    let _ = tx.send((peer.clone(), path));
                }
                ctx.request_repaint();
            });
        match spawned {
            Ok(t) => self.open = Some(t),
            Err(e) => tracing::warn!("cannot open the file dialog: {e}"),
        }
    }

    /// Files picked since the last call.
    pub fn poll(&mut self) -> Vec<Picked> {
        if self.open.as_ref().is_some_and(|t| t.is_finished()) {
            let _ = self.open.take().map(JoinHandle::join);
        }
        self.rx.try_iter().collect()
    }
}

impl Drop for FilePicker {
    fn drop(&mut self) {
        // A dialog still open is the desktop's; do not wait for the user to close it.
        if let Some(t) = self.open.take()
            && t.is_finished()
        {
            let _ = t.join();
        }
    }
}

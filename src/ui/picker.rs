//! The system's "choose files" dialog, run on a thread of its own so the window keeps
//! drawing while it is open, and what to do when there is none.
//!
//! On Linux the dialog is the desktop portal's (`org.freedesktop.portal.FileChooser`,
//! through `ashpd`), asked directly so a portal that is missing or broken is told apart
//! from a user who cancelled: the first comes back as [`Picked::Unavailable`] and the
//! window opens its own chooser (`chooser`) instead of leaving a dead button. Elsewhere it
//! is the native dialog (`rfd`), which is always there.

use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

/// What came back from the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// Files (or a folder) chosen to send to this peer.
    Files(String, Vec<PathBuf>),
    /// There is no system dialog here, and why (and whether a folder was asked for);
    /// the window offers its own.
    Unavailable(String, String, bool),
}

/// At most one dialog at a time; what it picked comes back through a channel.
pub struct FilePicker {
    tx: Sender<Picked>,
    rx: Receiver<Picked>,
    open: Option<JoinHandle<()>>,
    /// Never try the system dialog (tests): every pick is `Unavailable`.
    system: bool,
}

impl Default for FilePicker {
    fn default() -> Self {
        let (tx, rx) = unbounded();
        FilePicker {
            tx,
            rx,
            open: None,
            system: true,
        }
    }
}

impl FilePicker {
    /// A picker that never opens a system dialog: the window's own chooser every time.
    pub fn in_app_only() -> FilePicker {
        let mut picker = FilePicker::default();
        picker.system = false;
        picker
    }

    /// Opens the dialog for files (or, with `folder`, one folder) to send to `peer`,
    /// unless one is already open.
    pub fn pick(&mut self, ctx: &egui::Context, peer: String, folder: bool) {
        if !self.system {
            let why = "the system file chooser is switched off".to_owned();
            let _ = self.tx.send(Picked::Unavailable(peer, why, folder));
            return;
        }
        if self.open.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let (tx, ctx, for_error) = (self.tx.clone(), ctx.clone(), peer.clone());
        let spawned = std::thread::Builder::new()
            .name("ui-file-dialog".into())
            .spawn(move || {
                let picked = match system_dialog(folder) {
                    Ok(files) => Picked::Files(peer, files),
                    Err(why) => {
                        tracing::info!("no system file chooser ({why}); using lanchat's own");
                        Picked::Unavailable(peer, why, folder)
                    }
                };
                let _ = tx.send(picked);
                ctx.request_repaint();
            });
        match spawned {
            Ok(t) => self.open = Some(t),
            Err(e) => {
                let _ = self.tx.send(Picked::Unavailable(
                    for_error,
                    format!("cannot start the file dialog's thread: {e}"),
                    folder,
                ));
            }
        }
    }

    /// What the dialog gave since the last call.
    pub fn poll(&mut self) -> Vec<Picked> {
        if self.open.as_ref().is_some_and(|t| t.is_finished()) {
            let _ = self.open.take().map(JoinHandle::join);
        }
        self.rx.try_iter().collect()
    }
}

/// The portal's dialog: the files (or with `folder` the folder) chosen, none if
/// cancelled, or why there is no dialog.
#[cfg(target_os = "linux")]
fn system_dialog(folder: bool) -> Result<Vec<PathBuf>, String> {
    use ashpd::desktop::ResponseError;
    use ashpd::desktop::file_chooser::OpenFileRequest;
    let answer = pollster::block_on(async {
        OpenFileRequest::default()
            .title(if folder {
                "Send a folder"
            } else {
                "Send files"
            })
            .directory(folder)
            .multiple(!folder)
            .modal(true)
            .send()
            .await?
            .response()
    });
    match answer {
        Ok(files) => Ok(files
            .uris()
            .iter()
            .filter_map(|u| u.to_file_path().ok())
            .collect()),
        Err(ashpd::Error::Response(ResponseError::Cancelled)) => Ok(Vec::new()),
        Err(e) => Err(format!(
            "the desktop's file chooser portal did not answer: {e}"
        )),
    }
}

/// The native dialog: the files (or with `folder` the folder) chosen, none if cancelled.
#[cfg(not(target_os = "linux"))]
fn system_dialog(folder: bool) -> Result<Vec<PathBuf>, String> {
    let dialog = rfd::FileDialog::new();
    Ok(match folder {
        true => dialog
            .set_title("Send a folder")
            .pick_folder()
            .into_iter()
            .collect(),
        false => dialog
            .set_title("Send files")
            .pick_files()
            .unwrap_or_default(),
    })
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

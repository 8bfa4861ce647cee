//! Picture thumbnails, decoded on worker threads so a big photo never stalls a frame.
//!
//! The window asks for a path once (when a picture transfer is done); a named thread
//! decodes and shrinks it and wakes the window; the next frame turns it into a texture.

use std::collections::HashMap;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

/// Longest side of a thumbnail, in pixels (drawn at most 240 wide: room for HiDPI).
const THUMB_PIXELS: u32 = 480;

enum Thumb {
    Loading,
    Ready(egui::TextureHandle),
    Failed,
}

type Decoded = (String, Result<egui::ColorImage, String>);

/// Thumbnails by file path.
pub struct Thumbs {
    thumbs: HashMap<String, Thumb>,
    tx: Sender<Decoded>,
    rx: Receiver<Decoded>,
    workers: Vec<JoinHandle<()>>,
}

impl Default for Thumbs {
    fn default() -> Self {
        let (tx, rx) = unbounded();
        Thumbs {
            thumbs: HashMap::new(),
            tx,
            rx,
            workers: Vec::new(),
        }
    }
}

impl Thumbs {
    /// Starts decoding `path` unless it is already known.
    pub fn request(&mut self, ctx: &egui::Context, path: &str) {
        if self.thumbs.contains_key(path) {
            return;
        }
        self.thumbs.insert(path.to_owned(), Thumb::Loading);
        let (tx, ctx, path) = (self.tx.clone(), ctx.clone(), path.to_owned());
        let spawned = std::thread::Builder::new()
            .name("ui-thumb".into())
            .spawn(move || {
                let result = decode(&path);
                if let Err(e) = &result {
                    tracing::warn!("cannot show {path} as a picture: {e}");
                }
                let _ = tx.send((path, result));
                ctx.request_repaint();
            });
        match spawned {
            Ok(t) => self.workers.push(t),
            Err(e) => tracing::warn!("cannot start a thumbnail thread: {e}"),
        }
    }

    /// Turns finished decodes into textures; call once per frame.
    pub fn poll(&mut self, ctx: &egui::Context) {
        while let Ok((path, result)) = self.rx.try_recv() {
            let thumb = match result {
                Ok(image) => Thumb::Ready(ctx.load_texture(
                    format!("thumb:{path}"),
                    image,
                    egui::TextureOptions::LINEAR,
                )),
                Err(_) => Thumb::Failed,
            };
            self.thumbs.insert(path, thumb);
        }
        self.workers.retain(|t| !t.is_finished());
    }

    /// The texture for `path`, once decoded.
    pub fn get(&self, path: &str) -> Option<&egui::TextureHandle> {
        match self.thumbs.get(path) {
            Some(Thumb::Ready(t)) => Some(t),
            Some(Thumb::Loading | Thumb::Failed) | None => None,
        }
    }
}

impl Drop for Thumbs {
    fn drop(&mut self) {
        for t in self.workers.drain(..) {
            let _ = t.join();
        }
    }
}

fn decode(path: &str) -> Result<egui::ColorImage, String> {
    let image = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?
        .thumbnail(THUMB_PIXELS, THUMB_PIXELS)
        .to_rgba8();
    let size = [image.width() as usize, image.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(
        size,
        image.as_flat_samples().as_slice(),
    ))
}

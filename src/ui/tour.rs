//! The screenshot tour (`LANCHAT_TOUR=<dir>`), used by `scripts/screenshots.sh`.
//!
//! The window waits for `<dir>/go`, a text file written by the script once its headless
//! peers have chatted. Lines starting with `{` are headless-style commands the window sends
//! as if typed (so its own bubbles appear); lines `shot FILE THEME CONVERSATION [network]
//! [settings]` are scenes. After a short settle the tour sets each scene up, waits for the
//! frame (and the network snapshot) to arrive, saves a PNG through
//! `ViewportCommand::Screenshot`, and closes the window after the last one.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::app::{Action, View};
use super::settings::Theme;
use super::state::{ChatState, ConvKey};

/// How long messages get to travel before the first scene.
const SETTLE: Duration = Duration::from_millis(2500);
/// How long a scene gets to lay out (fonts, network snapshot) before it is captured.
const SCENE: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
struct Shot {
    file: String,
    theme: Theme,
    conv: String,
    network: bool,
    settings: bool,
}

#[derive(Debug)]
enum Stage {
    WaitGo,
    Settle(Instant),
    Scene {
        shot: Shot,
        at: Instant,
        done: Option<Arc<AtomicBool>>,
    },
    Next,
    Done,
}

/// The tour's progress.
#[derive(Debug)]
pub struct Tour {
    dir: PathBuf,
    stage: Stage,
    shots: VecDeque<Shot>,
}

impl Tour {
    /// A tour if `LANCHAT_TOUR` names a directory.
    pub fn from_env() -> Option<Tour> {
        let dir = PathBuf::from(std::env::var_os("LANCHAT_TOUR")?);
        Some(Tour {
            dir,
            stage: Stage::WaitGo,
            shots: VecDeque::new(),
        })
    }

    /// Advances the tour by one frame.
    pub fn step(
        &mut self,
        ctx: &egui::Context,
        state: &mut ChatState,
        view: &mut View,
        actions: &mut Vec<Action>,
    ) {
        let now = Instant::now();
        match &mut self.stage {
            Stage::WaitGo => match std::fs::read_to_string(self.dir.join("go")) {
                Ok(script) => {
                    self.read_script(&script, actions);
                    self.stage = Stage::Settle(now + SETTLE);
                }
                Err(_) => ctx.request_repaint_after(Duration::from_millis(200)),
            },
            Stage::Settle(t) if now < *t => ctx.request_repaint_after(*t - now),
            Stage::Settle(_) | Stage::Next => {
                self.stage = match self.shots.pop_front() {
                    Some(shot) => {
                        set_scene(&shot, state, view, actions);
                        Stage::Scene {
                            shot,
                            at: now + SCENE,
                            done: None,
                        }
                    }
                    None => Stage::Done,
                };
                ctx.request_repaint();
            }
            Stage::Scene { at, .. } if now < *at => ctx.request_repaint_after(*at - now),
            Stage::Scene {
                shot, done: None, ..
            } => {
                let flag = Arc::new(AtomicBool::new(false));
                let path = self.dir.join(&shot.file);
                let (flag2, ctx2) = (flag.clone(), ctx.clone());
                ctx.request_screenshot(move |image| {
                    if let Err(e) = save_png(&image, &path) {
                        tracing::error!("tour: cannot write {}: {e}", path.display());
                    } else {
                        tracing::info!("tour: wrote {}", path.display());
                    }
                    flag2.store(true, Ordering::SeqCst);
                    ctx2.request_repaint();
                });
                if let Stage::Scene { done, .. } = &mut self.stage {
                    *done = Some(flag);
                }
                ctx.request_repaint();
            }
            Stage::Scene {
                done: Some(flag), ..
            } => {
                if flag.load(Ordering::SeqCst) {
                    self.stage = Stage::Next;
                }
                ctx.request_repaint_after(Duration::from_millis(50));
            }
            Stage::Done => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    fn read_script(&mut self, script: &str, actions: &mut Vec<Action>) {
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line.starts_with('{') {
                match crate::headless::parse_command(line) {
                    Ok(cmd) => actions.push(Action::Core(cmd)),
                    Err(e) => tracing::error!("tour: {e}"),
                }
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let ["shot", file, theme, conv, flags @ ..] = words.as_slice() else {
                tracing::error!("tour: cannot read {line:?}");
                continue;
            };
            let theme = match *theme {
                "light" => Theme::Light,
                "dark" => Theme::Dark,
                _ => Theme::System,
            };
            self.shots.push_back(Shot {
                file: (*file).to_owned(),
                theme,
                conv: (*conv).to_owned(),
                network: flags.contains(&"network"),
                settings: flags.contains(&"settings"),
            });
        }
    }
}

fn set_scene(shot: &Shot, state: &ChatState, view: &mut View, actions: &mut Vec<Action>) {
    view.prefs.theme = shot.theme;
    view.show_network = shot.network;
    view.settings = None;
    if shot.settings {
        actions.push(Action::OpenSettings);
    }
    let conv = if shot.conv == "Everyone" {
        Some(ConvKey::Everyone)
    } else {
        state
            .peers
            .values()
            .find(|p| p.name == shot.conv)
            .map(|p| ConvKey::Peer(p.id.clone().into()))
    };
    match conv {
        Some(c) => actions.push(Action::Select(c)),
        None => tracing::error!("tour: no conversation {:?}", shot.conv),
    }
}

fn save_png(image: &egui::ColorImage, path: &std::path::Path) -> image::ImageResult<()> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    image::save_buffer(path, &bytes, w as u32, h as u32, image::ColorType::Rgba8)
}

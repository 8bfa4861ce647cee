//! The screenshot tour (`LANCHAT_TOUR=<dir>`), used by `scripts/screenshots.sh`.
//!
//! The window waits for `<dir>/go`, a text file written by the script once its headless
//! peers have chatted. Lines starting with `{` are headless-style commands the window sends
//! as if typed (so its own bubbles appear); lines `shot FILE THEME CONVERSATION [network]
//! [settings] [attach] [web] [verify] [reach] [search=WORDS] [size=WxH]` are scenes (the
//! 📎 button pressed; "Let a browser join…" open; the "Verify…" window open for the
//! conversation's peer; "Add by address…" open; a search typed in the box; the window
//! resized, else
//! 1240×760). After a short settle the tour sets each scene up, waits for the
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

/// The window's size in scenes that do not set one.
const SIZE: egui::Vec2 = egui::vec2(1240.0, 760.0);

#[derive(Debug, Clone)]
struct Shot {
    file: String,
    theme: Theme,
    conv: String,
    network: bool,
    settings: bool,
    search: Option<String>,
    size: egui::Vec2,
    attach: bool,
    web: bool,
    verify: bool,
    reach: bool,
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
                        ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(shot.size));
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
            let value = |key: &str| flags.iter().find_map(|f| f.strip_prefix(key));
            let size = value("size=")
                .and_then(|s| s.split_once('x'))
                .and_then(|(w, h)| Some(egui::vec2(w.parse().ok()?, h.parse().ok()?)))
                .unwrap_or(SIZE);
            self.shots.push_back(Shot {
                file: (*file).to_owned(),
                theme,
                conv: (*conv).to_owned(),
                network: flags.contains(&"network"),
                settings: flags.contains(&"settings"),
                search: value("search=").map(str::to_owned),
                size,
                attach: flags.contains(&"attach"),
                web: flags.contains(&"web"),
                verify: flags.contains(&"verify"),
                reach: flags.contains(&"reach"),
            });
        }
    }
}

fn set_scene(shot: &Shot, state: &mut ChatState, view: &mut View, actions: &mut Vec<Action>) {
    view.prefs.theme = shot.theme;
    view.show_network = shot.network;
    view.settings = None;
    view.web_join = shot.web;
    view.reach = shot.reach.then(String::new);
    view.search.clear();
    state.search = None;
    if let Some(words) = &shot.search {
        view.search.type_in(words);
    }
    if shot.settings {
        actions.push(Action::OpenSettings);
    }
    let conv = if shot.conv == "Everyone" {
        Some(ConvKey::Everyone)
    } else {
        let room = state.rooms.values().find(|r| r.name == shot.conv);
        room.map(|r| ConvKey::Room(r.id.clone())).or_else(|| {
            state
                .peers
                .values()
                .find(|p| p.name == shot.conv)
                .map(|p| ConvKey::Peer(p.id.clone().into()))
        })
    };
    view.chooser = None;
    view.verify = None;
    if let Some(ConvKey::Peer(peer)) = &conv
        && shot.verify
    {
        actions.push(Action::Verify(peer.clone()));
    }
    match conv {
        Some(ConvKey::Peer(peer)) if shot.attach => {
            actions.push(Action::Select(ConvKey::Peer(peer.clone())));
            actions.push(Action::PickFiles(peer));
        }
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

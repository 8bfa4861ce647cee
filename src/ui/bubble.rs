//! One row of the conversation: a bubble (sender, text or file card, time and delivery
//! mark) and the day separator above it, plus the height a bubble is guessed to have before
//! it has been laid out once.

use egui::{Align, Color32, Layout, RichText};

use super::app::Action;
use super::file_card;
use super::links;
use super::rooms;
use super::state::{ChatMessage, ChatState, ConvKey, Mark};
use super::thumbs::Thumbs;
use super::timefmt;
use crate::node::Protocol;

/// Widest a bubble gets, as a share of the conversation's width.
const BUBBLE_WIDTH: f32 = 0.72;
/// Room for the time and mark under the text.
const FOOTER_WIDTH: f32 = 64.0;

/// A bubble's height before it has been laid out: its text wrapped at an average glyph
/// width (a byte of UTF-8 is about 6.5 points wide at 15 points, for Latin letters and for
/// CJK characters, three bytes each, alike). Corrected as soon as the row is laid out.
pub fn estimate(m: &ChatMessage, width: f32, show_sender: bool) -> f32 {
    const LINE: f32 = 20.0;
    const FRAME_AND_FOOTER: f32 = 14.0 + 17.0 + 4.0 + 6.0;
    if m.transfer.is_some() {
        return 150.0;
    }
    let room = (width * BUBBLE_WIDTH - 24.0).max(40.0);
    let lines: f32 = m
        .text
        .split('\n')
        .map(|l| (l.len() as f32 * 6.5 / room).ceil().max(1.0))
        .sum();
    let sender = if show_sender && !m.is_mine() {
        16.0
    } else {
        0.0
    };
    FRAME_AND_FOOTER + sender + lines * LINE
}

pub fn day_separator(ui: &mut egui::Ui, label: &str) {
    ui.add_space(6.0);
    ui.vertical_centered(|ui| {
        let bg = ui.visuals().widgets.noninteractive.bg_fill;
        ui.label(
            RichText::new(format!("  {label}  "))
                .small()
                .background_color(bg),
        );
    });
    ui.add_space(4.0);
}

pub fn bubble(
    ui: &mut egui::Ui,
    m: &ChatMessage,
    show_sender: bool,
    highlight: bool,
    state: &ChatState,
    thumbs: &Thumbs,
    actions: &mut Vec<Action>,
) -> egui::Response {
    let mine = m.is_mine();
    let transfer = m.transfer.as_ref().and_then(|id| state.transfers.get(id));
    let room = match &state.selected {
        ConvKey::Room(id) if mine && transfer.is_none() => rooms::progress(state, id, m),
        _ => None,
    };
    // A count ("2/49") beside the mark while members are missing.
    let footer_width = match &room {
        Some(p) if !p.all() => FOOTER_WIDTH + 30.0,
        _ => FOOTER_WIDTH,
    };
    let max_width = ui.available_width() * BUBBLE_WIDTH;
    let layout = if mine {
        Layout::right_to_left(Align::TOP)
    } else {
        Layout::left_to_right(Align::TOP)
    };
    let dark = ui.visuals().dark_mode;
    let fill = match (mine, dark) {
        (true, true) => Color32::from_rgb(0x1f, 0x4f, 0x7a),
        (true, false) => Color32::from_rgb(0xd4, 0xe9, 0xff),
        (false, true) => Color32::from_rgb(0x32, 0x35, 0x3b),
        (false, false) => Color32::from_rgb(0xee, 0xef, 0xf2),
    };
    let r = ui.with_layout(layout, |ui| {
        ui.add_space(8.0);
        let stroke = if highlight {
            egui::Stroke::new(2.5, ui.visuals().selection.stroke.color)
        } else {
            egui::Stroke::NONE
        };
        egui::Frame::new()
            .fill(fill)
            .stroke(stroke)
            .corner_radius(12)
            .inner_margin(egui::Margin::symmetric(12, 7))
            .show(ui, |ui| {
                let sender = (show_sender && !mine).then(|| {
                    egui::WidgetText::from(
                        RichText::new(&m.from_name)
                            .small()
                            .strong()
                            .color(name_colour(&m.from_name, dark)),
                    )
                    .into_galley(
                        ui,
                        Some(egui::TextWrapMode::Truncate),
                        max_width,
                        egui::TextStyle::Small,
                    )
                });
                let found = links::find(&m.text);
                let strong = ui.visuals().strong_text_color();
                let text = if found.is_empty() {
                    egui::WidgetText::from(RichText::new(&m.text).size(15.0).color(strong))
                } else {
                    let plain = egui::TextFormat::simple(egui::FontId::proportional(15.0), strong);
                    egui::WidgetText::from(links::job(&m.text, &found, plain, link_colour(dark)))
                }
                .into_galley(
                    ui,
                    Some(egui::TextWrapMode::Wrap),
                    max_width,
                    egui::TextStyle::Body,
                );
                let width = text
                    .size()
                    .x
                    .max(sender.as_ref().map_or(0.0, |g| g.size().x))
                    .max(footer_width);
                let width = if transfer.is_some() { 340.0 } else { width };
                ui.set_width(width.min(max_width));
                ui.with_layout(Layout::top_down(Align::Min), |ui| {
                    if let Some(sender) = sender {
                        ui.add(egui::Label::new(sender).selectable(false));
                    }
                    match transfer {
                        Some(t) => {
                            // IPMsg sends no checksum: its files are not verified.
                            let verified = state
                                .peers
                                .get(&t.peer)
                                .is_none_or(|p| p.protocol == Protocol::Lanchat);
                            // An offer from a peer whose key nobody compared.
                            let stranger =
                                state.peers.get(&t.peer).is_none_or(|p| !p.trust.verified);
                            let card = file_card::Card {
                                thumbs,
                                verified,
                                stranger,
                            };
                            file_card::show(ui, t, &card, max_width, actions)
                        }
                        None => {
                            let r = ui.add(egui::Label::new(text.clone()));
                            if let Some(url) = link_under_pointer(&r, &text, &m.text, &found) {
                                ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
                                let r = r.on_hover_text(format!("Open {url}"));
                                if r.clicked() {
                                    actions.push(Action::OpenUrl(url));
                                }
                            }
                        }
                    }
                    let failure = state.failures.get(&m.msg_id).map(String::as_str);
                    footer(ui, m, waiting(state, m), failure, room.as_ref());
                });
            })
            .response
    });
    ui.add_space(4.0);
    r.inner
}

/// Our message waits for a peer that is offline, or that cannot take it now (a clock,
/// not a tick).
fn waiting(state: &ChatState, m: &ChatMessage) -> bool {
    match (&state.selected, m.mark) {
        (_, Mark::Pending) => true,
        (ConvKey::Peer(id), Mark::Sent) => {
            state.peers.get(id).is_none_or(|p| !p.online) || state.waiting.contains_key(id)
        }
        _ => false,
    }
}

/// The link under the pointer in a message's text label, if any.
fn link_under_pointer(
    r: &egui::Response,
    galley: &std::sync::Arc<egui::Galley>,
    text: &str,
    found: &[std::ops::Range<usize>],
) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    let pos = r.hover_pos()? - r.rect.min;
    let cursor = galley.cursor_from_pos(pos);
    // The cursor falls between characters: the one under the pointer is before it when
    // the pointer is left of the cursor.
    let mut index = cursor.index.0;
    if index > 0 && galley.pos_from_cursor(cursor).min.x > pos.x {
        index -= 1;
    }
    links::at(text, found, index)
}

/// What a mark looks like: the way messengers draw them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MarkIcon {
    /// Waiting to go out.
    Clock,
    /// Sent.
    Tick,
    /// Delivered.
    DoubleTick,
    /// Refused by the recipient: not delivered, never will be.
    Failed,
}

/// Time and delivery mark, right-aligned under the text: 🕓 waiting (the peer is offline,
/// or cannot take it now), ✓ sent, ✓✓ delivered, ! not delivered (`failure`: why),
/// painted. In a room (`room`: who has it), ✓ and a count ("1/3") while members are
/// missing, ✓✓ once all have it, ! and the count when the missing ones refused it. The
/// words are in the tooltip.
fn footer(
    ui: &mut egui::Ui,
    m: &ChatMessage,
    waiting: bool,
    failure: Option<&str>,
    room: Option<&rooms::Progress>,
) {
    let time = timefmt::clock(m.sent_at);
    let mut count = None;
    let (icon, meaning) = match (m.mark, room) {
        (Mark::Pending | Mark::Sent | Mark::Delivered, Some(p)) => {
            let icon = if p.all() {
                MarkIcon::DoubleTick
            } else if p.waiting.is_empty() {
                count = Some(p.count());
                MarkIcon::Failed // no one is waited for, and someone refused it
            } else {
                count = Some(p.count());
                MarkIcon::Tick
            };
            (Some(icon), p.words(&time))
        }
        _ => footer_mark(m, &time, waiting, failure),
    };
    let r = ui.with_layout(Layout::right_to_left(Align::Min), |ui| {
        ui.spacing_mut().item_spacing.x = 3.0;
        let colour = match icon {
            Some(MarkIcon::DoubleTick) => link_colour(ui.visuals().dark_mode),
            Some(MarkIcon::Failed) => ui.visuals().error_fg_color,
            _ => ui.visuals().weak_text_color(),
        };
        let mark = icon.map(|i| paint_mark(ui, i, colour));
        let weak = ui.visuals().weak_text_color();
        let count = count.map(|c| {
            ui.add(egui::Label::new(RichText::new(c).small().color(weak)).selectable(false))
        });
        let time =
            ui.add(egui::Label::new(RichText::new(time).small().color(weak)).selectable(false));
        [mark, count]
            .into_iter()
            .flatten()
            .fold(time, |all, r| all.union(r))
    });
    let r = r.inner.on_hover_text(&meaning);
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &meaning));
}

/// The mark and its words outside rooms.
fn footer_mark(
    m: &ChatMessage,
    time: &str,
    waiting: bool,
    failure: Option<&str>,
) -> (Option<MarkIcon>, String) {
    match m.mark {
        Mark::Received => (None, format!("received at {time}")),
        Mark::Pending | Mark::Sent if waiting => (
            Some(MarkIcon::Clock),
            format!("written at {time}, waiting: it goes out when they are back online"),
        ),
        Mark::Pending | Mark::Sent => (
            Some(MarkIcon::Tick),
            format!("sent at {time}, not yet confirmed by their computer"),
        ),
        Mark::Delivered => (Some(MarkIcon::DoubleTick), format!("delivered at {time}")),
        Mark::Failed => (
            Some(MarkIcon::Failed),
            format!(
                "not delivered: their computer refused it ({}); it will not be sent again",
                failure.unwrap_or("no reason given")
            ),
        ),
        Mark::Shouted => (
            Some(MarkIcon::Tick),
            format!("sent to everyone online at {time}; broadcasts have no delivery receipts"),
        ),
    }
}

/// Paints a mark in the footer's line and returns its place.
fn paint_mark(ui: &mut egui::Ui, icon: MarkIcon, colour: Color32) -> egui::Response {
    let width = if icon == MarkIcon::DoubleTick {
        16.0
    } else {
        11.0
    };
    let (rect, r) = ui.allocate_exact_size(egui::vec2(width, 12.0), egui::Sense::hover());
    let p = ui.painter();
    let stroke = egui::Stroke::new(1.4, colour);
    let c = rect.center();
    let tick = |x: f32| {
        let a = egui::pos2(x, c.y + 0.5);
        let b = egui::pos2(x + 2.8, c.y + 3.3);
        let top = egui::pos2(x + 8.0, c.y - 3.3);
        p.line_segment([a, b], stroke);
        p.line_segment([b, top], stroke);
    };
    match icon {
        MarkIcon::Clock => {
            p.circle_stroke(c, 4.6, stroke);
            p.line_segment([c, c + egui::vec2(0.0, -3.0)], stroke);
            p.line_segment([c, c + egui::vec2(2.2, 1.2)], stroke);
        }
        MarkIcon::Tick => tick(rect.left() + 1.0),
        MarkIcon::Failed => {
            p.circle_stroke(c, 4.6, stroke);
            p.line_segment(
                [c + egui::vec2(0.0, -2.8), c + egui::vec2(0.0, 0.8)],
                stroke,
            );
            p.circle_filled(c + egui::vec2(0.0, 2.6), 0.8, colour);
        }
        MarkIcon::DoubleTick => {
            tick(rect.left() + 1.0);
            // The second tick's short stroke hides behind the first one's long stroke.
            let x = rect.left() + 6.0;
            let b = egui::pos2(x + 2.8, c.y + 3.3);
            p.line_segment([b, egui::pos2(x + 8.0, c.y - 3.3)], stroke);
            p.line_segment([egui::pos2(x + 1.4, c.y + 1.9), b], stroke);
        }
    }
    r
}

/// The colour of links and of the delivered mark.
fn link_colour(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0x7c, 0xc4, 0xff)
    } else {
        Color32::from_rgb(0x1a, 0x5f, 0xc8)
    }
}

/// A stable, readable colour per sender name.
fn name_colour(name: &str, dark: bool) -> Color32 {
    let h = name.bytes().fold(2_166_136_261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    let hue = (h % 360) as f32 / 360.0;
    let (s, v) = if dark { (0.55, 0.95) } else { (0.75, 0.6) };
    egui::ecolor::Hsva::new(hue, s, v, 1.0).into()
}

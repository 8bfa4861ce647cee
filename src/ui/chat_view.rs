//! The open conversation: a header, the error banner, and the bubbles, with day
//! separators, times and delivery marks. It follows new messages unless the user has
//! scrolled up; then a "new messages" pill offers the way back down.
//!
//! The list is virtualised: rows have different heights (wrapped text, file cards,
//! pictures, day separators), so each conversation keeps a [`RowHeights`] — measured when
//! a row was laid out, estimated before — and each frame lays out only the rows that
//! intersect the viewport, plus [`MARGIN`] above and below. The row at the top of the
//! viewport is the *anchor*: it is drawn where it was, the rows below it follow it, the
//! rows above are drawn upwards from it (clipped to their place), and when a height above
//! it changes — a page of older messages was put before it, or a row above was measured —
//! the scroll offset moves by the same amount on the next frame, so nothing on screen
//! jumps. Near the top of what is loaded it asks for the page before; in a window around
//! a search hit, near its bottom for the page after.

use std::collections::HashMap;

use egui::{Align, Color32, Layout, RichText};

use super::app::{Action, View};
use super::bubble;
use super::conversation::{Conversation, Paging, Shape};
use super::rows::RowHeights;
use super::state::{ChatState, ConvKey};
use super::thumbs::Thumbs;
use super::timefmt;

/// Rows laid out beyond each edge of the viewport, in points.
pub const MARGIN: f32 = 240.0;
/// The next page is asked for when the viewport is this many viewport heights or fewer
/// from the edge of what is loaded.
const PAGE_AHEAD: f32 = 1.5;

/// What the view remembers of one conversation between frames.
#[derive(Debug, Default)]
pub struct ConvView {
    /// Row heights, in step with the conversation's rows.
    pub heights: RowHeights,
    /// The row at the top of the viewport last frame.
    anchor: Option<Anchor>,
    /// The scroll area's id (to read its offset before it is shown).
    scroll_id: Option<egui::Id>,
    /// The view was at the bottom last frame (then it follows new messages instead).
    at_bottom: bool,
    /// Width and height of the viewport last frame.
    size: egui::Vec2,
    /// Messages of this run seen at the bottom (for the "new messages" pill).
    seen: Option<usize>,
}

/// Where a frame puts the viewport.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// Where the user left it.
    Stay,
    /// Moved by this much, to keep the anchor row in place.
    By(f32),
    /// Centred on this row (a search hit).
    Centre(usize),
    /// At the newest message.
    Bottom,
}

/// The row at the top of the viewport, as it was drawn.
#[derive(Debug)]
struct Anchor {
    index: usize,
    msg_id: String,
    /// Where its bubble was drawn, as an offset from the top of the content.
    top: f64,
    /// The conversation's shape then: rows put before it since then moved it down.
    shape: Shape,
}

/// Per-frame view state of the conversations.
#[derive(Debug, Default)]
pub struct Conversations {
    /// By conversation.
    pub views: HashMap<ConvKey, ConvView>,
    /// Rows laid out in the last frame (bounded by the viewport, not by the history).
    pub rows_laid_out: usize,
}

/// The bubbles of the open conversation.
pub fn show(
    ui: &mut egui::Ui,
    state: &ChatState,
    view: &mut View,
    thumbs: &Thumbs,
    actions: &mut Vec<Action>,
) {
    let conv = state.selected.clone();
    let scroll_to_bottom = std::mem::take(&mut view.scroll_to_bottom);
    view.conversations.rows_laid_out = 0;
    let Some(c) = state
        .conversations
        .get(&conv)
        .filter(|c| !c.messages.is_empty())
    else {
        ui.centered_and_justified(|ui| {
            let hint = match (&conv, state.conversations.get(&conv)) {
                (_, Some(c)) if c.is_window() => "Loading…",
                (ConvKey::Everyone, _) => "Say something to everyone on the network",
                (ConvKey::Peer(_), _) => "No messages yet",
                (ConvKey::Room(_), _) => "No messages yet: everyone in the room gets what you say",
            };
            ui.label(RichText::new(hint).weak());
        });
        return;
    };
    let messages = &c.messages;
    // Where several people speak, each bubble says who (Everyone, a room).
    let show_senders = matches!(conv, ConvKey::Everyone | ConvKey::Room(_));
    let cv = view.conversations.views.entry(conv.clone()).or_default();
    let width = if cv.size.x > 0.0 {
        cv.size.x
    } else {
        ui.available_width()
    };
    cv.heights.sync(
        messages,
        c.shape,
        |m| bubble::estimate(m, width, show_senders),
        |m| i64::from(chrono::Datelike::num_days_from_ce(&timefmt::day(m.sent_at))),
    );
    let jump = view
        .jump_to
        .as_ref()
        .and_then(|id| c.position(id).map(|i| (i, id.clone())));
    // A conversation shown for the first time starts at its newest message.
    let scroll_to_bottom = scroll_to_bottom || cv.scroll_id.is_none();
    // Where the viewport must go this frame, if not where the user left it.
    let place = if let Some((i, id)) = &jump {
        view.highlight = Some(id.clone());
        view.jump_to = None;
        Place::Centre(*i)
    } else if scroll_to_bottom {
        Place::Bottom
    } else if let Some(delta) = anchor_moved(cv, c).filter(|_| !cv.at_bottom) {
        Place::By(delta)
    } else {
        Place::Stay
    };
    let highlight = view.highlight.as_deref();
    let mut laid_out = 0;
    let area = egui::ScrollArea::vertical()
        .id_salt(("conversation", &conv))
        // Moves decided below apply at the end of the frame, not over the next ones.
        .animated(false)
        .stick_to_bottom(true)
        .auto_shrink([false, false]);
    let out = area.show_viewport(ui, |ui, viewport| {
        let h = &mut cv.heights;
        // The scroll area placed the content for the offset it had; a move decided here
        // takes effect at the end of this frame (an explicit scroll, so the area neither
        // snaps back to the bottom nor springs back from an edge it measured last frame).
        // Meanwhile the rows are drawn where that move puts them.
        let room = (h.total() as f32 - viewport.height()).max(0.0);
        let shift = match place {
            Place::Stay => 0.0,
            Place::By(delta) => delta,
            Place::Centre(i) => {
                let centre = h.top(i) as f32 + h.height(i) / 2.0;
                (centre - viewport.height() / 2.0).clamp(0.0, room) - viewport.min.y
            }
            Place::Bottom => room - viewport.min.y,
        };
        if place != Place::Stay {
            // Past the end for the bottom: the area clamps it to the real end, where it
            // sticks again.
            let extra = if place == Place::Bottom { 1.0e6 } else { 0.0 };
            ui.scroll_with_delta_animation(
                egui::vec2(0.0, -(shift + extra)),
                egui::style::ScrollAnimation::none(),
            );
        }
        let viewport = viewport.translate(egui::vec2(0.0, shift));
        // A conversation shorter than the view sits at its bottom, next to the composer,
        // as in every chat app: the rows start `pad` lower (offsets stay unpadded).
        let pad = (viewport.height() - h.total() as f32).max(0.0);
        let origin = ui.max_rect().min - egui::vec2(0.0, shift) + egui::vec2(0.0, pad);
        let width = ui.max_rect().width();
        let a = h.index_at(f64::from(viewport.min.y));
        let anchor_top = h.top(a);
        let rows = Rows {
            messages,
            origin,
            width,
            show_senders,
            highlight,
            state,
            thumbs,
        };
        // The anchor and the rows below it, each where the one before ended.
        let mut i = a;
        let mut y = anchor_top;
        while i < messages.len() && y < f64::from(viewport.max.y + MARGIN) {
            rows.draw(ui, h, i, y, None, actions);
            laid_out += 1;
            y += f64::from(h.height(i));
            i += 1;
        }
        // The rows above it, upwards, each clipped to end where the one below starts.
        let mut j = a;
        let mut bottom = anchor_top;
        while j > 0 && bottom > f64::from(viewport.min.y - MARGIN) {
            j -= 1;
            let top = bottom - f64::from(h.height(j));
            rows.draw(ui, h, j, top, Some(bottom as f32), actions);
            laid_out += 1;
            bottom = top;
        }
        ui.set_min_height(h.total() as f32 + pad);
        ui.set_min_width(width);
        // Where the anchor's bubble was drawn (below its separator, if any).
        let drawn = anchor_top + (h.bubble_top(a) - h.top(a));
        (a, drawn, viewport)
    });
    let (a, anchor_top, viewport) = out.inner;
    view.conversations.rows_laid_out = laid_out;
    cv.anchor = Some(Anchor {
        index: a,
        msg_id: messages[a].msg_id.clone(),
        top: anchor_top,
        shape: c.shape,
    });
    cv.scroll_id = Some(out.id);
    cv.size = out.inner_rect.size();
    cv.at_bottom = out.state.clamped_offset().y + out.inner_rect.height()
        >= out.content_size.y - 4.0
        && !c.is_window();
    let near = PAGE_AHEAD * viewport.height();
    if viewport.min.y < near && c.older == Paging::More && c.oldest_row().is_some() {
        actions.push(Action::Older(conv.clone()));
    }
    if c.is_window() && c.newer == Paging::More && viewport.max.y > cv.heights.total() as f32 - near
    {
        actions.push(Action::Newer(conv.clone()));
    }
    let at_bottom = (cv.at_bottom || scroll_to_bottom) && jump.is_none();
    let seen = cv.seen.get_or_insert(c.arrived);
    if at_bottom {
        *seen = c.arrived;
    } else if c.arrived > *seen || c.is_window() {
        let fresh = c.arrived.saturating_sub(*seen);
        new_messages_pill(ui, out.inner_rect, fresh, actions);
    }
}

/// What every row of one frame is drawn with.
struct Rows<'a> {
    messages: &'a std::collections::VecDeque<super::state::ChatMessage>,
    /// Where the content starts on screen (offset 0).
    origin: egui::Pos2,
    width: f32,
    /// Each bubble says who wrote it (Everyone, a room).
    show_senders: bool,
    highlight: Option<&'a str>,
    state: &'a ChatState,
    thumbs: &'a Thumbs,
}

impl Rows<'_> {
    /// Lays out row `i` with its top at offset `top` (clipped below `clip_below`, for
    /// a row above the anchor), and records its measured height.
    fn draw(
        &self,
        ui: &mut egui::Ui,
        h: &mut RowHeights,
        i: usize,
        top: f64,
        clip_below: Option<f32>,
        actions: &mut Vec<Action>,
    ) {
        let m = &self.messages[i];
        let at = self.origin + egui::vec2(0.0, top as f32);
        let mut row = ui.new_child(
            egui::UiBuilder::new()
                .id_salt(("row", &m.msg_id))
                .max_rect(egui::Rect::from_min_size(
                    at,
                    egui::vec2(self.width, f32::INFINITY),
                ))
                .layout(Layout::top_down(Align::Min)),
        );
        if let Some(bottom) = clip_below {
            let mut clip = row.clip_rect();
            clip.max.y = clip.max.y.min(self.origin.y + bottom);
            row.set_clip_rect(clip);
        }
        if h.starts_day(i) {
            let y = row.cursor().min.y;
            let label = timefmt::day_label(m.sent_at, timefmt::now_ms());
            bubble::day_separator(&mut row, &label);
            h.set_separator(row.cursor().min.y - y);
        }
        let y = row.cursor().min.y;
        let marked = self.highlight == Some(m.msg_id.as_str());
        let r = bubble::bubble(
            &mut row,
            m,
            self.show_senders,
            marked,
            self.state,
            self.thumbs,
            actions,
        );
        if marked {
            r.highlight();
        }
        h.set_bubble(i, row.cursor().min.y - y);
    }
}

/// How far the anchor row moved since it was drawn: rows were put before it, or rows
/// above it were measured. `None` if it is gone (the rows were replaced).
fn anchor_moved(cv: &ConvView, c: &Conversation) -> Option<f32> {
    let anchor = cv.anchor.as_ref()?;
    if anchor.shape.epoch != c.shape.epoch {
        return None;
    }
    let index = anchor.index + (c.shape.prepended - anchor.shape.prepended) as usize;
    if c.messages.get(index)?.msg_id != anchor.msg_id {
        return None;
    }
    let delta = (cv.heights.bubble_top(index) - anchor.top) as f32;
    (delta.abs() > 0.25).then_some(delta)
}

fn new_messages_pill(ui: &mut egui::Ui, area: egui::Rect, fresh: usize, actions: &mut Vec<Action>) {
    let text = match fresh {
        0 => "⬇ Newest messages".to_owned(),
        1 => "⬇ 1 new message".to_owned(),
        n => format!("⬇ {n} new messages"),
    };
    let pos = egui::pos2(area.center().x, area.bottom() - 36.0);
    egui::Area::new(ui.scope_id().with("new-messages"))
        .fixed_pos(pos)
        .pivot(egui::Align2::CENTER_CENTER)
        .order(egui::Order::Foreground)
        .show(ui.ctx(), |ui| {
            let b = egui::Button::new(RichText::new(text).strong().color(Color32::WHITE))
                .fill(Color32::from_rgb(0x2d, 0x7d, 0xd2))
                .corner_radius(14);
            if ui.add(b).clicked() {
                actions.push(Action::ScrollToBottom);
            }
        });
}

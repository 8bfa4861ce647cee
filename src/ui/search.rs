//! Full-text search over history, in the left panel: results appear as the user types
//! (asked [`DEBOUNCE`] after the last keystroke), in place of the peer list, so nothing
//! covers the name, the status or the conversation. A click on a hit opens its
//! conversation scrolled to the message and closes the search; ✖ or Escape closes it too,
//! and closing clears the query.

use egui::{RichText, text::LayoutJob};

use super::app::{Action, View};
use super::state::{ChatState, ConvKey};
use super::timefmt;
use crate::node::Command;
use crate::store::StoredMessage;

/// Most hits asked for.
const HITS: usize = 200;
/// How long after the last keystroke the query goes to the core, in seconds.
pub const DEBOUNCE: f64 = 0.25;

/// What the search box has asked, and when it was last edited.
#[derive(Debug, Default)]
pub struct SearchInput {
    /// What is typed in the box.
    pub query: String,
    /// When it was last edited (egui time), until it is asked.
    edited: Option<f64>,
    /// The last query sent to the core.
    asked: Option<String>,
}

impl SearchInput {
    /// Whether the panel shows search results instead of the peer list.
    pub fn active(&self) -> bool {
        !self.query.trim().is_empty()
    }

    /// Puts `query` in the box as if typed, to be asked at once.
    pub fn type_in(&mut self, query: &str) {
        self.query = query.to_owned();
        self.edited = Some(f64::NEG_INFINITY);
    }

    /// Forgets the query (the search was closed).
    pub fn clear(&mut self) {
        *self = SearchInput::default();
    }
}

/// The search box. Typing asks the core once the typing pauses (see [`tick`]); Enter
/// asks at once; Escape closes.
pub fn search_box(ui: &mut egui::Ui, view: &mut View, actions: &mut Vec<Action>) {
    let input = &mut view.search;
    let label = ui.label(RichText::new("Search messages").small().weak());
    // The close button sits inside the field's right margin: it takes no room, so the
    // field's width never changes and the panel never grows to fit them.
    let r = ui
        .add(
            egui::TextEdit::singleline(&mut input.query)
                .hint_text("🔍 words, 中文…")
                .margin(egui::Margin {
                    left: 4,
                    right: 24,
                    top: 2,
                    bottom: 2,
                })
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    let now = ui.input(|i| i.time);
    if r.changed() {
        input.edited = Some(now);
    }
    // A text field gives up its focus on Escape.
    let escape = ui.input(|i| i.key_pressed(egui::Key::Escape));
    if (r.has_focus() || r.lost_focus()) && escape {
        actions.push(Action::CloseSearch);
    }
    if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        ask(input, actions);
    }
    if input.active() {
        let at = egui::Rect::from_center_size(
            egui::pos2(r.rect.right() - 12.0, r.rect.center().y),
            egui::vec2(18.0, 18.0),
        );
        if super::icons::close_at(ui, at, "Close the search").clicked() {
            actions.push(Action::CloseSearch);
        }
    }
}

/// Asks the core for the query once typing has paused for [`DEBOUNCE`] seconds, and
/// otherwise wakes the window when it will have.
pub fn tick(ctx: &egui::Context, input: &mut SearchInput, actions: &mut Vec<Action>) {
    let Some(edited) = input.edited else {
        return;
    };
    let query = input.query.trim().to_owned();
    if query.is_empty() {
        input.edited = None;
        input.asked = None;
        return;
    }
    let wait = edited + DEBOUNCE - ctx.input(|i| i.time);
    if wait > 0.0 {
        ctx.request_repaint_after(std::time::Duration::from_secs_f64(wait));
        return;
    }
    ask(input, actions);
}

/// Asks the core for the query in the box, unless that was the last one asked.
fn ask(input: &mut SearchInput, actions: &mut Vec<Action>) {
    input.edited = None;
    let query = input.query.trim().to_owned();
    if !query.is_empty() && input.asked.as_deref() != Some(&query) {
        input.asked = Some(query.clone());
        actions.push(Action::Core(Command::Search { query, limit: HITS }));
    }
}

/// The results of the query in the box, in place of the peer list.
pub fn results(
    ui: &mut egui::Ui,
    state: &ChatState,
    input: &SearchInput,
    actions: &mut Vec<Action>,
) {
    let query = input.query.trim();
    let hits = match &state.search {
        Some((asked, hits)) if asked == query => hits,
        _ => {
            ui.add_space(8.0);
            ui.label(RichText::new("Searching…").weak());
            return;
        }
    };
    ui.add_space(4.0);
    let summary = match hits.len() {
        0 => "No messages match".to_owned(),
        1 => "1 message".to_owned(),
        n if n >= HITS => format!("The newest {n} messages"),
        n => format!("{n} messages, newest first"),
    };
    ui.label(RichText::new(summary).small().weak());
    ui.add_space(4.0);
    let now = timefmt::now_ms();
    for hit in hits {
        hit_row(ui, state, hit, query, now, actions);
    }
}

/// One hit: where and when, then who said what, the words found marked.
fn hit_row(
    ui: &mut egui::Ui,
    state: &ChatState,
    hit: &StoredMessage,
    query: &str,
    now: u64,
    actions: &mut Vec<Action>,
) {
    let conv = ConvKey::from_peer(&hit.peer);
    // A conversation with someone no longer in the table is named by the name they
    // signed the message with, rather than the start of their id.
    let mut place = state.title(&conv);
    if place == super::state::short_id(&hit.peer) && hit.dir == crate::store::Direction::In {
        place.clone_from(&hit.from_name);
    }
    let when = if timefmt::day(hit.sent_at) == timefmt::day(now) {
        timefmt::clock(hit.sent_at)
    } else {
        timefmt::day_label(hit.sent_at, now)
    };
    let r = egui::Frame::new()
        .inner_margin(egui::Margin::symmetric(8, 5))
        .corner_radius(6)
        .show(ui, |ui| {
            // Laid out to this width, never wider: the panel grows to fit what it holds.
            let width = ui.available_width();
            ui.set_width(width);
            let when = ui.painter().layout_no_wrap(
                when,
                egui::TextStyle::Small.resolve(ui.style()),
                ui.visuals().weak_text_color(),
            );
            ui.horizontal(|ui| {
                ui.set_max_width(width);
                let room = egui::vec2(width - when.size().x - 8.0, 20.0);
                ui.allocate_ui(room, |ui| {
                    ui.add(
                        egui::Label::new(RichText::new(&place).strong())
                            .truncate()
                            .selectable(false),
                    );
                });
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.add(egui::Label::new(when).selectable(false));
                });
            });
            let from = if hit.dir == crate::store::Direction::Out {
                "You"
            } else {
                hit.from_name.as_str()
            };
            let mut job = snippet(ui, from, &hit.text, query);
            job.wrap.max_width = width;
            // A galley, not a job: a label would wrap a job again at its own width.
            let galley = ui.fonts_mut(|f| f.layout_job(job));
            ui.add(egui::Label::new(galley).selectable(false));
        })
        .response
        .interact(egui::Sense::click());
    let accessible = format!("{place}: {}", hit.text);
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &accessible));
    if r.hovered() {
        ui.painter().rect_stroke(
            r.rect,
            6,
            ui.visuals().widgets.hovered.bg_stroke,
            egui::StrokeKind::Inside,
        );
    }
    if r.clicked() {
        actions.push(Action::Jump(conv, hit.msg_id.clone(), hit.id));
        actions.push(Action::CloseSearch);
    }
}

/// "Name: text" on at most two lines, the query's words in the text highlighted.
fn snippet(ui: &egui::Ui, from: &str, text: &str, query: &str) -> LayoutJob {
    let weak = ui.visuals().weak_text_color();
    let normal = ui.visuals().text_color();
    let font = egui::TextStyle::Small.resolve(ui.style());
    let mark = ui.visuals().selection.bg_fill.gamma_multiply(0.6);
    let mut job = LayoutJob::default();
    job.wrap.max_rows = 2;
    let plain = egui::TextFormat::simple(font.clone(), normal);
    job.append(
        &format!("{from}: "),
        0.0,
        egui::TextFormat::simple(font, weak),
    );
    let flat = text.replace('\n', " ");
    for (part, found) in matches(&flat, query) {
        let mut format = plain.clone();
        if found {
            format.background = mark;
            format.color = ui.visuals().strong_text_color();
        }
        job.append(part, 0.0, format);
    }
    job
}

/// `text` cut into runs, each marked whether it is one of the query's words (compared
/// case-insensitively, ASCII only, so byte offsets stay valid).
pub fn matches<'a>(text: &'a str, query: &str) -> Vec<(&'a str, bool)> {
    let lower = text.to_ascii_lowercase();
    let words: Vec<String> = query
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .filter(|w| !w.is_empty())
        .collect();
    let mut found = vec![false; text.len()];
    for w in &words {
        let mut from = 0;
        while let Some(at) = lower[from..].find(w.as_str()) {
            let start = from + at;
            found[start..start + w.len()].fill(true);
            from = start + w.len();
        }
    }
    let mut runs: Vec<(&str, bool)> = Vec::new();
    let mut start = 0;
    for (i, _) in text.char_indices().skip(1) {
        if found[i] != found[start] {
            runs.push((&text[start..i], found[start]));
            start = i;
        }
    }
    if start < text.len() {
        runs.push((&text[start..], found[start]));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn the_query_words_are_marked_in_the_text() {
        assert_eq!(
            matches("Meet in room 301, ROOM 302", "room"),
            [
                ("Meet in ", false),
                ("room", true),
                (" 301, ", false),
                ("ROOM", true),
                (" 302", false)
            ]
        );
        assert_eq!(
            matches("三楼的打印机修好了", "打印机"),
            [("三楼的", false), ("打印机", true), ("修好了", false)]
        );
        assert_eq!(matches("nothing", "zzz"), [("nothing", false)]);
        assert_eq!(matches("", "a"), []);
    }
}

//! One row of the conversation: a bubble (sender, text or file card, time and delivery
//! mark) and the day separator above it, plus the height a bubble is guessed to have before
//! it has been laid out once.

use egui::{Align, Color32, Layout, RichText};

use super::app::Action;
use super::file_card;
use super::state::{ChatMessage, ChatState, Mark};
use super::thumbs::Thumbs;
use super::timefmt;

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
                let text = egui::WidgetText::from(
                    RichText::new(&m.text)
                        .size(15.0)
                        .color(ui.visuals().strong_text_color()),
                )
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
                    .max(FOOTER_WIDTH);
                let width = if transfer.is_some() { 340.0 } else { width };
                ui.set_width(width.min(max_width));
                ui.with_layout(Layout::top_down(Align::Min), |ui| {
                    if let Some(sender) = sender {
                        ui.add(egui::Label::new(sender).selectable(false));
                    }
                    match transfer {
                        Some(t) => file_card::show(ui, t, thumbs, max_width, actions),
                        None => {
                            ui.add(egui::Label::new(text));
                        }
                    }
                    footer(ui, m);
                });
            })
            .response
    });
    ui.add_space(4.0);
    r.inner
}

/// Time and delivery mark, right-aligned under the text.
fn footer(ui: &mut egui::Ui, m: &ChatMessage) {
    let time = timefmt::clock(m.sent_at);
    let (mark, meaning) = match m.mark {
        Mark::Received => ("", format!("received at {time}")),
        Mark::Pending => (
            " 🕓",
            format!("written at {time}, waiting for the peer to come online"),
        ),
        Mark::Sent => (" ✔", format!("sent at {time}, waiting for delivery")),
        Mark::Delivered => (" ✔✔", format!("delivered at {time}")),
        Mark::Shouted => (
            " 📢",
            format!("broadcast at {time}, best effort: no delivery report"),
        ),
    };
    let text = format!("{time}{mark}");
    let r = ui.with_layout(Layout::right_to_left(Align::Min), |ui| {
        let colour = if m.mark == Mark::Delivered {
            if ui.visuals().dark_mode {
                Color32::from_rgb(0x7c, 0xc4, 0xff)
            } else {
                Color32::from_rgb(0x1a, 0x5f, 0xc8)
            }
        } else {
            ui.visuals().weak_text_color()
        };
        ui.add(egui::Label::new(RichText::new(text).small().color(colour)).selectable(false))
    });
    let r = r.inner.on_hover_text(&meaning);
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &meaning));
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

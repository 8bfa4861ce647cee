//! The open conversation: a header, the error banner, and the bubbles, with day
//! separators, times and delivery marks. It follows new messages unless the user has
//! scrolled up; then a "new messages" pill offers the way back down.

use egui::{Align, Color32, Layout, RichText};

use super::app::{Action, View};
use super::file_card;
use super::peers_panel::presence_dot;
use super::state::{ChatMessage, ChatState, ConvKey, Mark};
use super::thumbs::Thumbs;
use super::timefmt;

/// Widest a bubble gets, as a share of the conversation's width.
const BUBBLE_WIDTH: f32 = 0.72;
/// Room for the time and mark under the text.
const FOOTER_WIDTH: f32 = 64.0;

/// The conversation's title bar and the error banner.
pub fn header(ui: &mut egui::Ui, state: &ChatState, _view: &View, actions: &mut Vec<Action>) {
    let conv = &state.selected;
    ui.horizontal(|ui| {
        ui.heading(state.title(conv));
        match conv {
            ConvKey::Everyone => {
                ui.label(
                    RichText::new(
                        "best-effort broadcast: one UDP datagram per message, no delivery report",
                    )
                    .small()
                    .weak(),
                );
            }
            ConvKey::Peer(id) => match state.peers.get(id) {
                Some(p) if p.online => {
                    presence_dot(ui, true);
                    ui.label(RichText::new(format!("{} · {}:{}", p.host, p.addr, p.port)).weak());
                }
                Some(p) => {
                    let ago = timefmt::ago(p.last_seen, timefmt::now_ms());
                    ui.label(
                        RichText::new(format!(
                            "offline, last seen {ago}; messages wait until it is back"
                        ))
                        .weak(),
                    );
                }
                None => {
                    ui.label(RichText::new("unknown peer").weak());
                }
            },
        }
    });
    if let Some(err) = &state.error {
        egui::Frame::new()
            .fill(ui.visuals().error_fg_color.gamma_multiply(0.15))
            .corner_radius(6)
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(err).color(ui.visuals().error_fg_color));
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        if ui.small_button("✖").on_hover_text("Dismiss").clicked() {
                            actions.push(Action::DismissError);
                        }
                    });
                });
            });
    }
    ui.separator();
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
    let messages = state.messages(&conv);
    let now = timefmt::now_ms();
    let scroll_to_bottom = std::mem::take(&mut view.scroll_to_bottom);
    let jump_to = view.jump_to.take();
    if messages.is_empty() {
        ui.centered_and_justified(|ui| {
            let hint = match conv {
                ConvKey::Everyone => "Say something to everyone on the network",
                ConvKey::Peer(_) => "No messages yet",
            };
            ui.label(RichText::new(hint).weak());
        });
        return;
    }
    let out = egui::ScrollArea::vertical()
        .id_salt(("conversation", &conv))
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_space(6.0);
            let mut last_day = None;
            for m in messages {
                let day = timefmt::day(m.sent_at);
                if last_day != Some(day) {
                    day_separator(ui, &timefmt::day_label(m.sent_at, now));
                    last_day = Some(day);
                }
                let r = bubble(ui, m, conv == ConvKey::Everyone, state, thumbs, actions);
                if jump_to.as_deref() == Some(m.msg_id.as_str()) {
                    r.scroll_to_me(Some(Align::Center));
                    r.highlight();
                }
            }
            ui.add_space(6.0);
            if scroll_to_bottom {
                ui.scroll_to_cursor(Some(Align::BOTTOM));
            }
        });
    let at_bottom = (out.state.clamped_offset().y + out.inner_rect.height()
        >= out.content_size.y - 4.0
        || scroll_to_bottom)
        && jump_to.is_none();
    let seen = view.seen_len.entry(conv).or_insert(messages.len());
    if at_bottom {
        *seen = messages.len();
    } else if messages.len() > *seen {
        let fresh = messages.len() - *seen;
        new_messages_pill(ui, out.inner_rect, fresh, actions);
    }
}

fn day_separator(ui: &mut egui::Ui, label: &str) {
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

fn bubble(
    ui: &mut egui::Ui,
    m: &ChatMessage,
    show_sender: bool,
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
        egui::Frame::new()
            .fill(fill)
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

fn new_messages_pill(ui: &mut egui::Ui, area: egui::Rect, fresh: usize, actions: &mut Vec<Action>) {
    let text = if fresh == 1 {
        "⬇ 1 new message".to_owned()
    } else {
        format!("⬇ {fresh} new messages")
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

/// A stable, readable colour per sender name.
fn name_colour(name: &str, dark: bool) -> Color32 {
    let h = name.bytes().fold(2_166_136_261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    let hue = (h % 360) as f32 / 360.0;
    let (s, v) = if dark { (0.55, 0.95) } else { (0.75, 0.6) };
    egui::ecolor::Hsva::new(hue, s, v, 1.0).into()
}

//! "Let a browser join…": the window that turns the page for browsers on and off and
//! shows its link, as text to copy and as a QR code to scan. It only reads what the core
//! said (`web_ready`, `web_stopped`, in `ChatState::web`) and asks through commands
//! (`web_start`, `web_new_link`, `web_stop`); the page itself is the core's.

use egui::{Color32, RichText, Sense};

use super::app::{Action, View};
use super::state::ChatState;
use crate::node::{Command, Protocol};

/// The side of the QR code, in points.
const QR_SIDE: f32 = 200.0;
/// Light modules around the code, in modules (the standard's quiet zone).
const QUIET: usize = 4;

/// Draws the window while it is open (`View::web_join`).
pub fn window(ctx: &egui::Context, state: &ChatState, view: &View, actions: &mut Vec<Action>) {
    if !view.web_join {
        return;
    }
    let mut open = true;
    egui::Window::new("Let a browser join")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .frame(egui::Frame::window(&ctx.global_style()).inner_margin(16))
        .show(ctx, |ui| {
            ui.set_max_width(420.0);
            match &state.web {
                None => off(ui, actions),
                Some(web) => on(ui, state, &web.url, &web.links, actions),
            }
        });
    if !open {
        actions.push(Action::ShowWebJoin(false));
    }
}

fn off(ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.label(
        "Someone without lanchat can chat with you from the browser of a phone or \
         computer on this network: they open a link or scan a QR code, type their name, \
         and appear in your list as a browser visitor. Messages and files both ways.",
    );
    ui.add_space(6.0);
    not_encrypted(ui);
    ui.add_space(10.0);
    if ui.button("Start the page for browsers").clicked() {
        actions.push(Action::Core(Command::WebStart { port: 0 }));
    }
}

fn on(
    ui: &mut egui::Ui,
    state: &ChatState,
    url: &str,
    links: &[String],
    actions: &mut Vec<Action>,
) {
    ui.label("Open this link in a browser on the same network, or scan the code:");
    ui.add_space(6.0);
    match crate::web::qr::matrix(url) {
        Ok(qr) => paint_qr(ui, &qr),
        Err(e) => {
            ui.label(RichText::new(format!("no QR code: {e}")).weak());
        }
    }
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        ui.add(egui::Label::new(RichText::new(url).monospace()).selectable(true));
    });
    for other in links.iter().filter(|l| l.as_str() != url) {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("also").small().weak());
            ui.add(egui::Label::new(RichText::new(other).monospace().small()).selectable(true));
        });
    }
    ui.horizontal(|ui| {
        if ui.button("Copy the link").clicked() {
            ui.ctx().copy_text(url.to_owned());
        }
    });
    ui.add_space(6.0);
    let visitors = state
        .peers
        .values()
        .filter(|p| p.online && p.protocol == Protocol::Web)
        .count();
    let here = match visitors {
        0 => "No browser visitors yet.".to_owned(),
        1 => "1 browser visitor is here.".to_owned(),
        n => format!("{n} browser visitors are here."),
    };
    ui.label(here);
    not_encrypted(ui);
    ui.separator();
    ui.horizontal(|ui| {
        if ui
            .button("New link")
            .on_hover_text("The old link stops working and every visitor leaves")
            .clicked()
        {
            actions.push(Action::Core(Command::WebNewLink));
        }
        if ui
            .button("Stop")
            .on_hover_text("The page closes and every visitor leaves")
            .clicked()
        {
            actions.push(Action::Core(Command::WebStop));
        }
        if ui.button("Close").clicked() {
            actions.push(Action::ShowWebJoin(false));
        }
    });
}

fn not_encrypted(ui: &mut egui::Ui) {
    ui.label(
        RichText::new(
            "Not encrypted: others on this network could read what a browser visitor \
             and you write to each other. Chats between lanchat users are not affected.",
        )
        .small()
        .weak(),
    );
}

/// The code as dark squares on a white square (white in the dark theme too: scanners
/// want dark on light).
fn paint_qr(ui: &mut egui::Ui, qr: &crate::web::qr::QrMatrix) {
    let modules = qr.width + 2 * QUIET;
    // Whole pixels per module, so every module is the same size on screen.
    let ppp = ui.ctx().pixels_per_point();
    let module = ((QR_SIDE * ppp / modules as f32).floor().max(1.0)) / ppp;
    let side = module * modules as f32;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), Sense::hover());
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "QR code of the link"));
    let painter = ui.painter_at(rect);
    let origin = (rect.min.to_vec2() * ppp).round().to_pos2() / ppp;
    painter.rect_filled(rect, 0.0, Color32::WHITE);
    for (i, _) in qr.dark.iter().enumerate().filter(|(_, dark)| **dark) {
        let (x, y) = (i % qr.width + QUIET, i / qr.width + QUIET);
        let min = origin + egui::vec2(x as f32 * module, y as f32 * module);
        let square = egui::Rect::from_min_size(min, egui::vec2(module, module));
        painter.rect_filled(square, 0.0, Color32::BLACK);
    }
}

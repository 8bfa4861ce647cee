//! Small painted buttons whose look must not depend on a font: close (×) and the people
//! list's menu (☰). A colour emoji font draws ✖ as a black glyph, invisible on a dark
//! background, so these are lines, in the text colour of the theme.

use egui::{Sense, Stroke, vec2};

/// A close button: a cross in a 18-point square, highlighted on hover, named `name` for
/// screen readers and tests.
pub fn close(ui: &mut egui::Ui, name: &str) -> egui::Response {
    let (rect, r) = ui.allocate_exact_size(vec2(18.0, 18.0), Sense::click());
    paint_close(ui, rect, r, name)
}

/// [`close`] over `rect`, taking no room in the layout (inside a text field's margin).
pub fn close_at(ui: &mut egui::Ui, rect: egui::Rect, name: &str) -> egui::Response {
    let r = ui.interact(rect, ui.scope_id().with(("close", name)), Sense::click());
    paint_close(ui, rect, r, name)
}

fn paint_close(ui: &egui::Ui, rect: egui::Rect, r: egui::Response, name: &str) -> egui::Response {
    let visuals = ui.style().interact(&r);
    if r.hovered() {
        ui.painter().rect_filled(rect, 4.0, visuals.bg_fill);
    }
    let c = rect.center();
    let d = 4.0;
    let stroke = Stroke::new(1.5, visuals.fg_stroke.color);
    ui.painter()
        .line_segment([c + vec2(-d, -d), c + vec2(d, d)], stroke);
    ui.painter()
        .line_segment([c + vec2(-d, d), c + vec2(d, -d)], stroke);
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, name));
    r.on_hover_text(name)
}

/// The menu button that shows or hides the people list: three lines, 22 points square.
pub fn menu(ui: &mut egui::Ui, name: &str) -> egui::Response {
    let (rect, r) = ui.allocate_exact_size(vec2(22.0, 22.0), Sense::click());
    let visuals = ui.style().interact(&r);
    if r.hovered() {
        ui.painter().rect_filled(rect, 4.0, visuals.bg_fill);
    }
    let stroke = Stroke::new(1.6, visuals.fg_stroke.color);
    for dy in [-5.0, 0.0, 5.0] {
        let y = rect.center().y + dy;
        ui.painter().line_segment(
            [
                egui::pos2(rect.left() + 5.0, y),
                egui::pos2(rect.right() - 5.0, y),
            ],
            stroke,
        );
    }
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "People list"));
    r.on_hover_text(name)
}

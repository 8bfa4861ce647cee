//! The link as a QR code (`qrcode` crate): a matrix for the window to paint, an SVG, and
//! text for a terminal. Pure functions.

use qrcode::render::{svg, unicode};
use qrcode::{Color, EcLevel, QrCode};

use super::WebError;

/// A QR code's modules, row by row, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side.
    pub width: usize,
    /// `width * width` modules, row by row; true is dark.
    pub dark: Vec<bool>,
}

fn code(url: &str) -> Result<QrCode, WebError> {
    // Medium error correction: readable from a screen at an angle, still small.
    QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| WebError::Qr(e.to_string()))
}

/// The modules of `url`'s QR code, for a window to paint as squares.
pub fn matrix(url: &str) -> Result<QrMatrix, WebError> {
    let code = code(url)?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok(QrMatrix { width, dark })
}

/// `url`'s QR code as an SVG document, at least `min_px` pixels a side, quiet zone
/// included.
pub fn svg(url: &str, min_px: u32) -> Result<String, WebError> {
    Ok(code(url)?
        .render::<svg::Color<'_>>()
        .min_dimensions(min_px, min_px)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// `url`'s QR code as text for a terminal: two modules per character cell (half blocks),
/// light on dark inverted so it scans on a dark terminal too, quiet zone included.
pub fn terminal(url: &str) -> Result<String, WebError> {
    Ok(code(url)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://192.168.1.20:41234/t/0123456789abcdef0123456789abcdef/";

    #[test]
    fn the_link_fits_and_renders_three_ways() {
        let m = matrix(URL).unwrap();
        assert!(m.width >= 21 && m.width <= 57, "{}", m.width);
        assert_eq!(m.dark.len(), m.width * m.width);
        assert!(m.dark[0], "finder pattern corner is dark");
        let svg = svg(URL, 200).unwrap();
        assert!(svg.contains("<svg") && svg.contains("#000000"));
        let text = terminal(URL).unwrap();
        let rows = text.lines().count();
        // Quiet zone of 4 modules each side, two modules per row of text.
        assert_eq!(rows, (m.width + 8).div_ceil(2));
    }

    #[test]
    fn an_oversized_link_is_an_error() {
        assert!(matrix(&"x".repeat(10_000)).is_err());
    }
}

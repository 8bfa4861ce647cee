//! lanchat's icon as pixels, with the unread count drawn on it for the tray.
//!
//! Pure pixel work, no I/O: the icon sizes are the PNGs rendered from
//! `assets/icons/lanchat.svg` (compiled in), the count is a red pill in the top-right
//! corner with digits from a 3×5 pixel font scaled to the icon, so it stays legible at
//! 22 px where a font rasteriser would blur.

use image::{Rgba, RgbaImage};

/// The icon sizes compiled in, smallest first.
pub const SIZES: [u32; 4] = [22, 32, 48, 64];

const PNG_22: &[u8] = include_bytes!("../../assets/icons/hicolor/22x22/apps/lanchat.png");
const PNG_32: &[u8] = include_bytes!("../../assets/icons/hicolor/32x32/apps/lanchat.png");
const PNG_48: &[u8] = include_bytes!("../../assets/icons/hicolor/48x48/apps/lanchat.png");
const PNG_64: &[u8] = include_bytes!("../../assets/icons/hicolor/64x64/apps/lanchat.png");
/// The window's own icon (title bar, task switcher on X11).
pub const PNG_256: &[u8] = include_bytes!("../../assets/icons/hicolor/256x256/apps/lanchat.png");

/// The badge's fill.
pub const BADGE_RED: Rgba<u8> = Rgba([0xe5, 0x39, 0x35, 0xff]);
const WHITE: Rgba<u8> = Rgba([0xff, 0xff, 0xff, 0xff]);

/// The icon at each of [`SIZES`].
pub fn icons() -> Vec<RgbaImage> {
    [PNG_22, PNG_32, PNG_48, PNG_64]
        .iter()
        .map(|png| {
            image::load_from_memory_with_format(png, image::ImageFormat::Png)
                .expect("the compiled-in icon is a PNG")
                .to_rgba8()
        })
        .collect()
}

/// What the badge says: nothing for 0, the count up to 99, then "99+".
pub fn label(unread: usize) -> Option<String> {
    match unread {
        0 => None,
        1..=99 => Some(unread.to_string()),
        _ => Some("99+".to_owned()),
    }
}

/// 3×5 glyphs, one row per `u8`, the three low bits left to right.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '+' => [0b000, 0b010, 0b111, 0b010, 0b000],
        _ => [0; 5],
    }
}

/// Where the badge goes on an icon of `size` for `text`: (x, y, width, height, scale).
fn layout(size: u32, text: &str) -> (u32, u32, u32, u32, u32) {
    let scale = (size / 16).max(1);
    let pad = scale.max(2);
    let glyphs = text.chars().count() as u32;
    let text_w = glyphs * 3 * scale + glyphs.saturating_sub(1) * scale;
    let h = 5 * scale + 2 * pad;
    let w = (text_w + 2 * pad).max(h).min(size);
    (size - w, 0, w, h, scale)
}

/// How much of pixel (x, y) lies inside a pill (x0, y0, w, h), from 4×4 samples.
fn pill_coverage(x: u32, y: u32, (x0, y0, w, h): (u32, u32, u32, u32)) -> f32 {
    let r = h as f32 / 2.0;
    let (left, right) = (x0 as f32 + r, (x0 + w) as f32 - r);
    let cy = y0 as f32 + r;
    let mut inside = 0;
    for sy in 0..4 {
        for sx in 0..4 {
            let px = x as f32 + (sx as f32 + 0.5) / 4.0;
            let py = y as f32 + (sy as f32 + 0.5) / 4.0;
            let dx = if px < left {
                left - px
            } else if px > right {
                px - right
            } else {
                0.0
            };
            let dy = py - cy;
            if dx * dx + dy * dy <= r * r {
                inside += 1;
            }
        }
    }
    inside as f32 / 16.0
}

fn blend(under: Rgba<u8>, over: Rgba<u8>, alpha: f32) -> Rgba<u8> {
    let a = alpha.clamp(0.0, 1.0);
    let mix = |u: u8, o: u8| (u as f32 * (1.0 - a) + o as f32 * a).round() as u8;
    Rgba([
        mix(under[0], over[0]),
        mix(under[1], over[1]),
        mix(under[2], over[2]),
        under[3].max((a * 255.0).round() as u8),
    ])
}

/// `base` with the unread count in a red pill at its top-right corner; `base` itself for
/// no unread message.
pub fn with_badge(base: &RgbaImage, unread: usize) -> RgbaImage {
    let mut img = base.clone();
    let Some(text) = label(unread) else {
        return img;
    };
    let size = img.width().min(img.height());
    let (x0, y0, w, h, scale) = layout(size, &text);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let cover = pill_coverage(x, y, (x0, y0, w, h));
            if cover > 0.0 {
                let p = *img.get_pixel(x, y);
                img.put_pixel(x, y, blend(p, BADGE_RED, cover));
            }
        }
    }
    let glyphs = text.chars().count() as u32;
    let text_w = glyphs * 3 * scale + glyphs.saturating_sub(1) * scale;
    let mut gx = x0 + (w - text_w) / 2;
    let gy = y0 + (h - 5 * scale) / 2;
    for c in text.chars() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..3u32 {
                if bits & (0b100 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        img.put_pixel(gx + col * scale + dx, gy + row as u32 * scale + dy, WHITE);
                    }
                }
            }
        }
        gx += 4 * scale;
    }
    img
}

/// The pixels as the StatusNotifierItem spec wants them: ARGB32, big-endian, row by row.
pub fn to_argb32(img: &RgbaImage) -> Vec<u8> {
    img.pixels()
        .flat_map(|Rgba([r, g, b, a])| [*a, *r, *g, *b])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_is_compiled_in_square() {
        let icons = icons();
        let sizes: Vec<_> = icons.iter().map(|i| (i.width(), i.height())).collect();
        assert_eq!(sizes, SIZES.map(|s| (s, s)));
        let big = image::load_from_memory(PNG_256).unwrap();
        assert_eq!((big.width(), big.height()), (256, 256));
    }

    #[test]
    fn the_label_is_the_count_up_to_99() {
        assert_eq!(label(0), None);
        assert_eq!(label(7).as_deref(), Some("7"));
        assert_eq!(label(42).as_deref(), Some("42"));
        assert_eq!(label(100).as_deref(), Some("99+"));
    }

    #[test]
    fn no_unread_leaves_the_icon_alone() {
        for icon in icons() {
            assert_eq!(with_badge(&icon, 0), icon);
        }
    }

    #[test]
    fn the_badge_is_red_at_the_top_right_with_white_digits_inside_the_icon() {
        for icon in icons() {
            let size = icon.width();
            for unread in [1, 42, 1000] {
                let text = label(unread).unwrap();
                let (x0, y0, w, h, _) = layout(size, &text);
                assert!(x0 + w <= size && y0 + h <= size / 2 + 2, "{size} {text}");
                let drawn = with_badge(&icon, unread);
                // The bottom-left quarter is untouched.
                for y in size / 2..size {
                    for x in 0..size / 2 {
                        assert_eq!(drawn.get_pixel(x, y), icon.get_pixel(x, y));
                    }
                }
                // The text's box: every pixel in it is badge red or digit white.
                let (_, _, _, _, scale) = layout(size, &text);
                let glyphs = text.chars().count() as u32;
                let text_w = glyphs * 4 * scale - scale;
                let (tx, ty) = (x0 + (w - text_w) / 2, y0 + (h - 5 * scale) / 2);
                let inner: Vec<_> = (ty..ty + 5 * scale)
                    .flat_map(|y| (tx..tx + text_w).map(move |x| (x, y)))
                    .map(|(x, y)| *drawn.get_pixel(x, y))
                    .collect();
                assert!(inner.iter().all(|p| *p == BADGE_RED || *p == WHITE));
                assert!(inner.contains(&WHITE), "digits drawn at {size} for {text}");
                assert!(inner.contains(&BADGE_RED));
            }
        }
    }

    #[test]
    fn argb32_is_big_endian_alpha_first() {
        let img = RgbaImage::from_pixel(1, 2, Rgba([1, 2, 3, 4]));
        assert_eq!(to_argb32(&img), [4, 1, 2, 3, 4, 1, 2, 3]);
    }
}

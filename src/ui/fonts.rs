//! Fonts for every text in the window: Latin at the weight of the CJK text beside it,
//! Chinese and Japanese (Korean where the system has a font), and colour emoji where the
//! system has a colour emoji font.
//!
//! The proportional family is, in fallback order: the bundled Noto Sans Regular (OFL; egui's
//! Ubuntu Light is a weight lighter than every CJK face, so mixed lines looked half bold),
//! a system colour emoji font if one is found, a CJK font, then egui's own monochrome
//! emoji and icon fonts, which catch whatever the others lack. The CJK font is the first
//! system font found where `platform::dirs::cjk_fonts` looks on this system (better hinting,
//! matches the desktop), else the bundled Droid Sans Fallback (Apache-2.0, 3.9 MB, 27,786
//! CJK ideographs and kana, but no hangul; see `docs/GUI.md` for why this one). Colour
//! glyphs need epaint's `color_fonts` (COLR, CBDT and sbix tables). Reading font files is
//! the only I/O here.

use std::sync::Arc;

use egui::{FontData, FontDefinitions, FontFamily};

use crate::platform::dirs::{self, FontFile};

/// The Latin face, Noto Sans Regular: the same weight as Noto Sans CJK Regular.
static LATIN: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");

/// The bundled fallback, used when the system has no CJK font.
static BUNDLED_CJK: &[u8] = include_bytes!("../../assets/fonts/DroidSansFallbackFull.ttf");

/// Where a font came from, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A system font file.
    System(String),
    /// The copy inside the binary.
    Bundled,
    /// None found (emoji stay monochrome).
    Missing,
}

/// The first of `paths` that can be read, as font data.
fn first_system(paths: &[FontFile]) -> Option<(FontData, Source)> {
    paths.iter().find_map(|(path, index)| {
        let bytes = std::fs::read(path).ok()?;
        let mut data = FontData::from_owned(bytes);
        data.index = *index;
        Some((data, Source::System(path.display().to_string())))
    })
}

/// egui's default fonts behind the Latin face, with colour emoji (if the system has a
/// font) and a CJK fallback in both families. Returns where the CJK and emoji fonts
/// came from.
pub fn definitions() -> (FontDefinitions, Source, Source) {
    let (cjk, cjk_source) = first_system(&dirs::cjk_fonts())
        .unwrap_or_else(|| (FontData::from_static(BUNDLED_CJK), Source::Bundled));
    let emoji = first_system(&dirs::emoji_fonts());
    let emoji_source = emoji.as_ref().map_or(Source::Missing, |(_, s)| s.clone());
    let mut fonts = FontDefinitions::default();
    fonts
        .font_data
        .insert("latin".to_owned(), Arc::new(FontData::from_static(LATIN)));
    fonts.font_data.insert("cjk".to_owned(), Arc::new(cjk));
    let mut ahead = vec!["cjk".to_owned()];
    if let Some((data, _)) = emoji {
        fonts.font_data.insert("emoji".to_owned(), Arc::new(data));
        // Emoji before CJK: a CJK font's text-style ☀ or ❤ would win otherwise.
        ahead.insert(0, "emoji".to_owned());
    }
    let proportional = fonts.families.entry(FontFamily::Proportional).or_default();
    proportional.insert(0, "latin".to_owned());
    // Right behind the Latin face, ahead of egui's monochrome emoji fonts.
    for (i, name) in ahead.iter().enumerate() {
        proportional.insert(1 + i, name.clone());
    }
    // Monospace keeps its own Latin face (Hack) first.
    let mono = fonts.families.entry(FontFamily::Monospace).or_default();
    for (i, name) in ahead.iter().enumerate() {
        mono.insert((1 + i).min(mono.len()), name.clone());
    }
    (fonts, cjk_source, emoji_source)
}

/// Installs `definitions` in a context.
pub fn install(ctx: &egui::Context) {
    let (fonts, cjk, emoji) = definitions();
    tracing::info!("fonts: CJK {cjk:?}, colour emoji {emoji:?}");
    ctx.set_fonts(fonts);
}

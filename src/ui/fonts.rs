//! Fonts with Chinese and Japanese coverage (Korean where the system has a font), and
//! emoji, for every text in the window.
//!
//! egui's built-in fonts cover Latin, Greek, Cyrillic and (monochrome) emoji but no CJK.
//! We append a CJK font to the fallback chain of both families: the first system font
//! found at the usual fontconfig / macOS / Windows paths (better hinting, matches the
//! desktop), else the bundled Droid Sans Fallback (Apache-2.0, 3.9 MB, 27,786 CJK
//! ideographs and kana, but no hangul; see `docs/GUI.md` for why this one). Reading the
//! font file is the only I/O here.

use std::path::Path;
use std::sync::Arc;

use egui::{FontData, FontDefinitions, FontFamily};

/// The bundled fallback, used when the system has no CJK font.
static BUNDLED_CJK: &[u8] = include_bytes!("../../assets/fonts/DroidSansFallbackFull.ttf");

/// System CJK fonts, best first: (path, face index in a collection).
const SYSTEM_CJK: &[(&str, u32)] = &[
    // Debian/Ubuntu fonts-noto-cjk, Fedora google-noto-sans-cjk, Arch noto-fonts-cjk.
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    (
        "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
        0,
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    (
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        0,
    ),
    // macOS, Windows.
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0),
];

/// Where the CJK font came from, for the log and the network panel's "about" line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CjkSource {
    /// A system font file.
    System(String),
    /// The copy inside the binary.
    Bundled,
}

/// egui's default fonts with a CJK fallback appended to both families.
pub fn definitions() -> (FontDefinitions, CjkSource) {
    let (data, source) = SYSTEM_CJK
        .iter()
        .find_map(|&(path, index)| {
            let bytes = std::fs::read(Path::new(path)).ok()?;
            let mut data = FontData::from_owned(bytes);
            data.index = index;
            Some((data, CjkSource::System(path.to_owned())))
        })
        .unwrap_or_else(|| (FontData::from_static(BUNDLED_CJK), CjkSource::Bundled));
    let mut fonts = FontDefinitions::default();
    fonts.font_data.insert("cjk".to_owned(), Arc::new(data));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push("cjk".to_owned());
    }
    (fonts, source)
}

/// Installs `definitions` in a context.
pub fn install(ctx: &egui::Context) {
    let (fonts, source) = definitions();
    tracing::info!("CJK font: {source:?}");
    ctx.set_fonts(fonts);
}

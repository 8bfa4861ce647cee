//! Folders and paths where systems differ: the data and download folders, paths as
//! people should see them, and where the system keeps its fonts.

use std::io;
use std::path::{Path, PathBuf};

use crate::protocol::sanitize::reserved_on_windows;

/// lanchat's data folder: identity, keys, history.
///
/// The *local* one: on Windows `%LOCALAPPDATA%\lanchat\data`, not the roaming profile, so
/// one account logged in on two PCs has two identities (with one, each PC would take the
/// other's beacons for its own). Linux `~/.local/share/lanchat`, macOS
/// `~/Library/Application Support/lanchat` (the same as the roaming ones there).
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lanchat").map(|d| d.data_local_dir().to_path_buf())
}

/// The user's downloads folder (e.g. `~/Downloads`).
pub fn download_dir() -> Option<PathBuf> {
    directories::UserDirs::new().and_then(|d| d.download_dir().map(Path::to_path_buf))
}

/// `path` made absolute with links resolved, in the form people know: on Windows
/// `C:\Users\…` and `\\server\share\…`, never the `\\?\` form the system returns, unless
/// only that form can name it (a name Windows reserves, longer than 260 characters).
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    let full = std::fs::canonicalize(path)?;
    Ok(match full.to_str().and_then(without_verbatim) {
        Some(plain) => PathBuf::from(plain),
        None => full,
    })
}

/// How `path` is shown to people: without a `\\?\` prefix where it can do without.
pub fn shown(path: &Path) -> String {
    let text = path.to_string_lossy();
    without_verbatim(&text).unwrap_or_else(|| text.into_owned())
}

/// `\\?\C:\dir` → `C:\dir`, `\\?\UNC\server\share\dir` → `\\server\share\dir`; `None`
/// if `path` has no such prefix or only the verbatim form names it (the same rules as
/// the `dunce` crate). Pure string work, so it is tested on every system.
pub fn without_verbatim(path: &str) -> Option<String> {
    let (plain, rest) = if let Some(rest) = path.strip_prefix(r"\\?\UNC\") {
        (format!(r"\\{rest}"), rest)
    } else {
        let rest = path.strip_prefix(r"\\?\")?;
        let drive = rest.as_bytes();
        let is_drive = drive.len() >= 3
            && drive[0].is_ascii_alphabetic()
            && drive[1] == b':'
            && drive[2] == b'\\';
        if !is_drive {
            return None;
        }
        (rest.to_owned(), &rest[3..])
    };
    if plain.len() >= 260 || rest.contains('/') {
        return None;
    }
    let rest = rest.strip_suffix('\\').unwrap_or(rest);
    let every_part_plain = rest.split('\\').all(|part| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && !part.ends_with(['.', ' '])
            && !part.contains(['<', '>', ':', '"', '|', '?', '*'])
            && !part.chars().any(char::is_control)
            && !reserved_on_windows(part)
    }) || rest.is_empty();
    every_part_plain.then_some(plain)
}

/// A font file to try and its face in a collection.
pub type FontFile = (PathBuf, u32);

/// System fonts with Chinese and Japanese, best first, for the system this runs on.
pub fn cjk_fonts() -> Vec<FontFile> {
    let linux: &[(&str, u32)] = &[
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
    ];
    let macos: &[(&str, u32)] = &[
        ("/System/Library/Fonts/PingFang.ttc", 0),
        ("/System/Library/Fonts/STHeiti Light.ttc", 0),
        ("/System/Library/Fonts/Hiragino Sans GB.ttc", 0),
    ];
    let windows: &[(&str, u32)] = &[("msyh.ttc", 0), ("simsun.ttc", 0), ("YuGothR.ttc", 0)];
    for_this_system(linux, macos, windows)
}

/// System colour emoji fonts, best first, for the system this runs on.
pub fn emoji_fonts() -> Vec<FontFile> {
    let linux: &[(&str, u32)] = &[
        // Debian/Ubuntu fonts-noto-color-emoji, Arch noto-fonts-emoji, Fedora.
        ("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", 0),
        ("/usr/share/fonts/noto/NotoColorEmoji.ttf", 0),
        (
            "/usr/share/fonts/google-noto-color-emoji-fonts/Noto-COLRv1.ttf",
            0,
        ),
        (
            "/usr/share/fonts/google-noto-color-emoji-fonts/NotoColorEmoji.ttf",
            0,
        ),
    ];
    let macos: &[(&str, u32)] = &[("/System/Library/Fonts/Apple Color Emoji.ttc", 0)];
    let windows: &[(&str, u32)] = &[("seguiemj.ttf", 0)];
    for_this_system(linux, macos, windows)
}

/// The list for this system; Windows' names are in its fonts folder (`%WINDIR%\Fonts`).
fn for_this_system(
    linux: &[(&str, u32)],
    macos: &[(&str, u32)],
    windows: &[(&str, u32)],
) -> Vec<FontFile> {
    let own = |list: &[(&str, u32)]| -> Vec<FontFile> {
        list.iter().map(|&(p, i)| (PathBuf::from(p), i)).collect()
    };
    if cfg!(windows) {
        let fonts = std::env::var_os("WINDIR")
            .map_or_else(|| PathBuf::from(r"C:\Windows"), PathBuf::from)
            .join("Fonts");
        windows.iter().map(|&(p, i)| (fonts.join(p), i)).collect()
    } else if cfg!(target_os = "macos") {
        own(macos)
    } else {
        own(linux)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbatim_paths_are_shown_plain_where_they_can_be() {
        let plain = |p: &str| without_verbatim(p);
        assert_eq!(
            plain(r"\\?\C:\Users\李\Downloads").as_deref(),
            Some(r"C:\Users\李\Downloads")
        );
        assert_eq!(plain(r"\\?\d:\").as_deref(), Some(r"d:\"));
        assert_eq!(plain(r"\\?\C:\dir\").as_deref(), Some(r"C:\dir\"));
        assert_eq!(plain(r"\\?\C:\dir\COM¹.txt"), None);
        assert_eq!(
            plain(r"\\?\UNC\server\share\dir").as_deref(),
            Some(r"\\server\share\dir")
        );
        assert_eq!(plain(r"C:\Users"), None, "nothing to strip");
        assert_eq!(plain("/home/li"), None);
        assert_eq!(
            plain(r"\\?\C:\dir\CON"),
            None,
            "only the verbatim form names it"
        );
        assert_eq!(plain(r"\\?\C:\dir\nul.txt"), None);
        assert_eq!(plain(r"\\?\C:\dir\trailing."), None);
        assert_eq!(plain(r"\\?\C:\a\..\b"), None);
        assert_eq!(plain(r"\\?\Volume{1234}\x"), None);
        let long = format!(r"\\?\C:\{}", "x".repeat(300));
        assert_eq!(plain(&long), None);
        assert_eq!(shown(Path::new(r"\\?\C:\x")), r"C:\x");
    }

    #[test]
    fn font_lists_name_files_of_this_system() {
        let all: Vec<FontFile> = cjk_fonts().into_iter().chain(emoji_fonts()).collect();
        assert!(!all.is_empty());
        assert!(all.iter().all(|(p, _)| p.is_absolute() || cfg!(windows)));
    }
}

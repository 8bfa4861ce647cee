//! File names from the wire, made safe to create inside the download folder.
//!
//! A name offered by a peer is text, never a path: [`file_name`] turns any string into a
//! single, portable path component (no separators, no `..`, no control characters, no
//! Windows device names, bounded length), and [`candidates`] yields the names to try so an
//! existing file is never overwritten (`photo.jpg`, `photo (1).jpg`, ...). Pure functions:
//! the caller does the file system work.

/// Longest name produced, in bytes: room is left for ` (123)` and `.part` within the
/// 255-byte limit of common file systems.
pub const MAX_NAME_LEN: usize = 200;

/// What an empty or fully stripped name becomes.
pub const FALLBACK_NAME: &str = "file";

/// Turns a name from the wire into one safe path component.
///
/// Separators (`/`, `\`) and the characters Windows forbids (`<>:"|?*`) become `_`;
/// control characters are dropped; leading dots and spaces (hidden files, `..`) and
/// trailing dots and spaces (invalid on Windows) are trimmed; a device name such as `CON`
/// or `nul.txt` gets a leading `_`; the result is at most [`MAX_NAME_LEN`] bytes, cut at a
/// character boundary, keeping a short extension.
pub fn file_name(wire: &str) -> String {
    let mapped: String = wire
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = mapped
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let mut name = if trimmed.is_empty() {
        FALLBACK_NAME.to_owned()
    } else {
        trimmed.to_owned()
    };
    if reserved_on_windows(&name) {
        name.insert(0, '_');
    }
    truncate(&name, MAX_NAME_LEN)
}

/// Whether Windows reserves `name` for a device (`CON`, `nul.txt`, `COM0`, `LPT¹`,
/// `CONIN$`, …): with any extension, in any case, spaces before the dot ignored. Such a
/// name cannot be created there (or opens the device), so it is defused on every system:
/// a file received on Linux may be copied to a Windows share later.
pub fn reserved_on_windows(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    let upper = stem.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let Some(number) = upper
        .strip_prefix("COM")
        .or_else(|| upper.strip_prefix("LPT"))
    else {
        return false;
    };
    let mut chars = number.chars();
    matches!(
        (chars.next(), chars.next()),
        (Some('0'..='9' | '¹' | '²' | '³'), None)
    )
}

/// Cuts `name` to `max` bytes at a character boundary, keeping an extension of up to 16
/// bytes so the file still opens with the right program.
fn truncate(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = match split_ext(name) {
        (stem, ext) if ext.len() <= 16 => (stem, ext),
        _ => (name, ""),
    };
    let mut cut = max - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// `("photo", ".jpg")`; no extension for `README` or a name that is all extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    }
}

/// `photo.jpg` → `photo (n).jpg`; `README` → `README (n)`.
pub fn numbered(name: &str, n: u32) -> String {
    let (stem, ext) = split_ext(name);
    format!("{stem} ({n}){ext}")
}

/// The names to try, in order, for a file called `name` (already safe): the name itself,
/// then `name (1)`, `name (2)`, ... up to `name (9999)`.
pub fn candidates(name: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once(name.to_owned()).chain((1..10_000).map(move |n| numbered(name, n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Component, Path};

    /// A safe name is exactly one normal path component.
    fn assert_safe(wire: &str) -> String {
        let name = file_name(wire);
        let mut parts = Path::new(&name).components();
        assert!(
            matches!(parts.next(), Some(Component::Normal(_))) && parts.next().is_none(),
            "{wire:?} became {name:?}"
        );
        assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
        assert!(!name.starts_with('.') && !name.is_empty(), "{name:?}");
        assert!(name.len() <= MAX_NAME_LEN);
        name
    }

    #[test]
    fn hostile_names_become_one_component() {
        assert_eq!(assert_safe("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(assert_safe("a/b"), "a_b");
        assert_eq!(assert_safe(".."), FALLBACK_NAME);
        assert_eq!(assert_safe("."), FALLBACK_NAME);
        assert_eq!(assert_safe("C:\\x"), "C__x");
        assert_eq!(assert_safe("/home/li/.ssh/id_rsa"), "_home_li_.ssh_id_rsa");
        assert_eq!(assert_safe("a\0b"), "ab");
        assert_eq!(assert_safe("line\nbreak\r\t.txt"), "linebreak.txt");
        assert_eq!(assert_safe(""), FALLBACK_NAME);
        assert_eq!(assert_safe("   "), FALLBACK_NAME);
        assert_eq!(assert_safe(".bashrc"), "bashrc");
        assert_eq!(assert_safe("x. . "), "x");
        assert_eq!(assert_safe("what?<>|*\".txt"), "what______.txt");
    }

    #[test]
    fn device_names_are_defused() {
        for (wire, want) in [
            ("CON", "_CON"),
            ("con", "_con"),
            ("NUL.txt", "_NUL.txt"),
            ("lpt9.tar.gz", "_lpt9.tar.gz"),
            ("COM1 .txt", "_COM1 .txt"),
            ("CONSOLE.txt", "CONSOLE.txt"),
            ("nullable", "nullable"),
            ("COM0", "_COM0"),
            ("lpt0.log", "_lpt0.log"),
            ("COM¹.txt", "_COM¹.txt"),
            ("lpt³", "_lpt³"),
            ("CONIN$", "_CONIN$"),
            ("conout$.x", "_conout$.x"),
            ("COM10", "COM10"),
            ("COM⁴", "COM⁴"),
            ("x.CON", "x.CON"),
        ] {
            assert_eq!(assert_safe(wire), want, "{wire}");
        }
    }

    #[test]
    fn long_names_are_cut_at_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.jpeg", "x".repeat(500));
        let name = assert_safe(&long);
        assert_eq!(name.len(), MAX_NAME_LEN);
        assert!(name.ends_with(".jpeg"));
        let wide = "照".repeat(500); // 3 bytes each
        let name = assert_safe(&wide);
        assert!(name.len() <= MAX_NAME_LEN && name.len() > MAX_NAME_LEN - 3);
        assert!(name.chars().all(|c| c == '照'));
        let huge_ext = format!("a.{}", "e".repeat(300));
        assert_eq!(assert_safe(&huge_ext).len(), MAX_NAME_LEN);
    }

    #[test]
    fn unicode_and_ordinary_names_pass_unchanged() {
        for n in [
            "照片 2024.png",
            "résumé.pdf",
            "emoji 🎉.gif",
            "a.tar.gz",
            "README",
        ] {
            assert_eq!(assert_safe(n), n);
        }
    }

    #[test]
    fn free_names_are_numbered_before_the_extension() {
        assert_eq!(numbered("photo.jpg", 1), "photo (1).jpg");
        assert_eq!(numbered("README", 2), "README (2)");
        assert_eq!(numbered("a.tar.gz", 1), "a.tar (1).gz");
        let first: Vec<String> = candidates("photo.jpg").take(3).collect();
        assert_eq!(first, ["photo.jpg", "photo (1).jpg", "photo (2).jpg"]);
        assert_eq!(candidates("x").count(), 10_000);
    }
}

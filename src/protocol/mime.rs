//! Media types for offers: sniffed from a file's first bytes, else guessed from its name.
//!
//! Enough for the window to know what it may show as a picture (PNG, JPEG, GIF, WebP) and
//! to label the rest; not a general database. Pure functions.

/// Bytes of a file's head that [`detect`] looks at.
pub const SNIFF_LEN: usize = 16;

/// The fallback type.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// A folder sent as one transfer.
pub const FOLDER: &str = "inode/directory";

const MAGIC: [(&[u8], &str); 9] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xFF\xD8\xFF", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1F\x8B", "application/gzip"),
    (b"\x7FELF", "application/x-executable"),
];

const EXTENSIONS: [(&str, &str); 24] = [
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("bmp", "image/bmp"),
    ("svg", "image/svg+xml"),
    ("txt", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("json", "application/json"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("mp4", "video/mp4"),
    ("mkv", "video/x-matroska"),
    ("webm", "video/webm"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
];

/// The media type of a file called `name` whose first bytes are `head`: magic bytes
/// win over the extension (a PNG named `.jpg` is a PNG).
pub fn detect(name: &str, head: &[u8]) -> &'static str {
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return "image/webp";
    }
    if let Some((_, mime)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return mime;
    }
    from_name(name)
}

/// The media type guessed from a name's extension alone.
pub fn from_name(name: &str) -> &'static str {
    let Some((_, ext)) = name.rsplit_once('.') else {
        return OCTET_STREAM;
    };
    EXTENSIONS
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or(OCTET_STREAM, |(_, m)| m)
}

/// Whether the window may decode it as a picture for a thumbnail.
pub fn is_picture(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// A media type from the wire if it looks like one (`type/subtype`, short, plain ASCII),
/// else the guess from `name`.
pub fn from_wire(mime: &str, name: &str) -> String {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    };
    match mime.split_once('/') {
        Some((t, s)) if mime.len() <= 100 && plain(t) && plain(s) => mime.to_ascii_lowercase(),
        _ => from_name(name).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_win_over_the_extension() {
        assert_eq!(
            detect("x.jpg", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            "image/png"
        );
        assert_eq!(detect("x", b"\xFF\xD8\xFF\xE0\0\x10JFIF"), "image/jpeg");
        assert_eq!(detect("x.bin", b"GIF89a\x01\0"), "image/gif");
        assert_eq!(detect("x", b"RIFF\x24\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(detect("x", b"RIFF\x24\0\0\0WAVEfmt "), OCTET_STREAM);
        assert_eq!(detect("doc.pdf", b"%PDF-1.7"), "application/pdf");
    }

    #[test]
    fn extension_when_the_head_says_nothing() {
        assert_eq!(detect("notes.TXT", b"hello"), "text/plain");
        assert_eq!(detect("photo.JPeg", b""), "image/jpeg");
        assert_eq!(detect("README", b"hello"), OCTET_STREAM);
        assert_eq!(detect("archive.", b""), OCTET_STREAM);
    }

    #[test]
    fn pictures_are_the_four_the_window_shows() {
        assert!(is_picture("image/webp") && is_picture("image/png"));
        assert!(!is_picture("image/svg+xml") && !is_picture("text/plain"));
    }

    #[test]
    fn wire_types_are_checked() {
        assert_eq!(from_wire("image/PNG", "x"), "image/png");
        assert_eq!(from_wire("image/svg+xml", "x"), "image/svg+xml");
        assert_eq!(from_wire("", "a.gif"), "image/gif");
        assert_eq!(from_wire("text/html; charset=\"x\"", "a.txt"), "text/plain");
        assert_eq!(from_wire("\u{202e}/x", "a"), OCTET_STREAM);
    }
}

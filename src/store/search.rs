//! Full-text search that finds Chinese as well as English words. Pure functions.
//!
//! FTS5's default `unicode61` tokenizer splits on spaces and punctuation, so a run of
//! Chinese characters (`今天开会`) would be one token and `开会` would never match. Before
//! indexing, [`index_text`] sets every CJK character apart by spaces, so each is a token;
//! [`fts_query`] does the same to the query and asks for the characters as a phrase, in
//! order and adjacent: `开会` finds `今天开会吗`, of any length, one character included.
//! Latin words stay whole words (case- and accent-insensitive) and the last one of each
//! term is a prefix, so `hel` finds `hello` as the user types. The `trigram` tokenizer
//! was measured against this in `examples/history_bench.rs`: it cannot match queries
//! shorter than three characters (most Chinese words are two) and its index is larger.

/// Whether `c` is written without spaces between words: Han, kana, Hangul and the like.
pub(super) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF      // radicals
        | 0x3040..=0x30FF    // hiragana, katakana
        | 0x3100..=0x312F    // bopomofo
        | 0x3130..=0x318F    // hangul compatibility jamo
        | 0x31A0..=0x31FF    // bopomofo ext, katakana ext
        | 0x3400..=0x4DBF    // CJK ext A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x3134F // CJK ext B..G
    )
}

/// The text as indexed: every CJK character surrounded by spaces.
pub(super) fn index_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for c in text.chars() {
        if is_cjk(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// An FTS5 query for what a user typed: every whitespace-separated term must match
/// (as a phrase of its tokens; a trailing Latin word as a prefix). `None` if nothing is
/// left to search for. User input never reaches FTS5 syntax: each term is quoted.
pub(super) fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .filter_map(|term| {
            // Keep letters, digits and CJK; anything else separates tokens, as in unicode61.
            let cleaned: String = term
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                .collect();
            let spaced = index_text(&cleaned);
            let tokens: Vec<&str> = spaced.split_whitespace().collect();
            let last = tokens.last()?;
            let prefix = !last.chars().any(is_cjk);
            let phrase = format!("\"{}\"", tokens.join(" ").replace('"', "\"\""));
            Some(if prefix {
                format!("{phrase} *")
            } else {
                phrase
            })
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_characters_are_set_apart() {
        assert_eq!(index_text("今天开会 ok"), " 今  天  开  会  ok");
        assert_eq!(index_text("hello"), "hello");
        assert_eq!(index_text("カタカナ"), " カ  タ  カ  ナ ");
    }

    #[test]
    fn queries_are_quoted_phrases() {
        assert_eq!(fts_query("开会").unwrap(), r#""开 会""#);
        assert_eq!(fts_query("hel").unwrap(), r#""hel" *"#);
        assert_eq!(
            fts_query(" 会议 report ").unwrap(),
            r#""会 议" AND "report" *"#
        );
        assert_eq!(fts_query(r#"a"b OR"#).unwrap(), r#""a b" * AND "OR" *"#);
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("!!! ..."), None);
    }
}

//! Web links in a message: found in the text (`http://`, `https://`, `www.`), drawn
//! underlined in the link colour inside the same wrapped text, and opened with the
//! browser when clicked. Only web links: a peer on the LAN is a stranger, and a
//! `file:` or other scheme in a message is shown as text, never opened.
//!
//! A link ends at white space, at a character outside ASCII (Chinese text often runs on
//! straight after a link, with no space), and loses trailing punctuation that belongs to
//! the sentence (`.`, `,`, `)` without its `(`, …).

use std::ops::Range;

use egui::text::{LayoutJob, TextFormat};

/// Where the links are in `text` (byte ranges), in order.
pub fn find(text: &str) -> Vec<Range<usize>> {
    let mut links = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while from < text.len() {
        let Some(start) = ["https://", "http://", "www."]
            .iter()
            .filter_map(|p| lower[from..].find(p).map(|i| from + i))
            .min()
        else {
            break;
        };
        // `www.` inside a word (`awww.`) or a scheme after a letter is not a link start.
        let glued = text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.');
        let end = start
            + text[start..]
                .find(|c: char| c.is_whitespace() || !c.is_ascii() || "<>\"`".contains(c))
                .unwrap_or(text.len() - start);
        let end = trim_end(&text[start..end]) + start;
        let prefix = ["https://", "http://", "www."]
            .iter()
            .find(|p| lower[start..].starts_with(*p))
            .map_or(0, |p| p.len());
        if !glued && end > start + prefix + 1 {
            links.push(start..end);
        }
        from = end.max(start + 1);
        while !text.is_char_boundary(from) {
            from += 1;
        }
    }
    links
}

/// The length of `link` without the sentence punctuation after it: `.,;:!?'` always, and
/// a closing bracket whose opening one is not in the link.
fn trim_end(link: &str) -> usize {
    let mut end = link.len();
    loop {
        let Some(last) = link[..end].chars().next_back() else {
            return end;
        };
        let unbalanced = |open: char, close: char| {
            last == close && link[..end].matches(close).count() > link[..end].matches(open).count()
        };
        if ".,;:!?'*".contains(last)
            || unbalanced('(', ')')
            || unbalanced('[', ']')
            || unbalanced('{', '}')
        {
            end -= last.len_utf8();
        } else {
            return end;
        }
    }
}

/// The address to open for a link as written: `www.` links get `https://`.
pub fn target(link: &str) -> String {
    if link.to_ascii_lowercase().starts_with("www.") {
        format!("https://{link}")
    } else {
        link.to_owned()
    }
}

/// `text` as one layout job, the `links` in it drawn in `link_colour`, underlined.
pub fn job(
    text: &str,
    links: &[Range<usize>],
    plain: TextFormat,
    link_colour: egui::Color32,
) -> LayoutJob {
    let mut job = LayoutJob::default();
    let mut at = 0;
    for r in links {
        job.append(&text[at..r.start], 0.0, plain.clone());
        let mut format = plain.clone();
        format.color = link_colour;
        format.underline = egui::Stroke::new(1.0, link_colour);
        job.append(&text[r.clone()], 0.0, format);
        at = r.end;
    }
    job.append(&text[at..], 0.0, plain);
    job
}

/// The link at character index `char_index` of `text`, if any.
pub fn at(text: &str, links: &[Range<usize>], char_index: usize) -> Option<String> {
    let byte = text
        .char_indices()
        .nth(char_index)
        .map_or(text.len(), |(i, _)| i);
    links
        .iter()
        .find(|r| r.contains(&byte))
        .map(|r| target(&text[r.clone()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(text: &str) -> Vec<&str> {
        find(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn links_are_found_where_people_write_them() {
        assert_eq!(
            links("see https://example.com/a?b=1."),
            ["https://example.com/a?b=1"]
        );
        assert_eq!(
            links("(http://x.org/wiki/A_(b)) ok"),
            ["http://x.org/wiki/A_(b)"]
        );
        assert_eq!(
            links("看这个https://lanchat.dev/下载很好"),
            ["https://lanchat.dev/"]
        );
        assert_eq!(links("www.example.com, and"), ["www.example.com"]);
        assert_eq!(
            links("two: http://a.b https://c.d!"),
            ["http://a.b", "https://c.d"]
        );
        assert_eq!(
            links("no link: https:// or www. or awww.x"),
            Vec::<&str>::new()
        );
        assert_eq!(
            links("file:///etc/passwd javascript:alert(1)"),
            Vec::<&str>::new()
        );
        assert_eq!(links("HTTPS://EXAMPLE.COM"), ["HTTPS://EXAMPLE.COM"]);
        assert_eq!(links(""), Vec::<&str>::new());
    }

    #[test]
    fn a_click_finds_its_link() {
        let text = "去 www.example.com 看";
        let found = find(text);
        assert_eq!(at(text, &found, 0), None);
        assert_eq!(
            at(text, &found, 3).as_deref(),
            Some("https://www.example.com")
        );
        assert_eq!(at(text, &found, 18), None);
    }
}

//! Reading the OPML a feed reader exports: every outline with a feed URL, with the folder it
//! sits in. Pure: no I/O.
//!
//! Real exports are often not XML at all, so no XML parser is used: a strict one stops at the
//! first defect, and a lenient one silently swallows the outlines after an unescaped quote. This
//! scans `<outline>` tags directly and forgives what readers write: nested folders, attribute
//! names in any case (`xmlUrl`, `xmlurl`, `XMLURL`), a raw `&`, HTML entities, a `"` inside a
//! `"`-quoted value, even raw HTML (a value ends at a quote followed by another attribute, or by
//! the tag's end and the next tag),
//! and mismatched or missing closing tags.

use std::sync::LazyLock;

use regex::Regex;

/// One subscription in an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The outline's `title`, else its `text`; may be empty.
    pub title: String,
    pub xml_url: String,
    pub html_url: Option<String>,
    /// Title of the nearest enclosing folder outline, if any.
    pub folder: Option<String>,
}

/// Why a document could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("not an OPML document: {0}")]
pub struct OpmlError(pub String);

/// What may follow the closing quote of an attribute value: another attribute, or the tag's
/// end followed by the next tag (raw HTML in a description has `">text` inside the value).
static VALUE_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\s+[A-Za-z_:][-\w:.]*\s*=|\s*/?>\s*(?:<|$))").expect("a constant pattern")
});

/// Every outline with a feed URL, in document order.
pub fn read(text: &str) -> Result<Vec<Outline>, OpmlError> {
    let text = strip_comments(text);
    // ASCII lower-casing keeps every byte offset.
    let lower = text.to_ascii_lowercase();
    if !lower.contains("<opml") {
        return Err(OpmlError("it has no <opml> element".into()));
    }
    // The folder stack: `Some(title)` for a folder outline, `None` for a feed with children.
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = lower[pos..].find('<') {
        let at = pos + found;
        let rest = &lower[at..];
        if rest.starts_with("</outline") {
            folders.pop();
            pos = at + rest.find('>').map_or(rest.len(), |e| e + 1);
        } else if rest.starts_with("<outline")
            && rest[8..].starts_with(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        {
            let (attrs, self_closing, end) = tag(&text, at + 8);
            let folder = current_folder(&folders);
            match outline(&attrs, folder) {
                Some(o) => {
                    out.push(o);
                    if !self_closing {
                        folders.push(None);
                    }
                }
                None if !self_closing => folders.push(Some(title(&attrs))),
                None => {}
            }
            pos = end;
        } else {
            pos = at + 1;
        }
    }
    Ok(out)
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out
}

/// Reads the attributes of the tag whose name ends at `i`: (attributes with lower-cased names
/// and decoded values, whether it closes itself, the offset after it).
fn tag(text: &str, mut i: usize) -> (Vec<(String, String)>, bool, usize) {
    let b = text.as_bytes();
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return (attrs, true, b.len());
        }
        if b[i] == b'>' {
            return (attrs, false, i + 1);
        }
        if text[i..].starts_with("/>") {
            return (attrs, true, i + 2);
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        if i == name_start {
            i += 1; // a stray '/'
            continue;
        }
        let name = text[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            continue; // an attribute without a value
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let (raw, next) = match b.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => value(text, i + 1, q),
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                (&text[start..i], i)
            }
        };
        let value = html_escape::decode_html_entities(raw).trim().to_string();
        attrs.push((name, value));
        i = next;
    }
}

/// A quoted value starting at `start`: it ends at the first `quote` that is followed by another
/// attribute or the tag's end, else at the first `quote`.
fn value(text: &str, start: usize, quote: u8) -> (&str, usize) {
    let b = text.as_bytes();
    let quotes = || (start..b.len()).filter(move |&j| b[j] == quote);
    let end = quotes()
        .find(|&j| VALUE_END.is_match(&text[j + 1..]))
        .or_else(|| quotes().next());
    match end {
        Some(j) => (&text[start..j], j + 1),
        None => (&text[start..], b.len()),
    }
}

fn current_folder(folders: &[Option<String>]) -> Option<String> {
    folders
        .iter()
        .rev()
        .find_map(|f| f.clone())
        .filter(|f| !f.is_empty())
}

fn get<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

fn title(attrs: &[(String, String)]) -> String {
    get(attrs, "title")
        .or_else(|| get(attrs, "text"))
        .map(crate::normalize::text::plain_text)
        .unwrap_or_default()
}

fn outline(attrs: &[(String, String)], folder: Option<String>) -> Option<Outline> {
    let xml_url = get(attrs, "xmlurl")?.to_string();
    Some(Outline {
        title: title(attrs),
        xml_url,
        html_url: get(attrs, "htmlurl").map(str::to_string),
        folder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgives_case_raw_ampersands_nesting_and_broken_ends() {
        let doc = r#"<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
            <outline text="News &amp; Views" title="News">
              <outline text="A & B" XMLURL="https://ab.example/rss?a=1&b=2" htmlurl="https://ab.example/"/>
              <outline text="Folder 2"><outline title="C" xmlUrl="https://c.example/feed"></outline></outline>
            </outline>
            <outline text="Top" type="rss" xmlurl="https://top.example/atom.xml"/>
            <outline text="no feed here"/>
            <outline text="Quoted" description="calls him "the best," says <a href="https://x.example/">X</a>." xmlUrl="https://q.example/feed"/>
            <!-- <outline text="Old" xmlUrl="https://old.example/feed"/> -->
            </body></OPML>"#;
        let got = read(doc).unwrap();
        let summary: Vec<(&str, &str, Option<&str>)> = got
            .iter()
            .map(|o| (o.title.as_str(), o.xml_url.as_str(), o.folder.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("A & B", "https://ab.example/rss?a=1&b=2", Some("News")),
                ("C", "https://c.example/feed", Some("Folder 2")),
                ("Top", "https://top.example/atom.xml", None),
                ("Quoted", "https://q.example/feed", None),
            ]
        );
        assert_eq!(got[0].html_url.as_deref(), Some("https://ab.example/"));
        assert!(read("<html><body>not a list</body></html>").is_err());
    }
}

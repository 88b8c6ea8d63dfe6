//! Text cleaning shared by titles and HTML: XML-illegal control characters, HTML entities,
//! whitespace, and HTML fields kept as the feed gave them.

use ammonia::Builder;

use super::strip::html_text;

/// Removes characters XML 1.0 forbids (C0 controls other than tab, newline and carriage return,
/// and U+FFFE/U+FFFF). feed-rs passes them through and the rss/atom writers would write them raw,
/// making the whole merged feed unreadable to strict parsers.
pub fn strip_control(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
        })
        .collect()
}

/// Collapses runs of whitespace into one space and trims the ends.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text of a title or other short field that may hold tags or HTML entities (feed-rs keeps
/// undeclared entities such as `&rsquo;` literally).
pub fn plain_text(raw: &str) -> String {
    let cleaned = strip_control(raw);
    if !cleaned.contains('<') {
        return visible_text(&cleaned);
    }
    // A policy that keeps only the block elements, bare, so that [`html_text`] can turn them
    // into spaces: what else remains is the text, entity-escaped. Titles and names go through
    // the full parser (they are short, and rarely hold a tag at all); summaries, read on every
    // entry, through [`html_text`] alone.
    thread_local! {
        static BLOCKS_ONLY: Builder<'static> = {
            let mut builder = Builder::empty();
            builder
                .tags(super::strip::BLOCK_TAGS.iter().copied().collect())
                .generic_attributes(std::collections::HashSet::new());
            builder
        };
    }
    let blocks = BLOCKS_ONLY.with(|b| b.clean(&cleaned).to_string());
    html_text(&blocks)
}

/// Entity-escaped text as plain text: entities decoded, whitespace collapsed and no control
/// characters (C1 included, which XML allows but which only ever comes from mis-decoded
/// text); whitespace ones become spaces.
pub(super) fn visible_text(escaped: &str) -> String {
    let decoded = html_escape::decode_html_entities(escaped);
    let visible: String = decoded
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    collapse_whitespace(&visible)
}

/// HTML for a field that may be declared plain text, stored as the feed gave it: the HTML
/// itself (control characters removed, trimmed) when the field is declared HTML or, declared
/// text, [`looks_like_html`]; otherwise the text, escaped.
///
/// Not sanitized: that happens once per story change when it is published
/// (`render::sanitize`), not for every entry of every poll, most of which are never published
/// or are already stored. The size is bounded as the document is: an entry's HTML is part of
/// a body fetched within `[poll] max_body`.
pub fn feed_html(text: &str, declared_plain: bool) -> String {
    if declared_plain && !looks_like_html(text) {
        escape_html(text).trim().to_string()
    } else {
        strip_control(text).trim().to_string()
    }
}

/// Whether `html` may hold a URL that is resolved against a base: an `href` or `src`
/// attribute (`srcset` and `xlink:href` included), the only URL attributes the output policy
/// keeps. A cheap, sound test (attribute names cannot be entity-encoded): HTML without either
/// needs no base stored beside it.
pub fn may_hold_relative_urls(html: &str) -> bool {
    // A window of four: `src` needs at least `=` after it to be an attribute.
    html.as_bytes()
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"href") || w[..3].eq_ignore_ascii_case(b"src"))
}

/// Whether text declared plain is evidently HTML, as feedparser sniffs RSS descriptions: every
/// tag names a known HTML element, and there is markup, not just a `<` or two: a closing tag or
/// an element that never has one (`<br>`, `<img …>`). So `<p>Met officials.</p>` is HTML and
/// `a < b`, `x<y>z` or `Vec<String>` stay text. Written by hand: the sniff is a scan of tag
/// names, not a parse, and no crate offers feedparser's rule.
pub fn looks_like_html(text: &str) -> bool {
    let mut markup = false;
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let (closing, tag) = match rest.strip_prefix('/') {
            Some(tag) => (true, tag),
            None => (false, rest),
        };
        let end = tag
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(tag.len());
        let name = &tag[..end];
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue; // `a < b`, `<=`, `<3`: text
        }
        if !HTML_ELEMENTS.iter().any(|e| e.eq_ignore_ascii_case(name)) {
            return false;
        }
        markup |= closing || VOID_ELEMENTS.iter().any(|e| e.eq_ignore_ascii_case(name));
    }
    markup
}

const VOID_ELEMENTS: &[&str] = &["br", "hr", "img", "wbr", "source", "embed", "input"];

/// HTML's element names (and the old presentational ones feeds still carry).
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "base",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "body",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "link",
    "main",
    "map",
    "mark",
    "meta",
    "nav",
    "noscript",
    "object",
    "ol",
    "optgroup",
    "option",
    "p",
    "picture",
    "pre",
    "q",
    "s",
    "samp",
    "script",
    "section",
    "select",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "title",
    "tr",
    "track",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

/// Escapes plain text for use inside HTML.
pub fn escape_html(text: &str) -> String {
    html_escape::encode_text(&strip_control(text)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_removed_but_newlines_kept() {
        assert_eq!(strip_control("a\u{C}b\u{0}c\nd\te\u{FFFF}"), "abc\nd\te");
    }

    #[test]
    fn plain_text_decodes_entities_and_drops_tags() {
        assert_eq!(
            plain_text("It&rsquo;s  <b>here</b>&nbsp;now"),
            "It\u{2019}s here now"
        );
        assert_eq!(plain_text("Tom &amp; Jerry"), "Tom & Jerry");
        assert_eq!(plain_text("a < b"), "a < b");
    }

    #[test]
    fn text_declared_plain_is_read_as_html_only_when_it_is_markup() {
        for html in [
            "<p>Driscoll met officials.</p><script>alert('x')</script><img src=x onerror=y>",
            "Line one<br>line two",
            "<P>Upper case</P>",
        ] {
            assert!(looks_like_html(html), "{html}");
        }
        for text in [
            "a < b and c > d",
            "x<y>z in code",
            "Vec<String> is a type",
            "if a<b>c then",
            "5 <3 hearts </3",
            "plain words",
        ] {
            assert!(!looks_like_html(text), "{text}");
        }
        assert_eq!(
            feed_html("<p>Driscoll met officials.</p><script>x</script>", true),
            "<p>Driscoll met officials.</p><script>x</script>",
            "kept as given: sanitized on output"
        );
        assert_eq!(feed_html("x<y>z", true), "x&lt;y&gt;z");
        assert_eq!(feed_html(" <b>bold</b>\u{C} ", false), "<b>bold</b>");
    }

    #[test]
    fn block_elements_become_spaces_in_derived_text() {
        let html = "<p>keep rates on hold.</p><p>Markets had priced in</p><ul><li>one</li>\
                    <li>two</li></ul>three<br>four<h2>Five</h2><div>six</div>sev<b>en</b>";
        let want = "keep rates on hold. Markets had priced in one two three four Five six seven";
        assert_eq!(plain_text(html), want);
        assert_eq!(html_text(html), want);
    }

    #[test]
    fn a_base_is_needed_only_where_a_url_attribute_may_be() {
        for html in [
            "<a href=\"/x\">x</a>",
            "<IMG SRC=i.png>",
            "<img srcset=\"a.png 2x\">",
            "<svg><a xlink:href=\"/x\">",
        ] {
            assert!(may_hold_relative_urls(html), "{html}");
        }
        for html in ["<p>No links <b>here</b></p>", "plain text", ""] {
            assert!(!may_hold_relative_urls(html), "{html}");
        }
    }
}

//! Text cleaning shared by titles and HTML: XML-illegal control characters, HTML entities,
//! whitespace, and sanitizing with ammonia.

use ammonia::{Builder, UrlRelative};
use url::Url;

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
    // A policy that keeps only the block elements, bare, so that [`sanitized_text`] can turn
    // them into spaces: what else remains is the text, entity-escaped.
    thread_local! {
        static BLOCKS_ONLY: Builder<'static> = {
            let mut builder = Builder::empty();
            builder
                .tags(BLOCK_TAGS.iter().copied().collect())
                .generic_attributes(std::collections::HashSet::new());
            builder
        };
    }
    let blocks = BLOCKS_ONLY.with(|b| b.clean(&cleaned).to_string());
    sanitized_text(&blocks)
}

/// Elements that end a line or a paragraph: their tags become spaces in text derived from HTML,
/// so that `<p>on hold.</p><p>Markets</p>` reads "on hold. Markets", not "on hold.Markets".
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Whether the tag that starts `tag` (the text after its `<`, `/` included) is a block element.
fn is_block_tag(tag: &str) -> bool {
    let name = tag.strip_prefix('/').unwrap_or(tag);
    let end = name
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(name.len());
    let name = &name[..end];
    BLOCK_TAGS.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// Entity-escaped text as plain text: entities decoded, whitespace collapsed and no control
/// characters (C1 included, which XML allows but which only ever comes from mis-decoded
/// text); whitespace ones become spaces.
fn visible_text(escaped: &str) -> String {
    let decoded = html_escape::decode_html_entities(escaped);
    let visible: String = decoded
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    collapse_whitespace(&visible)
}

/// The text of HTML that [`sanitize_html`] wrote (or of plain text): what [`plain_text`] gives,
/// without parsing the document again.
///
/// Written by hand because the crate way, ammonia's tag-free policy, parses and rebuilds the
/// whole document with html5ever to undo markup whose shape we already know, and that is a
/// tenth of normalizing a feed (the dedup signature reads every summary's lead). ammonia's
/// serializer writes every `<` of text as `&lt;` and quotes every attribute value (escaping
/// `"` and `&` in it, not `>`), and our policy leaves no comments, scripts or styles; so
/// outside tags is text, and a tag ends at the first `>` outside double quotes. A `<` not
/// followed by a letter or `/` is text, as in HTML, so plain text passes through whole. A
/// tag cut off at the end (a prefix of a document) is dropped, as the parser drops it. A block
/// element's tags (`BLOCK_TAGS`) become a space.
pub fn sanitized_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let tag = &rest[open + 1..];
        if !tag.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/') {
            text.push('<');
            rest = tag;
            continue;
        }
        if is_block_tag(tag) {
            text.push(' ');
        }
        let mut quoted = false;
        let end = tag.bytes().position(|b| {
            if b == b'"' {
                quoted = !quoted;
            }
            b == b'>' && !quoted
        });
        rest = end.map_or("", |end| &tag[end + 1..]);
    }
    text.push_str(rest);
    visible_text(&strip_control(&text))
}

/// Safe HTML for republishing: ammonia's default policy (no scripts, styles, event handlers or
/// `javascript:` URLs; no SVG or MathML), relative URLs made absolute against `base`, and links
/// marked `noopener noreferrer nofollow`.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    let html = strip_control(html);
    // Building an ammonia policy allocates its tag and attribute tables; a feed's entries share
    // one base URL, so keep the last policy per thread.
    thread_local! {
        static POLICY: std::cell::RefCell<Option<(Url, Builder<'static>)>> =
            const { std::cell::RefCell::new(None) };
    }
    POLICY.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.as_ref().is_none_or(|(b, _)| b != base) {
            let mut builder = Builder::default();
            builder
                .url_relative(UrlRelative::RewriteWithBase(base.clone()))
                .link_rel(Some("noopener noreferrer nofollow"));
            *cached = Some((base.clone(), builder));
        }
        match cached.as_ref() {
            Some((_, builder)) => builder.clean(&html).to_string().trim().to_string(),
            None => String::new(),
        }
    })
}

/// HTML for a field that may be declared plain text: HTML sanitized as such when the field is
/// declared HTML or, declared text, [`looks_like_html`]; otherwise the text, escaped.
pub fn text_or_html(text: &str, declared_plain: bool, base: &Url) -> String {
    if declared_plain && !looks_like_html(text) {
        escape_html(text).trim().to_string()
    } else {
        sanitize_html(text, base)
    }
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
        let base = Url::parse("https://example.com/").unwrap();
        let html = text_or_html(
            "<p>Driscoll met officials.</p><script>alert('x')</script><img src=x onerror=y>",
            true,
            &base,
        );
        assert!(html.starts_with("<p>Driscoll met officials.</p>"), "{html}");
        assert!(
            !html.contains("script") && !html.contains("onerror"),
            "{html}"
        );
        assert_eq!(text_or_html("x<y>z", true, &base), "x&lt;y&gt;z");
    }

    #[test]
    fn block_elements_become_spaces_in_derived_text() {
        let html = "<p>keep rates on hold.</p><p>Markets had priced in</p><ul><li>one</li>\
                    <li>two</li></ul>three<br>four<h2>Five</h2><div>six</div>sev<b>en</b>";
        let want = "keep rates on hold. Markets had priced in one two three four Five six seven";
        assert_eq!(plain_text(html), want);
        let base = Url::parse("https://example.com/").unwrap();
        assert_eq!(sanitized_text(&sanitize_html(html, &base)), want);
    }

    #[test]
    fn text_read_from_sanitized_html_is_what_parsing_it_again_gives() {
        let base = Url::parse("https://example.com/news/").unwrap();
        let cases = [
            r#"<p title="a > b" class="x">Rates &amp; <b>bonds</b>&nbsp;fall</p><p>again</p>"#,
            r#"<a href="/x?a=1&b=2" title='it"s'>link</a> 3 &lt; 4 &gt; 2"#,
            "<ul><li>one</li><li>two<br>three</li></ul><img src=\"i.png\" alt=\"<b>\">",
            "a < b and <script>alert(1)</script>c<style>p{}</style><!-- note -->d",
            "<table>stray<tr><td>cell</td></tr></table> &rsquo;quoted&rsquo; \u{C}ctl",
            "plain text with a 5 < 6 comparison & an ampersand",
            "<div><p>cut off at <a href=\"https://example.com/a",
        ];
        for html in cases {
            let clean = sanitize_html(html, &base);
            assert_eq!(
                sanitized_text(&clean),
                plain_text(&clean),
                "{html:?} -> {clean:?}"
            );
        }
        // A prefix of sanitized HTML, cut inside a tag.
        let clean = sanitize_html(
            r#"<p>first words <a href="https://example.com/long">"#,
            &base,
        );
        let cut = &clean[..clean.len() - 10];
        assert_eq!(sanitized_text(cut), plain_text(cut), "{cut:?}");
    }

    #[test]
    fn sanitizing_removes_scripts_handlers_and_javascript_links() {
        let base = Url::parse("https://example.com/news/").unwrap();
        let out = sanitize_html(
            r#"<p onclick="steal()">Hi<script>alert(1)</script> <a href="javascript:alert(2)">x</a> <a href="more">more</a></p>"#,
            &base,
        );
        assert!(!out.contains("script"), "{out}");
        assert!(!out.contains("onclick"), "{out}");
        assert!(!out.contains("javascript"), "{out}");
        assert!(
            out.contains(r#"href="https://example.com/news/more""#),
            "{out}"
        );
    }
}

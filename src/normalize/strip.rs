//! The visible text of HTML as a feed gave it, for the dedup signature: tags dropped, the
//! contents of elements that are never shown as text skipped, entities decoded, whitespace
//! collapsed.
//!
//! Written by hand because it is on the hot path of every entry (the signature reads each
//! summary's lead) and the crate way, an HTML5 tree builder (html5ever, which ammonia uses), builds
//! and serializes a whole DOM to throw it away; that was about a fifth of normalizing a feed.
//! This is one forward scan. It does not rebuild a tree, so it does not apply the parser's
//! error recovery (foster-parented table text, misnested formatting); for the few words a
//! signature takes from a summary's start, that makes no difference measured by
//! `bench/dedup_quality.py` and the parse bench's story count. It is never used to make
//! HTML safe: sanitizing happens on output (`render::sanitize`).

/// Elements whose content is not visible text: scripts and styles (raw text), `noscript`
/// (fallback markup, shown only where scripts are off, and escaped markup in the scripting
/// parser ammonia uses), `template` (inert until a script uses it), SVG and MathML
/// (drawings and formulas: their text is labels and symbols, not prose), and the other
/// elements whose content HTML reads as raw markup (`xmp`, `iframe`, `noembed`,
/// `noframes`). Their content is
/// skipped up to the matching end tag; nesting of the same element is not tracked (an `svg`
/// inside an `svg` ends the skip early, which at worst lets some label text through).
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "xmp", "iframe", "noembed",
    "noframes",
];

/// Elements that end a line or a paragraph: their tags become spaces, so that
/// `<p>on hold.</p><p>Markets</p>` reads "on hold. Markets", not "on hold.Markets".
pub(super) const BLOCK_TAGS: &[&str] = &[
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

/// The visible text of `html` (or of plain text, which passes through): see the module doc.
///
/// Reading a prefix of a document gives a prefix of the whole document's text but for its
/// last, possibly cut, word: a tag, comment or skipped element cut off at the end is dropped,
/// as is everything after it, and a cut entity can only be part of the last word.
pub fn html_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let first = after.bytes().next();
        rest = match first {
            Some(b'!') => skip_markup_declaration(after),
            Some(b'?') => after.find('>').map_or("", |end| &after[end + 1..]),
            Some(b'/') if after[1..].starts_with(|c: char| c.is_ascii_alphabetic()) => {
                let (name, tail) = tag(&after[1..]);
                if is_block(name) {
                    text.push(' ');
                }
                tail
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let (name, tail) = tag(after);
                if is_block(name) {
                    text.push(' ');
                }
                match SKIPPED.iter().find(|s| s.eq_ignore_ascii_case(name)) {
                    Some(skipped) if !self_closed(after, tail) => skip_to_end_tag(tail, skipped),
                    _ => tail,
                }
            }
            // `a < b`, `<3`, `</ x`: text, as in HTML.
            _ => {
                text.push('<');
                after
            }
        };
    }
    text.push_str(rest);
    super::text::visible_text(&super::text::strip_control(&text))
}

/// The name of the tag that starts `after` (the text after `<`, or after `</`) and what
/// follows the tag's `>`; `""` when the tag is cut off. Attribute values quoted with `"` or
/// `'` may hold `>`; an unquoted value (or a stray quote in a name) cannot.
fn tag(after: &str) -> (&str, &str) {
    let name_end = after
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(after.len());
    let name = &after[..name_end];
    let bytes = after.as_bytes();
    let mut i = name_end;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => return (name, &after[i + 1..]),
            b'=' => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                if let Some(&q @ (b'"' | b'\'')) = bytes.get(i) {
                    match after[i + 1..].find(q as char) {
                        Some(close) => i += close + 2,
                        None => return (name, ""),
                    }
                }
            }
            _ => i += 1,
        }
    }
    (name, "")
}

/// Whether the start tag that ran from `after` to `tail` ended with `/>` (`<svg/>`,
/// `<script src=x />` in XHTML content): an element with no content to skip.
fn self_closed(after: &str, tail: &str) -> bool {
    let consumed = &after[..after.len() - tail.len()];
    consumed.trim_end_matches('>').ends_with('/')
}

/// What follows the end tag of `name` in `rest` (case-insensitive), or `""` if there is none.
fn skip_to_end_tag<'a>(rest: &'a str, name: &str) -> &'a str {
    let bytes = rest.as_bytes();
    let mut from = 0;
    while let Some(at) = rest[from..].find("</") {
        let start = from + at + 2;
        let candidate = &bytes[start..];
        if candidate.len() >= name.len()
            && candidate[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && candidate
                .get(name.len())
                .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        {
            return tag(&rest[start..]).1;
        }
        from = start;
    }
    ""
}

/// After `<!`: a comment runs to `-->`; anything else (`<!DOCTYPE …>`, `<![CDATA[…]]>`,
/// which HTML reads as a bogus comment) to the first `>`.
fn skip_markup_declaration(after: &str) -> &str {
    match after.strip_prefix("!--") {
        Some(comment) => comment.find("-->").map_or("", |end| &comment[end + 3..]),
        None => after.find('>').map_or("", |end| &after[end + 1..]),
    }
}

fn is_block(name: &str) -> bool {
    BLOCK_TAGS.iter().any(|b| b.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_dropped_and_block_elements_become_spaces() {
        let html = "<p>keep rates on hold.</p><p>Markets had priced in</p><ul><li>one</li>\
                    <li>two</li></ul>three<br>four<h2>Five</h2><div>six</div>sev<b>en</b>";
        assert_eq!(
            html_text(html),
            "keep rates on hold. Markets had priced in one two three four Five six seven"
        );
    }

    #[test]
    fn hidden_elements_are_skipped_with_their_content() {
        let html = "Lava<script>var spoiler = '</p>words';</script> reaches<style>p{}</style> \
                    the<noscript><img src=x></noscript> <SCRIPT type=x>hidden</SCRIPT >coast\
                    <template><p>inert</p></template><svg><title>icon</title><script>x</script></svg>\
                    <math><mi xlink:href=\"javascript:alert(1)\">x</mi></math> today";
        assert_eq!(html_text(html), "Lava reaches the coast today");
    }

    #[test]
    fn entities_are_decoded_and_whitespace_collapsed() {
        assert_eq!(
            html_text("Rates &amp; <b>bonds</b>&nbsp;fall &rsquo;quoted&rsquo; &#x41;&#66;\n\tx"),
            "Rates & bonds fall \u{2019}quoted\u{2019} AB x"
        );
        // Markup escaped as text is text, not tags.
        assert_eq!(
            html_text("&lt;script&gt;x&lt;/script&gt;"),
            "<script>x</script>"
        );
    }

    #[test]
    fn attributes_may_hold_angle_brackets_and_quotes() {
        let html =
            r#"<a title="a > b" data-x='it"s'>link</a> <img alt=it's>after <p title='x>y'>end"#;
        assert_eq!(html_text(html), "link after end");
    }

    #[test]
    fn comments_declarations_and_stray_brackets() {
        assert_eq!(
            html_text("a <!-- <p>no</p> --> b <!DOCTYPE html> c <![CDATA[d]]> e <?xml x?> f"),
            "a b c e f"
        );
        assert_eq!(html_text("a < b and 5 <3 x </ y"), "a < b and 5 <3 x </ y");
        assert_eq!(html_text("plain words"), "plain words");
    }

    #[test]
    fn self_closed_hidden_elements_skip_nothing() {
        assert_eq!(html_text("a <svg/> b <script src=x /> c"), "a b c");
    }

    #[test]
    fn a_prefix_reads_as_a_prefix_of_the_text() {
        let html = "<p>first words here</p><script>cut inside a script</script><p>more words \
                    <a href=\"https://example.com/long\">link text</a> &amp; the rest</p>";
        let whole = html_text(html);
        for cut in 0..html.len() {
            let part = html_text(&html[..cut]);
            let words: Vec<&str> = part.split(' ').collect();
            let complete = &words[..words.len().saturating_sub(1)].join(" ");
            assert!(whole.starts_with(complete.as_str()), "{cut}: {part:?}");
        }
    }

    #[test]
    fn text_of_sanitized_html_is_unchanged() {
        // What older versions stored (ammonia's output) reads the same.
        let html =
            "<p>Rates &amp; <b>bonds</b> fall</p><p><a href=\"https://example.com/a?x=1&amp;y=2\" \
                    rel=\"noopener noreferrer nofollow\">again</a></p>";
        assert_eq!(html_text(html), "Rates & bonds fall again");
    }
}

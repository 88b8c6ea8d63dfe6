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
    let text = if cleaned.contains('<') {
        // A policy that allows no tags: what remains is the text, entity-escaped.
        thread_local! {
            static TEXT_ONLY: Builder<'static> = Builder::empty();
        }
        TEXT_ONLY.with(|b| b.clean(&cleaned).to_string())
    } else {
        cleaned
    };
    let decoded = html_escape::decode_html_entities(&text);
    // Plain text has no use for any control character (C1 included, which XML allows but
    // which only ever comes from mis-decoded text); whitespace ones become spaces.
    let visible: String = decoded
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    collapse_whitespace(&visible)
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

//! The HTML page at `/`: the merged stories newest first, each with its sources, and links to
//! the feeds (each source's own only while there are few, [`LISTED_SOURCES`]) and the OPML.
//! Rendered here once per change like the feeds, so the page needs no JavaScript and the
//! server only copies bytes.
//!
//! Small on purpose: one inline stylesheet sized for phones, semantic elements (`main`,
//! `article`, `nav`, `time`) for screen readers, and `<link rel="alternate">` for every feed so
//! readers can discover them from the page address alone. Links are relative, so the page works
//! under any host or path prefix.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::Settings;
use crate::model::Story;
use crate::normalize::text::plain_text;

/// Characters that cannot stand in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Longest summary shown under a headline, in characters.
const SUMMARY_CHARS: usize = 280;

const STYLE: &str = "body{max-width:42rem;margin:0 auto;padding:0 1rem;font:1rem/1.5 system-ui,sans-serif;color:#222;background:#fff}\
h1{font-size:1.6rem;margin:1rem 0 .25rem}h2{font-size:1.15rem;margin:0 0 .25rem}\
ol{list-style:none;padding:0}article{border-bottom:1px solid #ddd;padding:.75rem 0}\
.meta{color:#555;font-size:.9rem;margin:0}a{color:#0645ad;overflow-wrap:anywhere}\
footer ul{padding-left:1.2rem}\
@media (prefers-color-scheme:dark){body{color:#ddd;background:#111}.meta{color:#aaa}a{color:#8ab4f8}article{border-color:#333}}";

/// One feed the page links to: (type, title, relative href).
struct Alternate {
    mime: &'static str,
    title: String,
    href: String,
}

fn segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

fn alternates(settings: &Settings) -> Vec<Alternate> {
    let t = &settings.title;
    let mut out = vec![
        Alternate {
            mime: "application/rss+xml",
            title: format!("{t} (RSS)"),
            href: "feed.xml".into(),
        },
        Alternate {
            mime: "application/atom+xml",
            title: format!("{t} (Atom)"),
            href: "atom.xml".into(),
        },
        Alternate {
            mime: "application/feed+json",
            title: format!("{t} (JSON Feed)"),
            href: "feed.json".into(),
        },
    ];
    let mut tags: Vec<&String> = settings.source_tags.values().flatten().collect();
    tags.sort();
    tags.dedup();
    for tag in tags {
        let s = segment(tag);
        for (mime, kind, ext) in [
            ("application/rss+xml", "RSS", "xml"),
            ("application/atom+xml", "Atom", "atom"),
            ("application/feed+json", "JSON Feed", "json"),
        ] {
            out.push(Alternate {
                mime,
                title: format!("{t} \u{2014} {tag} ({kind})"),
                href: format!("tags/{s}.{ext}"),
            });
        }
    }
    let mut names: Vec<&String> = settings.source_tags.keys().collect();
    names.sort();
    if names.len() > LISTED_SOURCES {
        names.clear();
    }
    for name in names {
        out.push(Alternate {
            mime: "application/rss+xml",
            title: format!("{t} \u{2014} {name} (RSS)"),
            href: format!("sources/{}.xml", segment(name)),
        });
    }
    out.push(Alternate {
        mime: "text/x-opml",
        title: "Sources (OPML)".into(),
        href: "sources.opml".into(),
    });
    out
}

/// Up to this many sources, the page links each one's own feed. Beyond it, it links none of
/// them: with 10,000 sources the page would be 2.5 MB (every source's feed linked twice), take
/// ~24 MB to compress at each render, and offer feed readers 10,000 feeds to pick from.
/// The OPML, always linked, lists every source's feed.
pub(crate) const LISTED_SOURCES: usize = 50;

/// The page for `stories` (newest first).
pub(crate) fn render(stories: &[&Story], settings: &Settings) -> String {
    let feeds = alternates(settings);
    let mut h = String::with_capacity(4096 + stories.len() * 600);
    let title = text(&settings.title);
    // Writing to a String cannot fail.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<meta name=\"description\" content=\"{}\">\n",
        attr(&settings.description)
    );
    for f in &feeds {
        let _ = writeln!(
            h,
            "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">",
            f.mime,
            attr(&f.title),
            attr(&f.href)
        );
    }
    let _ = write!(
        h,
        "<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{title}</h1>\n<p class=\"meta\">{}</p>\n</header>\n<main>\n",
        text(&settings.description)
    );
    if stories.is_empty() {
        h.push_str("<p>No stories yet.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<ol class=\"stories\" aria-label=\"Stories, newest first\">"
        );
        for story in stories {
            story_html(&mut h, story);
        }
        h.push_str("</ol>\n");
    }
    h.push_str("</main>\n<footer>\n<nav aria-label=\"Feeds\">\n<h2>Subscribe</h2>\n<ul>\n");
    for f in &feeds {
        let _ = writeln!(
            h,
            "<li><a href=\"{}\" type=\"{}\">{}</a></li>",
            attr(&f.href),
            f.mime,
            text(&f.title)
        );
    }
    let sources = settings.source_tags.len();
    if sources > LISTED_SOURCES {
        let _ = writeln!(
            h,
            "<li>Each of the {sources} sources has its own feed: the <a href=\"sources.opml\" type=\"text/x-opml\">OPML</a> lists them all.</li>"
        );
    }
    h.push_str("</ul>\n</nav>\n</footer>\n</body>\n</html>\n");
    h
}

fn story_html(h: &mut String, story: &Story) {
    let _ = write!(h, "<li><article id=\"s{}\">\n<h2>", story.id);
    match &story.link {
        Some(link) => {
            let _ = write!(h, "<a href=\"{}\">{}</a>", attr(link), text(&story.title));
        }
        None => h.push_str(&text(&story.title)),
    }
    let _ = write!(
        h,
        "</h2>\n<p class=\"meta\"><time datetime=\"{}\">{}</time> \u{00b7} ",
        story
            .published
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        when(story.published)
    );
    let sources = story.sources();
    for (i, copy) in sources.iter().enumerate() {
        h.push_str(match i {
            0 => "From ",
            1 => "; also reported by ",
            _ => ", ",
        });
        match &copy.link {
            Some(link) => {
                let _ = write!(
                    h,
                    "<a class=\"source\" href=\"{}\">{}</a>",
                    attr(link),
                    text(&copy.source)
                );
            }
            None => {
                let _ = write!(h, "<span class=\"source\">{}</span>", text(&copy.source));
            }
        }
    }
    h.push_str("</p>\n");
    let html = super::item::html(story);
    let summary = html
        .summary
        .as_deref()
        .or(html.content.as_deref())
        .map(plain_text)
        .unwrap_or_default();
    if !summary.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", text(&shorten(&summary)));
    }
    h.push_str("</article></li>\n");
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// At most [`SUMMARY_CHARS`] characters, cut at a word with an ellipsis.
fn shorten(s: &str) -> String {
    if s.chars().count() <= SUMMARY_CHARS {
        return s.to_string();
    }
    let cut: String = s.chars().take(SUMMARY_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}\u{2026}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_encoded() {
        assert_eq!(segment("Tech Daily/EU"), "Tech%20Daily%2FEU");
        assert_eq!(shorten("short"), "short");
        let long = "word ".repeat(100);
        let s = shorten(long.trim());
        assert!(s.ends_with("word\u{2026}") && s.chars().count() <= SUMMARY_CHARS + 1);
    }
}

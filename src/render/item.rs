//! What every format says about one story: its description ending with the sources paragraph,
//! the tags it carries, and its dates in whole seconds.

use chrono::{DateTime, FixedOffset, Timelike, Utc};

use std::sync::Arc;

use super::sanitize::{self, Sanitized};
use super::Settings;
use crate::model::Story;
use crate::normalize::text::escape_html;

/// The "From X. Also reported by: Y, Z." paragraph that ends every description.
pub(super) fn sources_paragraph(story: &Story) -> String {
    let sources = story.sources();
    let link = |c: &crate::model::Copy| match &c.link {
        Some(href) => format!(
            "<a href=\"{}\">{}</a>",
            escape_html(href),
            escape_html(&c.source)
        ),
        None => escape_html(&c.source),
    };
    let mut html = String::from("<p>From ");
    if let Some(first) = sources.first() {
        html.push_str(&link(first));
    }
    html.push('.');
    if sources.len() > 1 {
        html.push_str(" Also reported by: ");
        let others: Vec<String> = sources[1..].iter().map(|c| link(c)).collect();
        html.push_str(&others.join(", "));
        html.push('.');
    }
    html.push_str("</p>");
    html
}

/// The story's summary and content as every document publishes them: sanitized
/// ([`sanitize::of`]). Renderers read a story's HTML only through this.
pub(super) fn html(story: &Story) -> Arc<Sanitized> {
    sanitize::of(story)
}

/// The summary (or, lacking one, the content) followed by the sources paragraph.
pub(super) fn description(story: &Story, html: &Sanitized) -> String {
    let body = html
        .summary
        .as_deref()
        .or(html.content.as_deref())
        .unwrap_or_default();
    format!("{body}{}", sources_paragraph(story))
}

pub(super) fn tags_of<'a>(story: &Story, settings: &'a Settings) -> Vec<&'a str> {
    let mut tags: Vec<&str> = Vec::new();
    for copy in story.sources() {
        for tag in settings.source_tags.get(&copy.source).into_iter().flatten() {
            if !tags.contains(&tag.as_str()) {
                tags.push(tag);
            }
        }
    }
    tags
}

/// Who wrote the story, as every format names it: the authors its leading copy carried, or
/// where it carried none the leading source's name (Atom needs an author for every entry).
pub(super) fn authors_of(story: &Story) -> Vec<&str> {
    if story.authors.is_empty() {
        story
            .sources()
            .first()
            .map(|c| c.source.as_str())
            .into_iter()
            .collect()
    } else {
        story.authors.iter().map(String::as_str).collect()
    }
}

/// When the story last changed ([`Story::last_changed`]), as its entries say: the whole second,
/// plus a fraction of a second taken from the story's id. Stories do change in the same second
/// (founded by one poll of a feed that dates its items by the day, joined by copies from one
/// poll), and Atom readers take entries with the same `atom:updated` for one bulk edit (the W3C
/// validator warns). The fraction depends on the story alone, so an entry's date moves only
/// when the story changes, in every feed that carries it, and stays within its second.
pub(super) fn changed(story: &Story) -> DateTime<FixedOffset> {
    let t = story.last_changed();
    let micros = (story.id.0 % 1_000_000) as u32;
    t.with_nanosecond(micros * 1_000)
        .unwrap_or(t)
        .fixed_offset()
}

/// Whole seconds: sub-second precision means nothing to a reader and only adds noise.
pub(super) fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_nanosecond(0).unwrap_or(t).fixed_offset()
}

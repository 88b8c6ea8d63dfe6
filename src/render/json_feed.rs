//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>), written with serde from our own structs:
//! the format is a plain JSON object and no maintained crate writes 1.1 with extensions.
//!
//! Each item carries what the XML feeds carry; the sources (leader first, with links) go in a
//! `_feedmerge` extension object as well as in the closing HTML paragraph.

use serde::Serialize;

use super::item::{authors_of, changed, fixed, html, sources_paragraph, tags_of};
use super::meta::Meta;
use super::Settings;
use crate::model::Story;
use crate::normalize::text::plain_text;

#[derive(Serialize)]
struct Feed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    description: &'a str,
    authors: [Author<'a>; 1],
    /// JSON Feed's paging: the page of older items (RFC 5005's prev-archive).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Hub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Item<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
    _feedmerge: Extension<'a>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    /// Required by the spec; publishers that declare no type get the generic one.
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

#[derive(Serialize)]
struct Extension<'a> {
    /// Every source that carried the story, the leading one first.
    sources: Vec<Source<'a>>,
}

#[derive(Serialize)]
struct Source<'a> {
    name: &'a str,
    feed_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

/// The JSON Feed document for `stories` (newest first).
pub(super) fn render(stories: &[&Story], settings: &Settings, meta: &Meta) -> String {
    let items = stories.iter().map(|s| item(s, settings)).collect();
    let feed = Feed {
        version: "https://jsonfeed.org/version/1.1",
        title: &meta.title,
        home_page_url: settings.base_url.to_string(),
        feed_url: meta.json.clone(),
        description: &settings.description,
        authors: [Author {
            name: &settings.author,
        }],
        next_url: meta
            .paging
            .iter()
            .find(|(rel, _)| *rel == "prev-archive")
            .map(|(_, [_, _, json])| json.clone()),
        hubs: settings
            .websub_hub
            .iter()
            .map(|hub| Hub {
                kind: "WebSub",
                url: hub.to_string(),
            })
            .collect(),
        items,
    };
    // Plain structs of strings and numbers always serialize.
    serde_json::to_string_pretty(&feed).unwrap_or_default()
}

fn item<'a>(story: &'a Story, settings: &'a Settings) -> Item<'a> {
    let html = html(story);
    let body = html
        .content
        .as_deref()
        .or(html.summary.as_deref())
        .unwrap_or_default();
    Item {
        id: story.id.guid(),
        url: story.link.as_deref(),
        title: &story.title,
        content_html: format!("{body}{}", sources_paragraph(story)),
        summary: html
            .summary
            .as_deref()
            .map(plain_text)
            .filter(|s| !s.is_empty()),
        date_published: fixed(story.published).to_rfc3339(),
        date_modified: changed(story).to_rfc3339(),
        authors: authors_of(story)
            .into_iter()
            .map(|name| Author { name })
            .collect(),
        tags: tags_of(story, settings),
        attachments: story
            .enclosures
            .iter()
            .map(|e| Attachment {
                url: &e.url,
                mime_type: e.mime_type.as_deref().unwrap_or("application/octet-stream"),
                size_in_bytes: e.length,
            })
            .collect(),
        _feedmerge: Extension {
            sources: story
                .sources()
                .into_iter()
                .map(|c| Source {
                    name: &c.source,
                    feed_url: &c.source_url,
                    url: c.link.as_deref(),
                })
                .collect(),
        },
    }
}

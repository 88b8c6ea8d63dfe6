//! Stage 6: render the newest stories as RSS 2.0 (rss crate), Atom 1.0 (atom_syndication) and
//! JSON Feed 1.1 ([`json_feed`], serde).
//!
//! Pure and deterministic: the same stories give the same bytes, so the ETag (a hash of the
//! bytes) only changes when the feed does. Rendered once per change; the server only copies the
//! bytes. Each story lists every source that carried it: RSS/Atom `<source>` names the leading
//! one, and an "Also reported by" paragraph with links ends the description.

use std::collections::HashMap;
use std::hash::Hasher;
use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Timelike, Utc};
use siphasher::sip128::{Hasher128, SipHasher13};
use url::Url;

use crate::model::Story;
use crate::normalize::text::escape_html;

pub mod json_feed;

/// What the published feeds say about themselves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub title: String,
    pub description: String,
    /// Public address of the server; the feeds' self links are resolved against it.
    pub base_url: Url,
    pub max_items: usize,
    /// Stories carried by fewer sources are not published.
    pub min_sources: usize,
    /// Tags of each source, by source name; published as the items' categories.
    pub source_tags: HashMap<String, Vec<String>>,
    /// How long a subscriber may reuse a feed: the shortest poll interval, since nothing can
    /// change sooner than the most frequent poll.
    pub max_age: std::time::Duration,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            title: config.feed.title.clone(),
            description: config.feed.description.clone(),
            base_url: config.server.base_url.clone(),
            max_items: config.feed.max_items,
            min_sources: config.publish.min_sources,
            source_tags: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.tags.clone()))
                .collect(),
            max_age: config
                .sources
                .iter()
                .map(|s| s.interval)
                .min()
                .unwrap_or(config.poll.interval),
        }
    }

    pub(crate) fn link(&self, path: &str) -> String {
        self.base_url
            .join(path)
            .map_or_else(|_| format!("{}{path}", self.base_url), |u| u.to_string())
    }
}

/// One rendered document with what HTTP caching needs.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Bytes,
    /// The same body, gzip-compressed once here rather than on every request.
    pub gzip: Bytes,
    /// The same body, brotli-compressed.
    pub brotli: Bytes,
    /// Strong validator: a hash of `body`, quoted.
    pub etag: String,
    /// When the newest change in the document happened, as an HTTP date.
    pub last_modified: String,
    pub content_type: &'static str,
    /// `Cache-Control` value: public, for the settings' `max_age`.
    pub cache_control: String,
}

/// Everything the server publishes, replaced as a whole after each change.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
    pub stories: usize,
}

/// Renders `stories` (newest first) into a snapshot.
pub fn render(stories: &[Story], settings: &Settings) -> Snapshot {
    let updated = stories
        .iter()
        .map(|s| s.updated)
        .max()
        .unwrap_or_else(Utc::now);
    let finish = |body, content_type| finish(body, updated, content_type, settings);
    Snapshot {
        rss: finish(
            rss(stories, settings, updated),
            "application/rss+xml; charset=utf-8",
        ),
        atom: finish(
            atom(stories, settings, updated),
            "application/atom+xml; charset=utf-8",
        ),
        json: finish(
            json_feed::render(stories, settings),
            "application/feed+json; charset=utf-8",
        ),
        stories: stories.len(),
    }
}

fn finish(
    body: String,
    updated: DateTime<Utc>,
    content_type: &'static str,
    settings: &Settings,
) -> Rendered {
    let mut hasher = SipHasher13::new();
    hasher.write(body.as_bytes());
    let h = hasher.finish128();
    Rendered {
        etag: format!("\"{:016x}{:016x}\"", h.h1, h.h2),
        last_modified: httpdate::fmt_http_date(updated.into()),
        gzip: gzip(body.as_bytes()),
        brotli: brotli(body.as_bytes()),
        body: Bytes::from(body),
        content_type,
        cache_control: format!("public, max-age={}", settings.max_age.as_secs()),
    }
}

/// Quality 9 rather than 11: nearly as small, several times faster, and it runs on every change.
fn brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(body);
    }
    Bytes::from(out)
}

fn gzip(body: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// The "From X. Also reported by: Y, Z." paragraph that ends every description.
pub(crate) fn sources_paragraph(story: &Story) -> String {
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

fn description(story: &Story) -> String {
    let body = story
        .summary
        .as_deref()
        .or(story.content.as_deref())
        .unwrap_or_default();
    format!("{body}{}", sources_paragraph(story))
}

pub(crate) fn tags<'a>(story: &Story, settings: &'a Settings) -> Vec<&'a str> {
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

fn rss(stories: &[Story], settings: &Settings, updated: DateTime<Utc>) -> String {
    let items = stories
        .iter()
        .map(|story| {
            let leader = story.sources().first().map(|c| rss::Source {
                url: c.source_url.clone(),
                title: Some(c.source.clone()),
            });
            rss::Item {
                title: Some(story.title.clone()),
                link: story.link.clone(),
                description: Some(description(story)),
                guid: Some(rss::Guid {
                    value: story.id.guid(),
                    permalink: false,
                }),
                pub_date: Some(story.published.to_rfc2822()),
                source: leader,
                content: story.content.clone(),
                // RSS allows one enclosure per item; the first is the episode.
                enclosure: story.enclosures.first().map(|e| rss::Enclosure {
                    url: e.url.clone(),
                    length: e.length.unwrap_or(0).to_string(),
                    mime_type: e
                        .mime_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                }),
                // `<author>` must be an e-mail address; names go in `dc:creator`.
                dublin_core_ext: (!story.authors.is_empty()).then(|| {
                    rss::extension::dublincore::DublinCoreExtension {
                        creators: story.authors.clone(),
                        ..Default::default()
                    }
                }),
                categories: tags(story, settings)
                    .into_iter()
                    .map(|t| rss::Category {
                        name: t.to_string(),
                        domain: None,
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    let channel = rss::Channel {
        title: settings.title.clone(),
        link: settings.base_url.to_string(),
        description: settings.description.clone(),
        last_build_date: Some(updated.to_rfc2822()),
        generator: Some(format!("feedmerge {}", env!("CARGO_PKG_VERSION"))),
        atom_ext: Some(rss::extension::atom::AtomExtension {
            links: vec![atom_syndication::Link {
                href: settings.link("feed.xml"),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            }],
        }),
        items,
        ..Default::default()
    };
    channel.to_string()
}

/// Whole seconds: sub-second precision means nothing to a reader and only adds noise.
fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_nanosecond(0).unwrap_or(t).fixed_offset()
}

fn atom(stories: &[Story], settings: &Settings, updated: DateTime<Utc>) -> String {
    use atom_syndication as a;
    let entries = stories
        .iter()
        .map(|story| {
            let mut links = Vec::new();
            if let Some(href) = &story.link {
                links.push(a::Link {
                    href: href.clone(),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                });
            }
            for e in &story.enclosures {
                links.push(a::Link {
                    href: e.url.clone(),
                    rel: "enclosure".into(),
                    mime_type: e.mime_type.clone(),
                    length: e.length.map(|n| n.to_string()),
                    ..Default::default()
                });
            }
            for copy in story.sources().iter().skip(1) {
                if let Some(href) = &copy.link {
                    links.push(a::Link {
                        href: href.clone(),
                        rel: "related".into(),
                        title: Some(copy.source.clone()),
                        ..Default::default()
                    });
                }
            }
            let source = story.sources().first().map(|c| a::Source {
                title: a::Text::plain(c.source.clone()),
                id: c.source_url.clone(),
                updated: fixed(c.published),
                links: vec![a::Link {
                    href: c.source_url.clone(),
                    rel: "self".into(),
                    ..Default::default()
                }],
                ..Default::default()
            });
            a::Entry {
                title: a::Text::plain(story.title.clone()),
                id: story.id.guid(),
                updated: fixed(story.updated),
                published: Some(fixed(story.published)),
                authors: story
                    .authors
                    .iter()
                    .map(|name| a::Person {
                        name: name.clone(),
                        ..Default::default()
                    })
                    .collect(),
                categories: tags(story, settings)
                    .into_iter()
                    .map(|t| a::Category {
                        term: t.to_string(),
                        ..Default::default()
                    })
                    .collect(),
                links,
                source,
                summary: Some(a::Text::html(description(story))),
                content: story.content.as_ref().map(|html| a::Content {
                    value: Some(html.clone()),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = a::Feed {
        title: a::Text::plain(settings.title.clone()),
        subtitle: Some(a::Text::plain(settings.description.clone())),
        id: settings.link("atom.xml"),
        updated: fixed(updated),
        links: vec![
            a::Link {
                href: settings.link("atom.xml"),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            a::Link {
                href: settings.base_url.to_string(),
                rel: "alternate".into(),
                ..Default::default()
            },
        ],
        generator: Some(a::Generator {
            value: "feedmerge".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        entries,
        ..Default::default()
    };
    feed.to_string()
}

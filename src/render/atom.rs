//! The Atom 1.0 rendering of a feed (atom_syndication): one entry per story, the other sources
//! as `related` links, the leading one as the entry's `<source>`.

use chrono::{DateTime, Utc};

use super::item::{authors_of, changed, description, fixed, html, tags_of};
use super::meta::{hub_link, Meta, FH};
use super::Settings;
use crate::model::Story;

pub(super) fn render(
    stories: &[&Story],
    settings: &Settings,
    meta: &Meta,
    updated: DateTime<Utc>,
) -> String {
    use atom_syndication as a;
    let entries = stories
        .iter()
        .map(|story| {
            let html = html(story);
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
                updated: changed(story),
                published: Some(fixed(story.published)),
                authors: authors_of(story)
                    .into_iter()
                    .map(|name| a::Person {
                        name: name.to_string(),
                        ..Default::default()
                    })
                    .collect(),
                categories: tags_of(story, settings)
                    .into_iter()
                    .map(|t| a::Category {
                        term: t.to_string(),
                        ..Default::default()
                    })
                    .collect(),
                links,
                source,
                summary: Some(a::Text::html(description(story, &html))),
                content: html.content.as_ref().map(|html| a::Content {
                    value: Some(html.clone()),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = a::Feed {
        title: a::Text::plain(meta.title.clone()),
        subtitle: Some(a::Text::plain(settings.description.clone())),
        id: meta.atom.clone(),
        updated: fixed(updated),
        authors: vec![a::Person {
            name: settings.author.clone(),
            email: settings.author_email.clone(),
            ..Default::default()
        }],
        links: vec![
            a::Link {
                href: meta.atom.clone(),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            a::Link {
                href: settings.base_url.to_string(),
                rel: "alternate".into(),
                ..Default::default()
            },
        ]
        .into_iter()
        .chain(meta.paging.iter().map(|(rel, [_, href, _])| a::Link {
            href: href.clone(),
            rel: (*rel).into(),
            mime_type: Some("application/atom+xml".into()),
            ..Default::default()
        }))
        .chain(hub_link(settings))
        .collect(),
        generator: Some(a::Generator {
            value: "feedmerge".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        entries,
        ..Default::default()
    };
    let mut feed = feed;
    if meta.archive {
        feed.namespaces.insert("fh".into(), FH.into());
        let archive = a::extension::Extension {
            name: "fh:archive".into(),
            ..Default::default()
        };
        feed.extensions
            .entry("fh".into())
            .or_default()
            .insert("archive".into(), vec![archive]);
    }
    feed.to_string()
}

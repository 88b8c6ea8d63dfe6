//! The RSS 2.0 rendering of a feed (rss crate), with the Atom self, paging and hub links and
//! RFC 5005's `<fh:archive/>` on archive pages.

use chrono::{DateTime, Utc};

use super::item::{authors_of, description, html, tags_of};
use super::meta::{hub_link, Meta, FH};
use super::Settings;
use crate::model::Story;

pub(super) fn render(
    stories: &[&Story],
    settings: &Settings,
    meta: &Meta,
    updated: DateTime<Utc>,
) -> String {
    let items = stories
        .iter()
        .map(|story| {
            let html = html(story);
            let leader = story.sources().first().map(|c| rss::Source {
                url: c.source_url.clone(),
                title: Some(c.source.clone()),
            });
            rss::Item {
                title: Some(story.title.clone()),
                link: story.link.clone(),
                description: Some(description(story, &html)),
                guid: Some(rss::Guid {
                    value: story.id.guid(),
                    permalink: false,
                }),
                pub_date: Some(story.published.to_rfc2822()),
                source: leader,
                content: html.content.clone(),
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
                dublin_core_ext: Some(rss::extension::dublincore::DublinCoreExtension {
                    creators: authors_of(story).into_iter().map(String::from).collect(),
                    ..Default::default()
                }),
                categories: tags_of(story, settings)
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
        title: meta.title.clone(),
        link: settings.base_url.to_string(),
        description: settings.description.clone(),
        last_build_date: Some(updated.to_rfc2822()),
        generator: Some(format!("feedmerge {}", env!("CARGO_PKG_VERSION"))),
        atom_ext: Some(rss::extension::atom::AtomExtension {
            links: std::iter::once(atom_syndication::Link {
                href: meta.rss.clone(),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            })
            .chain(
                meta.paging
                    .iter()
                    .map(|(rel, [href, _, _])| atom_syndication::Link {
                        href: href.clone(),
                        rel: (*rel).into(),
                        mime_type: Some("application/rss+xml".into()),
                        ..Default::default()
                    }),
            )
            .chain(hub_link(settings))
            .collect(),
        }),
        items,
        ..Default::default()
    };
    let mut channel = channel;
    if meta.archive {
        channel.namespaces.insert("fh".into(), FH.into());
        let archive = rss::extension::Extension {
            name: "fh:archive".into(),
            ..Default::default()
        };
        channel
            .extensions
            .entry("fh".into())
            .or_default()
            .insert("archive".into(), vec![archive]);
    }
    channel.to_string()
}

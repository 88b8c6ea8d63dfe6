//! Everything the server publishes at once ([`Snapshot`]), made by [`render`] after each change,
//! and the archive pages ([`archive`]) rendered on request with the same settings.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::document::{finish, with_hub, ATOM_TYPE, JSON_TYPE, RSS_TYPE};
use super::meta::{archive_hrefs, Meta};
use super::select::{newest, select};
use super::source_feeds::SourceFeeds;
use super::{atom, html, item::tags_of, json_feed, opml, rss, Rendered, Settings};
use crate::model::Story;

/// Everything the server publishes, replaced as a whole after each change.
#[derive(Debug)]
pub struct Snapshot {
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
    /// The HTML page at `/`.
    pub html: Rendered,
    /// The sources as OPML, at `/sources.opml`.
    pub opml: Rendered,
    /// One feed set per tag used in the config, by tag.
    pub tags: BTreeMap<String, FeedSet>,
    /// One RSS feed per configured source, by source name: the merged stories it carried.
    pub sources: SourceFeeds,
    /// What it was rendered with; archive pages are rendered on request with the same.
    pub settings: std::sync::Arc<Settings>,
    /// How many stories the main feeds carry.
    pub stories: usize,
}

impl Snapshot {
    /// Every feed rendered with the snapshot (not the page, the OPML, the archives or the
    /// per-source feeds, which render on request).
    pub fn feeds(&self) -> impl Iterator<Item = &Rendered> {
        [&self.rss, &self.atom, &self.json]
            .into_iter()
            .chain(self.tags.values().flat_map(|f| [&f.rss, &f.atom, &f.json]))
    }

    /// Every feed a subscriber can follow, as (public URL, version): the version changes
    /// exactly when the feed's content does, without rendering the per-source feeds.
    pub fn topics(&self) -> Vec<(String, String)> {
        let rendered = self
            .feeds()
            .filter_map(|f| Some((f.self_url.clone()?, f.etag.clone())));
        rendered
            .chain(self.sources.topics(&self.settings))
            .collect()
    }
}

/// One selection of stories in the three formats.
#[derive(Debug, Clone)]
pub struct FeedSet {
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
}

/// Renders `stories` (newest first) into a snapshot. `stories` may reach further back than
/// `max_items` (see [`Wanted`](super::Wanted)): the main feeds take the newest `max_items`,
/// each tag and source feed the newest `max_items` of its own.
pub fn render(stories: &[Story], settings: &Settings) -> Snapshot {
    let main: Vec<&Story> = stories.iter().take(settings.max_items).collect();
    let mut main_meta = Meta::main(settings);
    // Older stories stay reachable: the archive page of the oldest story's day holds it and the
    // ones reported earlier that day, and links further back.
    if let Some(oldest) = main.last() {
        let day = oldest.published.date_naive();
        main_meta
            .paging
            .push(("prev-archive", archive_hrefs(settings, day)));
    }
    let FeedSet { rss, atom, json } = feed_set(&main, settings, &main_meta);
    let html = finish(
        html::render(&main, settings),
        newest(&main),
        "text/html; charset=utf-8",
        settings,
    );
    let opml = finish(
        opml::render(settings, newest(&main)),
        newest(&main),
        "text/x-opml; charset=utf-8",
        settings,
    );
    let mut tags = BTreeMap::new();
    for tag in settings.source_tags.values().flatten() {
        if tags.contains_key(tag) {
            continue;
        }
        let selected = select(stories, settings, |s| {
            tags_of(s, settings).contains(&tag.as_str())
        });
        tags.insert(
            tag.clone(),
            feed_set(&selected, settings, &Meta::tag(settings, tag)),
        );
    }
    let sources = SourceFeeds::new(stories, settings);
    Snapshot {
        rss,
        atom,
        json,
        html,
        opml,
        tags,
        sources,
        settings: std::sync::Arc::new(settings.clone()),
        stories: main.len(),
    }
}

/// One archive page (RFC 5005): the stories first reported on `day`, newest first, in the
/// format of `ext` (`xml`, `atom` or `json`), linked to the nearest older and newer pages that
/// exist and to the current feed. `None` for an unknown format.
pub fn archive(
    stories: &[Story],
    settings: &Settings,
    day: NaiveDate,
    older: Option<NaiveDate>,
    newer: Option<NaiveDate>,
    ext: &str,
) -> Option<Rendered> {
    let [rss_href, atom_href, json_href] = archive_hrefs(settings, day);
    let mut paging = vec![(
        "current",
        [
            settings.link("feed.xml"),
            settings.link("atom.xml"),
            settings.link("feed.json"),
        ],
    )];
    if let Some(d) = older {
        paging.push(("prev-archive", archive_hrefs(settings, d)));
    }
    if let Some(d) = newer {
        paging.push(("next-archive", archive_hrefs(settings, d)));
    }
    let meta = Meta {
        title: format!("{} \u{2014} {day}", settings.title),
        rss: rss_href,
        atom: atom_href,
        json: json_href,
        paging,
        archive: true,
    };
    let stories: Vec<&Story> = stories.iter().collect();
    let updated = newest(&stories);
    let (body, content_type) = match ext {
        "xml" => (rss::render(&stories, settings, &meta, updated), RSS_TYPE),
        "atom" => (atom::render(&stories, settings, &meta, updated), ATOM_TYPE),
        "json" => (json_feed::render(&stories, settings, &meta), JSON_TYPE),
        _ => return None,
    };
    let self_url = match ext {
        "xml" => &meta.rss,
        "atom" => &meta.atom,
        _ => &meta.json,
    };
    Some(with_hub(
        finish(body, updated, content_type, settings),
        settings,
        self_url,
    ))
}

/// `stories` rendered in the three formats, each as the feed `meta` describes.
fn feed_set(stories: &[&Story], settings: &Settings, meta: &Meta) -> FeedSet {
    let updated = newest(stories);
    let finish = |body, content_type, self_url: &str| {
        with_hub(
            finish(body, updated, content_type, settings),
            settings,
            self_url,
        )
    };
    FeedSet {
        rss: finish(
            rss::render(stories, settings, meta, updated),
            RSS_TYPE,
            &meta.rss,
        ),
        atom: finish(
            atom::render(stories, settings, meta, updated),
            ATOM_TYPE,
            &meta.atom,
        ),
        json: finish(
            json_feed::render(stories, settings, meta),
            JSON_TYPE,
            &meta.json,
        ),
    }
}

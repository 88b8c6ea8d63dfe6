//! Stage 6: render the newest stories as RSS 2.0 (rss crate), Atom 1.0 (atom_syndication) and
//! JSON Feed 1.1 ([`json_feed`], serde).
//!
//! Pure and deterministic: the same stories give the same bytes, so the ETag (a hash of the
//! bytes) only changes when the feed does. Rendered once per change; the server only copies the
//! bytes. Each story lists every source that carried it: RSS/Atom `<source>` names the leading
//! one, and an "Also reported by" paragraph with links ends the description.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate, Timelike, Utc};
use siphasher::sip128::{Hasher128, SipHasher13};
use url::Url;

use crate::model::Story;
use crate::normalize::text::escape_html;

mod html;
pub mod json_feed;
mod opml;

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
    /// (name, feed URL) of every source, in config order; exported as OPML.
    pub sources: Vec<(String, String)>,
    /// How long a subscriber may reuse a feed: the shortest poll interval, since nothing can
    /// change sooner than the most frequent poll.
    pub max_age: std::time::Duration,
    /// The WebSub hub every feed advertises, if any.
    pub websub_hub: Option<Url>,
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
            sources: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.url.to_string()))
                .collect(),
            max_age: config
                .sources
                .iter()
                .map(|s| s.interval)
                .min()
                .unwrap_or(config.poll.interval),
            websub_hub: config.publish.websub_hub.clone(),
        }
    }

    /// The public URL of `segments` under the base, each percent-encoded (tag and source names
    /// may hold spaces or slashes).
    pub(crate) fn link_segments(&self, segments: &[&str]) -> String {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.to_string()
    }

    pub(crate) fn link(&self, path: &str) -> String {
        self.base_url
            .join(path)
            .map_or_else(|_| format!("{}{path}", self.base_url), |u| u.to_string())
    }
}

/// Which stories a render needs, offered newest first: every story until the main feeds have
/// `max_items`, then only those a tag or source feed still lacks. Reading until [`Wanted`]
/// is satisfied fills a rare tag's feed from older stories instead of leaving it short; a
/// source's feed is filled from the stories read for those, so a quiet source without a tag
/// of its own may show fewer than `max_items`.
pub struct Wanted<'a> {
    settings: &'a Settings,
    main: usize,
    tags: HashMap<&'a str, usize>,
    sources: HashMap<&'a str, usize>,
}

impl<'a> Wanted<'a> {
    pub fn new(settings: &'a Settings) -> Wanted<'a> {
        Wanted {
            settings,
            main: 0,
            tags: settings
                .source_tags
                .values()
                .flatten()
                .map(|t| (t.as_str(), 0))
                .collect(),
            sources: settings
                .source_tags
                .keys()
                .map(|s| (s.as_str(), 0))
                .collect(),
        }
    }

    /// Whether `story` (older than every story offered before) goes into some feed, and
    /// whether any feed still has room.
    pub fn offer(&mut self, story: &Story) -> crate::store::Offer {
        let max = self.settings.max_items;
        let mut keep = false;
        let mut count = |n: &mut usize| {
            if *n < max {
                *n += 1;
                keep = true;
            }
        };
        count(&mut self.main);
        for tag in tags_of(story, self.settings) {
            if let Some(n) = self.tags.get_mut(tag) {
                count(n);
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for copy in &story.copies {
            if seen.contains(&copy.source.as_str()) {
                continue;
            }
            seen.push(&copy.source);
            if let Some(n) = self.sources.get_mut(copy.source.as_str()) {
                count(n);
            }
        }
        // Per-source feeds take what the main and tag feeds read but do not prolong the read:
        // with thousands of sources some never fill, and every render would read the store's
        // whole scan limit for them.
        let more = self.main < max || self.tags.values().any(|n| *n < max);
        crate::store::Offer { keep, more }
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
    /// `Link` header naming the WebSub hub and the feed's own URL, when a hub is configured.
    pub link: Option<String>,
    /// The feed's public URL (its WebSub topic); `None` for the HTML page and the OPML.
    pub self_url: Option<String>,
    /// `last_modified` as a time, for `If-Modified-Since`; `None` only if it cannot be parsed.
    pub modified: Option<std::time::SystemTime>,
    /// Every response header, built once here so that a request clones one map of shared
    /// values instead of validating and copying strings.
    pub heads: Heads,
}

/// The headers of each response a document gets, built once per render.
#[derive(Debug, Clone, Default)]
pub struct Heads {
    /// `200` with the plain body: the caching headers (ETag, Last-Modified, Cache-Control,
    /// Vary, Link), Content-Type and Content-Length.
    pub identity: axum::http::HeaderMap,
    /// `200` with the gzip body: the same with `Content-Encoding: gzip` and its length.
    pub gzip: axum::http::HeaderMap,
    /// `200` with the brotli body.
    pub brotli: axum::http::HeaderMap,
    /// `304`: the caching headers only.
    pub not_modified: axum::http::HeaderMap,
}

impl Rendered {
    /// About how much memory the document holds: its three bodies, its strings and its four
    /// prebuilt header maps (~7 KB together, measured with heaptrack: for a small per-source
    /// feed the maps outweigh the bodies).
    fn memory(&self) -> usize {
        const HEADS: usize = 8 << 10;
        self.body.len()
            + self.gzip.len()
            + self.brotli.len()
            + self.etag.len()
            + self.last_modified.len()
            + self.cache_control.len()
            + self.link.as_ref().map_or(0, String::len)
            + self.self_url.as_ref().map_or(0, String::len)
            + HEADS
    }

    fn build_headers(&mut self) {
        use axum::http::{header, HeaderMap, HeaderValue};
        let mut caching = HeaderMap::new();
        let set = |h: &mut HeaderMap, name, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        };
        set(&mut caching, header::ETAG, &self.etag);
        set(&mut caching, header::LAST_MODIFIED, &self.last_modified);
        set(&mut caching, header::CACHE_CONTROL, &self.cache_control);
        set(&mut caching, header::VARY, "Accept-Encoding");
        if let Some(link) = &self.link {
            set(&mut caching, header::LINK, link);
        }
        let full = |encoding: Option<&'static str>, body: &Bytes| {
            let mut h = caching.clone();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            if let Some(encoding) = encoding {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            }
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            h
        };
        self.heads = Heads {
            identity: full(None, &self.body),
            gzip: full(Some("gzip"), &self.gzip),
            brotli: full(Some("br"), &self.brotli),
            not_modified: caching,
        };
    }
}

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
    pub tags: BTreeMap<String, Feeds>,
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
        let sources = self.sources.picks.iter().map(|(name, picks)| {
            let url = Meta::source(&self.settings, name).rss;
            (url, format!("{:016x}", self.sources.version(picks)))
        });
        rendered.chain(sources).collect()
    }
}

/// The per-source feeds, rendered on first request and kept for the snapshot's life. Rendering
/// them all with every snapshot would cost a daemon with thousands of sources thousands of
/// renders and compressions per change, for feeds few people read.
#[derive(Debug)]
pub struct SourceFeeds {
    /// The stories the snapshot read (newest first).
    stories: Vec<Story>,
    /// For each configured source, the indices in `stories` of the newest `max_items` it
    /// carried.
    picks: HashMap<String, Vec<usize>>,
    rendered: std::sync::Mutex<SourceFeedCache>,
    /// [`SOURCE_FEEDS_BYTES`]; smaller in tests.
    budget: usize,
}

/// The per-source feeds rendered so far, within [`SOURCE_FEEDS_BYTES`].
#[derive(Debug, Default)]
struct SourceFeedCache {
    docs: HashMap<String, std::sync::Arc<Rendered>>,
    bytes: usize,
}

/// How much memory rendered per-source feeds ([`Rendered::memory`]) one snapshot keeps.
/// Without a bound, anyone fetching every `/sources/NAME.xml` of a 10,000-source daemon grew it
/// by ~64 MB until the next change; beyond it a feed is rendered again when asked
/// (milliseconds).
const SOURCE_FEEDS_BYTES: usize = 8 << 20;

impl SourceFeeds {
    fn new(stories: &[Story], settings: &Settings) -> SourceFeeds {
        let mut picks: HashMap<String, Vec<usize>> = settings
            .source_tags
            .keys()
            .map(|name| (name.clone(), Vec::new()))
            .collect();
        // One pass over the stories rather than one per source.
        for (i, story) in stories.iter().enumerate() {
            let mut seen: Vec<&str> = Vec::new();
            for copy in &story.copies {
                if seen.contains(&copy.source.as_str()) {
                    continue;
                }
                seen.push(&copy.source);
                if let Some(list) = picks.get_mut(&copy.source) {
                    if list.len() < settings.max_items {
                        list.push(i);
                    }
                }
            }
        }
        SourceFeeds {
            stories: stories.to_vec(),
            picks,
            rendered: std::sync::Mutex::new(SourceFeedCache::default()),
            budget: SOURCE_FEEDS_BYTES,
        }
    }

    /// The feed of the source named `name`, or `None` if no such source is configured.
    pub fn get(&self, name: &str, settings: &Settings) -> Option<std::sync::Arc<Rendered>> {
        let picks = self.picks.get(name)?;
        // A poisoned lock only means another request panicked mid-insert; the map is still a
        // valid cache.
        let mut cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(doc) = cache.docs.get(name) {
            return Some(doc.clone());
        }
        let selected: Vec<&Story> = picks.iter().map(|&i| &self.stories[i]).collect();
        let meta = Meta::source(settings, name);
        let updated = newest(&selected);
        let body = rss_of(&selected, settings, &meta, updated);
        let doc = std::sync::Arc::new(with_hub(
            finish(body, updated, RSS_TYPE, settings),
            settings,
            &meta.rss,
        ));
        let size = doc.memory();
        while cache.bytes + size > self.budget {
            // Any one: which feeds are asked for again is not known, and all are cheap.
            let Some(evict) = cache.docs.keys().next().cloned() else {
                break;
            };
            if let Some(old) = cache.docs.remove(&evict) {
                cache.bytes -= old.memory();
            }
        }
        if size <= self.budget {
            cache.bytes += size;
            cache.docs.insert(name.to_string(), doc.clone());
        }
        Some(doc)
    }

    /// A hash of what a source's feed shows (each story's id and last change).
    fn version(&self, picks: &[usize]) -> u64 {
        let mut hasher = SipHasher13::new();
        for &i in picks {
            let story = &self.stories[i];
            hasher.write_u64(story.id.0);
            hasher.write_i64(story.updated.timestamp_micros());
        }
        hasher.finish()
    }
}

/// One selection of stories in the three formats.
#[derive(Debug, Clone)]
pub struct Feeds {
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
}

/// What tells one published feed from another: its title and where each format lives.
pub(crate) struct Meta {
    pub title: String,
    pub rss: String,
    pub atom: String,
    pub json: String,
    /// RFC 5005 links: (rel, the same page in RSS, Atom, JSON Feed).
    pub paging: Vec<(&'static str, [String; 3])>,
    /// Whether this is an archive page (`<fh:archive/>`).
    pub archive: bool,
}

/// RFC 5005's namespace for `<fh:archive/>`.
const FH: &str = "http://purl.org/syndication/history/1.0";

/// The archive page of `day` in the three formats.
fn archive_hrefs(settings: &Settings, day: NaiveDate) -> [String; 3] {
    ["xml", "atom", "json"].map(|ext| settings.link(&format!("archive/{day}.{ext}")))
}

impl Meta {
    fn main(settings: &Settings) -> Meta {
        Meta {
            title: settings.title.clone(),
            rss: settings.link("feed.xml"),
            atom: settings.link("atom.xml"),
            json: settings.link("feed.json"),
            paging: Vec::new(),
            archive: false,
        }
    }

    fn tag(settings: &Settings, tag: &str) -> Meta {
        let at = |ext: &str| settings.link_segments(&["tags", &format!("{tag}.{ext}")]);
        Meta {
            title: format!("{} \u{2014} {tag}", settings.title),
            rss: at("xml"),
            atom: at("atom"),
            json: at("json"),
            paging: Vec::new(),
            archive: false,
        }
    }

    fn source(settings: &Settings, name: &str) -> Meta {
        let rss = settings.link_segments(&["sources", &format!("{name}.xml")]);
        Meta {
            title: format!("{} \u{2014} {name}", settings.title),
            atom: rss.clone(),
            json: rss.clone(),
            rss,
            paging: Vec::new(),
            archive: false,
        }
    }
}

/// Renders `stories` (newest first) into a snapshot. `stories` may reach further back than
/// `max_items` (see [`Wanted`]): the main feeds take the newest `max_items`, each tag and
/// source feed the newest `max_items` of its own.
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
    let Feeds { rss, atom, json } = feeds(&main, settings, &main_meta);
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
            feeds(&selected, settings, &Meta::tag(settings, tag)),
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
        "xml" => (rss_of(&stories, settings, &meta, updated), RSS_TYPE),
        "atom" => (
            atom_of(&stories, settings, &meta, updated),
            "application/atom+xml; charset=utf-8",
        ),
        "json" => (
            json_feed::render(&stories, settings, &meta),
            "application/feed+json; charset=utf-8",
        ),
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

const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";

fn select<'a>(
    stories: &'a [Story],
    settings: &Settings,
    keep: impl Fn(&Story) -> bool,
) -> Vec<&'a Story> {
    stories
        .iter()
        .filter(|s| keep(s))
        .take(settings.max_items)
        .collect()
}

/// When the newest of `stories` last changed. An empty feed has never changed: the Unix epoch
/// keeps its bytes, and so its ETag, the same on every render (the clock would change them and
/// ping WebSub subscribers for nothing).
fn newest(stories: &[&Story]) -> DateTime<Utc> {
    stories
        .iter()
        .map(|s| s.updated)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn feeds(stories: &[&Story], settings: &Settings, meta: &Meta) -> Feeds {
    let updated = newest(stories);
    let finish = |body, content_type, self_url: &str| {
        with_hub(
            finish(body, updated, content_type, settings),
            settings,
            self_url,
        )
    };
    Feeds {
        rss: finish(
            rss_of(stories, settings, meta, updated),
            RSS_TYPE,
            &meta.rss,
        ),
        atom: finish(
            atom_of(stories, settings, meta, updated),
            "application/atom+xml; charset=utf-8",
            &meta.atom,
        ),
        json: finish(
            json_feed::render(stories, settings, meta),
            "application/feed+json; charset=utf-8",
            &meta.json,
        ),
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
    let mut doc = Rendered {
        etag: format!("\"{:016x}{:016x}\"", h.h1, h.h2),
        last_modified: httpdate::fmt_http_date(updated.into()),
        gzip: gzip(body.as_bytes()),
        brotli: brotli(body.as_bytes()),
        body: Bytes::from(body),
        content_type,
        cache_control: format!("public, max-age={}", settings.max_age.as_secs()),
        link: None,
        self_url: None,
        modified: None,
        heads: Heads::default(),
    };
    doc.modified = httpdate::parse_http_date(&doc.last_modified).ok();
    doc.build_headers();
    doc
}

/// Adds the WebSub `Link` header (hub and self) to a rendered feed when a hub is configured.
fn with_hub(mut doc: Rendered, settings: &Settings, self_url: &str) -> Rendered {
    doc.self_url = Some(self_url.to_string());
    if let Some(hub) = &settings.websub_hub {
        doc.link = Some(format!("<{hub}>; rel=\"hub\", <{self_url}>; rel=\"self\""));
        doc.build_headers();
    }
    doc
}

/// The hub link feeds carry in their bodies.
fn hub_link(settings: &Settings) -> Option<atom_syndication::Link> {
    settings
        .websub_hub
        .as_ref()
        .map(|hub| atom_syndication::Link {
            href: hub.to_string(),
            rel: "hub".into(),
            ..Default::default()
        })
}

/// Quality 7: it runs on every change of every feed. On farm feeds (125 KB) quality 9 took
/// 17 ms a document and zeroed a 32 MB hash table each time (the largest single allocation
/// of a busy daemon); quality 7 takes 2.9 ms with an 8 MB table, for a body 0.7% larger.
const BROTLI_QUALITY: u32 = 7;

fn brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, 22);
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

pub(crate) fn tags_of<'a>(story: &Story, settings: &'a Settings) -> Vec<&'a str> {
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

fn rss_of(stories: &[&Story], settings: &Settings, meta: &Meta, updated: DateTime<Utc>) -> String {
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

/// Whole seconds: sub-second precision means nothing to a reader and only adds noise.
fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_nanosecond(0).unwrap_or(t).fixed_offset()
}

fn atom_of(stories: &[&Story], settings: &Settings, meta: &Meta, updated: DateTime<Utc>) -> String {
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
                categories: tags_of(story, settings)
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
        title: a::Text::plain(meta.title.clone()),
        subtitle: Some(a::Text::plain(settings.description.clone())),
        id: meta.atom.clone(),
        updated: fixed(updated),
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

#[cfg(test)]
mod tests;

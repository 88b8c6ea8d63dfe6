//! Bytes as a server could send them → parse (with its repairs) → normalize → dedup, through
//! the same public functions the daemon chains (see `src/poll.rs` and `ingest::apply`), with an
//! in-memory index in place of the store.
//!
//! Input: a feed body. If its first byte is below 0x08 (no feed starts with such a byte) it
//! picks an HTTP `Content-Type` from `CONTENT_TYPES` and is not part of the body, so the fuzzer
//! can also reach the header-charset repair.
//!
//! Besides "never panic", it checks three promises: normalize gives unique keys within a
//! document; a second poll of the same document by the same source sees every entry again
//! (entry keys are stable; dedup never turns a stored entry into a new story); and whatever
//! the bytes, the published HTML holds no executable markup: the stories are rendered as the
//! daemon renders them (a JSON Feed archive page), and that document's HTML and every
//! story's sanitized summary and content are read with a browser's tokenizer (html5ever's)
//! for live script, frames, forms, `<base>`, `<meta>`, SVG/MathML, event handlers, style
//! attributes and `javascript:`/`vbscript:`/`data:` URLs.
#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use feedmerge::config::Source;
use feedmerge::dedup::{self, Decision, Memory};
use feedmerge::model::{Copy, Entry, Story, StoryId};
use feedmerge::normalize::normalize_feed;
use feedmerge::parse;
use feedmerge::render;
use libfuzzer_sys::fuzz_target;
use url::Url;

// The security test's checker, shared by path: one definition of "live markup".
#[path = "../../tests/support/live_markup.rs"]
mod live_markup;
use live_markup::live_markup;

const CONTENT_TYPES: [&str; 8] = [
    "application/rss+xml",
    "application/atom+xml; charset=utf-8",
    "text/xml; charset=iso-8859-1",
    "text/xml; charset=\"windows-1251\"",
    "application/json",
    "text/html; charset=shift_jis",
    "application/xml; charset=utf-16",
    "text/plain; charset=bogus",
];

fn source(name: &str, url: &str) -> Option<Source> {
    Some(Source {
        name: name.into(),
        url: Url::parse(url).ok()?,
        interval: std::time::Duration::from_secs(900),
        tags: Vec::new(),
        priority: 0,
        fetch: Default::default(),
    })
}

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data {
        [hint, rest @ ..] if *hint < 8 => (Some(CONTENT_TYPES[usize::from(*hint)]), rest),
        _ => (None, data),
    };
    // Fixed clock: a crash must reproduce from its input alone.
    let Some(now) = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).single() else {
        return;
    };
    let (Some(a), Some(b)) = (
        source("Wire", "https://wire.example/news/feed.xml"),
        source("Other Wire", "http://other.example/rss"),
    ) else {
        return;
    };
    // After a redirect the base differs from the source's URL, as `final_url` does in poll.
    let Ok(base) = Url::parse("https://www.wire.example/news/feed.xml?page=1") else {
        return;
    };
    let Ok(parsed) = parse::parse(body, content_type, &base) else {
        return;
    };
    let _hints = parsed.hints(body);

    let mut index = Memory::default();
    let settings = dedup::Settings::default();
    let mut next_id = 1;
    let mut founded = Vec::new();
    // Source A, then B (so the URL, title and near layers meet copies from another source),
    // then A again: everything A stored must be seen.
    for (pass, src) in [&a, &b, &a].into_iter().enumerate() {
        let mut entries = normalize_feed(&parsed.feed, src, &base, now);
        let mut keys = std::collections::HashSet::new();
        for e in &entries {
            assert!(
                keys.insert(e.key.clone()),
                "duplicate entry key {:?}",
                e.key
            );
        }
        dedup::distrust_shared_links(&mut entries);
        entries.sort_by_key(|e| e.published);
        for entry in &entries {
            let Ok(decision) = dedup::decide(entry, &index, &settings);
            if pass == 2 {
                assert!(
                    matches!(decision, Decision::Seen(_)),
                    "a stored entry came back as {decision:?}: {entry:?}"
                );
            }
            if matches!(decision, Decision::New) {
                founded.push(Story::founded_by(StoryId(next_id), entry, now));
            }
            apply(&mut index, entry, decision, &mut next_id, now);
        }
    }
    published_markup_is_inert(&founded);
});

/// Renders `stories` as the daemon publishes them and panics on any live markup in the JSON
/// Feed's HTML or in a story's HTML as `render::sanitize` gives it to every format.
fn published_markup_is_inert(stories: &[Story]) {
    let Ok(base_url) = Url::parse("https://merged.example/") else {
        return;
    };
    let settings = render::Settings {
        title: "Merged".into(),
        description: "Fuzzed".into(),
        author: "Merged".into(),
        author_email: None,
        base_url,
        max_items: 100,
        min_sources: 1,
        source_tags: Default::default(),
        sources: Vec::new(),
        max_age: std::time::Duration::from_secs(900),
        websub_hub: None,
    };
    // One document rather than a whole snapshot: every format takes a story's HTML from the
    // same `render::sanitize`, whose output is checked for every story below, and the page
    // shows only its text.
    let Some(day) = stories.first().map(|s| s.published.date_naive()) else {
        return;
    };
    let Some(doc) = render::archive(stories, &settings, day, None, None, "json") else {
        panic!("the JSON archive page is not rendered");
    };
    let Ok(feed) = serde_json::from_slice::<serde_json::Value>(&doc.body) else {
        panic!("the JSON Feed does not parse");
    };
    for item in feed["items"].as_array().into_iter().flatten() {
        let html = item["content_html"].as_str().unwrap_or_default();
        let live = live_markup(html, &[]);
        assert!(live.is_empty(), "live markup {live:?} in {html:?}");
    }
    for story in stories {
        let published = render::sanitize::of(story);
        for html in [&published.summary, &published.content]
            .into_iter()
            .flatten()
        {
            let live = live_markup(html, &[]);
            assert!(live.is_empty(), "live markup {live:?} in {html:?}");
        }
    }
}

/// What `ingest::apply` does with a decision, on the in-memory index.
fn apply(
    index: &mut Memory,
    entry: &Entry,
    decision: Decision,
    next_id: &mut u64,
    now: DateTime<Utc>,
) {
    match decision {
        Decision::Seen(_) => {}
        Decision::Join {
            story,
            layer,
            score,
            reason,
            ..
        } => {
            let Some(stored) = index.story_mut(story) else {
                return;
            };
            stored.copies.push(Copy::of(entry, layer, score, reason));
            stored.order_copies();
            stored.updated = now;
            let stored = stored.clone();
            index.insert(stored, entry.url_key.as_deref(), entry.title_key.as_deref());
        }
        Decision::New => {
            let story = Story::founded_by(StoryId(*next_id), entry, now);
            *next_id += 1;
            index.insert(story, entry.url_key.as_deref(), entry.title_key.as_deref());
        }
    }
}

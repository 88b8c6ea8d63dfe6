//! GUID stability: a story keeps its GUID, and a feed its bytes, however often it is rendered,
//! when the store is opened again, and when the same polls are ingested into another store
//! (story ids are hashes of what the feeds say, never random or clock-made).

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::render;
use crate::store::{PollState, Store};

const CONFIG: &str = r#"
[server]
base_url = "https://news.example/"
[[source]]
name = "A"
url = "https://a.example/feed.xml"
tags = ["world"]
[[source]]
name = "B"
url = "https://b.example/feed.xml"
"#;

/// Source A: an item with a GUID, one with only a link, one with neither (feed-rs makes up an
/// id for it on each parse, which must not become its identity).
const FEED_A: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>
<item><guid isPermaLink="false">a-1</guid><title>Harbour ferry timetable changes for the winter season</title><link>https://a.example/ferry</link><pubDate>Wed, 26 Nov 2025 08:00:00 GMT</pubDate></item>
<item><title>Council votes to plant trees on every school street</title><link>https://a.example/trees</link><pubDate>Wed, 26 Nov 2025 09:00:00 GMT</pubDate></item>
<item><title>Library extends its opening hours through the exam season</title><pubDate>Wed, 26 Nov 2025 10:00:00 GMT</pubDate></item>
</channel></rss>"#;

/// Source B: another copy of the ferry story (same article) and a story of its own.
const FEED_B: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>
<item><guid>https://b.example/ferry-copy</guid><title>Winter ferry timetable changes announced</title><link>https://www.a.example/ferry?utm_source=b</link><pubDate>Wed, 26 Nov 2025 08:30:00 GMT</pubDate></item>
<item><guid>b-2</guid><title>Bakery celebrates a century on the high street</title><link>https://b.example/bakery</link><pubDate>Wed, 26 Nov 2025 11:00:00 GMT</pubDate></item>
</channel></rss>"#;

fn config() -> Config {
    Config::parse(std::path::Path::new("guids.toml"), CONFIG).unwrap()
}

/// Parses, normalizes and ingests both feeds as a poll at `now` would.
fn poll(store: &Store, config: &Config, now: DateTime<Utc>) {
    let settings = super::Settings::from_config(config);
    for (source, body) in config.sources.iter().zip([FEED_A, FEED_B]) {
        let parsed = crate::parse::parse(body.as_bytes(), None, &source.url).unwrap();
        let entries = crate::normalize::normalize_feed(&parsed.feed, source, &source.url, now);
        super::apply(
            store,
            source.url.as_str(),
            entries,
            &PollState::default(),
            &settings,
            now,
        )
        .unwrap();
    }
    store.flush().unwrap();
}

/// What the daemon publishes from `store`: each feed's bytes, and the GUIDs of the RSS feed.
fn published(store: &Store, config: &Config) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let settings = render::Settings::from_config(config);
    let mut wanted = render::Wanted::new(&settings);
    let stories = store
        .newest_stories_wanted(settings.max_items, settings.min_sources, |s| {
            wanted.offer(s)
        })
        .unwrap();
    let snapshot = render::render(&stories, &settings);
    let mut feeds: Vec<(String, Vec<u8>)> = snapshot
        .feeds()
        .map(|f| (f.self_url.clone().unwrap_or_default(), f.body.to_vec()))
        .collect();
    let source = snapshot.sources.get("A", &settings).unwrap();
    feeds.push(("sources/A.xml".into(), source.body.to_vec()));
    let rss = String::from_utf8(snapshot.rss.body.to_vec()).unwrap();
    let guids = rss
        .split("<guid")
        .skip(1)
        .filter_map(|s| Some(s.split_once('>')?.1.split_once("</guid>")?.0.to_string()))
        .collect();
    (feeds, guids)
}

#[test]
fn guids_and_bytes_stay_the_same_across_renders_reopens_polls_and_stores() {
    let config = config();
    let now = DateTime::parse_from_rfc3339("2025-11-26T12:00:00Z")
        .unwrap()
        .to_utc();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    poll(&store, &config, now);
    let (feeds, guids) = published(&store, &config);
    // Four stories (the ferry's two copies are one), each its own GUID.
    assert_eq!(guids.len(), 4, "{guids:?}");
    let mut distinct = guids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{guids:?}");
    assert!(
        guids.iter().all(|g| g.starts_with("urn:feedmerge:story:")),
        "{guids:?}"
    );
    assert_eq!(feeds.len(), 3 + 3 + 1);

    // Rendered again: the same bytes.
    assert_eq!(published(&store, &config), (feeds.clone(), guids.clone()));
    // Polled again an hour later, nothing new: the same bytes.
    poll(&store, &config, now + chrono::Duration::hours(1));
    assert_eq!(published(&store, &config), (feeds.clone(), guids.clone()));
    // The store opened again: the same bytes.
    drop(store);
    let store = reopen(dir.path());
    assert_eq!(published(&store, &config), (feeds.clone(), guids.clone()));
    // The same polls into another store: the same GUIDs and bytes.
    let other = tempfile::tempdir().unwrap();
    let fresh = Store::open(other.path()).unwrap();
    poll(&fresh, &config, now);
    assert_eq!(published(&fresh, &config), (feeds, guids));
}

/// Opens the store again once sled's flusher thread has let go of the previous handle's lock.
fn reopen(path: &std::path::Path) -> Store {
    assert!(
        crate::store::wait_until_released(path, std::time::Duration::from_secs(10)),
        "the store stays locked"
    );
    Store::open(path).unwrap()
}

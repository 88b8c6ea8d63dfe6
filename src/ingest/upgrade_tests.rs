//! A store written by an older version, which kept HTML sanitized: its stories render, and the
//! first poll after the upgrade (whose entries carry HTML as the feed gave it) re-dates none
//! of them, while a real edit still shows.

use chrono::{DateTime, TimeZone, Utc};

use crate::config::Config;
use crate::model::Story;
use crate::render;
use crate::store::{PollState, Store};

const CONFIG: &str = r#"
[[source]]
name = "A"
url = "https://a.example/news/feed.xml"
"#;

fn feed(summary: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>
<item><guid>a-1</guid><title>Harbour ferry timetable changes for the winter season</title>
<link>https://a.example/ferry</link><description>{}</description>
<pubDate>Wed, 26 Nov 2025 08:00:00 GMT</pubDate></item></channel></rss>"#,
        summary
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    )
}

const SUMMARY: &str =
    r#"<p onclick="x()">Ferries <a href="more">run</a> less often.<script>bad()</script></p>"#;

fn poll(store: &Store, config: &Config, body: &str, now: DateTime<Utc>) {
    let settings = super::Settings::from_config(config);
    let source = &config.sources[0];
    let parsed = crate::parse::parse(body.as_bytes(), None, &source.url).unwrap();
    let entries = crate::normalize::normalize_feed(&parsed.feed, source, &source.url, now);
    let state = PollState::default();
    super::apply(store, source.url.as_str(), entries, &state, &settings, now).unwrap();
}

fn only_story(store: &Store) -> Story {
    let stories: Vec<Story> = store.stories().map(Result::unwrap).collect();
    assert_eq!(stories.len(), 1);
    stories.into_iter().next().unwrap()
}

#[test]
fn a_store_of_sanitized_html_renders_and_an_upgrade_re_dates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let config = Config::parse(std::path::Path::new("upgrade.toml"), CONFIG).unwrap();
    let t0 = Utc.with_ymd_and_hms(2025, 11, 26, 9, 0, 0).unwrap();
    poll(&store, &config, &feed(SUMMARY), t0);
    let story = only_story(&store);
    assert_eq!(story.summary.as_deref(), Some(SUMMARY), "stored as given");

    // What an older version stored: the HTML sanitized, no base, and the entry's fingerprint
    // that of the sanitized text.
    let sanitized = render::sanitize::html(SUMMARY, story.html_base.as_deref());
    let mut old = story.clone();
    old.summary = Some(sanitized.clone());
    old.html_base = None;
    let mut txn = store.begin();
    txn.update_story(story.published, &old).unwrap();
    let key = &story.copies[0].entry;
    let mut record = txn.entry_record(key).unwrap().unwrap();
    record.fingerprint ^= 1;
    txn.insert_entry(key, &record).unwrap();
    txn.commit().unwrap();

    // It renders, sanitized (sanitizing sanitized HTML again keeps it).
    let settings = render::Settings::from_config(&config);
    let published = render::sanitize::story(only_story(&store));
    assert_eq!(published.summary.as_deref(), Some(sanitized.as_str()));
    let snapshot = render::render(&[only_story(&store)], &settings);
    let rss = String::from_utf8_lossy(&snapshot.rss.body).into_owned();
    assert!(
        rss.contains("https://a.example/news/more") && !rss.contains("bad()"),
        "{rss}"
    );

    // The first poll after the upgrade: the same item, its HTML now kept as given.
    let t1 = t0 + chrono::TimeDelta::hours(1);
    poll(&store, &config, &feed(SUMMARY), t1);
    let after = only_story(&store);
    assert_eq!(after.changed, None, "not re-dated");
    assert_eq!(after.updated, t0);

    // A real edit is carried over and dates the story.
    let t2 = t1 + chrono::TimeDelta::hours(1);
    let edited = SUMMARY.replace("less often", "every hour");
    poll(&store, &config, &feed(&edited), t2);
    let after = only_story(&store);
    assert_eq!(after.changed, Some(t2));
    assert_eq!(after.summary.as_deref(), Some(edited.as_str()));
}

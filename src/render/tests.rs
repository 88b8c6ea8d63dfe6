use std::collections::HashMap;
use std::time::Duration;

use url::Url;

use super::*;

fn settings() -> Settings {
    Settings {
        title: "T".into(),
        description: "D".into(),
        author: "T".into(),
        author_email: None,
        base_url: Url::parse("https://news.example/").unwrap(),
        max_items: 10,
        min_sources: 1,
        source_tags: HashMap::from([("A".to_string(), vec!["world".to_string()])]),
        sources: vec![("A".into(), "https://a.example/feed".into())],
        max_age: Duration::from_secs(60),
        websub_hub: None,
    }
}

#[test]
fn an_empty_render_is_the_same_bytes_every_time() {
    let s = settings();
    let (a, b) = (render(&[], &s), render(&[], &s));
    let etags = |snap: &Snapshot| snap.feeds().map(|f| f.etag.clone()).collect::<Vec<_>>();
    assert_eq!(etags(&a), etags(&b));
    assert_eq!(a.feeds().count(), 3 + 3);
    assert_eq!(a.topics(), b.topics());
    assert_eq!(a.topics().len(), 3 + 3 + 1);
    assert_eq!(a.rss.last_modified, "Sat, 01 Jan 2000 00:00:00 GMT");
}

#[test]
fn names_in_links_are_percent_encoded() {
    let s = settings();
    assert_eq!(
        s.link_segments(&["sources", "Bay Post/EU.xml"]),
        "https://news.example/sources/Bay%20Post%2FEU.xml"
    );
}

#[test]
fn the_page_links_each_sources_feed_only_while_there_are_few() {
    let mut s = settings();
    let page = |s: &Settings| String::from_utf8(render(&[], s).html.body.to_vec()).unwrap();
    assert!(page(&s).contains("href=\"sources/A.xml\""));
    s.source_tags = (0..=html::LISTED_SOURCES)
        .map(|i| (format!("S{i}"), Vec::new()))
        .collect();
    let many = page(&s);
    assert!(!many.contains("sources/S1.xml"), "{many}");
    assert!(
        many.contains("Each of the 51 sources has its own feed"),
        "{many}"
    );
    assert!(many.contains("href=\"sources.opml\""));
}

#[test]
fn per_source_feeds_kept_stay_within_the_budget_and_are_rendered_again_when_evicted() {
    let mut s = settings();
    s.source_tags = (0..40).map(|i| (format!("S{i}"), Vec::new())).collect();
    let mut snap = render(&[], &s);
    let one = snap.sources.get("S0", &s).unwrap();
    let size = one.memory();
    snap.sources.budget = size * 5 + size / 2;
    snap.sources.rendered.lock().unwrap().docs.clear();
    snap.sources.rendered.lock().unwrap().bytes = 0;
    let first: Vec<_> = (0..40)
        .map(|i| snap.sources.get(&format!("S{i}"), &s).unwrap())
        .collect();
    let cache = snap.sources.rendered.lock().unwrap();
    assert!(
        cache.bytes <= snap.sources.budget,
        "{} bytes kept",
        cache.bytes
    );
    assert_eq!(cache.docs.len(), 5);
    drop(cache);
    // An evicted feed comes back the same.
    for (i, doc) in first.iter().enumerate() {
        let again = snap.sources.get(&format!("S{i}"), &s).unwrap();
        assert_eq!(again.etag, doc.etag);
        assert_eq!(again.body, doc.body);
    }
    assert!(snap.sources.get("nobody", &s).is_none());
}

/// A story as one poll founds it: its source's copy dated `published`, stored at `polled`.
fn founded(id: u64, source: &str, published: &str, authors: &[&str]) -> crate::model::Story {
    use crate::model::{Copy, EntryKey, Layer, Story, StoryId};
    let published = chrono::DateTime::parse_from_rfc3339(published)
        .unwrap()
        .to_utc();
    let polled = chrono::DateTime::parse_from_rfc3339("2025-11-27T12:00:00.250Z")
        .unwrap()
        .to_utc();
    Story {
        id: StoryId(id),
        title: format!("Story {id}"),
        link: Some(format!("https://a.example/{id}")),
        summary: Some("<p>Text.</p>".into()),
        content: None,
        html_base: None,
        authors: authors.iter().map(|a| a.to_string()).collect(),
        enclosures: Vec::new(),
        published,
        updated: polled,
        changed: None,
        copies: vec![Copy {
            entry: EntryKey(format!("k{id}")),
            guid: None,
            source: source.into(),
            source_url: "https://a.example/feed".into(),
            title: format!("Story {id}"),
            link: Some(format!("https://a.example/{id}")),
            published,
            joined_by: Layer::First,
            score: None,
            reason: "first copy".into(),
            priority: 0,
        }],
        signature: Default::default(),
    }
}

#[test]
fn atom_entries_say_when_each_story_changed_and_who_wrote_it() {
    let mut s = settings();
    s.author = "Desk".into();
    s.author_email = Some("desk@news.example".into());
    // One poll founds three stories, two dated the same second (a feed that dates by the
    // minute); a copy joined the third later.
    let mut joined = founded(3, "A", "2025-11-26T08:00:00Z", &[]);
    joined.changed = Some(
        chrono::DateTime::parse_from_rfc3339("2025-11-27T13:30:05.5Z")
            .unwrap()
            .to_utc(),
    );
    let stories = [
        founded(1, "A", "2025-11-26T10:00:00Z", &["Ann Lee"]),
        founded(2, "A", "2025-11-26T10:00:00Z", &[]),
        joined,
    ];
    let feed = atom_syndication::Feed::read_from(render(&stories, &s).atom.body.as_ref()).unwrap();
    let author = &feed.authors()[0];
    assert_eq!(
        (author.name(), author.email()),
        ("Desk", Some("desk@news.example"))
    );
    let updated: Vec<String> = feed
        .entries()
        .iter()
        .map(|e| e.updated().to_rfc3339())
        .collect();
    // Each entry is dated by its own story, never by the poll's moment, and no two alike.
    assert!(
        updated[0].starts_with("2025-11-26T10:00:00."),
        "{updated:?}"
    );
    assert!(
        updated[1].starts_with("2025-11-26T10:00:00."),
        "{updated:?}"
    );
    assert_ne!(updated[0], updated[1]);
    assert!(
        updated[2].starts_with("2025-11-27T13:30:05."),
        "{updated:?}"
    );
    // The same story has the same date in every render.
    let again = atom_syndication::Feed::read_from(render(&stories, &s).atom.body.as_ref()).unwrap();
    assert_eq!(again.entries()[1].updated().to_rfc3339(), updated[1]);
    let authors: Vec<&str> = feed
        .entries()
        .iter()
        .map(|e| e.authors()[0].name())
        .collect();
    assert_eq!(authors, ["Ann Lee", "A", "A"]);
}

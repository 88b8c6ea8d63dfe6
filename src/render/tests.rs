use std::collections::HashMap;
use std::time::Duration;

use url::Url;

use super::*;

fn settings() -> Settings {
    Settings {
        title: "T".into(),
        description: "D".into(),
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
    assert_eq!(a.rss.last_modified, "Thu, 01 Jan 1970 00:00:00 GMT");
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

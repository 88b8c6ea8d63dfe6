use std::collections::HashMap;

use chrono::{TimeZone, Utc};

use super::*;
use crate::model::Copy;

/// An in-memory index, enough to pin the decision rules without a store.
#[derive(Default)]
struct Memory {
    entries: HashMap<EntryKey, StoryId>,
    urls: HashMap<String, StoryId>,
    titles: HashMap<String, StoryId>,
    stories: HashMap<StoryId, Story>,
}

impl Index for Memory {
    type Error = std::convert::Infallible;
    fn story_of_entry(&self, key: &EntryKey) -> Result<Option<StoryId>, Self::Error> {
        Ok(self.entries.get(key).copied())
    }
    fn story_of_url(&self, url_key: &str) -> Result<Option<StoryId>, Self::Error> {
        Ok(self.urls.get(url_key).copied())
    }
    fn story_of_title(&self, title_key: &str) -> Result<Option<StoryId>, Self::Error> {
        Ok(self.titles.get(title_key).copied())
    }
    fn story(&self, id: StoryId) -> Result<Option<Story>, Self::Error> {
        Ok(self.stories.get(&id).cloned())
    }
}

fn entry(key: &str, source: &str, url: Option<&str>, title: Option<&str>, hour: u32) -> Entry {
    Entry {
        key: EntryKey(key.into()),
        source: source.into(),
        source_url: format!("https://{source}.example/feed"),
        guid: None,
        title: title.unwrap_or("t").into(),
        link: None,
        url_key: url.map(str::to_string),
        title_key: title.map(str::to_string),
        summary: None,
        content: None,
        authors: vec![],
        published: Utc.with_ymd_and_hms(2025, 11, 26, 0, 0, 0).unwrap()
            + chrono::Duration::hours(hour as i64),
    }
}

fn remember(index: &mut Memory, id: u64, e: &Entry) {
    let id = StoryId(id);
    index.entries.insert(e.key.clone(), id);
    if let Some(u) = &e.url_key {
        index.urls.insert(u.clone(), id);
    }
    if let Some(t) = &e.title_key {
        index.titles.insert(t.clone(), id);
    }
    index.stories.insert(
        id,
        Story {
            id,
            title: e.title.clone(),
            link: None,
            summary: None,
            content: None,
            authors: vec![],
            published: e.published,
            updated: e.published,
            copies: vec![Copy {
                entry: e.key.clone(),
                source: e.source.clone(),
                source_url: e.source_url.clone(),
                title: e.title.clone(),
                link: None,
                published: e.published,
                joined_by: Layer::First,
            }],
        },
    );
}

fn decide_in(index: &Memory, e: &Entry) -> Decision {
    decide(e, index, &Settings::default()).unwrap()
}

#[test]
fn layers_in_order() {
    let mut index = Memory::default();
    let first = entry(
        "a1",
        "a",
        Some("a.example/x"),
        Some("a specific headline"),
        0,
    );
    assert_eq!(decide_in(&index, &first), Decision::New);
    remember(&mut index, 1, &first);
    assert_eq!(decide_in(&index, &first), Decision::Seen(StoryId(1)));
    let same_url = entry("b1", "b", Some("a.example/x"), None, 1);
    assert_eq!(
        decide_in(&index, &same_url),
        Decision::Join {
            story: StoryId(1),
            layer: Layer::Url,
            absorb: None
        }
    );
    let same_title = entry(
        "c1",
        "c",
        Some("c.example/y"),
        Some("a specific headline"),
        2,
    );
    assert_eq!(
        decide_in(&index, &same_title),
        Decision::Join {
            story: StoryId(1),
            layer: Layer::Title,
            absorb: None
        }
    );
}

#[test]
fn title_matches_need_a_new_source_and_the_time_window() {
    let mut index = Memory::default();
    let first = entry(
        "a1",
        "a",
        Some("a.example/x"),
        Some("a specific headline"),
        0,
    );
    remember(&mut index, 1, &first);
    let same_source = entry(
        "a2",
        "a",
        Some("a.example/other"),
        Some("a specific headline"),
        1,
    );
    assert_eq!(decide_in(&index, &same_source), Decision::New);
    let much_later = entry(
        "b1",
        "b",
        Some("b.example/x"),
        Some("a specific headline"),
        49,
    );
    assert_eq!(decide_in(&index, &much_later), Decision::New);
    let within = entry(
        "b2",
        "b",
        Some("b.example/x"),
        Some("a specific headline"),
        47,
    );
    assert!(matches!(
        decide_in(&index, &within),
        Decision::Join {
            layer: Layer::Title,
            ..
        }
    ));
}

#[test]
fn an_entry_matching_two_stories_bridges_them_unless_a_source_carried_both() {
    let mut index = Memory::default();
    remember(
        &mut index,
        1,
        &entry(
            "a1",
            "a",
            Some("shared.example/x"),
            Some("headline one of a kind"),
            0,
        ),
    );
    remember(
        &mut index,
        2,
        &entry(
            "b1",
            "b",
            Some("b.example/y"),
            Some("the bridging headline"),
            1,
        ),
    );
    let bridge = entry(
        "c1",
        "c",
        Some("shared.example/x"),
        Some("the bridging headline"),
        2,
    );
    assert_eq!(
        decide_in(&index, &bridge),
        Decision::Join {
            story: StoryId(1),
            layer: Layer::Url,
            absorb: Some(StoryId(2))
        }
    );
    // If source "b" also carried story 1, it told us the two are different.
    let mut story1 = index.stories[&StoryId(1)].clone();
    let mut copy = story1.copies[0].clone();
    copy.source_url = "https://b.example/feed".into();
    story1.copies.push(copy);
    index.stories.insert(StoryId(1), story1);
    assert_eq!(
        decide_in(&index, &bridge),
        Decision::Join {
            story: StoryId(1),
            layer: Layer::Url,
            absorb: None
        }
    );
}

#[test]
fn shared_links_with_different_titles_are_distrusted() {
    let mut batch = vec![
        entry("1", "a", Some("a.example/live"), Some("first update"), 0),
        entry("2", "a", Some("a.example/live"), Some("second update"), 1),
        entry("3", "a", Some("a.example/own"), Some("own page"), 1),
    ];
    distrust_shared_links(&mut batch);
    assert_eq!(batch[0].url_key, None);
    assert_eq!(batch[1].url_key, None);
    assert_eq!(batch[2].url_key.as_deref(), Some("a.example/own"));
}

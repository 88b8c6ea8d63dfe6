//! `[store] max_age`: stories first reported before `now - max_age` go with every key that
//! leads to them (order, story, sketch, entry record, link, headline), newer ones stay, and
//! what went stays gone when the store is opened again.

use chrono::Duration;

use super::*;

/// A story `age` old at `now`, with a link, its entry record, link key and headline key.
fn stored(txn: &mut Txn<'_>, id: u64, now: DateTime<Utc>, age: Duration) {
    let mut s = story(id, 0);
    s.published = now - age;
    s.updated = s.published;
    s.copies[0].published = s.published;
    s.copies[0].link = Some(link(id));
    txn.insert_story(&s).unwrap();
    txn.insert_entry(&EntryKey(format!("e{id}")), &entry_record(id))
        .unwrap();
    txn.claim_url(&url_key(id), StoryId(id)).unwrap();
    txn.claim_title(&title_key(id), crate::dedup::day(s.published), StoryId(id))
        .unwrap();
}

fn link(id: u64) -> String {
    format!("https://s.example/story/{id}")
}

fn url_key(id: u64) -> String {
    crate::normalize::url_key(&url::Url::parse(&link(id)).unwrap()).unwrap()
}

fn title_key(id: u64) -> String {
    format!("headline of story number {id}")
}

/// Which of the keys leading to story `id` are still there, as (what, found).
fn keys_of(store: &Store, id: u64, now: DateTime<Utc>) -> Vec<(&'static str, bool)> {
    let txn = store.begin();
    let days = crate::dedup::day(now) - 30..=crate::dedup::day(now);
    vec![
        ("story", store.story(StoryId(id)).unwrap().is_some()),
        (
            "sketch",
            store.tree.get(keys::sketch(StoryId(id))).unwrap().is_some(),
        ),
        (
            "entry",
            txn.entry_record(&EntryKey(format!("e{id}")))
                .unwrap()
                .is_some(),
        ),
        (
            "link",
            store.tree.get(keys::url(&url_key(id))).unwrap().is_some()
                && txn.story_of_url(&url_key(id)).unwrap() == Some(StoryId(id)),
        ),
        // As the title layer reads it: the headline key, then the story's sketch (a headline
        // key of a pruned story's day stays until no story of that day is left, and leads
        // nowhere).
        (
            "headline",
            txn.story_of_title(&title_key(id), days).unwrap() == Some(StoryId(id))
                && txn.sketch(StoryId(id)).unwrap().is_some(),
        ),
    ]
}

fn all(found: bool) -> Vec<(&'static str, bool)> {
    ["story", "sketch", "entry", "link", "headline"]
        .into_iter()
        .map(|what| (what, found))
        .collect()
}

#[test]
fn stories_older_than_max_age_go_with_every_key_and_newer_ones_stay_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = DateTime::from_timestamp(1_700_000_000 + 200 * 86_400, 0).unwrap();
    let max_age = Duration::days(7);
    // (id, age): two well past the limit, one a second past it, one exactly at it (not
    // older: kept), one a second inside it, one a day old.
    let ages = [
        (1, Duration::days(20)),
        (2, Duration::days(9)),
        (3, max_age + Duration::seconds(1)),
        (4, max_age),
        (5, max_age - Duration::seconds(1)),
        (6, Duration::days(1)),
    ];
    let mut txn = store.begin();
    for (id, age) in ages {
        stored(&mut txn, id, now, age);
    }
    txn.commit().unwrap();
    for (id, _) in ages {
        assert_eq!(keys_of(&store, id, now), all(true), "story {id} before");
    }
    let retention = crate::config::Retention {
        max_age: Some(max_age),
        max_stories: None,
    };
    assert_eq!(store.prune_stories(&retention, now).unwrap(), 3);
    store.prune_titles().unwrap();
    let expect = |store: &Store, when: &str| {
        for (id, age) in ages {
            let kept = age <= max_age;
            assert_eq!(keys_of(store, id, now), all(kept), "story {id} {when}");
        }
        assert_eq!(store.story_count().unwrap(), 3, "{when}");
        // The headline keys of days before the oldest kept story's are gone from the store.
        for (id, age) in &ages[..2] {
            let day = crate::dedup::day(now - *age);
            let key = keys::title(day, &title_key(*id));
            assert!(store.tree.get(key).unwrap().is_none(), "story {id} {when}");
        }
        assert_eq!(store.entry_index_size().0, 3, "{when}");
    };
    expect(&store, "after pruning");
    // Pruning again finds nothing more.
    assert_eq!(store.prune_stories(&retention, now).unwrap(), 0);
    store.flush().unwrap();
    drop(store);
    let store = reopen(dir.path());
    expect(&store, "after reopening");
}

/// Filter records (why an entry was dropped) go once older than `max_age`: kept from just
/// inside the limit, gone from just past it.
#[test]
fn filter_records_older_than_max_age_go() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = DateTime::from_timestamp(1_700_000_000 + 200 * 86_400, 0).unwrap();
    let max_age = Duration::days(7);
    let ages = [
        ("past", max_age + Duration::seconds(1)),
        ("at", max_age),
        ("inside", max_age - Duration::seconds(1)),
    ];
    let mut txn = store.begin();
    for (name, age) in ages {
        let link = format!("https://s.example/dropped/{name}");
        let entry = crate::model::Entry {
            key: EntryKey(name.into()),
            source: "s".into(),
            source_url: "https://s.example/feed".into(),
            guid: None,
            title: name.into(),
            url_key: crate::normalize::url_key(&url::Url::parse(&link).unwrap()),
            link: Some(link),
            title_key: None,
            summary: None,
            content: None,
            html_base: None,
            authors: vec![],
            categories: vec![],
            enclosures: vec![],
            published: now - age,
            priority: 0,
            signature: Default::default(),
        };
        txn.record_dropped(&entry, "global filter 1", now - age)
            .unwrap();
    }
    txn.commit().unwrap();
    let retention = crate::config::Retention {
        max_age: Some(max_age),
        max_stories: None,
    };
    store.prune_stories(&retention, now).unwrap();
    let kept: Vec<(&str, bool)> = ages
        .iter()
        .map(|(name, _)| {
            let url = url::Url::parse(&format!("https://s.example/dropped/{name}")).unwrap();
            (*name, store.dropped(&url).unwrap().is_some())
        })
        .collect();
    assert_eq!(kept, vec![("past", false), ("at", true), ("inside", true)]);
}

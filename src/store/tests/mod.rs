//! The store's tests: opening, reading, writing and the layouts of earlier versions here;
//! pruning and the in-memory indexes in [`indexes`].

use chrono::{DateTime, Utc};

use super::codec::COMPACT_V1;
use super::open::SCHEMA_VERSION;
use super::prune::PRUNE_BATCH;
use super::*;
use crate::dedup::Index;
use crate::model::{Entry, EntryKey, Story};

fn story(id: u64, hour: i64) -> Story {
    let published =
        chrono::DateTime::<Utc>::from_timestamp(1_700_000_000 + hour * 3600, 0).unwrap();
    let entry = Entry::new(
        &format!("e{id}"),
        "s",
        "https://s.example/feed",
        &format!("story {id}"),
        published,
    );
    Story::founded_by(StoryId(id), &entry, published)
}

#[test]
fn a_transaction_reads_its_own_writes_and_commits_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut txn = store.begin();
    txn.insert_story(&story(1, 0)).unwrap();
    txn.claim_url("e.example/a", StoryId(1)).unwrap();
    txn.claim_url("e.example/a", StoryId(2)).unwrap(); // first claim wins
    assert_eq!(txn.story_of_url("e.example/a").unwrap(), Some(StoryId(1)));
    assert_eq!(
        store.story(StoryId(1)).unwrap(),
        None,
        "nothing visible before commit"
    );
    txn.commit().unwrap();
    assert_eq!(store.story(StoryId(1)).unwrap().unwrap().title, "story 1");
}

#[test]
fn newest_stories_come_newest_first_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut txn = store.begin();
        for (id, hour) in [(1, 5), (2, 1), (3, 9)] {
            txn.insert_story(&story(id, hour)).unwrap();
        }
        txn.commit().unwrap();
        store.flush().unwrap();
    }
    let store = reopen(dir.path());
    let ids: Vec<u64> = store
        .newest_stories(10)
        .unwrap()
        .iter()
        .map(|s| s.id.0)
        .collect();
    assert_eq!(ids, vec![3, 1, 2]);
    assert_eq!(store.newest_stories(2).unwrap().len(), 2);
    assert_eq!(store.story_count().unwrap(), 3);
}

#[test]
fn a_merged_story_forwards_its_keys_to_the_survivor() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut txn = store.begin();
    txn.insert_story(&story(1, 0)).unwrap();
    txn.insert_story(&story(2, 1)).unwrap();
    txn.claim_title("the title", 7, StoryId(2)).unwrap();
    txn.claim_url("e.example/two", StoryId(2)).unwrap();
    txn.remove_story(&story(2, 1), StoryId(1));
    // Within the batch that wrote it,
    assert_eq!(txn.story_of_url("e.example/two").unwrap(), Some(StoryId(1)));
    txn.commit().unwrap();
    // after it (forwards are held in memory),
    let txn = store.begin();
    assert_eq!(
        txn.story_of_title("the title", 5..=9).unwrap(),
        Some(StoryId(1))
    );
    assert_eq!(txn.story_of_title("the title", 8..=9).unwrap(), None);
    assert_eq!(store.newest_stories(10).unwrap().len(), 1);
    drop(txn);
    store.flush().unwrap();
    drop(store);
    // and read back from the store when it is opened again.
    let store = reopen(dir.path());
    let txn = store.begin();
    assert_eq!(txn.story_of_url("e.example/two").unwrap(), Some(StoryId(1)));
}

#[test]
fn headlines_are_found_through_the_in_memory_days_and_confirmed_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut txn = store.begin();
        // Day 7 not loaded yet: the claim reads the store.
        txn.claim_title("before", 7, StoryId(1)).unwrap();
        txn.commit().unwrap();
        let mut txn = store.begin();
        // The lookup loads days 5..=9 (from the store: "before" is there) ...
        assert_eq!(
            txn.story_of_title("before", 5..=9).unwrap(),
            Some(StoryId(1))
        );
        // ... so these claims go to the loaded day on commit, the first claim keeping it.
        txn.claim_title("after", 7, StoryId(2)).unwrap();
        txn.claim_title("after", 7, StoryId(3)).unwrap();
        txn.claim_title("before", 7, StoryId(4)).unwrap();
        txn.commit().unwrap();
        let txn = store.begin();
        assert_eq!(
            txn.story_of_title("after", 5..=9).unwrap(),
            Some(StoryId(2))
        );
        assert_eq!(
            txn.story_of_title("before", 5..=9).unwrap(),
            Some(StoryId(1))
        );
        assert_eq!(txn.story_of_title("other", 5..=9).unwrap(), None);
        drop(txn);
        // A key the index still holds but the store no longer has (headline keys older than
        // every story are pruned) is not an answer: a hit is confirmed by the store.
        let mut txn = store.begin();
        let mut later = story(5, 0);
        later.published = DateTime::from_timestamp(20 * 86_400, 0).unwrap();
        txn.insert_story(&later).unwrap();
        txn.commit().unwrap();
        assert_eq!(store.prune_titles().unwrap(), 2);
        assert_eq!(store.begin().story_of_title("after", 5..=9).unwrap(), None);
        let mut txn = store.begin();
        txn.claim_title("after", 7, StoryId(6)).unwrap();
        assert_eq!(
            txn.story_of_title("after", 5..=9).unwrap(),
            Some(StoryId(6)),
            "claimed again: the pruned key does not stand in the way"
        );
        txn.commit().unwrap();
        store.flush().unwrap();
    }
    // A fresh process loads the day from the store.
    let store = reopen(dir.path());
    assert_eq!(
        store.begin().story_of_title("after", 6..=7).unwrap(),
        Some(StoryId(6))
    );
}

#[test]
fn story_ids_are_derived_from_the_leader_and_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut txn = store.begin();
    let key = EntryKey("leader".into());
    let when = Utc::now();
    let a = txn.new_story_id(&key, when).unwrap();
    assert_eq!(a, txn.new_story_id(&key, when).unwrap(), "deterministic");
    let mut s = story(0, 0);
    s.id = a;
    txn.insert_story(&s).unwrap();
    assert_ne!(
        txn.new_story_id(&key, when).unwrap(),
        a,
        "taken ids are skipped"
    );
    txn.commit().unwrap();
    // A stored story's id is taken whether the store answers (its day not loaded) or the
    // in-memory index of its day does.
    let txn = store.begin();
    assert_ne!(txn.new_story_id(&key, when).unwrap(), a, "from the store");
    let day = crate::dedup::day(when);
    txn.story_of_title("no such headline", day..=day).unwrap();
    assert!(store.near().has_day(day));
    assert_ne!(txn.new_story_id(&key, when).unwrap(), a, "from the index");
}

#[test]
fn a_second_open_of_the_same_directory_is_reported_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path()).unwrap();
    assert!(matches!(Store::open(dir.path()), Err(OpenError::Locked(_))));
}

/// Values as feedmerge wrote them before the compact encoding (JSON, verbatim): a store from
/// then opens and reads as it is, and what is rewritten comes out compact.
#[test]
fn records_written_as_json_by_earlier_versions_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let old_story = story(5, 0);
    let sketch_json = r#"{"id":5,"published":"2023-11-14T22:13:20Z","sources":["https://s.example/feed"],"signature":{"words":["fed","rais","rate"],"numbers":["5.5"],"places":[],"dates":[],"names":["fed"],"polarity":[[1,0]],"negated":false,"actions":[3],"subject":["fed"],"object":"rate","title_case":true,"generic":false,"kind":null,"summary_words":[]}}"#;
    let entry_json = r#"{"story":5,"first_seen":"2023-11-14T22:15:00Z","fingerprint":42}"#;
    // A poll state from before `next_poll`, `gone` and `moved_to` existed.
    let poll_json = r#"{"validators":{"etag":"\"abc\"","last_modified":null},"last_fetch":"2023-11-14T22:15:00Z","last_success":"2023-11-14T22:15:00Z","last_outcome":"200, 3 entries, 3 new","consecutive_failures":0,"entries_seen":3,"stories_led":3}"#;
    let raw = |k: Vec<u8>, v: &str| store.tree.insert(k, v.as_bytes()).unwrap();
    raw(
        keys::story(StoryId(5)),
        &serde_json::to_string(&old_story).unwrap(),
    );
    raw(keys::order(old_story.published, StoryId(5)), "");
    raw(keys::sketch(StoryId(5)), sketch_json);
    // Entry records were keyed `e` + entry key before version 3.
    raw([b"e".as_slice(), b"e5"].concat(), entry_json);
    raw(keys::poll_state("https://s.example/feed"), poll_json);
    raw(keys::VERSION.to_vec(), "2");
    drop(store);
    // Opening moves the entry record to its segment and marks the store version 3.
    let store = reopen(dir.path());
    assert_eq!(
        store.tree.get(keys::VERSION).unwrap().as_deref(),
        Some(SCHEMA_VERSION)
    );
    assert_eq!(store.tree.scan_prefix(keys::OLD_ENTRY_PREFIX).count(), 0);
    assert_eq!(store.entry_index_size().0, 1);

    let txn = store.begin();
    let sketch = txn.sketch(StoryId(5)).unwrap().unwrap();
    assert_eq!(sketch.published, old_story.published);
    assert_eq!(sketch.sources, vec!["https://s.example/feed".to_string()]);
    assert_eq!(sketch.signature.words, vec!["fed", "rais", "rate"]);
    assert_eq!(sketch.signature.numbers, vec!["5.5"]);
    assert_eq!(sketch.signature.polarity, vec![(1, 0)]);
    assert_eq!(sketch.signature.object.as_deref(), Some("rate"));
    assert!(sketch.signature.title_case);
    let entry = txn.entry_record(&EntryKey("e5".into())).unwrap().unwrap();
    assert_eq!((entry.story, entry.fingerprint), (StoryId(5), 42));
    assert_eq!(
        txn.story_of_entry(&EntryKey("e5".into())).unwrap(),
        Some(StoryId(5))
    );
    let state = store.poll_state("https://s.example/feed").unwrap().unwrap();
    assert_eq!(state.validators.etag.as_deref(), Some("\"abc\""));
    assert_eq!(
        (state.entries_seen, state.next_poll, state.gone),
        (3, None, false)
    );
    drop(txn);

    // Rewritten records are compact, read back equal, and a story rewritten from its stored
    // copy (which carries no signature) keeps the signature of its old JSON sketch.
    let mut txn = store.begin();
    let mut s = txn.story(StoryId(5)).unwrap().unwrap();
    s.title = "edited".into();
    txn.update_story(s.published, &s).unwrap();
    let record = EntryRecord {
        fingerprint: 43,
        ..entry
    };
    txn.insert_entry(&EntryKey("e5".into()), &record).unwrap();
    let mut new_state = state.clone();
    new_state.next_poll = Some(old_story.published);
    txn.set_poll_state("https://s.example/feed", &new_state);
    txn.commit().unwrap();
    for key in [
        keys::sketch(StoryId(5)),
        keys::entry(0, &EntryKey("e5".into())),
        keys::poll_state("https://s.example/feed"),
    ] {
        let value = store.tree.get(&key).unwrap().unwrap();
        assert_eq!(value.first(), Some(&COMPACT_V1), "{key:?}");
    }
    let txn = store.begin();
    let resketched = txn.sketch(StoryId(5)).unwrap().unwrap();
    assert_eq!(resketched, sketch);
    assert_eq!(
        txn.entry_record(&EntryKey("e5".into())).unwrap(),
        Some(record)
    );
    assert_eq!(
        store.poll_state("https://s.example/feed").unwrap(),
        Some(new_state)
    );
}

#[test]
fn a_damaged_compact_record_is_a_decode_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for value in [
        &[COMPACT_V1][..],
        &[COMPACT_V1, 0xff, 0xff],
        b"\x07junk",
        b"",
    ] {
        store.tree.insert(keys::sketch(StoryId(9)), value).unwrap();
        let txn = store.begin();
        assert!(
            matches!(txn.sketch(StoryId(9)), Err(StoreError::Decode { .. })),
            "{value:?}"
        );
    }
}

#[test]
fn a_version_1_store_opens_and_is_marked_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree("feedmerge").unwrap();
        tree.insert(keys::VERSION, b"1").unwrap();
        db.flush().unwrap();
    }
    let store = reopen(dir.path());
    assert_eq!(
        store.tree.get(keys::VERSION).unwrap().as_deref(),
        Some(SCHEMA_VERSION)
    );
}

#[test]
fn a_version_2_store_has_its_entry_records_moved_to_segments_on_opening() {
    let dir = tempfile::tempdir().unwrap();
    let n = 2 * PRUNE_BATCH + 1;
    {
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree("feedmerge").unwrap();
        tree.insert(keys::VERSION, b"2").unwrap();
        for i in 0..n as u64 {
            let key = [b"e".as_slice(), format!("old{i}").as_bytes()].concat();
            tree.insert(key, encode_compact(&entry_record(i))).unwrap();
        }
        db.flush().unwrap();
    }
    let store = reopen(dir.path());
    assert_eq!(store.tree.scan_prefix(keys::OLD_ENTRY_PREFIX).count(), 0);
    assert_eq!(store.tree.scan_prefix(keys::ENTRY_PREFIX).count(), n);
    assert_eq!(store.entry_index_size().0, n);
    let txn = store.begin();
    for i in [0, PRUNE_BATCH as u64, n as u64 - 1] {
        assert_eq!(
            txn.entry_record(&EntryKey(format!("old{i}"))).unwrap(),
            Some(entry_record(i))
        );
    }
    drop(txn);
    drop(store);
    // And stay found: the next open reads them from their segments.
    let store = reopen(dir.path());
    assert_eq!(store.entry_index_size().0, n);
    assert_eq!(
        store
            .begin()
            .entry_record(&EntryKey(format!("old{}", n - 1)))
            .unwrap(),
        Some(entry_record(n as u64 - 1))
    );
}

/// Opens the store at `path` again, waiting (bounded) for sled's flusher thread to let go of the
/// lock a moment after the last handle dropped.
fn reopen(path: &std::path::Path) -> Store {
    assert!(
        wait_until_released(path, std::time::Duration::from_secs(10)),
        "the store stays locked"
    );
    Store::open(path).unwrap()
}

#[test]
fn a_closed_store_is_released_for_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Held: the wait gives up, and says so.
    assert!(!wait_until_released(
        dir.path(),
        std::time::Duration::from_millis(30)
    ));
    drop(store);
    assert!(wait_until_released(
        dir.path(),
        std::time::Duration::from_secs(10)
    ));
    assert!(Store::open(dir.path()).is_ok());
}

fn entry_record(n: u64) -> EntryRecord {
    EntryRecord {
        story: StoryId(n),
        first_seen: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        fingerprint: n,
    }
}

mod indexes;
mod retention;

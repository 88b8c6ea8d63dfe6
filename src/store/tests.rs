use chrono::{DateTime, Utc};

use super::codec::COMPACT_V1;
use super::open::SCHEMA_VERSION;
use super::prune::PRUNE_BATCH;
use super::*;
use crate::dedup::Index;
use crate::model::{EntryKey, Layer, Story};

fn story(id: u64, hour: i64) -> Story {
    let published =
        chrono::DateTime::<Utc>::from_timestamp(1_700_000_000 + hour * 3600, 0).unwrap();
    Story {
        id: StoryId(id),
        title: format!("story {id}"),
        link: None,
        summary: None,
        content: None,
        authors: vec![],
        enclosures: vec![],
        published,
        updated: published,
        copies: vec![crate::model::Copy {
            entry: EntryKey(format!("e{id}")),
            guid: None,
            source: "s".into(),
            source_url: "https://s.example/feed".into(),
            title: format!("story {id}"),
            link: None,
            published,
            joined_by: Layer::First,
            score: None,
            reason: String::new(),
            priority: 0,
        }],
        signature: Default::default(),
    }
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

#[test]
fn pruning_more_keys_than_one_batch_holds_removes_them_all_and_only_them() {
    // The near-duplicate key earlier versions wrote: `w`, the day offset like times, the word.
    fn legacy_posting(day: i64, word: &str) -> Vec<u8> {
        let d = (day as i128 - i64::MIN as i128) as u64;
        [b"w".as_slice(), &d.to_be_bytes(), word.as_bytes()].concat()
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let old = 2 * PRUNE_BATCH + 7;
    for i in 0..old {
        let day = 100 + (i % 3) as i64;
        store
            .tree
            .insert(legacy_posting(day, &format!("w{i}")), &[0u8; 8])
            .unwrap();
        store
            .tree
            .insert(keys::title(day, &format!("t{i}")), &[0u8; 8])
            .unwrap();
    }
    for day in [150, 151] {
        store
            .tree
            .insert(legacy_posting(day, "kept"), &[0u8; 8])
            .unwrap();
        store
            .tree
            .insert(keys::title(day, "kept"), &[0u8; 8])
            .unwrap();
    }
    // Near-duplicate keys of earlier versions all go; headline keys stay while a story
    // is as old as them.
    assert_eq!(store.prune_postings(150).unwrap(), old + 2);
    let left = |prefix: &[u8]| store.tree.scan_prefix(prefix).count();
    assert_eq!(left(keys::POSTING_PREFIX), 0);
    assert_eq!(left(keys::TITLE_PREFIX), old + 2);
    assert_eq!(store.prune_postings(150).unwrap(), 0);
    let mut txn = store.begin();
    let mut first = story(1, 0);
    first.published = DateTime::from_timestamp(150 * 86_400 + 3_600, 0).unwrap();
    txn.insert_story(&first).unwrap();
    txn.commit().unwrap();
    // Headline keys of days before the oldest story's go.
    assert_eq!(store.prune_titles().unwrap(), old);
    assert_eq!(left(keys::TITLE_PREFIX), 2);
    assert_eq!(store.prune_titles().unwrap(), 0);
    let mut txn = store.begin();
    txn.remove_story(&first, StoryId(2));
    txn.commit().unwrap();
    // No story left: none leads anywhere.
    assert_eq!(store.prune_titles().unwrap(), 2);

    // Stories go whole, several batches of keys here (4 keys a story): all of a pruned
    // story's keys go.
    let n = PRUNE_BATCH as u64 / 2 + 3;
    let mut txn = store.begin();
    for id in 1..=n {
        txn.insert_story(&story(id, id as i64)).unwrap();
        txn.insert_entry(&EntryKey(format!("e{id}")), &entry_record(id))
            .unwrap();
    }
    txn.commit().unwrap();
    let retention = crate::config::Retention {
        max_age: None,
        max_stories: Some(5),
    };
    assert_eq!(
        store.prune_stories(&retention, Utc::now()).unwrap(),
        n as usize - 5
    );
    assert_eq!(store.story_count().unwrap(), 5);
    let oldest_kept = n - 4;
    assert!(store.story(StoryId(oldest_kept - 1)).unwrap().is_none());
    assert!(store.story(StoryId(oldest_kept)).unwrap().is_some());
    assert_eq!(store.tree.scan_prefix(keys::ORDER_PREFIX).count(), 5);
    assert!(store
        .tree
        .get(keys::sketch(StoryId(oldest_kept - 1)))
        .unwrap()
        .is_none());
    assert!(store
        .tree
        .get(keys::sketch(StoryId(oldest_kept)))
        .unwrap()
        .is_some());
    // Their entry records go too, and the entry index forgets them.
    let txn = store.begin();
    let entry = |id: u64| txn.entry_record(&EntryKey(format!("e{id}"))).unwrap();
    assert_eq!(entry(oldest_kept - 1), None);
    assert_eq!(entry(oldest_kept), Some(entry_record(oldest_kept)));
    assert_eq!(store.tree.scan_prefix(keys::ENTRY_PREFIX).count(), 5);
    assert_eq!(store.entry_index_size().0, 5);
    // The segments' key-hash lists lost them too: the index read at open agrees.
    drop(txn);
    drop(store);
    let store = reopen(dir.path());
    assert_eq!(store.entry_index_size().0, 5);
    assert_eq!(
        store
            .begin()
            .entry_record(&EntryKey(format!("e{oldest_kept}")))
            .unwrap(),
        Some(entry_record(oldest_kept))
    );
}

fn entry_record(n: u64) -> EntryRecord {
    EntryRecord {
        story: StoryId(n),
        first_seen: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        fingerprint: n,
    }
}

/// Two entry keys whose [`entries::key_hash`]s are equal (a search of ~80,000 keys).
fn keys_sharing_a_key_hash() -> (EntryKey, EntryKey) {
    let mut seen = HashMap::new();
    for i in 0u64.. {
        let key = format!("k{i}");
        if let Some(other) = seen.insert(entries::key_hash(key.as_bytes()), key.clone()) {
            return (EntryKey(other), EntryKey(key));
        }
    }
    unreachable!("u64 keys outnumber u32 key hashes")
}

#[test]
fn entry_records_fill_segments_in_turn_and_are_found_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = keys_sharing_a_key_hash();
    let mut txn = store.begin();
    txn.insert_entry(&a, &entry_record(1)).unwrap();
    txn.commit().unwrap();
    // The rest of the first segment, and one more.
    let mut txn = store.begin();
    for i in 0..entries::SEGMENT_RECORDS as u64 {
        txn.insert_entry(&EntryKey(format!("fill{i}")), &entry_record(2))
            .unwrap();
    }
    txn.commit().unwrap();
    let mut txn = store.begin();
    txn.insert_entry(&EntryKey("next".into()), &entry_record(3))
        .unwrap();
    // A key sharing a stored key's hash joins it in its segment.
    txn.insert_entry(&b, &entry_record(4)).unwrap();
    // Read back in the batch that wrote them.
    assert_eq!(txn.entry_record(&b).unwrap(), Some(entry_record(4)));
    assert_eq!(txn.entry_record(&a).unwrap(), Some(entry_record(1)));
    txn.commit().unwrap();
    let at = |segment: u32, key: &EntryKey| store.tree.get(keys::entry(segment, key)).unwrap();
    assert!(at(0, &a).is_some());
    assert!(at(0, &b).is_some());
    assert!(at(0, &EntryKey("fill0".into())).is_some());
    assert!(at(1, &EntryKey("next".into())).is_some());

    drop(store);
    let store = reopen(dir.path());
    let mut txn = store.begin();
    for (key, n) in [(&a, 1), (&b, 4), (&EntryKey("fill9".into()), 2)] {
        assert_eq!(txn.entry_record(key).unwrap(), Some(entry_record(n)));
    }
    assert_eq!(
        txn.entry_record(&EntryKey("next".into())).unwrap(),
        Some(entry_record(3))
    );
    assert_eq!(txn.entry_record(&EntryKey("never".into())).unwrap(), None);
    // An update stays where the record is; a new record goes after the last segment read.
    txn.insert_entry(&a, &entry_record(5)).unwrap();
    txn.insert_entry(&EntryKey("later".into()), &entry_record(6))
        .unwrap();
    txn.commit().unwrap();
    assert_eq!(
        store.tree.get(keys::entry(0, &a)).unwrap().as_deref(),
        Some(encode_compact(&entry_record(5)).as_slice())
    );
    assert!(store
        .tree
        .get(keys::entry(2, &EntryKey("later".into())))
        .unwrap()
        .is_some());
    assert_eq!(
        store.tree.scan_prefix(keys::ENTRY_PREFIX).count(),
        entries::SEGMENT_RECORDS as usize + 4
    );
}

/// A story founded with `words` on the day of `story(.., hour)`, its id in that day's range.
fn founded(n: u64, hour: i64, words: &[&str]) -> (Story, i64) {
    let mut s = story(n, hour);
    let day = crate::dedup::day(s.published);
    s.id = StoryId(keys::story_id_day(day) | n);
    s.signature.words = words.iter().map(|w| w.to_string()).collect();
    (s, day)
}

fn found(store: &Store, words: &[&str], days: std::ops::RangeInclusive<i64>) -> Vec<u64> {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    let txn = store.begin();
    let mut ids: Vec<u64> = txn
        .candidates(&words, days)
        .unwrap()
        .into_iter()
        .map(|c| c.id.0 & keys::STORY_ID_LOW)
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_near_duplicate_index_is_rebuilt_from_sketches_whenever_a_day_is_not_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    // All three on one day (22:13 and 23:13 UTC).
    let (a, day) = founded(1, 0, &["fed", "rais", "rate"]);
    let (b, _) = founded(2, 1, &["fed", "hold", "rate"]);
    let (c, _) = founded(3, 1, &["fed", "cut", "rate"]);
    {
        let store = Store::open(dir.path()).unwrap();
        let mut txn = store.begin();
        txn.insert_story(&a).unwrap();
        txn.index_story(a.id, &a.signature, day);
        assert_eq!(
            found(&store, &["rate"], day..=day),
            Vec::<u64>::new(),
            "another batch sees nothing before commit"
        );
        let words = ["rate".to_string()];
        assert_eq!(
            txn.candidates(&words, day..=day).unwrap().len(),
            1,
            "the batch sees its own"
        );
        txn.commit().unwrap();
        // The day was loaded by the lookup above: the commit adds to it.
        assert_eq!(found(&store, &["rate"], day..=day), vec![1]);

        let mut dropped = store.begin();
        dropped.insert_story(&c).unwrap();
        dropped.index_story(c.id, &c.signature, day);
        drop(dropped);
        assert_eq!(found(&store, &["cut"], day..=day), Vec::<u64>::new());

        let mut txn = store.begin();
        txn.insert_story(&b).unwrap();
        txn.index_story(b.id, &b.signature, day);
        txn.commit().unwrap();
        assert_eq!(found(&store, &["fed"], day - 2..=day + 2), vec![1, 2]);
        assert_eq!(
            found(&store, &["fed"], day + 1..=day + 2),
            Vec::<u64>::new()
        );

        // Pruned from memory; a lookup that reaches the day again reads it back.
        store.prune_postings(day + 1).unwrap();
        assert_eq!(found(&store, &["hold"], day..=day), vec![2]);
        store.flush().unwrap();
    }
    let store = reopen(dir.path());
    assert_eq!(found(&store, &["rate"], day - 2..=day + 2), vec![1, 2]);
    assert_eq!(found(&store, &["rais", "hold"], day..=day), vec![1, 2]);
}

#[test]
fn lookups_across_many_old_days_stay_within_the_budget_and_still_find_every_story() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.near().set_budget(40);
    let mut txn = store.begin();
    let mut days = Vec::new();
    for n in 0..100u64 {
        let (s, day) = founded(n + 1, n as i64 * 24, &["archive", "episode"]);
        txn.insert_story(&s).unwrap();
        days.push(day);
    }
    txn.commit().unwrap();
    for (n, day) in days.iter().enumerate() {
        assert_eq!(found(&store, &["episode"], *day..=*day), vec![n as u64 + 1]);
        assert!(store.near().len() <= 40);
    }
    // The first days were forgotten on the way; asked again, they are read again.
    assert!(!store.near().has_day(days[0]));
    assert_eq!(found(&store, &["archive"], days[0]..=days[1]), vec![1, 2]);
}

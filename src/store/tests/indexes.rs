//! Pruning, entry records in segments, and the near-duplicate index kept in memory.

use super::*;

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

/// Pruning a story forgets its entry record in the segment that held it, and nowhere else: a
/// key sharing its key hash, stored in another segment, is still found, before and after
/// reopening (the segment's key-hash list keeps it too).
#[test]
fn pruning_one_of_two_keys_sharing_a_key_hash_keeps_the_other_in_its_segment() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = keys_sharing_a_key_hash();
    // Records sharing a key hash land in two segments only from two batches open at once,
    // each given one of the keys before either committed, either side of a segment's end.
    let mut first = store.begin();
    first.insert_entry(&a, &entry_record(1)).unwrap();
    let mut fill = store.begin();
    for i in 0..entries::SEGMENT_RECORDS as u64 {
        fill.insert_entry(&EntryKey(format!("fill{i}")), &entry_record(2))
            .unwrap();
    }
    fill.commit().unwrap();
    let mut second = store.begin();
    second.insert_entry(&b, &entry_record(3)).unwrap();
    second.commit().unwrap();
    first.commit().unwrap();
    let at = |segment: u32, key: &EntryKey| store.tree.get(keys::entry(segment, key)).unwrap();
    assert!(at(0, &a).is_some() && at(1, &a).is_none());
    assert!(at(1, &b).is_some() && at(0, &b).is_none());

    // The older story is a's, the newer b's; keeping one story prunes a's.
    let mut txn = store.begin();
    for (id, key) in [(1, &a), (2, &b)] {
        let mut s = story(id, id as i64);
        s.copies[0].entry = key.clone();
        txn.insert_story(&s).unwrap();
    }
    txn.commit().unwrap();
    let retention = crate::config::Retention {
        max_age: None,
        max_stories: Some(1),
    };
    assert_eq!(store.prune_stories(&retention, Utc::now()).unwrap(), 1);
    assert!(store.story(StoryId(2)).unwrap().is_some());
    let txn = store.begin();
    assert_eq!(txn.entry_record(&a).unwrap(), None);
    assert_eq!(txn.entry_record(&b).unwrap(), Some(entry_record(3)));
    drop(txn);
    drop(store);
    let store = reopen(dir.path());
    let txn = store.begin();
    assert_eq!(txn.entry_record(&a).unwrap(), None);
    assert_eq!(
        txn.entry_record(&b).unwrap(),
        Some(entry_record(3)),
        "the segment's key-hash list lost b's key hash"
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

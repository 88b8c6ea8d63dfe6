use chrono::Utc;

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
    // sled's flusher thread lets go of the lock a moment after the last handle drops.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let store = loop {
        match Store::open(dir.path()) {
            Ok(store) => break store,
            Err(OpenError::Locked(_)) if std::time::Instant::now() < deadline => {
                std::thread::yield_now()
            }
            Err(e) => panic!("{e}"),
        }
    };
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
    txn.remove_story(&story(2, 1), StoryId(1));
    txn.commit().unwrap();
    let txn = store.begin();
    assert_eq!(
        txn.story_of_title("the title", 5..=9).unwrap(),
        Some(StoryId(1))
    );
    assert_eq!(txn.story_of_title("the title", 8..=9).unwrap(), None);
    assert_eq!(store.newest_stories(10).unwrap().len(), 1);
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

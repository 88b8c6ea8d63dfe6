//! A batch of writes that reads its own writes, applied to sled atomically.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher13;

use super::{
    decode, encode, encode_compact, entries, keys, DropRecord, PollState, Store, StoreError,
};
use crate::dedup::postings;
use crate::dedup::{Brief, Signature, Sketch};
use crate::model::{EntryKey, Story, StoryId};

/// What we keep per entry: which story it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryRecord {
    pub story: StoryId,
    pub first_seen: DateTime<Utc>,
    /// A hash of the entry's title, link and text when last stored: an unchanged entry on the
    /// next poll costs one read, not a story load.
    #[serde(default)]
    pub fingerprint: u64,
}

/// Pending writes over the store. Dropped without [`Txn::commit`], it writes nothing.
pub struct Txn<'a> {
    pub(super) store: &'a Store,
    pending: BTreeMap<Vec<u8>, Option<sled::IVec>>,
    /// What this batch read from the store, absent keys too. Some keys of an entry are looked
    /// up twice (its URL key: dedup's lookup, then the claim; a seen entry's record: dedup's
    /// lookup, then the check of its content `fingerprint`), and in a large store a lookup of a hashed key is a
    /// page read: the second one is answered here.
    read: RefCell<HashMap<Vec<u8>, Option<sled::IVec>>>,
    /// Time spent in the store's reads ([`Txn::read_time`]).
    reading: Cell<Duration>,
    /// Stories founded in this batch, with their founding words' hashes, brief and day:
    /// candidates for the entries after them, added to the store's index on commit.
    pub(super) founded: Vec<(StoryId, Vec<u64>, Brief, i64)>,
    /// Headlines claimed in this batch (title key hash, day), added to the index on commit;
    /// until then the pending writes answer for them.
    titled: Vec<(u64, i64)>,
    /// Merge forwards written in this batch (story, the story it was merged into), added to
    /// the store's on commit.
    forwarded: Vec<(StoryId, StoryId)>,
    /// Entry records new in this batch (key hash, segment), added to the store's entry
    /// index on commit.
    entries_new: Vec<(u32, u32)>,
}

impl<'a> Txn<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Txn {
            store,
            pending: BTreeMap::new(),
            read: RefCell::default(),
            reading: Cell::default(),
            founded: Vec::new(),
            titled: Vec::new(),
            forwarded: Vec::new(),
            entries_new: Vec::new(),
        }
    }

    /// The value under `key` as this batch sees it. Cheap to clone (sled shares its values).
    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        if let Some(v) = self.pending.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.read.borrow().get(key) {
            return Ok(v.clone());
        }
        let started = Instant::now();
        let v = self.store.get_raw(key)?;
        self.reading.set(self.reading.get() + started.elapsed());
        self.read.borrow_mut().insert(key.to_vec(), v.clone());
        Ok(v)
    }

    /// How long this batch has spent reading the store so far.
    pub fn read_time(&self) -> Duration {
        self.reading.get()
    }

    pub(super) fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.get(key)?.map(|v| decode(key, &v)).transpose()
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.pending.insert(key, Some(value.into()));
    }

    fn story_id_at(&self, key: &[u8]) -> Result<Option<StoryId>, StoreError> {
        Ok(self.get(key)?.and_then(|v| keys::story_id_from_value(&v)))
    }

    pub(super) fn resolved_at(&self, key: &[u8]) -> Result<Option<StoryId>, StoreError> {
        self.story_id_at(key)?
            .map(|id| self.resolve(id))
            .transpose()
    }

    /// A fresh story id derived from the leading entry's key, so rebuilding a store from the
    /// same feeds gives the same GUIDs. A collision moves on to the next free id.
    ///
    /// The top 20 bits are the day the story was first reported (days since 1970, wrapping
    /// after 2,870 years), so recent stories, the ones dedup reads, sit together in the store.
    pub fn new_story_id(
        &self,
        leader: &EntryKey,
        published: DateTime<Utc>,
    ) -> Result<StoryId, StoreError> {
        let mut hasher = SipHasher13::new_with_keys(0x7374_6f72_7969_6421, 0x6665_6564_6d65_7267);
        hasher.write(leader.0.as_bytes());
        let day = crate::dedup::day(published);
        let mut id = StoryId(keys::story_id_day(day) | (hasher.finish() & keys::STORY_ID_LOW));
        while self.story_taken(id, day)? {
            id = StoryId(id.0.wrapping_add(1));
        }
        Ok(id)
    }

    /// Whether a story is stored under `id`, founded on `day`. This batch's writes first; then
    /// the in-memory index if it holds the day (dedup's lookups of the entry have just loaded
    /// it): it knows every story of the day by its sketch, so the answer costs no read. Ids
    /// are hashes spread over the day's range, so reading the story key instead loaded a page
    /// of the store from disk for nearly every new story, to find nothing. A story stored
    /// before sketches existed is not in the index: a new id meets one of that day's with odds
    /// of one in 2^44 for each (ids are a 44-bit hash within their day), and would overwrite it.
    fn story_taken(&self, id: StoryId, day: i64) -> Result<bool, StoreError> {
        let key = keys::story(id);
        if let Some(pending) = self.pending.get(&key) {
            return Ok(pending.is_some());
        }
        // An id past the end of the day's range (the hash's low bits all ones, then a
        // collision) is looked up in the store.
        if id.0 & !keys::STORY_ID_LOW == keys::story_id_day(day) {
            let near = self.store.near();
            if near.has_day(day) {
                return Ok(near.holds_story(id, day));
            }
        }
        Ok(self.get(&key)?.is_some())
    }

    /// Stores a new story and its place in the newest-first order.
    pub fn insert_story(&mut self, story: &Story) -> Result<(), StoreError> {
        self.put(keys::order(story.published, story.id), Vec::new());
        self.put_story(story)
    }

    /// Writes the story and its sketch. A story read back from the store carries no
    /// signature; its sketch keeps the one it was founded with, and is not rewritten if
    /// nothing in it changed (a copy from a source the story already had, an edit).
    fn put_story(&mut self, story: &Story) -> Result<(), StoreError> {
        self.put(keys::story(story.id), encode(story));
        let mut sketch = Sketch::of(story);
        let key = keys::sketch(story.id);
        if story.signature == crate::dedup::Signature::default() {
            if let Some(stored) = self.get(&key)? {
                let old: Sketch = super::decode(&key, &stored)?;
                // A sketch an earlier version wrote as JSON is rewritten compact all the same.
                if stored.first() == Some(&super::codec::COMPACT_V1)
                    && old.id == sketch.id
                    && old.published == sketch.published
                    && old.sources == sketch.sources
                {
                    return Ok(());
                }
                sketch.signature = old.signature;
            }
        }
        self.put(key, encode_compact(&sketch));
        Ok(())
    }

    /// A stored story, whole.
    pub fn story(&self, id: StoryId) -> Result<Option<Story>, StoreError> {
        self.get_json(&keys::story(id))
    }

    /// Rewrites a story that was published at `old_published`, moving it in the order if an
    /// earlier copy took the lead.
    pub fn update_story(
        &mut self,
        old_published: DateTime<Utc>,
        story: &Story,
    ) -> Result<(), StoreError> {
        if old_published != story.published {
            self.pending
                .insert(keys::order(old_published, story.id), None);
            self.put(keys::order(story.published, story.id), Vec::new());
        }
        self.put_story(story)
    }

    /// Removes a story that was merged into `survivor`; keys that still point at it are
    /// forwarded there.
    pub fn remove_story(&mut self, story: &Story, survivor: StoryId) {
        self.pending
            .insert(keys::order(story.published, story.id), None);
        self.pending.insert(keys::story(story.id), None);
        self.pending.insert(keys::sketch(story.id), None);
        self.put(
            keys::merged(story.id),
            keys::story_id_value(survivor).to_vec(),
        );
        self.forwarded.push((story.id, survivor));
    }

    /// Follows merge forwards from `id` to the story that holds its copies now: this batch's
    /// first, then the store's (held in memory, see [`Store::forward`]).
    pub(super) fn resolve(&self, mut id: StoryId) -> Result<StoryId, StoreError> {
        // Chains are short (each merge adds one hop); the bound guards against a cycle in a
        // damaged store.
        for _ in 0..32 {
            let next = self
                .forwarded
                .iter()
                .rev()
                .find(|(from, _)| *from == id)
                .map(|(_, to)| *to)
                .or_else(|| self.store.forward(id));
            match next {
                Some(next) => id = next,
                None => break,
            }
        }
        Ok(id)
    }

    /// The key `entry` (whose [`entries::key_hash`] is `hash`) is stored under, in this batch
    /// or the store, if it is: read in each segment the entry index names (nearly always none
    /// or one).
    fn entry_key(&self, entry: &EntryKey, hash: u32) -> Result<Option<Vec<u8>>, StoreError> {
        let mut segments = self.store.entries().segments(hash);
        segments.extend(
            self.entries_new
                .iter()
                .filter(|(f, _)| *f == hash)
                .map(|(_, segment)| *segment),
        );
        for segment in segments {
            let key = keys::entry(segment, entry);
            if self.get(&key)?.is_some() {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    pub fn entry_record(&self, key: &EntryKey) -> Result<Option<EntryRecord>, StoreError> {
        match self.entry_key(key, entries::key_hash(key.0.as_bytes()))? {
            Some(at) => self.get_json(&at),
            None => Ok(None),
        }
    }

    /// Writes an entry's record: where it is, or if new, in the segment the entry index gives.
    pub fn insert_entry(&mut self, key: &EntryKey, record: &EntryRecord) -> Result<(), StoreError> {
        let hash = entries::key_hash(key.0.as_bytes());
        let at = match self.entry_key(key, hash)? {
            Some(at) => at,
            None => {
                let segment = match self.entries_new.iter().find(|(f, _)| *f == hash) {
                    Some((_, segment)) => *segment,
                    None => self.store.entries().segment_for_new(hash),
                };
                self.entries_new.push((hash, segment));
                keys::entry(segment, key)
            }
        };
        self.put(at, encode_compact(record));
        Ok(())
    }

    /// Points a URL key at a story, unless it already points at one (the first story keeps it).
    pub fn claim_url(&mut self, url_key: &str, id: StoryId) -> Result<(), StoreError> {
        self.claim(keys::url(url_key), id)
    }

    /// Points a title key at a story, unless it already points at one.
    pub fn claim_title(
        &mut self,
        title_key: &str,
        day: i64,
        id: StoryId,
    ) -> Result<(), StoreError> {
        let hash = postings::title_hash(title_key);
        if self.title_on(title_key, hash, day)?.is_none() {
            self.put(
                keys::title(day, title_key),
                keys::story_id_value(id).to_vec(),
            );
            self.titled.push((hash, day));
        }
        Ok(())
    }

    /// The story `title_key` (whose [`postings::title_hash`] is `hash`) was claimed for on
    /// `day`, unresolved. This batch's writes first; then the in-memory index if it holds the
    /// day, where a miss is certain and a hit is confirmed by reading the key (another
    /// headline may share the hash); else the store.
    pub(super) fn title_on(
        &self,
        title_key: &str,
        hash: u64,
        day: i64,
    ) -> Result<Option<StoryId>, StoreError> {
        let key = keys::title(day, title_key);
        if let Some(pending) = self.pending.get(&key) {
            return Ok(pending.as_deref().and_then(keys::story_id_from_value));
        }
        let maybe = {
            let near = self.store.near();
            // Not loaded (a claim for a day no lookup reached): the store answers.
            !near.has_day(day) || near.may_have_title(hash, day)
        };
        if maybe {
            self.story_id_at(&key)
        } else {
            Ok(None)
        }
    }

    fn claim(&mut self, key: Vec<u8>, id: StoryId) -> Result<(), StoreError> {
        if self.get(&key)?.is_none() {
            self.put(key, keys::story_id_value(id).to_vec());
        }
        Ok(())
    }

    /// Adds a new story to the near-duplicate index under each of its founding headline's
    /// words (`signature`'s), for the day it was published (`day` of `id`, see
    /// [`keys::story_id_day`]). Held in memory ([`crate::dedup::Postings`]); the story's
    /// sketch is what rebuilds it.
    pub fn index_story(&mut self, id: StoryId, signature: &Signature, day: i64) {
        // The index is rebuilt from the sketches of `day`'s id range: the two must agree.
        debug_assert_eq!(id.0 & !keys::STORY_ID_LOW, keys::story_id_day(day));
        self.founded.push((
            id,
            postings::hashes(&signature.words),
            Brief::of(signature),
            day,
        ));
    }

    /// Remembers which rule dropped `entry` (once: an entry dropped on every poll by the same
    /// rule is not rewritten).
    pub fn record_dropped(
        &mut self,
        entry: &crate::model::Entry,
        rule: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = match &entry.url_key {
            Some(u) => keys::dropped(u),
            None => keys::dropped(&format!("#{}", entry.key.0)),
        };
        if let Some(old) = self.get_json::<DropRecord>(&key)? {
            if old.rule == rule {
                return Ok(());
            }
        }
        let record = DropRecord {
            source: entry.source.clone(),
            title: entry.title.clone(),
            link: entry.link.clone(),
            rule: rule.to_string(),
            at: now,
        };
        self.put(key, encode(&record));
        Ok(())
    }

    pub fn poll_state(&self, source_url: &str) -> Result<Option<PollState>, StoreError> {
        self.get_json(&keys::poll_state(source_url))
    }

    pub fn set_poll_state(&mut self, source_url: &str, state: &PollState) {
        self.put(keys::poll_state(source_url), encode_compact(state));
    }

    /// Applies every pending write as one atomic sled batch (not yet flushed).
    pub fn commit(mut self) -> Result<(), StoreError> {
        // New entry records' key hashes join their segments' lists in the same batch.
        for (key, list) in entries::lists_with(&self.entries_new, |key| self.get(key))? {
            self.put(key, list);
        }
        let mut batch = sled::Batch::default();
        for (key, value) in self.pending {
            match value {
                Some(v) => batch.insert(key, v),
                None => batch.remove(key),
            }
        }
        self.store.tree.apply_batch(batch)?;
        if !self.entries_new.is_empty() {
            let mut entries = self.store.entries_mut();
            for (hash, segment) in &self.entries_new {
                entries.add(*hash, *segment);
            }
            entries.filled(self.entries_new.len());
        }
        if !self.forwarded.is_empty() {
            self.store.add_forwards(&self.forwarded);
        }
        if !self.founded.is_empty() || !self.titled.is_empty() {
            let mut near = self.store.near();
            for (id, words, brief, day) in &self.founded {
                near.add_if_loaded(*id, words, *brief, *day);
            }
            for (hash, day) in &self.titled {
                near.add_title_if_loaded(*hash, *day);
            }
        }
        Ok(())
    }
}

//! Stage 5: the sled store. Stories, entries, dedup keys and per-source poll state live in one
//! sled tree under key prefixes (see [`keys`]); values are JSON, except the records the ingest
//! writer reads for every entry (sketches, entry records, poll state), which are a tag byte and
//! postcard (see [`codec`]). Either is read wherever it is found, so a store written
//! before keeps working as it is.
//!
//! Writes go through a [`Txn`]: an in-memory overlay that dedup reads through, applied to sled as
//! one atomic batch, so a crash keeps either all of a fetch's effects (its stories, its keys and
//! its new ETag) or none of them. Only the ingest task writes; [`Store::flush`] after every batch
//! makes it durable (sled otherwise loses up to 500 ms of writes on `kill -9`).
//!
//! The files: [`open`] (lock, layout version, upgrades, loading the in-memory indexes),
//! [`read`] (lookups and scans), [`txn`] (writes), [`prune`] (retention), [`codec`] (value
//! encodings), [`lookups`] (dedup's reads), [`keys`] (the key layout), [`entries`] (entry records by segment), [`archive`]
//! (stories by day).

mod archive;
mod codec;
mod entries;
mod keys;
mod lookups;
mod open;
mod prune;
mod read;
mod txn;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::dedup::{Postings, Sketch};
use crate::model::StoryId;
use codec::{decode, encode, encode_compact};
use entries::EntryIndex;

pub use open::{open_store_with, wait_until_released, OpenError};
pub use read::{find_story, story_id_in, DropRecord, Offer, Stats};
pub use txn::{EntryRecord, Txn};

/// A store error: sled or disk trouble, or a record we cannot decode.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record under key {key}: {reason}")]
    Decode { key: String, reason: String },
}

/// How long an in-memory index day is kept with no lookup using it
/// ([`crate::dedup::Postings::forget_idle`]). Reloading a day reads one key range of sketches
/// (milliseconds); a day kept holds its stories' lists and briefs, ~100 bytes a story. In a
/// running daemon the days the window reaches are used by every poll that brings new entries.
pub const INDEX_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

pub use crate::config::DEFAULT_CACHE_BYTES;

pub use crate::model::PollState;

/// The open store. Cheap to clone (sled's handles are reference counted; clones share the
/// near-duplicate index).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
    /// The near-duplicate layer's posting lists, in memory, of the days lookups reached
    /// ([`crate::dedup::postings`]).
    near: Arc<Mutex<Postings>>,
    /// Every merge forward (the `m` keys, story -> the story it was merged into), in memory:
    /// dedup follows forwards from every candidate and every key it finds, nearly always to
    /// learn there is none, and a merge is rare (a few in a thousand stories).
    forwards: Arc<RwLock<HashMap<StoryId, StoryId>>>,
    /// Which segment holds each stored entry record ([`entries`]).
    entries: Arc<RwLock<EntryIndex>>,
}

impl Store {
    fn entries(&self) -> std::sync::RwLockReadGuard<'_, EntryIndex> {
        // Its methods do not panic midway: a panic elsewhere while it was held left it whole.
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn entries_mut(&self) -> std::sync::RwLockWriteGuard<'_, EntryIndex> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Entry keys the in-memory entry index holds (distinct key hashes), and about how many
    /// bytes it takes.
    pub fn entry_index_size(&self) -> (usize, usize) {
        self.entries().size()
    }

    /// The story `id` was merged into, if it was.
    fn forward(&self, id: StoryId) -> Option<StoryId> {
        let forwards = self.forwards.read().unwrap_or_else(|e| e.into_inner());
        forwards.get(&id).copied()
    }

    /// Records merge forwards written by a committed batch.
    fn add_forwards(&self, added: &[(StoryId, StoryId)]) {
        let mut forwards = self.forwards.write().unwrap_or_else(|e| e.into_inner());
        forwards.extend(added.iter().copied());
    }

    /// The near-duplicate index.
    fn near(&self) -> MutexGuard<'_, Postings> {
        // A panic while holding the lock leaves at worst a list short of a story: the index
        // only proposes candidates, so it stays usable.
        self.near.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The near-duplicate index, with every day of `days` loaded. The hourly upkeep drops days
    /// the window no longer reaches; between two, the index forgets the days used least
    /// recently once it holds more than its budget ([`crate::dedup::postings::MAX_IDS`]).
    fn near_with_days(
        &self,
        days: std::ops::RangeInclusive<i64>,
    ) -> Result<MutexGuard<'_, Postings>, StoreError> {
        let mut near = self.near();
        for day in days.clone() {
            if near.has_day(day) {
                near.touch(day);
            } else {
                near.load(day, self.founded_on(day)?, self.titles_on(day)?);
            }
        }
        near.shrink(|d| days.contains(&d));
        Ok(near)
    }

    /// Forgets the in-memory index days no lookup has used for [`INDEX_IDLE`]; returns how many.
    pub fn forget_idle_index_days(&self) -> usize {
        self.near()
            .forget_idle(INDEX_IDLE, std::time::Instant::now())
    }

    /// Story ids the in-memory near-duplicate index holds (a list entry each).
    pub fn near_index_ids(&self) -> usize {
        self.near().len()
    }

    /// Story ids the in-memory near-duplicate index holds, and about how many bytes it takes
    /// (walks every list).
    pub fn near_index_size(&self) -> (usize, usize) {
        let near = self.near();
        (near.len(), near.memory())
    }

    /// The stories founded on `day`, each with its founding words, from their sketches.
    fn founded_on(
        &self,
        day: i64,
    ) -> Result<Vec<(StoryId, Vec<u64>, crate::dedup::Brief)>, StoreError> {
        let (first, last) = keys::sketches_of_day(day);
        let mut found = Vec::new();
        for item in self.tree.range(first..=last) {
            let (key, value) = item?;
            let sketch: Sketch = decode(&key, &value)?;
            found.push((
                sketch.id,
                crate::dedup::postings::hashes(&sketch.signature.words),
                crate::dedup::Brief::of(&sketch.signature),
            ));
        }
        Ok(found)
    }

    /// The headlines claimed on `day`, each title key's hash: one key range.
    fn titles_on(&self, day: i64) -> Result<Vec<u64>, StoreError> {
        let (first, end) = (keys::title(day, ""), keys::title(day.saturating_add(1), ""));
        let mut found = Vec::new();
        for item in self.tree.range(first..end) {
            // A key whose title is not text is a damaged record no lookup could ask for.
            if let Some(title) = keys::title_in_key(&item?.0) {
                found.push(crate::dedup::postings::title_hash(title));
            }
        }
        Ok(found)
    }

    /// Starts a batch of writes.
    pub fn begin(&self) -> Txn<'_> {
        Txn::new(self)
    }

    /// Makes every applied batch durable. Blocks on fsync.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// A cheap read that fails when the store does.
    pub fn health_check(&self) -> Result<(), StoreError> {
        self.tree.get(keys::VERSION)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;

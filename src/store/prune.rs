//! Pruning: stories past the retention limits with all their keys, headline keys no story
//! can use any more, and near-duplicate keys earlier versions stored. In bounded sled
//! batches, so one pruning after a long pause does not hold the whole removal in memory.

use chrono::{DateTime, Utc};

use super::read::DropRecord;
use super::{decode, entries, keys, Store, StoreError};

/// Keys removed per sled batch when pruning (at least: a story's keys share one batch).
pub(super) const PRUNE_BATCH: usize = 4096;

/// Removals applied in sled batches of about [`PRUNE_BATCH`] keys. After a long pause (or on a
/// store whose entries are old) one pruning can reach a million keys, and one sled batch that
/// size holds hundreds of megabytes while it is applied. Keys queued between two [`Removals::boundary`]
/// calls always go in one batch (a story with all its keys); beyond that pruning needs no
/// atomicity: a key left behind by a crash is pruned next time.
struct Removals<'t> {
    tree: &'t sled::Tree,
    batch: sled::Batch,
    queued: usize,
    applied: usize,
}

impl<'t> Removals<'t> {
    fn new(tree: &'t sled::Tree) -> Self {
        Removals {
            tree,
            batch: sled::Batch::default(),
            queued: 0,
            applied: 0,
        }
    }

    fn remove(&mut self, key: impl Into<sled::IVec>) {
        self.batch.remove(key);
        self.queued += 1;
    }

    /// Applies what is queued once it fills a batch.
    fn boundary(&mut self) -> Result<(), StoreError> {
        if self.queued >= PRUNE_BATCH {
            self.apply()?;
        }
        Ok(())
    }

    /// Applies what is queued; returns how many keys went in all.
    fn finish(mut self) -> Result<usize, StoreError> {
        self.apply()?;
        Ok(self.applied)
    }

    fn apply(&mut self) -> Result<(), StoreError> {
        if self.queued > 0 {
            self.tree.apply_batch(std::mem::take(&mut self.batch))?;
            self.applied += std::mem::take(&mut self.queued);
        }
        Ok(())
    }
}

impl Store {
    /// Drops the near-duplicate lists of days before `day` from memory (lookups never reach
    /// them; a lookup that does reads them back from the sketches), and the near-duplicate
    /// keys earlier versions stored. Returns how many keys went. In bounded batches
    /// ([`Removals`]).
    pub fn prune_postings(&self, day: i64) -> Result<usize, StoreError> {
        self.near().prune_before(day);
        let mut removals = Removals::new(&self.tree);
        for item in self.tree.scan_prefix(keys::POSTING_PREFIX) {
            removals.remove(item?.0);
            removals.boundary()?;
        }
        removals.finish()
    }

    /// Drops the headline keys of days before the oldest stored story's: every story they
    /// could lead to is gone, since a copy is never older than its story (a story's time is
    /// its earliest copy's). Until then they stay, as entry and link keys stay with their
    /// stories, so whether a repeated headline joins its story by the title layer does not
    /// depend on when it is polled. Returns how many keys went.
    pub fn prune_titles(&self) -> Result<usize, StoreError> {
        let end = match self.tree.scan_prefix(keys::ORDER_PREFIX).next() {
            Some(item) => match keys::time_in_order_key(&item?.0) {
                Some(oldest) => keys::title(crate::dedup::day(oldest), ""),
                None => return Ok(0),
            },
            // No story: no headline key leads anywhere.
            None => keys::title(i64::MAX, ""),
        };
        let mut removals = Removals::new(&self.tree);
        for item in self.tree.range(keys::TITLE_PREFIX.to_vec()..end) {
            removals.remove(item?.0);
            removals.boundary()?;
        }
        removals.finish()
    }

    /// Removes stories first reported before `now - max_age`, and the oldest beyond
    /// `max_stories`, with their entries, links, sketches and filter records. Returns how many
    /// stories went.
    pub fn prune_stories(
        &self,
        retention: &crate::config::Retention,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        if retention.max_age.is_none() && retention.max_stories.is_none() {
            return Ok(0);
        }
        let total = match retention.max_stories {
            Some(_) => self.story_count()?,
            None => 0,
        };
        let excess = retention
            .max_stories
            .map_or(0, |max| total.saturating_sub(max));
        let cutoff = retention.max_age.map(|age| now - age);
        let mut removed = 0;
        // Each story with all its keys in one batch, so none is left pointing at a removed
        // story; stories in bounded batches ([`Removals`]).
        let mut removals = Removals::new(&self.tree);
        // Entry records removed (their keys, and key hash and segment), forgotten by the
        // entry index once their removal is applied.
        let mut gone = std::collections::HashSet::new();
        let mut forgotten = Vec::new();
        for item in self.tree.scan_prefix(keys::ORDER_PREFIX) {
            let (key, _) = item?;
            let Some(id) = keys::story_in_order_key(&key) else {
                continue;
            };
            let story = self.story(id)?;
            let too_old = match (&story, cutoff) {
                (Some(s), Some(cutoff)) => s.published < cutoff,
                _ => false,
            };
            if removed >= excess && !too_old {
                break; // the order index is oldest first: nothing further qualifies
            }
            removals.remove(key.to_vec());
            if let Some(story) = story {
                removals.remove(keys::story(id));
                removals.remove(keys::sketch(id));
                for copy in &story.copies {
                    let hash = entries::key_hash(copy.entry.0.as_bytes());
                    let segments = self.entries().segments(hash);
                    for segment in segments {
                        let key = keys::entry(segment, &copy.entry);
                        // Counted out once, and only if it is there: the index must never
                        // hold fewer records than the store.
                        if self.tree.get(&key)?.is_some() && gone.insert(key.clone()) {
                            removals.remove(key);
                            forgotten.push((hash, segment));
                        }
                    }
                    let url_key = copy
                        .link
                        .as_deref()
                        .and_then(|l| url::Url::parse(l).ok())
                        .and_then(|u| crate::normalize::url_key(&u));
                    if let Some(u) = url_key {
                        removals.remove(keys::url(&u));
                    }
                }
            }
            removed += 1;
            removals.boundary()?;
        }
        if let Some(cutoff) = cutoff {
            for item in self.tree.scan_prefix(keys::DROPPED_PREFIX) {
                let (key, value) = item?;
                if decode::<DropRecord>(&key, &value).is_ok_and(|r| r.at < cutoff) {
                    removals.remove(key);
                    removals.boundary()?;
                }
            }
        }
        removals.finish()?;
        // The segments' key-hash lists lose the removed records after the records went: a
        // crash between the two leaves a list holding too much (a read that finds nothing),
        // never too little.
        if forgotten.is_empty() {
            return Ok(removed);
        }
        forgotten.sort_unstable_by_key(|(_, segment)| *segment);
        let mut lists = sled::Batch::default();
        for chunk in forgotten.chunk_by(|a, b| a.1 == b.1) {
            let key = keys::segment(chunk[0].1);
            if let Some(list) = self.tree.get(&key)? {
                let hashes: Vec<u32> = chunk.iter().map(|(hash, _)| *hash).collect();
                let left = entries::unlisted(&list, &hashes);
                if left.is_empty() {
                    lists.remove(key);
                } else {
                    lists.insert(key, left);
                }
            }
        }
        self.tree.apply_batch(lists)?;
        let mut entries = self.entries_mut();
        for (hash, segment) in forgotten {
            entries.remove(hash, segment);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A removal is applied once a whole batch is queued, not before (a story's keys stay
    /// together) and not only at the end (one pruning after a long pause must not hold a
    /// million removals in one sled batch).
    #[test]
    fn removals_are_applied_a_full_batch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree("t").unwrap();
        for i in 0..=PRUNE_BATCH as u32 {
            tree.insert(i.to_be_bytes(), &[]).unwrap();
        }
        let mut removals = Removals::new(&tree);
        for i in 0..PRUNE_BATCH as u32 - 1 {
            removals.remove(&i.to_be_bytes()[..]);
        }
        removals.boundary().unwrap();
        assert_eq!(
            tree.len(),
            PRUNE_BATCH + 1,
            "applied before a batch was full"
        );
        removals.remove(&(PRUNE_BATCH as u32 - 1).to_be_bytes()[..]);
        removals.boundary().unwrap();
        assert_eq!(tree.len(), 1, "a full batch was not applied");
        removals.remove(&(PRUNE_BATCH as u32).to_be_bytes()[..]);
        assert_eq!(removals.finish().unwrap(), PRUNE_BATCH + 1);
        assert_eq!(tree.len(), 0);
    }
}

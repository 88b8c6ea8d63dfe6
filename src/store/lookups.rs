//! Dedup's view of the store: the lookups of [`Index`], answered through a batch ([`Txn`]) so
//! that an entry sees the stories, keys and index days the entries before it in the same batch
//! wrote, and through the in-memory indexes (merge forwards, headline and word lists) before
//! any sled read.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::{keys, StoreError, Txn};
use crate::dedup::postings::{self, IdHasher};
use crate::dedup::{Brief, Candidate, Index, Sketch};
use crate::model::{EntryKey, StoryId};

impl Index for Txn<'_> {
    type Error = StoreError;

    fn story_of_entry(&self, key: &EntryKey) -> Result<Option<StoryId>, StoreError> {
        self.entry_record(key)?
            .map(|r| self.resolve(r.story))
            .transpose()
    }

    fn story_of_url(&self, url_key: &str) -> Result<Option<StoryId>, StoreError> {
        self.resolved_at(&keys::url(url_key))
    }

    fn story_of_title(
        &self,
        title_key: &str,
        days: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<StoryId>, StoreError> {
        // Loads the days the lookup reaches, as the near layer's lookup right after it would.
        drop(self.store.near_with_days(days.clone())?);
        let hash = postings::title_hash(title_key);
        for day in days {
            if let Some(id) = self.title_on(title_key, hash, day)? {
                return Ok(Some(self.resolve(id)?));
            }
        }
        Ok(None)
    }

    fn sketch(&self, id: StoryId) -> Result<Option<Sketch>, StoreError> {
        match self.get_json(&keys::sketch(id))? {
            Some(sketch) => Ok(Some(sketch)),
            // A story written before sketches existed.
            None => Ok(self.story(id)?.as_ref().map(Sketch::of)),
        }
    }

    fn candidates(
        &self,
        words: &[String],
        days: std::ops::RangeInclusive<i64>,
    ) -> Result<Vec<Candidate>, StoreError> {
        let words = postings::hashes(words);
        let mut counts: HashMap<StoryId, usize, BuildHasherDefault<IdHasher>> = HashMap::default();
        let near = self.store.near_with_days(days.clone())?;
        let uncounted = near.count(&words, days.clone(), &mut counts);
        for (id, founded, _, day) in &self.founded {
            let shared = founded.iter().filter(|w| words.contains(w)).count();
            if shared > 0 && days.contains(day) {
                *counts.entry(*id).or_insert(0) += shared;
            }
        }
        // Only the best few are verified (dedup looks at no more than these); briefs and
        // merges for those alone keep this bounded.
        let best: Vec<(StoryId, usize, Option<Brief>)> = postings::best(counts)
            .into_iter()
            .map(|(id, shared)| {
                let brief = near.brief(id, days.clone()).or_else(|| {
                    self.founded
                        .iter()
                        .find(|(f, ..)| *f == id)
                        .map(|(_, _, brief, _)| *brief)
                });
                (id, shared, brief)
            })
            .collect();
        drop(near);
        best.into_iter()
            .map(|(id, shared, brief)| {
                let resolved = self.resolve(id)?;
                Ok(Candidate {
                    id: resolved,
                    shared,
                    uncounted,
                    // A story merged into another is read as the survivor, whose founding
                    // signature is not the one in brief.
                    brief: brief.filter(|_| resolved == id),
                })
            })
            .collect()
    }
}

//! Reads: stories by id and newest first, poll state, filter records, and the counts
//! `feedmerge stats` shows. Each is one sled lookup or one key range; none writes.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::{decode, keys, PollState, Store, StoreError};
use crate::dedup::Index;
use crate::model::{Story, StoryId};

/// How many of the newest stories publishing looks at, at most, to fill a feed.
const SCAN_LIMIT: usize = 10_000;

/// What a newest-first scan does with a story: keep it or not, and whether to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub keep: bool,
    pub more: bool,
}

/// Counts and sizes of what the store holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// (kind, records, live bytes)
    pub records: Vec<(String, usize, u64)>,
    pub live_bytes: u64,
    pub disk_bytes: u64,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, n, bytes) in &self.records {
            writeln!(
                f,
                "{name:<24} {n:>10}  {:>10.1} KiB",
                *bytes as f64 / 1024.0
            )?;
        }
        writeln!(
            f,
            "{:<24} {:>10}  {:>10.1} MiB",
            "live data",
            "",
            self.live_bytes as f64 / 1048576.0
        )?;
        writeln!(
            f,
            "{:<24} {:>10}  {:>10.1} MiB",
            "on disk",
            "",
            self.disk_bytes as f64 / 1048576.0
        )
    }
}

/// A filtered entry, remembered so that `explain` can say which rule dropped it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropRecord {
    pub source: String,
    pub title: String,
    pub link: Option<String>,
    pub rule: String,
    pub at: DateTime<Utc>,
}

/// Finds the story `query` names: a story id (16 hex digits, or the `urn:feedmerge:story:` GUID)
/// or the link of any of its copies.
pub fn find_story(store: &Store, query: &str) -> Result<Option<Story>, StoreError> {
    let txn = store.begin();
    if let Some(id) = story_id_in(query) {
        return txn.story(id);
    }
    let Some(key) = url::Url::parse(query.trim())
        .ok()
        .as_ref()
        .and_then(crate::normalize::url_key)
    else {
        return Ok(None);
    };
    match txn.story_of_url(&key)? {
        Some(id) => txn.story(id),
        None => Ok(None),
    }
}

/// The story id a query names: 16 hex digits, or the `urn:feedmerge:story:` GUID.
pub fn story_id_in(query: &str) -> Option<StoryId> {
    let hex = query.trim().trim_start_matches("urn:feedmerge:story:");
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
        .map(StoryId)
}

impl Store {
    pub fn poll_state(&self, source_url: &str) -> Result<Option<PollState>, StoreError> {
        self.get_json(&keys::poll_state(source_url))
    }

    pub fn story(&self, id: StoryId) -> Result<Option<Story>, StoreError> {
        self.get_json(&keys::story(id))
    }

    /// The `limit` stories with the latest publication time, newest first.
    pub fn newest_stories(&self, limit: usize) -> Result<Vec<Story>, StoreError> {
        self.newest_stories_from(limit, 1)
    }

    /// The `limit` newest stories that at least `min_sources` sources carried. Looks at no
    /// more than [`SCAN_LIMIT`] stories, so a high `min_sources` costs bounded work.
    pub fn newest_stories_from(
        &self,
        limit: usize,
        min_sources: usize,
    ) -> Result<Vec<Story>, StoreError> {
        let order = self
            .tree
            .scan_prefix(keys::ORDER_PREFIX)
            .rev()
            .take(SCAN_LIMIT.max(limit));
        self.stories_in_order(order, limit, min_sources)
    }

    /// The stories the publication-order keys of `order` name, in that order, those that at
    /// least `min_sources` sources carried, at most `limit`.
    pub(super) fn stories_in_order(
        &self,
        order: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
        limit: usize,
        min_sources: usize,
    ) -> Result<Vec<Story>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in order {
            if out.len() >= limit {
                break;
            }
            let (key, _) = item?;
            let Some(id) = keys::story_in_order_key(&key) else {
                continue;
            };
            if let Some(story) = self.story(id)? {
                if story.sources().len() >= min_sources {
                    out.push(story);
                }
            }
        }
        Ok(out)
    }

    /// Newest first, the stories at least `min_sources` sources carried that `offer` keeps,
    /// until it says no more are wanted. Looks at no more than [`SCAN_LIMIT`] stories (or
    /// `at_least`, if more), so a feed that cannot be filled costs bounded work.
    pub fn newest_stories_wanted(
        &self,
        at_least: usize,
        min_sources: usize,
        mut offer: impl FnMut(&Story) -> Offer,
    ) -> Result<Vec<Story>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .tree
            .scan_prefix(keys::ORDER_PREFIX)
            .rev()
            .take(SCAN_LIMIT.max(at_least))
        {
            let (key, _) = item?;
            let Some(id) = keys::story_in_order_key(&key) else {
                continue;
            };
            let Some(story) = self.story(id)? else {
                continue;
            };
            if story.sources().len() < min_sources {
                continue;
            }
            let Offer { keep, more } = offer(&story);
            if keep {
                out.push(story);
            }
            if !more {
                break;
            }
        }
        Ok(out)
    }

    /// Why an entry with this link was dropped by a filter, if one was.
    pub fn dropped(&self, url: &url::Url) -> Result<Option<DropRecord>, StoreError> {
        match crate::normalize::url_key(url) {
            Some(key) => self.get_json(&keys::dropped(&key)),
            None => Ok(None),
        }
    }

    /// Every stored story, in id order.
    pub fn stories(&self) -> impl Iterator<Item = Result<Story, StoreError>> + '_ {
        self.tree.scan_prefix(keys::STORY_PREFIX).map(|item| {
            let (key, value) = item?;
            decode(&key, &value)
        })
    }

    /// What `feedmerge stats` shows. A full scan.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let mut stats = Stats {
            disk_bytes: self.db.size_on_disk()?,
            ..Stats::default()
        };
        for (prefix, n, bytes) in self.live_bytes()? {
            stats.live_bytes += bytes;
            let name = match prefix {
                's' => "stories",
                'f' => "entries",
                'i' => "entry segments",
                'u' => "url keys",
                't' => "title keys",
                'w' => "old near-duplicate keys (pruned hourly)",
                'g' => "story sketches",
                'o' => "order index",
                'm' => "merge forwards",
                'p' => "sources with poll state",
                'x' => "filtered entries",
                _ => continue,
            };
            stats.records.push((name.to_string(), n, bytes));
        }
        Ok(stats)
    }

    /// Live bytes (keys + values) and record counts by key prefix, to compare with the size
    /// on disk. A full scan: for `stats` and benchmarks, not hot paths.
    pub fn live_bytes(&self) -> Result<Vec<(char, usize, u64)>, StoreError> {
        let mut by_prefix: std::collections::BTreeMap<u8, (usize, u64)> = Default::default();
        for item in self.tree.iter() {
            let (k, v) = item?;
            let slot = by_prefix
                .entry(k.first().copied().unwrap_or(0))
                .or_default();
            slot.0 += 1;
            slot.1 += (k.len() + v.len()) as u64;
        }
        Ok(by_prefix
            .into_iter()
            .map(|(p, (n, b))| (p as char, n, b))
            .collect())
    }

    /// How many stories are stored (a scan of the order index; not for hot paths).
    pub fn story_count(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.tree.scan_prefix(keys::ORDER_PREFIX) {
            item?;
            n += 1;
        }
        Ok(n)
    }

    pub(super) fn get_raw(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.tree.get(key)?)
    }

    pub(super) fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.get_raw(key)?.map(|v| decode(key, &v)).transpose()
    }
}

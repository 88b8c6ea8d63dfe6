//! Stage 5: the sled store. Stories, entries, dedup keys and per-source poll state live in one
//! sled tree under key prefixes (see [`keys`]); values are JSON, except the records the ingest
//! writer reads for every entry (sketches, entry records, poll state), which are a tag byte and
//! postcard (see [`encode_compact`]). Either is read wherever it is found, so a store written
//! before keeps working as it is.
//!
//! Writes go through a [`Txn`]: an in-memory overlay that dedup reads through, applied to sled as
//! one atomic batch, so a crash keeps either all of a fetch's effects (its stories, its keys and
//! its new ETag) or none of them. Only the ingest task writes; [`Store::flush`] after every batch
//! makes it durable (sled otherwise loses up to 500 ms of writes on `kill -9`).

mod archive;
mod entries;
mod keys;
mod txn;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::dedup::{Postings, Sketch};
use crate::fetch::Validators;
use crate::model::{Story, StoryId};
use entries::EntryIndex;

pub use txn::{EntryRecord, Txn};

/// On-disk layout version, stored under the `v` key. Version 2 writes some records compact
/// (see [`keys`]); version 3 keys entry records by segment ([`entries`]). Older stores are
/// marked 3 on opening, before their entry records are moved, so that an older feedmerge,
/// which could not find them, refuses the store with a clear message instead of taking every
/// entry for new.
const SCHEMA_VERSION: &[u8] = b"3";
/// Layouts this version opens: their records read as they are, and entry records are moved
/// to segments on opening ([`move_old_entries`]).
const READS_VERSIONS: &[&[u8]] = &[b"1", b"2"];

/// A store error: sled or disk trouble, or a record we cannot decode.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record under key {key}: {reason}")]
    Decode { key: String, reason: String },
}

/// Why the store could not be opened; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the store {0} is in use by another feedmerge process; stop it first, or give this one its own [store] path")]
    Locked(String),
    #[error("cannot open the store {path}: {reason}")]
    Unusable { path: String, reason: String },
}

/// How long an in-memory index day is kept with no lookup using it
/// ([`crate::dedup::Postings::forget_idle`]). Reloading a day reads one key range of sketches
/// (milliseconds); a day kept holds its stories' lists and briefs, ~100 bytes a story. In a
/// running daemon the days the window reaches are used by every poll that brings new entries.
pub const INDEX_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// sled's own default cache is 1 GiB and only a hint; a feed store needs far less.
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Keys removed per sled batch when pruning (at least: a story's keys share one batch).
const PRUNE_BATCH: usize = 4096;

/// Removals applied in sled batches of about [`PRUNE_BATCH`] keys. After a long pause (or on a
/// store whose entries are old) one pruning can reach a million keys, and one sled batch that
/// size held ~600 MB while it was applied. Keys queued between two [`Removals::boundary`]
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

/// What we remember about polling one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    pub validators: Validators,
    pub last_fetch: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// The last outcome, as logged ("200, 12 entries, 3 new", "not modified", an error).
    pub last_outcome: String,
    pub consecutive_failures: u32,
    /// Entries read from the source over its lifetime, and stories it started.
    #[serde(default)]
    pub entries_seen: u64,
    #[serde(default)]
    pub stories_led: u64,
    /// When the source is due next: its schedule, the publisher's hints, or backoff. Stored,
    /// so a restart does not poll a source that asked for rest.
    #[serde(default)]
    pub next_poll: Option<DateTime<Utc>>,
    /// The source answered `410 Gone`: it is not polled again until its URL changes.
    #[serde(default)]
    pub gone: bool,
    /// Where the feed moved permanently (301/308); polled there from then on.
    #[serde(default)]
    pub moved_to: Option<String>,
}

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

/// Waits (at most `patience`) until nothing holds the lock of the store in directory `path`;
/// whether it is free. sled lets go of it when its I/O threads drop their last handle, a
/// moment after the process's own last [`Store`] is dropped, so a caller that opens the store
/// again at once (a second `once` in one process, a test) would find it locked. Polls: sled
/// has no way to say when it is done.
pub fn wait_until_released(path: &Path, patience: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + patience;
    loop {
        // The lock sled takes, taken the way sled takes it (fs2: an exclusive `flock` on the
        // data file; std's `File::try_lock` is newer than our MSRV).
        let Ok(file) = std::fs::File::open(path.join("db")) else {
            return true;
        };
        match fs2::FileExt::try_lock_exclusive(&file) {
            Ok(()) => return true,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(_) => return false,
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store in directory `path`, with the default cache.
    pub fn open(path: &Path) -> Result<Store, OpenError> {
        Store::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens the store with a page cache of `cache_bytes` (sled treats it as a target, not a
    /// hard limit).
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, OpenError> {
        let shown = path.display().to_string();
        let unusable = |reason: String| OpenError::Unusable {
            path: shown.clone(),
            reason,
        };
        std::fs::create_dir_all(path).map_err(|e| {
            unusable(format!(
                "{e}; create the directory or make it writable by this user"
            ))
        })?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| match e {
                // sled wraps the failed flock in an io::Error of kind Other, naming it in the text.
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    OpenError::Locked(shown.clone())
                }
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                    unusable(format!("{io}; make the directory writable by this user"))
                }
                sled::Error::Corruption { .. } => unusable(format!(
                    "{e}; the store is damaged: move the directory aside, start again, and restore the last backup with `feedmerge import backup.jsonl`"
                )),
                other => unusable(other.to_string()),
            })?;
        let tree = db
            .open_tree("feedmerge")
            .map_err(|e| unusable(e.to_string()))?;
        match tree
            .get(keys::VERSION)
            .map_err(|e| unusable(e.to_string()))?
        {
            None => {
                tree.insert(keys::VERSION, SCHEMA_VERSION)
                    .map_err(|e| unusable(e.to_string()))?;
            }
            Some(v) if v.as_ref() == SCHEMA_VERSION => {}
            Some(v) if READS_VERSIONS.contains(&v.as_ref()) => {
                tree.insert(keys::VERSION, SCHEMA_VERSION)
                    .map_err(|e| unusable(e.to_string()))?;
            }
            Some(v) => {
                return Err(unusable(format!(
                "it has layout version {}, this feedmerge reads version {}; use a newer feedmerge",
                String::from_utf8_lossy(&v),
                String::from_utf8_lossy(SCHEMA_VERSION)
            )))
            }
        }
        let forwards = forwards_in(&tree).map_err(|e| unusable(e.to_string()))?;
        let mut entries = entries_in(&tree).map_err(|e| unusable(e.to_string()))?;
        move_old_entries(&tree, &mut entries).map_err(|e| {
            unusable(format!(
                "{e}; moving entry records to this version's layout failed (nothing is lost: the next start goes on from where it stopped)"
            ))
        })?;
        Ok(Store {
            db,
            tree,
            near: Arc::default(),
            forwards: Arc::new(RwLock::new(forwards)),
            entries: Arc::new(RwLock::new(entries)),
        })
    }

    fn entries(&self) -> std::sync::RwLockReadGuard<'_, EntryIndex> {
        // Its methods do not panic midway: a panic elsewhere while it was held left it whole.
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn entries_mut(&self) -> std::sync::RwLockWriteGuard<'_, EntryIndex> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Entry keys the in-memory entry index holds (distinct fingerprints), and about how many
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
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in self
            .tree
            .scan_prefix(keys::ORDER_PREFIX)
            .rev()
            .take(SCAN_LIMIT.max(limit))
        {
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
        // Entry records removed (their keys, and fingerprint and segment), forgotten by the
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
                    let fp = entries::fingerprint(copy.entry.0.as_bytes());
                    let segments = self.entries().segments(fp);
                    for segment in segments {
                        let key = keys::entry(segment, &copy.entry);
                        // Counted out once, and only if it is there: the index must never
                        // hold fewer records than the store.
                        if self.tree.get(&key)?.is_some() && gone.insert(key.clone()) {
                            removals.remove(key);
                            forgotten.push((fp, segment));
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
        // The segments' fingerprint lists lose the removed records after the records went: a
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
                let fps: Vec<u32> = chunk.iter().map(|(fp, _)| *fp).collect();
                let left = entries::unlisted(&list, &fps);
                if left.is_empty() {
                    lists.remove(key);
                } else {
                    lists.insert(key, left);
                }
            }
        }
        self.tree.apply_batch(lists)?;
        let mut entries = self.entries_mut();
        for (fp, segment) in forgotten {
            entries.remove(fp, segment);
        }
        Ok(removed)
    }

    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// A cheap read that fails when the store does.
    pub fn health_check(&self) -> Result<(), StoreError> {
        self.tree.get(keys::VERSION)?;
        Ok(())
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

    fn get_raw(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.tree.get(key)?)
    }

    fn get_json<T: for<'de> Deserialize<'de>>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        self.get_raw(key)?.map(|v| decode(key, &v)).transpose()
    }
}

/// The merge forwards written in the store.
fn forwards_in(tree: &sled::Tree) -> Result<HashMap<StoryId, StoryId>, sled::Error> {
    let mut forwards = HashMap::new();
    for item in tree.scan_prefix(keys::MERGED_PREFIX) {
        let (key, value) = item?;
        // A damaged value forwards nowhere, as a lookup of it always did.
        if let (Some(from), Some(to)) = (
            keys::story_in_merged_key(&key),
            keys::story_id_from_value(&value),
        ) {
            forwards.insert(from, to);
        }
    }
    Ok(forwards)
}

/// The entry index of the records in the store, from the segments' fingerprint lists. New
/// records go to a segment after the last one found.
fn entries_in(tree: &sled::Tree) -> Result<EntryIndex, sled::Error> {
    let mut index = EntryIndex::default();
    let mut last = None;
    for item in tree.scan_prefix(keys::SEGMENT_PREFIX) {
        let (key, list) = item?;
        if let Some(segment) = keys::segment_in_key(&key) {
            for fp in entries::fingerprints(&list) {
                index.add(fp, segment);
            }
            last = last.max(Some(segment));
        }
    }
    if let Some(last) = last {
        index.start_after(last);
    }
    Ok(index)
}

/// Moves entry records stored by versions before 3 (`e` + entry key) to segments, a batch
/// at a time: each batch moves its records atomically, so a crash or a full disk midway
/// loses none, and the next open goes on with the rest. A batch fills one segment: old
/// records are not the ones new entries' writes touch, so a large one costs nothing.
fn move_old_entries(tree: &sled::Tree, index: &mut EntryIndex) -> Result<usize, sled::Error> {
    let mut moved = 0;
    loop {
        let mut batch = sled::Batch::default();
        let mut added = Vec::new();
        for item in tree.scan_prefix(keys::OLD_ENTRY_PREFIX).take(PRUNE_BATCH) {
            let (key, value) = item?;
            let entry_key = &key[keys::OLD_ENTRY_PREFIX.len()..];
            let fp = entries::fingerprint(entry_key);
            let segment = index.segment_for_new(fp);
            batch.insert(keys::entry_of_bytes(segment, entry_key), value);
            batch.remove(key);
            added.push((fp, segment));
        }
        if added.is_empty() {
            return Ok(moved);
        }
        // The batch's records all went to one segment (a fingerprint already in another
        // joins that one's list).
        for (key, list) in entries::lists_with(&added, |key| tree.get(key))? {
            batch.insert(key, list);
        }
        tree.apply_batch(batch)?;
        moved += added.len();
        for (fp, segment) in &added {
            index.add(*fp, *segment);
        }
        index.filled(added.len());
    }
}

/// First byte of a value in the compact encoding: postcard, version 1 of each record's field
/// list. JSON values (objects) start with `{`, so the two never mix up. postcard does not
/// describe its fields: a record that gains a field takes a new tag, and [`decode`] keeps
/// reading the old ones.
const COMPACT_V1: u8 = 0x01;

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    let decoded = match value.split_first() {
        Some((&COMPACT_V1, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        _ => serde_json::from_slice(value).map_err(|e| e.to_string()),
    };
    decoded.map_err(|reason| StoreError::Decode {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Our records are plain structs of strings, numbers and dates: serializing cannot fail.
    serde_json::to_vec(value).expect("records serialize to JSON")
}

/// The compact encoding, for records read on every entry and written with every field (no
/// `skip_serializing_if`: postcard reads fields by position). Falls back to JSON, which
/// [`decode`] reads as well, should postcard ever refuse a value.
fn encode_compact<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_extend(value, vec![COMPACT_V1]).unwrap_or_else(|_| encode(value))
}

#[cfg(test)]
mod tests;

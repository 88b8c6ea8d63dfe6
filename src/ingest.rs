//! The single writer: receives each poll's [`Batch`], runs [`dedup::decide`] on its entries,
//! writes the result and the source's new poll state to the store in one atomic batch, flushes,
//! and re-renders the published feeds when anything changed.
//!
//! Why one writer: cross-source dedup is check-then-write across several indexes; serializing it
//! here makes decisions deterministic and keeps sled transactions simple.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};

use crate::dedup::{self, Decision, Index};
use crate::model::{Copy, Entry, Layer, Story};
use crate::render::{self, Snapshot};
use crate::store::{EntryRecord, PollState, Store, StoreError, Txn};

/// One poll's result, sent by a poller.
#[derive(Debug)]
pub struct Batch {
    pub source_name: String,
    pub source_url: String,
    /// Normalized entries (empty for a 304 or a failure).
    pub entries: Vec<Entry>,
    /// The source's poll state after this poll, persisted with the entries.
    pub state: PollState,
    /// Told what was stored, once it is durable.
    pub reply: Option<oneshot::Sender<Result<Ingested, String>>>,
}

/// What ingest needs to know besides the store.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub dedup: dedup::Settings,
    pub filters: crate::filter::Filters,
    pub retention: crate::config::Retention,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            dedup: config.dedup.clone(),
            filters: config.filters.clone(),
            retention: config.store.retention.clone(),
        }
    }
}

/// What one batch did to the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    pub new_stories: usize,
    /// Entries that joined an existing story as another copy.
    pub joined: usize,
    /// Entries already stored (unchanged or edited).
    pub seen: usize,
    /// Stored stories whose text changed (an edit, or an earlier copy took the lead).
    pub updated: usize,
    /// Pairs of stored stories found to be one story and merged.
    pub merged: usize,
    /// The rule that dropped each filtered entry.
    pub filtered: Vec<String>,
    /// Entries older than `[store] max_age`, ignored.
    pub expired: usize,
    /// The dedup layer of each join.
    pub joined_by: Vec<Layer>,
    /// Where the time went.
    pub timing: Timing,
}

/// Where one [`apply`]'s time went, by stage. The ingest bench reports each stage's cost as the
/// store grows, which is how a stage that does not stay flat is found; a few clock reads an
/// entry, against the tens of microseconds an entry costs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Deciding each entry's story (the dedup layers), without the point reads it made
    /// (loading an index day, one key range, counts here).
    pub deciding: std::time::Duration,
    /// Reading the store: the exact layers' keys, candidates' sketches, stories to update.
    pub reading: std::time::Duration,
    /// Writing the batch to the store (not flushed).
    pub committing: std::time::Duration,
    /// The whole of `apply`.
    pub total: std::time::Duration,
}

impl Ingested {
    fn changed(&self) -> bool {
        self.new_stories + self.joined + self.updated > 0
    }
}

/// The settings a reload can change, replaced as a whole.
#[derive(Debug, Clone)]
pub struct Live {
    pub ingest: Settings,
    pub render: render::Settings,
}

/// Everything the ingest task owns or shares.
pub struct Context {
    pub store: Store,
    pub live: watch::Receiver<Arc<Live>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub health: Arc<crate::systemd::Health>,
    pub snapshots: watch::Sender<Arc<Snapshot>>,
}

/// At most one render per this long while polls keep arriving (the queue is never empty): a
/// round over thousands of sources changes the feed thousands of times, and subscribers only
/// see the last one anyway.
const PUBLISH_GAP: std::time::Duration = std::time::Duration::from_secs(1);

/// How often index days the window no longer reaches, and stories past retention, are pruned.
const PRUNE_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// How many queued batches one flush may cover (group commit).
const GROUP_MAX: usize = 64;

/// Runs until every sender is dropped, then flushes. Publishes a new snapshot after changes
/// (at most once per [`PUBLISH_GAP`]), and between batches proves the store healthy (for the
/// watchdog) and applies retention.
///
/// Batches that are already queued when one arrives are stored together and made durable by
/// one flush (group commit); each poller is answered only after that flush.
pub async fn run(ctx: Context, mut batches: mpsc::Receiver<Batch>) -> Result<(), StoreError> {
    let Context {
        store,
        mut live,
        metrics,
        health,
        snapshots,
    } = ctx;
    let mut heartbeat = tokio::time::interval(crate::systemd::HEARTBEAT);
    let mut publisher = Publisher::default();
    // The first upkeep (a prune included) runs before any batch is stored. Run from the loop,
    // it raced the first batches (when headline keys were still pruned with the window, an
    // entry older than the window could lose them between two polls of one round).
    heartbeat.tick().await;
    let startup = live.borrow().clone();
    let up = Upkeep {
        store: &store,
        metrics: &metrics,
        health: &health,
        snapshots: &snapshots,
    };
    let mut published = up
        .run(
            Some(startup.ingest.clone()),
            &startup.render,
            &mut publisher,
        )
        .await
        .unwrap_or(0);
    let mut next_prune = Utc::now() + PRUNE_EVERY;
    let mut failing: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut live_open = true;
    loop {
        let current = live.borrow().clone();
        let (settings, render) = (&current.ingest, &current.render);
        let first = tokio::select! {
            batch = batches.recv() => match batch {
                Some(batch) => batch,
                None => break,
            },
            changed = live.changed(), if live_open => {
                live_open = changed.is_ok();
                if live_open {
                    // A reload: the feed's title, tags or size may have changed.
                    let fresh = live.borrow().clone();
                    published = publisher.publish(&store, &fresh.render, &snapshots).await;
                    metrics.published.set(published as i64);
                }
                continue;
            }
            () = publisher.due() => {
                published = publisher.publish(&store, render, &snapshots).await;
                metrics.published.set(published as i64);
                continue;
            }
            _ = heartbeat.tick() => {
                let now = Utc::now();
                let prune = now >= next_prune;
                if prune {
                    next_prune = now + PRUNE_EVERY;
                }
                if let Some(n) = up.run(prune.then(|| settings.clone()), render, &mut publisher).await {
                    published = n;
                }
                continue;
            }
        };
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match batches.try_recv() {
                Ok(batch) => group.push(batch),
                Err(_) => break,
            }
        }
        let mut jobs = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        for batch in group {
            failing.insert(
                batch.source_url.clone(),
                batch.state.consecutive_failures > 0,
            );
            replies.push((batch.source_name, batch.reply));
            jobs.push((batch.source_url, batch.entries, batch.state));
        }
        let worker_store = store.clone();
        let worker_settings = settings.clone();
        let results =
            tokio::task::spawn_blocking(move || store_group(&worker_store, jobs, &worker_settings))
                .await
                .unwrap_or_else(|e| {
                    let failed = format!("ingest task failed: {e}");
                    replies.iter().map(|_| Err(failed.clone())).collect()
                });
        metrics.near_index_ids.set(store.near_index_ids() as i64);
        let mut changed = false;
        let mut answers = Vec::with_capacity(replies.len());
        for ((source_name, reply), result) in replies.into_iter().zip(results) {
            match &result {
                Ok(done) => {
                    health.store_ok();
                    tracing::debug!(source = %source_name, ?done, "batch stored");
                    count(&metrics, done);
                    changed |= done.changed();
                }
                Err(e) => tracing::error!(
                    source = %source_name,
                    "could not store this poll's entries, they will be fetched again next time: {e}"
                ),
            }
            answers.push((reply, result));
        }
        // Nobody reads the snapshots in `feedmerge once`: rendering would be wasted work.
        if changed && !snapshots.is_closed() {
            publisher.dirty = true;
            // A quiet queue publishes at once, before the pollers hear back, so a poll that
            // reports its stories stored has them in the feed too; a busy queue waits for the
            // gap.
            if publisher.may_publish_now() || batches.is_empty() {
                published = publisher.publish(&store, render, &snapshots).await;
                metrics.published.set(published as i64);
            }
        }
        for (reply, result) in answers {
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        }
        let down = failing.values().filter(|f| **f).count();
        crate::systemd::status(&format!(
            "{} sources polled, {} ok, {down} failing; {published} stories published",
            failing.len(),
            failing.len() - down
        ));
    }
    let final_store = store.clone();
    tokio::task::spawn_blocking(move || final_store.flush())
        .await
        .unwrap_or(Ok(()))?;
    Ok(())
}

/// What the heartbeat does between batches.
struct Upkeep<'a> {
    store: &'a Store,
    metrics: &'a Arc<crate::metrics::Metrics>,
    health: &'a crate::systemd::Health,
    snapshots: &'a watch::Sender<Arc<Snapshot>>,
}

impl Upkeep<'_> {
    /// Proves the store healthy (for the watchdog), forgets index days no lookup has used for
    /// a minute, and, given settings, prunes what the window and retention no longer keep.
    /// Returns how many stories a new snapshot carries when pruning removed some and it
    /// published one.
    async fn run(
        &self,
        prune: Option<Settings>,
        render: &render::Settings,
        publisher: &mut Publisher,
    ) -> Option<usize> {
        let now = Utc::now();
        let worker = self.store.clone();
        let gauges = self.metrics.clone();
        let checked = tokio::task::spawn_blocking(move || {
            worker.health_check()?;
            worker.forget_idle_index_days();
            match prune {
                Some(settings) => {
                    let removed = maintain(&worker, &settings, now)?;
                    gauges.stored_stories.set(worker.story_count()? as i64);
                    gauges.store_bytes.set(worker.size_on_disk()? as i64);
                    Ok::<_, StoreError>(removed)
                }
                None => Ok(0),
            }
        })
        .await;
        match checked {
            Ok(Ok(removed)) => {
                self.health.store_ok();
                if removed > 0 {
                    tracing::info!(removed, "retention removed old stories");
                    let published = publisher.publish(self.store, render, self.snapshots).await;
                    self.metrics.published.set(published as i64);
                    return Some(published);
                }
            }
            Ok(Err(e)) => tracing::error!("the store is not healthy: {e}"),
            Err(e) => tracing::error!("store check failed: {e}"),
        }
        None
    }
}

/// Applies queued polls in order, then makes them all durable with one flush. If the flush
/// fails, none of them is reported stored (the pollers fetch again).
fn store_group(
    store: &Store,
    jobs: Vec<(String, Vec<Entry>, PollState)>,
    settings: &Settings,
) -> Vec<Result<Ingested, String>> {
    let mut results: Vec<Result<Ingested, String>> = jobs
        .into_iter()
        .map(|(source_url, entries, state)| {
            apply(store, &source_url, entries, &state, settings, Utc::now())
                .map_err(|e| e.to_string())
        })
        .collect();
    if let Err(e) = store.flush() {
        let e = e.to_string();
        for result in &mut results {
            if result.is_ok() {
                *result = Err(e.clone());
            }
        }
    }
    results
}

fn count(metrics: &crate::metrics::Metrics, done: &Ingested) {
    metrics.count_entries("new", done.new_stories);
    metrics.count_entries("joined", done.joined);
    metrics.count_entries("seen", done.seen);
    metrics.count_entries("filtered", done.filtered.len());
    for rule in &done.filtered {
        metrics.count_filtered(rule);
    }
    for layer in &done.joined_by {
        metrics.count_join(&layer.to_string());
    }
    // Kept current between the hourly exact counts.
    metrics
        .stored_stories
        .inc_by(done.new_stories as i64 - done.merged as i64);
}

/// When to render next: at once after a quiet spell, otherwise [`PUBLISH_GAP`] after the last
/// render, so a burst of changes costs one render per gap and the last change is never left
/// unpublished.
#[derive(Debug, Default)]
struct Publisher {
    last: Option<tokio::time::Instant>,
    dirty: bool,
}

impl Publisher {
    fn may_publish_now(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= PUBLISH_GAP)
    }

    /// Completes when a held-back change is due; never while nothing is held back.
    async fn due(&self) {
        match (self.dirty, self.last) {
            (true, Some(t)) => tokio::time::sleep_until(t + PUBLISH_GAP).await,
            (true, None) => {}
            (false, _) => std::future::pending().await,
        }
    }

    async fn publish(
        &mut self,
        store: &Store,
        render: &render::Settings,
        snapshots: &watch::Sender<Arc<Snapshot>>,
    ) -> usize {
        self.dirty = false;
        self.last = Some(tokio::time::Instant::now());
        publish(store, render, snapshots).await
    }
}

/// Hourly upkeep: near-duplicate index days the window no longer reaches (from memory),
/// stories past `[store] max_age` / `max_stories`, and headline keys older than every story
/// left. Returns how many stories went.
pub fn maintain(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    // Two days of slack: an entry may be published a day before it is polled.
    let keep_from = dedup::day(now) - settings.dedup.window.num_days() - 2;
    store.prune_postings(keep_from)?;
    let removed = store.prune_stories(&settings.retention, now)?;
    store.prune_titles()?;
    if removed > 0 {
        store.flush()?;
    }
    Ok(removed)
}

/// Renders the newest stories and hands the snapshot to the server. Returns how many stories
/// it carries.
pub async fn publish(
    store: &Store,
    render: &render::Settings,
    snapshots: &watch::Sender<Arc<Snapshot>>,
) -> usize {
    let store = store.clone();
    let settings = render.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let mut wanted = render::Wanted::new(&settings);
        let stories =
            store.newest_stories_wanted(settings.max_items, settings.min_sources, |s| {
                wanted.offer(s)
            })?;
        Ok::<_, StoreError>(render::render(&stories, &settings))
    })
    .await;
    match rendered {
        Ok(Ok(snapshot)) => {
            let n = snapshot.stories;
            snapshots.send_replace(Arc::new(snapshot));
            n
        }
        Ok(Err(e)) => {
            tracing::error!("could not read stories to publish: {e}");
            0
        }
        Err(e) => {
            tracing::error!("rendering failed: {e}");
            0
        }
    }
}

/// Applies one poll to the store (not flushed). Public for tests and the benchmarks.
pub fn apply(
    store: &Store,
    source_url: &str,
    mut entries: Vec<Entry>,
    state: &PollState,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Ingested, StoreError> {
    dedup::distrust_shared_links(&mut entries);
    // Oldest first, so that within one fetch the earliest copy of a story leads it.
    entries.sort_by_key(|e| e.published);
    let started = std::time::Instant::now();
    let mut txn = store.begin();
    let mut done = Ingested::default();
    let expired_before = settings.retention.max_age.map(|age| now - age);
    for entry in &entries {
        if expired_before.is_some_and(|t| entry.published < t) {
            // Older than retention keeps stories: storing it would only bring back what
            // retention removed.
            done.expired += 1;
            continue;
        }
        if !settings.filters.is_empty() && txn.story_of_entry(&entry.key)?.is_none() {
            // Filters decide what becomes a story; what already is one stays (a filter added
            // later applies to new entries only).
            if let Err(dropped) = settings.filters.check(entry, now) {
                txn.record_dropped(entry, &dropped.rule, now)?;
                done.filtered.push(dropped.rule);
                continue;
            }
        }
        let (decided, read_before) = (std::time::Instant::now(), txn.read_time());
        let decision = dedup::decide(entry, &txn, &settings.dedup)?;
        done.timing.deciding += decided
            .elapsed()
            .saturating_sub(txn.read_time().saturating_sub(read_before));
        match decision {
            Decision::Seen(id) => {
                done.seen += 1;
                let fingerprint = fingerprint(entry);
                let Some(mut record) = txn.entry_record(&entry.key)? else {
                    continue;
                };
                if record.fingerprint == fingerprint {
                    continue;
                }
                if let Some(mut story) = txn.story(id)? {
                    let old_published = story.published;
                    if refresh_copy(&mut story, entry, now) {
                        txn.update_story(old_published, &story)?;
                        claim_keys(&mut txn, entry, &story)?;
                        done.updated += 1;
                    }
                }
                record.fingerprint = fingerprint;
                txn.insert_entry(&entry.key, &record)?;
            }
            Decision::Join {
                story: id,
                layer,
                absorb,
                score,
                reason,
            } => {
                let Some(mut story) = txn.story(id)? else {
                    continue;
                };
                let old_published = story.published;
                if let Some(other) = absorb.map(|o| txn.story(o)).transpose()?.flatten() {
                    txn.remove_story(&other, story.id);
                    merge(&mut story, other, now);
                    done.merged += 1;
                }
                done.joined_by.push(layer);
                join(
                    &mut story,
                    Copy::of(entry, layer, score, reason),
                    entry,
                    now,
                );
                txn.update_story(old_published, &story)?;
                record(&mut txn, entry, &story, now)?;
                done.joined += 1;
            }
            Decision::New => {
                let story =
                    Story::founded_by(txn.new_story_id(&entry.key, entry.published)?, entry, now);
                txn.insert_story(&story)?;
                txn.index_story(story.id, &entry.signature, dedup::day(entry.published));
                record(&mut txn, entry, &story, now)?;
                done.new_stories += 1;
            }
        }
    }
    // The store keeps the running counts: the poller's copy of the state does not have them.
    let mut state = state.clone();
    let stored = txn.poll_state(source_url)?.unwrap_or_default();
    state.entries_seen = stored.entries_seen + entries.len() as u64;
    state.stories_led = stored.stories_led + done.new_stories as u64;
    txn.set_poll_state(source_url, &state);
    done.timing.reading = txn.read_time();
    let committed = std::time::Instant::now();
    txn.commit()?;
    done.timing.committing = committed.elapsed();
    done.timing.total = started.elapsed();
    Ok(done)
}

fn record(
    txn: &mut Txn<'_>,
    entry: &Entry,
    story: &Story,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    txn.insert_entry(
        &entry.key,
        &EntryRecord {
            story: story.id,
            first_seen: now,
            fingerprint: fingerprint(entry),
        },
    )?;
    claim_keys(txn, entry, story)
}

/// A stable hash of what an edit can change.
fn fingerprint(entry: &Entry) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0x0000_6669_6e67_6572, 0x0070_7269_6e74);
    for part in [
        Some(entry.title.as_str()),
        entry.link.as_deref(),
        entry.summary.as_deref(),
        entry.content.as_deref(),
    ] {
        h.write(part.unwrap_or("").as_bytes());
        h.write(&[0]);
    }
    h.finish()
}

fn claim_keys(txn: &mut Txn<'_>, entry: &Entry, story: &Story) -> Result<(), StoreError> {
    if let Some(u) = &entry.url_key {
        txn.claim_url(u, story.id)?;
    }
    if let Some(t) = &entry.title_key {
        txn.claim_title(t, dedup::day(entry.published), story.id)?;
    }
    Ok(())
}

/// Makes `entry`'s text the story's. The story keeps its id, so its GUID does not change.
fn lead(story: &mut Story, entry: &Entry) {
    story.title = entry.title.clone();
    story.link = entry.link.clone();
    story.summary = entry.summary.clone();
    story.content = entry.content.clone();
    story.authors = entry.authors.clone();
    story.enclosures = entry.enclosures.clone();
}

/// The story is placed in the feed by its first report, whoever leads it.
fn first_reported(story: &Story) -> DateTime<Utc> {
    story
        .copies
        .iter()
        .map(|c| c.published)
        .min()
        .unwrap_or(story.published)
}

/// Adds a copy; if it leads now (a higher-priority source, or an earlier copy), its text
/// becomes the story's.
fn join(story: &mut Story, copy: Copy, entry: &Entry, now: DateTime<Utc>) {
    story.copies.push(copy);
    story.order_copies();
    if story.copies[0].entry == entry.key {
        lead(story, entry);
    }
    story.published = first_reported(story);
    story.updated = now;
}

/// Moves every copy of `other` into `story`; the copy that ranks first leads.
fn merge(story: &mut Story, other: Story, now: DateTime<Utc>) {
    let other_leader = other.copies.first().map(|c| c.entry.clone());
    // The absorbed story's first copy joins by the title match that bridged the two.
    story.copies.extend(other.copies.into_iter().map(|mut c| {
        if c.joined_by == Layer::First {
            c.joined_by = Layer::Title;
            c.reason = "merged: a later copy had this story's link and the other's headline".into();
        }
        c
    }));
    story.order_copies();
    if story.copies.first().map(|c| &c.entry) == other_leader.as_ref() {
        story.title = other.title;
        story.link = other.link;
        story.summary = other.summary;
        story.content = other.content;
        story.authors = other.authors;
    }
    story.published = first_reported(story);
    story.updated = now;
}

/// An already stored entry came again: carry over edits to its title, link or text. Returns
/// whether anything changed.
fn refresh_copy(story: &mut Story, entry: &Entry, now: DateTime<Utc>) -> bool {
    let Some(index) = story.copies.iter().position(|c| c.entry == entry.key) else {
        return false;
    };
    let copy = &mut story.copies[index];
    let copy_changed = copy.title != entry.title || copy.link != entry.link;
    copy.title = entry.title.clone();
    copy.link = entry.link.clone();
    let is_leader = index == 0;
    let text_changed = is_leader
        && (story.title != entry.title
            || story.link != entry.link
            || story.summary != entry.summary
            || story.content != entry.content);
    if is_leader && text_changed {
        // An edit changes the text, never the GUID or the place in the feed.
        lead(story, entry);
    }
    if copy_changed || text_changed {
        story.updated = now;
        true
    } else {
        false
    }
}

//! The single writer: receives each poll's [`Batch`], runs [`dedup::decide`] on its entries,
//! writes the result and the source's new poll state to the store in one atomic batch, flushes,
//! and re-renders the published feeds when anything changed.
//!
//! Why one writer: cross-source dedup is check-then-write across several indexes; serializing it
//! here makes decisions deterministic and keeps sled transactions simple. Restoring a backup
//! (`feedmerge import`) writes through here too ([`Restore`]), so no other code writes stories
//! or keys.
//!
//! This file is the task's loop (group commit, answering the pollers); [`apply`] stores one
//! poll, `publish` hands the rendered snapshot to the server, `upkeep` is the periodic work
//! between batches (health, pruning).

mod apply;
mod publish;
mod restore;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;
mod upkeep;

pub use apply::apply;
pub use publish::publish;
pub use restore::Restore;
pub use upkeep::maintain;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};

use crate::dedup;
use crate::metrics::Metrics;
use crate::model::{Entry, Layer};
use crate::render::{self, Snapshot};
use crate::store::{PollState, Store, StoreError};
use crate::systemd::Health;

use publish::Publisher;
use upkeep::PRUNE_EVERY;

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
    /// Joins of a source's entry to a story that source already had a copy in (a re-issue, the
    /// same article under a second link).
    pub same_outlet: usize,
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
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub snapshots: watch::Sender<Arc<Snapshot>>,
}

/// How many queued batches one flush may cover (group commit).
const GROUP_MAX: usize = 64;

/// Runs until every sender is dropped, then flushes. Publishes a new snapshot after changes
/// (at most once per `PUBLISH_GAP`), and between batches proves the store healthy (for the
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
    let mut writer = Writer {
        store,
        metrics,
        health,
        snapshots,
        publisher: Publisher::default(),
        published: 0,
        failing: HashMap::new(),
    };
    let mut heartbeat = tokio::time::interval(crate::systemd::HEARTBEAT);
    heartbeat.tick().await;
    // The first upkeep, a prune included, runs before any batch is stored: the first batches
    // are decided against a store already pruned, and no prune runs between two polls of the
    // first round.
    let startup = live.borrow().clone();
    writer
        .upkeep(Some(startup.ingest.clone()), &startup.render)
        .await;
    let mut next_prune = Utc::now() + PRUNE_EVERY;
    let mut live_open = true;
    loop {
        let current = live.borrow().clone();
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
                    writer.publish(&fresh.render).await;
                }
                continue;
            }
            () = writer.publisher.due() => {
                writer.publish(&current.render).await;
                continue;
            }
            _ = heartbeat.tick() => {
                let now = Utc::now();
                let prune = now >= next_prune;
                if prune {
                    next_prune = now + PRUNE_EVERY;
                }
                writer.upkeep(prune.then(|| current.ingest.clone()), &current.render).await;
                continue;
            }
        };
        let group = with_queued(first, &mut batches);
        writer.store(group, &current, &batches).await;
    }
    let final_store = writer.store.clone();
    tokio::task::spawn_blocking(move || final_store.flush())
        .await
        .unwrap_or(Ok(()))?;
    Ok(())
}

/// `first` and the batches queued behind it, up to [`GROUP_MAX`].
fn with_queued(first: Batch, batches: &mut mpsc::Receiver<Batch>) -> Vec<Batch> {
    let mut group = vec![first];
    while group.len() < GROUP_MAX {
        match batches.try_recv() {
            Ok(batch) => group.push(batch),
            Err(_) => break,
        }
    }
    group
}

/// The ingest task's state: what it writes to and reports to, and what it remembers between
/// batches.
struct Writer {
    store: Store,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    publisher: Publisher,
    /// How many stories the last snapshot carries.
    published: usize,
    /// By source URL: whether its last poll failed (for the status line).
    failing: HashMap<String, bool>,
}

impl Writer {
    /// Stores a group of batches with one flush, publishes if they changed the feed, then
    /// answers each poller. `queue` is the batches still waiting: while it is busy, publishing
    /// waits for the gap.
    async fn store(&mut self, group: Vec<Batch>, live: &Live, queue: &mpsc::Receiver<Batch>) {
        let mut jobs = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        for batch in group {
            self.failing.insert(
                batch.source_url.clone(),
                batch.state.consecutive_failures > 0,
            );
            replies.push((batch.source_name, batch.reply));
            jobs.push((batch.source_url, batch.entries, batch.state));
        }
        let worker_store = self.store.clone();
        let worker_settings = live.ingest.clone();
        let results =
            tokio::task::spawn_blocking(move || store_group(&worker_store, jobs, &worker_settings))
                .await
                .unwrap_or_else(|e| {
                    let failed = format!("ingest task failed: {e}");
                    replies.iter().map(|_| Err(failed.clone())).collect()
                });
        self.metrics
            .near_index_ids
            .set(self.store.near_index_ids() as i64);
        let mut changed = false;
        let mut answers = Vec::with_capacity(replies.len());
        for ((source_name, reply), result) in replies.into_iter().zip(results) {
            changed |= self.note(&source_name, &result);
            answers.push((reply, result));
        }
        // Nobody reads the snapshots in `feedmerge once`: rendering would be wasted work.
        if changed && !self.snapshots.is_closed() {
            self.publisher.dirty = true;
            // A quiet queue publishes at once, before the pollers hear back, so a poll that
            // reports its stories stored has them in the feed too; a busy queue waits for the
            // gap.
            if self.publisher.may_publish_now() || queue.is_empty() {
                self.publish(&live.render).await;
            }
        }
        for (reply, result) in answers {
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        }
        let down = self.failing.values().filter(|f| **f).count();
        crate::systemd::status(&format!(
            "{} sources polled, {} ok, {down} failing; {} stories published",
            self.failing.len(),
            self.failing.len() - down,
            self.published,
        ));
    }

    /// Logs and counts one batch's result. Returns whether it changed the feed.
    fn note(&self, source_name: &str, result: &Result<Ingested, String>) -> bool {
        match result {
            Ok(done) => {
                self.health.store_ok();
                tracing::debug!(source = %source_name, ?done, "batch stored");
                count(&self.metrics, done);
                done.changed()
            }
            Err(e) => {
                tracing::error!(
                    source = %source_name,
                    "could not store this poll's entries, they will be fetched again next time: {e}"
                );
                false
            }
        }
    }

    /// Publishes now, and records how many stories the snapshot carries.
    async fn publish(&mut self, render: &render::Settings) {
        let published = self
            .publisher
            .publish(&self.store, render, &self.snapshots)
            .await;
        self.metrics.published.set(published as i64);
        self.published = published;
    }
}

/// Applies queued polls in order, then makes them all durable with one flush. If the flush
/// fails, none of them is reported stored (the pollers fetch again).
fn store_group(
    store: &Store,
    jobs: Vec<(String, Vec<Entry>, PollState)>,
    settings: &Settings,
) -> Vec<Result<Ingested, String>> {
    let started = std::time::Instant::now();
    let batches = jobs.len();
    let mut results: Vec<Result<Ingested, String>> = jobs
        .into_iter()
        .map(|(source_url, entries, state)| {
            apply(store, &source_url, entries, &state, settings, Utc::now())
                .map_err(|e| e.to_string())
        })
        .collect();
    let applied = started.elapsed();
    let flushed = store.flush();
    // Where a group's time goes (`RUST_LOG=feedmerge::ingest=debug`): applying is the
    // writer's work, flushing is waiting for the disk.
    tracing::debug!(
        batches,
        apply_us = applied.as_micros() as u64,
        flush_us = (started.elapsed() - applied).as_micros() as u64,
        "group stored"
    );
    if let Err(e) = flushed {
        let e = e.to_string();
        for result in &mut results {
            if result.is_ok() {
                *result = Err(e.clone());
            }
        }
    }
    results
}

fn count(metrics: &Metrics, done: &Ingested) {
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
    metrics.same_outlet_joins.inc_by(done.same_outlet as u64);
    metrics.merges.inc_by(done.merged as u64);
    // Kept current between the hourly exact counts.
    metrics
        .stored_stories
        .inc_by(done.new_stories as i64 - done.merged as i64);
}

//! The writer's work between batches, on every heartbeat: prove the store healthy for the
//! watchdog, forget near-duplicate index days no lookup has used lately, and, every
//! [`PRUNE_EVERY`], prune what the dedup window and retention no longer keep. It runs on the
//! writer's task, so a prune never interleaves with a batch.

use chrono::{DateTime, Utc};

use crate::dedup;
use crate::render;
use crate::store::{Store, StoreError};

use super::{Settings, Writer};

/// How often index days the window no longer reaches, and stories past retention, are pruned.
pub(super) const PRUNE_EVERY: chrono::Duration = chrono::Duration::hours(1);

impl Writer {
    /// Proves the store healthy (for the watchdog), forgets index days no lookup has used for
    /// a minute, and, given settings, prunes what the window and retention no longer keep.
    /// Publishes a new snapshot when pruning removed stories.
    pub(super) async fn upkeep(&mut self, prune: Option<Settings>, render: &render::Settings) {
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
                    self.publish(render).await;
                }
            }
            Ok(Err(e)) => tracing::error!("the store is not healthy: {e}"),
            Err(e) => tracing::error!("store check failed: {e}"),
        }
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

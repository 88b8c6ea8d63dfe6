//! Handing what the store holds to the server: [`publish`] renders the newest stories into a
//! [`Snapshot`] and sends it on the `watch` channel `serve` reads; [`Publisher`] decides when,
//! so that a burst of changes costs one render, not one per batch.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::render::{self, Snapshot};
use crate::store::{Store, StoreError};

/// At most one render per this long while polls keep arriving (the queue is never empty): a
/// round over thousands of sources changes the feed thousands of times, and subscribers only
/// see the last one anyway.
const PUBLISH_GAP: Duration = Duration::from_secs(1);

/// When to render next: at once after a quiet spell, otherwise [`PUBLISH_GAP`] after the last
/// render, so a burst of changes costs one render per gap and the last change is never left
/// unpublished.
#[derive(Debug, Default)]
pub(super) struct Publisher {
    last: Option<tokio::time::Instant>,
    /// A change is stored that the last snapshot does not show.
    pub dirty: bool,
}

impl Publisher {
    pub fn may_publish_now(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= PUBLISH_GAP)
    }

    /// Completes when a held-back change is due; never while nothing is held back.
    pub async fn due(&self) {
        match (self.dirty, self.last) {
            (true, Some(t)) => tokio::time::sleep_until(t + PUBLISH_GAP).await,
            (true, None) => {}
            (false, _) => std::future::pending().await,
        }
    }

    /// Publishes now. Returns how many stories the snapshot carries.
    pub async fn publish(
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

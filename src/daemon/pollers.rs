//! The pollers: one task per configured source, started, stopped and restarted as the config
//! changes, all sharing one HTTP client, one concurrency bound and the queue to ingest.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Source;
use crate::exit::Failure;
use crate::fetch::{Fetcher, Limits};
use crate::ingest::Batch;
use crate::metrics::Metrics;
use crate::poll;
use crate::store::{PollState, Store};
use crate::systemd::Health;

/// One poller task per source, kept in step with the config.
pub(super) struct Pollers {
    store: Store,
    /// Shared, not cloned into each poller: 10,000 pollers would hold 10,000 copies.
    fetcher: Arc<Fetcher>,
    permits: Arc<Semaphore>,
    batches: mpsc::Sender<Batch>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// By source URL: the source as configured (shared with its poller) and the token that
    /// stops the poller.
    running: HashMap<String, (Arc<Source>, CancellationToken)>,
}

impl Pollers {
    /// No pollers yet: [`Pollers::sync`] starts them. Each takes a permit of `concurrency` to
    /// poll, sends its batches to `batches`, and stops on `shutdown`.
    pub fn new(
        store: Store,
        fetcher: Fetcher,
        concurrency: usize,
        batches: mpsc::Sender<Batch>,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        shutdown: CancellationToken,
    ) -> Pollers {
        Pollers {
            store,
            fetcher: Arc::new(fetcher),
            permits: Arc::new(Semaphore::new(concurrency)),
            batches,
            metrics,
            health,
            shutdown,
            tasks: TaskTracker::new(),
            running: HashMap::new(),
        }
    }

    /// Stops pollers of sources that are gone or changed, starts the new and changed ones.
    /// A poller that restarts reads its poll state from the store, so it keeps its schedule.
    pub fn sync(&mut self, sources: &[Source]) {
        let wanted: HashMap<&str, &Source> = sources.iter().map(|s| (s.url.as_str(), s)).collect();
        self.running.retain(|url, (source, stop)| {
            let keep = wanted.get(url.as_str()).is_some_and(|s| *s == &**source);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for source in sources {
            if self.running.contains_key(source.url.as_str()) {
                continue;
            }
            let stop = self.shutdown.child_token();
            let state = stored_state(&self.store, source);
            let source = Arc::new(source.clone());
            let health = self.health.clone();
            // Boxed so the task holds a pointer, not a second copy of the poller's state.
            let run = Box::pin(poll::run_source(
                self.fetcher.clone(),
                source.clone(),
                state,
                self.batches.clone(),
                self.permits.clone(),
                self.metrics.clone(),
                stop.clone(),
            ));
            self.tasks.spawn(async move {
                health.pollers_running.fetch_add(1, Ordering::Relaxed);
                run.await;
                health.pollers_running.fetch_sub(1, Ordering::Relaxed);
            });
            self.running.insert(source.url.to_string(), (source, stop));
        }
        self.health
            .pollers_expected
            .store(self.running.len(), Ordering::Relaxed);
    }

    /// New `[poll]` settings: a new client and concurrency bound, and every poller restarted.
    pub fn set_poll(&mut self, poll: &crate::config::Poll) -> Result<(), Failure> {
        self.fetcher = Arc::new(Fetcher::new(Limits::from(poll))?);
        self.permits = Arc::new(Semaphore::new(poll.concurrency));
        for (_, (_, stop)) in self.running.drain() {
            stop.cancel();
        }
        Ok(())
    }

    /// Stops every poller and waits for them; the queue to ingest closes with them.
    pub async fn stop(self) {
        self.tasks.close();
        drop(self.batches);
        self.tasks.wait().await;
    }
}

/// The poll state the store holds for `source`; a fresh one when it has none or cannot read it.
pub(super) fn stored_state(store: &Store, source: &Source) -> PollState {
    store
        .poll_state(source.url.as_str())
        .unwrap_or_else(|e| {
            tracing::warn!(source = %source.name, "ignoring unreadable poll state: {e}");
            None
        })
        .unwrap_or_default()
}

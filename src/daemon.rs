//! Wires the stages together: opens the store, starts the ingest task, publishes what is
//! already stored, binds the server, then starts one poller per source. Everything stops on one
//! [`CancellationToken`]: pollers stop at their next await, the server finishes in-flight
//! requests, ingest drains its queue and flushes, and only then does [`run`] return.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Source};
use crate::exit::Failure;
use crate::fetch::{Fetcher, Limits};
use crate::ingest::{self, Batch};
use crate::metrics::Metrics;
use crate::poll::{self, Outcome};
use crate::render;
use crate::serve;
use crate::store::{OpenError, PollState, Store};

/// Queue depth between pollers and ingest: enough to keep ingest busy, small enough that a slow
/// disk slows the pollers down instead of buffering without bound.
const BATCH_QUEUE: usize = 64;

/// Opens the store off the async threads, mapping failures to their exit codes.
pub async fn open_store(path: &Path) -> Result<Store, Failure> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .map_err(|e| Failure::Other(anyhow::anyhow!("store task failed: {e}")))?
        .map_err(|e| match e {
            OpenError::Locked(_) => Failure::StoreLocked(e.to_string()),
            OpenError::Unusable { .. } => Failure::Store(e.to_string()),
        })
}

/// Runs the daemon until `shutdown` resolves. `on_listen` is told the bound address (the
/// configured port may be 0).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), Failure> {
    let store = open_store(&config.store.path).await?;
    let fetcher = Fetcher::new(Limits::from(&config.poll))?;
    let render_settings = render::Settings::from_config(&config);
    let metrics = Arc::new(Metrics::default());
    let (snapshots_tx, snapshots) = watch::channel(Arc::new(render::render(&[], &render_settings)));
    let published = ingest::publish(&store, &render_settings, &snapshots_tx).await;
    metrics.published.set(published as i64);

    let listener = TcpListener::bind(config.server.listen).await.map_err(|e| {
        Failure::Listen(format!(
            "cannot listen on {}: {e}; change [server] listen",
            config.server.listen
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Listen(format!("cannot read the bound address: {e}")))?;
    tracing::info!(%addr, sources = config.sources.len(), "serving the merged feed");
    on_listen(addr);

    let token = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (batches_tx, batches_rx) = mpsc::channel::<Batch>(BATCH_QUEUE);
    let ingest_task = tokio::spawn(ingest::run(
        store.clone(),
        ingest::Settings::from_config(&config),
        render_settings,
        metrics.clone(),
        batches_rx,
        snapshots_tx,
    ));
    if let Some(hub) = config.publish.websub_hub.clone() {
        tasks.spawn(crate::websub::run(hub, snapshots.clone(), token.clone()));
    }
    let server_token = token.clone();
    let server_store = store.clone();
    let server_metrics = metrics.clone();
    let server = tokio::spawn(async move {
        let shared = serve::Shared {
            snapshots,
            store: server_store,
            metrics: server_metrics,
        };
        axum::serve(listener, serve::router(shared))
            .with_graceful_shutdown(server_token.cancelled_owned())
            .await
    });
    let permits = Arc::new(Semaphore::new(config.poll.concurrency));
    for source in config.sources {
        let state = stored_state(&store, &source);
        tasks.spawn(poll::run_source(
            fetcher.clone(),
            source,
            state,
            batches_tx.clone(),
            permits.clone(),
            metrics.clone(),
            token.clone(),
        ));
    }
    drop(batches_tx);
    tasks.close();

    shutdown.await;
    tracing::info!("shutting down: stopping pollers, finishing requests, flushing the store");
    token.cancel();
    tasks.wait().await;
    let served = server.await;
    let ingested = ingest_task.await;
    if let Ok(Err(e)) = served {
        tracing::error!("server error: {e}");
    }
    match ingested {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::Store(format!("could not flush the store: {e}"))),
        Err(e) => Err(Failure::Other(anyhow::anyhow!("ingest task failed: {e}"))),
    }
}

fn stored_state(store: &Store, source: &Source) -> PollState {
    store
        .poll_state(source.url.as_str())
        .unwrap_or_else(|e| {
            tracing::warn!(source = %source.name, "ignoring unreadable poll state: {e}");
            None
        })
        .unwrap_or_default()
}

/// What `feedmerge once` reports per source.
#[derive(Debug)]
pub struct OnceReport {
    pub source: String,
    pub outcome: Outcome,
}

/// Polls every source once (ignoring when they are due), stores everything, flushes.
pub async fn once(config: Config) -> Result<Vec<OnceReport>, Failure> {
    let store = open_store(&config.store.path).await?;
    let fetcher = Fetcher::new(Limits::from(&config.poll))?;
    let render_settings = render::Settings::from_config(&config);
    let metrics = Arc::new(Metrics::default());
    let (snapshots_tx, _snapshots) =
        watch::channel(Arc::new(render::render(&[], &render_settings)));
    let (batches_tx, batches_rx) = mpsc::channel::<Batch>(BATCH_QUEUE);
    let ingest_task = tokio::spawn(ingest::run(
        store.clone(),
        ingest::Settings::from_config(&config),
        render_settings,
        metrics.clone(),
        batches_rx,
        snapshots_tx,
    ));
    let permits = Arc::new(Semaphore::new(config.poll.concurrency));
    let mut polls = tokio::task::JoinSet::new();
    for source in config.sources {
        let state = stored_state(&store, &source);
        let (fetcher, batches, permits) = (fetcher.clone(), batches_tx.clone(), permits.clone());
        let metrics = metrics.clone();
        polls.spawn(async move {
            let _permit = permits.acquire().await;
            let (outcome, _) = poll::poll_once(&fetcher, &source, &state, &batches, &metrics).await;
            OnceReport {
                source: source.name,
                outcome,
            }
        });
    }
    drop(batches_tx);
    let mut reports = Vec::new();
    while let Some(report) = polls.join_next().await {
        match report {
            Ok(r) => reports.push(r),
            Err(e) => return Err(Failure::Other(anyhow::anyhow!("poll task failed: {e}"))),
        }
    }
    match ingest_task.await {
        Ok(Ok(())) => Ok(reports),
        Ok(Err(e)) => Err(Failure::Store(format!("could not flush the store: {e}"))),
        Err(e) => Err(Failure::Other(anyhow::anyhow!("ingest task failed: {e}"))),
    }
}

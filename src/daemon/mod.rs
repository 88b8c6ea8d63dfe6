//! Wires the stages together: opens the store, starts the ingest task, publishes what is
//! already stored, binds the server, then starts one poller per source. Everything stops on one
//! [`CancellationToken`]: pollers stop at their next await, the server finishes in-flight
//! requests, ingest drains its queue and flushes, and only then does [`run`] return.

mod pollers;
mod reload;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Source};
use crate::exit::Failure;
use crate::fetch::{Fetcher, Limits};
use crate::ingest::{self, Batch};
use crate::metrics::Metrics;
use crate::poll::{self, Outcome};
use crate::render::{self, Snapshot};
use crate::serve;
use crate::store::{open_store_with, Store, StoreError};
use crate::systemd::{self, Health};

use pollers::{stored_state, Pollers};
use reload::Running;
use server::Server;

/// Queue depth between pollers and ingest: enough to keep ingest busy, small enough that a slow
/// disk slows the pollers down instead of buffering without bound.
const BATCH_QUEUE: usize = 64;

/// How the daemon is driven from outside: when to stop, when to reload, and from where.
pub struct Control<S> {
    pub shutdown: S,
    /// Each message asks for the config to be read again (SIGHUP, a change on disk).
    pub reloads: mpsc::Receiver<()>,
    /// The config file to read on reload; `None` ignores reloads (the demo).
    pub config_path: Option<PathBuf>,
}

/// Runs the daemon until `control.shutdown` resolves. `on_listen` is told the bound address
/// (the configured port may be 0).
pub async fn run<S: Future<Output = ()>>(
    mut config: Config,
    control: Control<S>,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), Failure> {
    let Control {
        shutdown,
        mut reloads,
        config_path,
    } = control;
    let store = open_store_with(&config.store).await?;
    let fetcher = Fetcher::new(Limits::from(&config.poll))?;
    let metrics = Arc::new(Metrics::default());
    let health = Arc::new(Health::default());
    health.store_ok();
    let live = Arc::new(live_settings(&config));
    let (snapshots_tx, snapshots) = watch::channel(Arc::new(render::render(&[], &live.render)));
    let published = ingest::publish(&store, &live.render, &snapshots_tx).await;
    metrics.published.set(published as i64);

    let websub_feeds = snapshots.clone();
    // The server's list of sources (status, OPML) is the config's, not a clone of it (`current`
    // keeps the rest of the config); each poller shares its own `Arc` copy with the running
    // map. With 10,000 sources each full copy is ~4 MB.
    let sources = Arc::new(std::mem::take(&mut config.sources));
    let (sources_tx, sources_rx) = watch::channel(sources.clone());
    let (limits_tx, limits_rx) = watch::channel(serve::ConnectionLimits::from(&config.server));
    let shared = serve::Shared {
        snapshots,
        store: store.clone(),
        metrics: metrics.clone(),
        sources: sources_rx,
        limits: limits_rx,
    };
    let (server, socket_activated) = Server::start(config.server.listen, &shared).await?;
    tracing::info!(addr = %server.addr, sources = sources.len(), "serving the merged feed");
    on_listen(server.addr);

    let token = CancellationToken::new();
    let ingest = Ingest::start(&store, live, &metrics, health.clone(), snapshots_tx);
    let mut pollers = Pollers::new(
        store.clone(),
        fetcher,
        config.poll.concurrency,
        ingest.batches,
        metrics.clone(),
        health.clone(),
        token.clone(),
    );
    pollers.sync(&sources);
    // The channel holds it now: kept here, this copy would outlive every reload.
    drop(sources);
    tokio::spawn(systemd::watchdog(health.clone(), token.clone()));
    if let Some(hub) = config.publish.websub_hub.clone() {
        tokio::spawn(crate::websub::run(hub, websub_feeds, token.clone()));
    }
    systemd::ready();

    let mut running = Running {
        current: config,
        server,
        socket_activated,
        shared,
        pollers,
        live: ingest.live,
        sources: sources_tx,
        limits: limits_tx,
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = reloads.recv() => {
                let Some(path) = &config_path else { continue };
                running.reload(path).await?;
            }
        }
    }
    shut_down(running, token, ingest.task).await
}

/// Stops in order: the pollers (no more batches), the server (finishing in-flight responses
/// within `[server] shutdown_grace`, then dropping the connections left), then ingest, which
/// stores what is queued and flushes.
async fn shut_down(
    running: Running,
    token: CancellationToken,
    ingest: JoinHandle<Result<(), StoreError>>,
) -> Result<(), Failure> {
    systemd::stopping();
    tracing::info!("shutting down: stopping pollers, finishing requests, flushing the store");
    token.cancel();
    let Running {
        pollers,
        live,
        server,
        ..
    } = running;
    pollers.stop().await;
    drop(live);
    server.stop().await;
    finished(ingest).await
}

/// The settings a reload can change, as `config` gives them.
fn live_settings(config: &Config) -> ingest::Live {
    ingest::Live {
        ingest: ingest::Settings::from_config(config),
        render: render::Settings::from_config(config),
    }
}

/// The ingest task, the one writer, and the ends of its channels: `run` and `once` start it
/// the same way.
struct Ingest {
    /// Where pollers send their polls; once every sender is dropped, the task stores what is
    /// queued, flushes and ends.
    batches: mpsc::Sender<Batch>,
    /// New settings after a reload.
    live: watch::Sender<Arc<ingest::Live>>,
    task: JoinHandle<Result<(), StoreError>>,
}

impl Ingest {
    /// Starts the ingest task over `store` with the `live` settings; it publishes its
    /// snapshots to `snapshots` (nowhere, when every receiver is dropped).
    fn start(
        store: &Store,
        live: Arc<ingest::Live>,
        metrics: &Arc<Metrics>,
        health: Arc<Health>,
        snapshots: watch::Sender<Arc<Snapshot>>,
    ) -> Ingest {
        let (live_tx, live_rx) = watch::channel(live);
        let (batches_tx, batches_rx) = mpsc::channel::<Batch>(BATCH_QUEUE);
        let task = tokio::spawn(ingest::run(
            ingest::Context {
                store: store.clone(),
                live: live_rx,
                metrics: metrics.clone(),
                health,
                snapshots,
            },
            batches_rx,
        ));
        Ingest {
            batches: batches_tx,
            live: live_tx,
            task,
        }
    }
}

/// Waits until the ingest task has stored what was queued and flushed the store.
async fn finished(task: JoinHandle<Result<(), StoreError>>) -> Result<(), Failure> {
    match task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::Store(format!("could not flush the store: {e}"))),
        Err(e) => Err(Failure::Other(anyhow::anyhow!("ingest task failed: {e}"))),
    }
}

/// A progress bar for `once` on a terminal; hidden when stderr is a pipe or a file (logs,
/// systemd, tests), where it would only add noise.
fn progress_bar(total: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || total < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} sources  {wide_msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// What `feedmerge once` reports per source.
#[derive(Debug)]
pub struct OnceReport {
    pub source: String,
    pub outcome: Outcome,
}

/// Polls every source once (ignoring when they are due), stores everything, flushes.
pub async fn once(config: Config) -> Result<Vec<OnceReport>, Failure> {
    let store = open_store_with(&config.store).await?;
    let fetcher = Fetcher::new(Limits::from(&config.poll))?;
    let metrics = Arc::new(Metrics::default());
    let live = Arc::new(live_settings(&config));
    // The receiver is dropped at once: nobody reads the snapshots, so ingest renders none.
    let (snapshots_tx, _) = watch::channel(Arc::new(render::render(&[], &live.render)));
    let Ingest {
        batches,
        live: _live,
        task,
    } = Ingest::start(
        &store,
        live,
        &metrics,
        Arc::new(Health::default()),
        snapshots_tx,
    );
    let concurrency = config.poll.concurrency;
    let polls = poll_each(
        config.sources,
        concurrency,
        &store,
        &fetcher,
        batches,
        &metrics,
    );
    let reports = reports_of(polls).await?;
    let stored = finished(task).await.map(|()| reports);
    // Return with the store closed, so the caller can open it again at once.
    drop(store);
    let path = config.store.path.clone();
    let released = tokio::task::spawn_blocking(move || {
        crate::store::wait_until_released(&path, std::time::Duration::from_secs(10))
    })
    .await;
    if !matches!(released, Ok(true)) {
        tracing::warn!(
            "the store is still locked after `once`; it is released when this process exits"
        );
    }
    stored
}

/// Starts one poll of each source, `[poll] concurrency` at a time, each sending to `batches`.
fn poll_each(
    sources: Vec<Source>,
    concurrency: usize,
    store: &Store,
    fetcher: &Fetcher,
    batches: mpsc::Sender<Batch>,
    metrics: &Arc<Metrics>,
) -> JoinSet<OnceReport> {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut polls = JoinSet::new();
    for source in sources {
        let state = stored_state(store, &source);
        let (fetcher, batches, permits) = (fetcher.clone(), batches.clone(), permits.clone());
        let metrics = metrics.clone();
        polls.spawn(async move {
            let _permit = permits.acquire().await;
            // Boxed: the thousands of tasks waiting for a permit stay small.
            let (outcome, _) = Box::pin(poll::poll_once(
                &fetcher, &source, &state, &batches, &metrics,
            ))
            .await;
            OnceReport {
                source: source.name,
                outcome,
            }
        });
    }
    polls
}

/// Waits for every poll, showing progress on a terminal.
async fn reports_of(mut polls: JoinSet<OnceReport>) -> Result<Vec<OnceReport>, Failure> {
    let progress = progress_bar(polls.len());
    let mut reports = Vec::new();
    while let Some(report) = polls.join_next().await {
        match report {
            Ok(r) => {
                progress.set_message(r.source.clone());
                progress.inc(1);
                reports.push(r);
            }
            Err(e) => return Err(Failure::Other(anyhow::anyhow!("poll task failed: {e}"))),
        }
    }
    progress.finish_and_clear();
    Ok(reports)
}

//! Wires the stages together: opens the store, starts the ingest task, publishes what is
//! already stored, binds the server, then starts one poller per source. Everything stops on one
//! [`CancellationToken`]: pollers stop at their next await, the server finishes in-flight
//! requests, ingest drains its queue and flushes, and only then does [`run`] return.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
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
use crate::store::{open_store_with, PollState, Store};
use crate::systemd::{self, Health};

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
    let live = Arc::new(ingest::Live {
        ingest: ingest::Settings::from_config(&config),
        render: render::Settings::from_config(&config),
    });
    let (snapshots_tx, snapshots) = watch::channel(Arc::new(render::render(&[], &live.render)));
    let published = ingest::publish(&store, &live.render, &snapshots_tx).await;
    metrics.published.set(published as i64);
    let (live_tx, live_rx) = watch::channel(live);

    let websub_feeds = snapshots.clone();
    // The server's list of sources (status, OPML) is the config's, not a clone of it (`current`
    // keeps the rest of the config); each poller shares its own `Arc` copy with the running
    // map. With 10,000 sources each full copy is ~4 MB.
    let sources = Arc::new(std::mem::take(&mut config.sources));
    let (sources_tx, sources_rx) = watch::channel(sources.clone());
    let shared = serve::Shared {
        snapshots,
        store: store.clone(),
        metrics: metrics.clone(),
        sources: sources_rx,
    };
    let activated = Server::activated(&shared)?;
    let socket_activated = activated.is_some();
    let mut server = match activated {
        Some(server) => {
            tracing::info!(addr = %server.addr, "using the socket systemd passed; [server] listen is not used");
            server
        }
        None => Server::bind(config.server.listen, shared.clone()).await?,
    };
    tracing::info!(addr = %server.addr, sources = sources.len(), "serving the merged feed");
    on_listen(server.addr);

    let token = CancellationToken::new();
    let (batches_tx, batches_rx) = mpsc::channel::<Batch>(BATCH_QUEUE);
    let ingest_task = tokio::spawn(ingest::run(
        ingest::Context {
            store: store.clone(),
            live: live_rx,
            metrics: metrics.clone(),
            health: health.clone(),
            snapshots: snapshots_tx,
        },
        batches_rx,
    ));
    let mut pollers = Pollers {
        store: store.clone(),
        fetcher: Arc::new(fetcher),
        permits: Arc::new(Semaphore::new(config.poll.concurrency)),
        batches: batches_tx,
        metrics: metrics.clone(),
        health: health.clone(),
        shutdown: token.clone(),
        tasks: TaskTracker::new(),
        running: HashMap::new(),
    };
    pollers.sync(&sources);
    // The channel holds it now: kept here, this copy would outlive every reload.
    drop(sources);
    tokio::spawn(systemd::watchdog(health.clone(), token.clone()));
    if let Some(hub) = config.publish.websub_hub.clone() {
        tokio::spawn(crate::websub::run(hub, websub_feeds, token.clone()));
    }
    systemd::ready();

    let mut current = config;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = reloads.recv() => {
                let Some(path) = &config_path else { continue };
                match Config::load(path) {
                    Err(e) => tracing::error!(
                        "the edited config was not applied; still running on the previous one:\n{e}"
                    ),
                    Ok(mut next) => {
                        if next.server.listen != current.server.listen && socket_activated {
                            tracing::warn!("[server] listen changed, but systemd's socket unit owns the address: edit feedmerge.socket instead");
                        } else if next.server.listen != current.server.listen {
                            match Server::bind(next.server.listen, shared.clone()).await {
                                Ok(rebound) => {
                                    tracing::info!(addr = %rebound.addr, "listening on the new address");
                                    std::mem::replace(&mut server, rebound).stop().await;
                                }
                                Err(e) => tracing::error!("kept the old address: {e}"),
                            }
                        }
                        if next.poll != current.poll {
                            pollers.set_poll(&next.poll)?;
                        }
                        let _ = live_tx.send(Arc::new(ingest::Live {
                            ingest: ingest::Settings::from_config(&next),
                            render: render::Settings::from_config(&next),
                        }));
                        let sources = Arc::new(std::mem::take(&mut next.sources));
                        pollers.sync(&sources);
                        tracing::info!(sources = sources.len(), "config reloaded");
                        let _ = sources_tx.send(sources);
                        current = next;
                    }
                }
            }
        }
    }
    systemd::stopping();
    tracing::info!("shutting down: stopping pollers, finishing requests, flushing the store");
    token.cancel();
    pollers.stop().await;
    drop(live_tx);
    server.stop().await;
    match ingest_task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::Store(format!("could not flush the store: {e}"))),
        Err(e) => Err(Failure::Other(anyhow::anyhow!("ingest task failed: {e}"))),
    }
}

/// The HTTP server on one address; replaced whole when `[server] listen` changes.
struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn bind(listen: SocketAddr, shared: serve::Shared) -> Result<Server, Failure> {
        let listener = TcpListener::bind(listen).await.map_err(|e| {
            Failure::Listen(format!(
                "cannot listen on {listen}: {e}; change [server] listen"
            ))
        })?;
        Server::serve(listener, shared)
    }

    /// The socket systemd passed (socket activation, `feedmerge.socket`), if it passed one;
    /// `[server] listen` is not used then: the socket unit owns the address.
    fn activated(shared: &serve::Shared) -> Result<Option<Server>, Failure> {
        // listenfd checks LISTEN_PID and LISTEN_FDS and takes fd 3 only when they are ours.
        let mut passed = listenfd::ListenFd::from_env();
        let Some(socket) = passed.take_tcp_listener(0).map_err(|e| {
            Failure::Listen(format!(
                "systemd passed a socket that is not a TCP listener: {e}; make feedmerge.socket a ListenStream="
            ))
        })?
        else {
            return Ok(None);
        };
        socket
            .set_nonblocking(true)
            .map_err(|e| Failure::Listen(format!("cannot use the socket systemd passed: {e}")))?;
        let listener = TcpListener::from_std(socket)
            .map_err(|e| Failure::Listen(format!("cannot use the socket systemd passed: {e}")))?;
        Server::serve(listener, shared.clone()).map(Some)
    }

    fn serve(listener: TcpListener, shared: serve::Shared) -> Result<Server, Failure> {
        let addr = listener
            .local_addr()
            .map_err(|e| Failure::Listen(format!("cannot read the bound address: {e}")))?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve::serve(listener, shared, stop.clone()));
        Ok(Server { addr, stop, task })
    }

    /// Stops accepting and waits for in-flight requests to finish.
    async fn stop(self) {
        self.stop.cancel();
        match self.task.await {
            Ok(Err(e)) => tracing::error!("server error: {e}"),
            Err(e) => tracing::error!("server task failed: {e}"),
            Ok(Ok(())) => {}
        }
    }
}

/// One poller task per source, kept in step with the config.
struct Pollers {
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
    /// Stops pollers of sources that are gone or changed, starts the new and changed ones.
    /// A poller that restarts reads its poll state from the store, so it keeps its schedule.
    fn sync(&mut self, sources: &[Source]) {
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
    fn set_poll(&mut self, poll: &crate::config::Poll) -> Result<(), Failure> {
        self.fetcher = Arc::new(Fetcher::new(Limits::from(poll))?);
        self.permits = Arc::new(Semaphore::new(poll.concurrency));
        for (_, (_, stop)) in self.running.drain() {
            stop.cancel();
        }
        Ok(())
    }

    async fn stop(self) {
        self.tasks.close();
        drop(self.batches);
        self.tasks.wait().await;
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
    let store = open_store_with(&config.store).await?;
    let fetcher = Fetcher::new(Limits::from(&config.poll))?;
    let render_settings = render::Settings::from_config(&config);
    let metrics = Arc::new(Metrics::default());
    let (snapshots_tx, _) = watch::channel(Arc::new(render::render(&[], &render_settings)));
    let (batches_tx, batches_rx) = mpsc::channel::<Batch>(BATCH_QUEUE);
    let (_live_tx, live_rx) = watch::channel(Arc::new(ingest::Live {
        ingest: ingest::Settings::from_config(&config),
        render: render_settings,
    }));
    let ingest_task = tokio::spawn(ingest::run(
        ingest::Context {
            store: store.clone(),
            live: live_rx,
            metrics: metrics.clone(),
            health: Arc::new(Health::default()),
            snapshots: snapshots_tx,
        },
        batches_rx,
    ));
    let permits = Arc::new(Semaphore::new(config.poll.concurrency));
    let mut polls = tokio::task::JoinSet::new();
    for source in config.sources {
        let state = stored_state(&store, &source);
        let (fetcher, batches, permits) = (fetcher.clone(), batches_tx.clone(), permits.clone());
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
    drop(batches_tx);
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
    let stored = match ingest_task.await {
        Ok(Ok(())) => Ok(reports),
        Ok(Err(e)) => Err(Failure::Store(format!("could not flush the store: {e}"))),
        Err(e) => Err(Failure::Other(anyhow::anyhow!("ingest task failed: {e}"))),
    };
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

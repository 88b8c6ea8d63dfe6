//! The command line: `run`, `once`, `check`, `demo`, `pairs`, `explain` and the store and
//! feed tools, each reading `-c/--config`; every command's help ends with an example. Two hidden
//! commands write the man pages and shell completions the Debian package installs.

mod backup;
mod config_page;
mod demo;
mod explain;
mod import_opml;
mod manual;
mod pairs;
mod preview;
mod store_or_daemon;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::daemon;
use crate::exit::Failure;
use crate::poll::Outcome;

#[derive(Debug, Parser)]
#[command(
    name = "feedmerge",
    version,
    about = "Merge news feeds into one deduplicated feed",
    after_help = "First try: feedmerge demo (built-in feeds, no config). Manual: man feedmerge; \
                  the config file: man feedmerge.toml"
)]
pub struct Cli {
    /// The TOML configuration file.
    #[arg(short, long, global = true, default_value = config::DEFAULT_PATH, env = "FEEDMERGE_CONFIG")]
    pub config: PathBuf,
    /// Log format on stderr: `text` for people, `json` (one object a line) for log shippers.
    /// Under systemd (JOURNAL_STREAM set) logs go to the journal with their priority instead.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll the sources and serve the merged feed until SIGINT/SIGTERM.
    #[command(after_help = "Example (under systemd: systemctl start feedmerge):
  feedmerge -c /etc/feedmerge/feedmerge.toml run")]
    Run,
    /// Poll every source once, store the results, print a summary and exit.
    #[command(after_help = "Example (a first fill of the store, daemon stopped):
  feedmerge -c feedmerge.toml once")]
    Once,
    /// Check the configuration; exit 0 if valid, 78 listing every problem if not.
    #[command(after_help = "Example (after an edit, before a reload):
  feedmerge -c /etc/feedmerge/feedmerge.toml check")]
    Check,
    /// Judge headline pairs from stdin (`title_a<TAB>title_b[<TAB>summary_a<TAB>summary_b]`)
    /// the way the daemon would: prints `duplicate|related|distinct<TAB>reason` per line.
    #[command(after_help = "Example:
  printf 'Senate approves budget plan\\tSenate passes budget plan\\n' | feedmerge pairs")]
    Pairs,
    /// Show a stored story (by id, GUID or the link of any copy) and why each copy joined it.
    #[command(after_help = "Example:
  feedmerge explain https://www.bbc.co.uk/news/articles/c0000000")]
    Explain {
        /// A story id, its GUID, or a link.
        story: String,
    },
    /// Write every stored story, with its copies, as one JSON object a line (stop the daemon
    /// first: the store allows one process).
    #[command(after_help = "Example (a backup):
  systemctl stop feedmerge && feedmerge export > stories.jsonl")]
    Export,
    /// Read stories written by `export` into the store (skipping those it has), rebuilding
    /// every index: restoring a backup, or moving to a new machine.
    #[command(after_help = "Example (daemon stopped):
  feedmerge import stories.jsonl")]
    Import {
        /// The JSONL file `export` wrote.
        file: PathBuf,
    },
    /// Counts and sizes of what the store holds (stop the daemon first).
    #[command(after_help = "Example:
  feedmerge -c /etc/feedmerge/feedmerge.toml stats")]
    Stats,
    /// Per source: last fetch, outcome, next poll, entries seen, stories led (asks a running
    /// daemon, else reads the store).
    #[command(after_help = "Example (sources whose last poll failed):
  feedmerge status | grep -v ' ok '")]
    Status {
        /// The JSON that `/status` serves.
        #[arg(long)]
        json: bool,
    },
    /// Show what the daemon would read from one feed (a URL, a file, or - for stdin), without
    /// storing anything: how to check a feed before adding it.
    #[command(after_help = "Example:
  feedmerge preview https://feeds.npr.org/1001/rss.xml")]
    Preview {
        /// A feed URL, a file path, or - for standard input.
        feed: String,
        /// One JSON object per entry.
        #[arg(long)]
        json: bool,
    },
    /// Add the feeds of a feed reader's OPML export to the config file (comments and layout
    /// kept; feeds already listed skipped) and print what was added.
    #[command(after_help = "Example (a feed reader's export):
  feedmerge -c /etc/feedmerge/feedmerge.toml import-opml subscriptions.opml")]
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
    },
    /// Merge built-in demo feeds and serve the result (no network or config needed).
    #[command(after_help = "Example (then open http://127.0.0.1:8080/ in a browser):
  feedmerge demo")]
    Demo {
        /// Where to serve the merged feed.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Keep the demo's store here instead of in a temporary directory.
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Write the man pages feedmerge(1), feedmerge-COMMAND(1) and feedmerge.toml(5) into DIR
    /// (for packaging).
    #[command(hide = true)]
    GenerateMan { dir: PathBuf },
    /// Write bash, zsh and fish completions into DIR (for packaging).
    #[command(hide = true)]
    GenerateCompletions { dir: PathBuf },
}

/// What `feedmerge` without a command prints (on stderr, exit 2): the way in, not every option.
pub const FIRST_STEPS: &str = "\
Usage: feedmerge [-c CONFIG] <COMMAND>

First try:   feedmerge demo
             merges built-in sample feeds and serves them on http://127.0.0.1:8080/
Your feeds:  feedmerge -c feedmerge.toml check, then feedmerge -c feedmerge.toml run
             (start from /etc/feedmerge/feedmerge.toml or config/feedmerge.toml)
More:        feedmerge --help, feedmerge COMMAND --help, man feedmerge
";

/// Starts logging, filtered by `RUST_LOG` (default: info): to the journal with real priorities
/// when systemd connected stderr to it (plain lines would all land as `info`), else to stderr
/// as text or JSON.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journald) = tracing_journald::layer() {
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(journald.with_syslog_identifier("feedmerge".into()))
                .try_init();
            return;
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Pairs = cli.command {
        // The daemon's settings: the config's [dedup] when a config is given and readable,
        // the defaults otherwise.
        let settings = match Config::load(&cli.config) {
            Ok(config) => config.dedup,
            Err(e) if e.problems.iter().all(|p| p.line == 0) => crate::dedup::Settings::default(),
            Err(e) => return Err(e.into()),
        };
        let stdin = std::io::stdin().lock();
        let stdout = std::io::stdout().lock();
        pairs::run(stdin, std::io::BufWriter::new(stdout), &settings)
            .map_err(|e| Failure::Other(anyhow::anyhow!("pairs: {e}")))?;
        return Ok(());
    }
    if let Command::ImportOpml { file } = &cli.command {
        return import_opml::run(&cli.config, file);
    }
    if let Command::GenerateMan { dir } = &cli.command {
        return manual::man_pages(dir);
    }
    if let Command::GenerateCompletions { dir } = &cli.command {
        return manual::completions(dir);
    }
    if let Command::Check = cli.command {
        let config = Config::load(&cli.config)?;
        println!(
            "{}: ok, {} sources",
            cli.config.display(),
            config.sources.len()
        );
        report_moves(&config);
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(anyhow::anyhow!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match cli.command {
            Command::Run => {
                let config = Config::load(&cli.config)?;
                let control = daemon::Control {
                    shutdown: shutdown_signal(),
                    reloads: reload_requests(&cli.config),
                    config_path: Some(cli.config.clone()),
                };
                daemon::run(config, control, |addr| {
                    println!(
                        "feedmerge: serving http://{addr}/feed.xml and http://{addr}/atom.xml"
                    );
                })
                .await
            }
            Command::Once => {
                let config = Config::load(&cli.config)?;
                let reports = daemon::once(config).await?;
                print_summary(&reports);
                Ok(())
            }
            Command::Demo { listen, store } => demo::run(listen, store, shutdown_signal()).await,
            Command::Explain { story } => {
                let config = Config::load(&cli.config)?;
                explain::run(&config, &story).await
            }
            Command::Export => backup::export(&Config::load(&cli.config)?).await,
            Command::Import { file } => backup::import(&Config::load(&cli.config)?, &file).await,
            Command::Stats => backup::stats(&Config::load(&cli.config)?).await,
            Command::Status { json } => {
                let config = Config::load(&cli.config)?;
                let statuses = status_of(&config).await?;
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&statuses)
                            .map_err(|e| Failure::Other(e.into()))?
                    );
                } else {
                    print!("{}", crate::status::table(&statuses));
                }
                Ok(())
            }
            Command::Preview { feed, json } => {
                // The config only lends its [poll] limits; none is needed.
                let config = Config::load(&cli.config).ok();
                preview::run(&feed, json, config.as_ref()).await
            }
            Command::Check
            | Command::Pairs
            | Command::ImportOpml { .. }
            | Command::GenerateMan { .. }
            | Command::GenerateCompletions { .. } => Ok(()),
        }
    })
}

/// After a successful check: sources whose feed moved permanently (known from earlier polls),
/// so the person can update the TOML. Silent when there is no store or no daemon to ask.
fn report_moves(config: &Config) {
    if !config.store.path.exists() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let Ok(statuses) = runtime.block_on(status_of(config)) else {
        return;
    };
    for s in statuses {
        if let Some(to) = s.moved_to {
            println!("note: source \"{}\" moved permanently to {to}; update its url (it is polled there meanwhile)", s.name);
        }
        if s.gone {
            println!("note: source \"{}\" answered 410 Gone and is no longer polled; remove it or change its url", s.name);
        }
    }
}

/// Status from the store, or from the running daemon that holds it.
async fn status_of(config: &Config) -> Result<Vec<crate::status::SourceStatus>, Failure> {
    let sources = config.sources.clone();
    let local = store_or_daemon::read_store(config, "status", move |store| {
        crate::status::of(store, &sources)
    })
    .await?;
    if let Some(statuses) = local {
        return Ok(statuses);
    }
    let url = store_or_daemon::daemon_url(config, "status")?;
    store_or_daemon::ask_daemon(config, url.clone())
        .await?
        .ok_or_else(|| Failure::Other(anyhow::anyhow!("{url}: not found")))
}

fn print_summary(reports: &[daemon::OnceReport]) {
    let (mut ok, mut unchanged, mut failed, mut new) = (0, 0, 0, 0);
    for r in reports {
        let tag = match &r.outcome {
            Outcome::Fresh { stored, .. } => {
                ok += 1;
                new += stored.new_stories;
                "ok"
            }
            Outcome::NotModified => {
                unchanged += 1;
                "unchanged"
            }
            Outcome::Failed(_) => {
                failed += 1;
                "FAILED"
            }
        };
        println!("{tag:<9} {}: {}", r.source, r.outcome);
    }
    println!(
        "polled {} sources: {ok} ok, {unchanged} not modified, {failed} failed; {new} new stories",
        reports.len()
    );
}

/// A message on SIGHUP (systemd's `ExecReload=`) and, debounced, whenever the config file
/// changes on disk. The file's directory is watched, since editors save by renaming.
fn reload_requests(path: &std::path::Path) -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let hup = tx.clone();
        match signal(SignalKind::hangup()) {
            Ok(mut stream) => {
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        tracing::info!("SIGHUP: reloading the config");
                        if hup.send(()).await.is_err() {
                            break;
                        }
                    }
                });
            }
            Err(e) => tracing::warn!("cannot listen for SIGHUP ({e}); reload by restarting"),
        }
    }
    crate::config::watch::config_file(path, tx);
    rx
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the daemon");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

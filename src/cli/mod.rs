//! The command line: `run`, `once`, `check`, `demo`, `pairs` and `explain`, each reading
//! `-c/--config`.

mod explain;
mod export;
mod import_opml;
mod pairs;

pub use explain::find as find_story;

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
    about = "Merge news feeds into one deduplicated feed"
)]
pub struct Cli {
    /// The TOML configuration file.
    #[arg(short, long, global = true, default_value = config::DEFAULT_PATH, env = "FEEDMERGE_CONFIG")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll the sources and serve the merged feed until SIGINT/SIGTERM.
    Run,
    /// Poll every source once, store the results, print a summary and exit.
    Once,
    /// Check the configuration; exit 0 if valid, 78 listing every problem if not.
    Check,
    /// Judge headline pairs from stdin (`title_a<TAB>title_b[<TAB>summary_a<TAB>summary_b]`)
    /// the way the daemon would: prints `duplicate|related|distinct<TAB>reason` per line.
    Pairs,
    /// Show a stored story (by id, GUID or the link of any copy) and why each copy joined it.
    Explain {
        /// A story id, its GUID, or a link.
        story: String,
    },
    /// Write every stored story, with its copies, as one JSON object a line (stop the daemon
    /// first: the store allows one process).
    Export,
    /// Add the feeds of a feed reader's OPML export to the config file (comments and layout
    /// kept; feeds already listed skipped) and print what was added.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
    },
    /// Merge built-in demo feeds and serve the result (no network or config needed).
    Demo {
        /// Where to serve the merged feed.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Keep the demo's store here instead of in a temporary directory.
        #[arg(long)]
        store: Option<PathBuf>,
    },
}

/// Starts logging to stderr, filtered by `RUST_LOG` (default: info).
pub fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
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
    if let Command::Check = cli.command {
        let config = Config::load(&cli.config)?;
        println!(
            "{}: ok, {} sources",
            cli.config.display(),
            config.sources.len()
        );
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
                daemon::run(config, shutdown_signal(), |addr| {
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
            Command::Demo { listen, store } => {
                crate::demo::run(listen, store, shutdown_signal()).await
            }
            Command::Explain { story } => {
                let config = Config::load(&cli.config)?;
                explain::run(&config, &story).await
            }
            Command::Export => {
                let config = Config::load(&cli.config)?;
                export::run(&config).await
            }
            Command::Check | Command::Pairs | Command::ImportOpml { .. } => Ok(()),
        }
    })
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

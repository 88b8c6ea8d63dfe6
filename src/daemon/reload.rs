//! Reloading the config while the daemon runs (SIGHUP, or the file changed): the new settings
//! replace the live ones whole, the server moves if `[server] listen` changed, and only the
//! pollers whose source changed restart. Nothing stored is touched. A config that does not
//! load changes nothing: the daemon keeps running on the previous one.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::{Config, Source};
use crate::exit::Failure;
use crate::ingest;
use crate::serve;

use super::live_settings;
use super::pollers::Pollers;
use super::server::Server;

/// What a reload can replace, held by [`super::run`] while the daemon runs.
pub(super) struct Running {
    /// The config in force.
    pub current: Config,
    pub server: Server,
    /// The server's socket came from systemd, which owns its address.
    pub socket_activated: bool,
    /// What a server started on a new address shares with the old one.
    pub shared: serve::Shared,
    pub pollers: Pollers,
    /// The ingest and render settings, as ingest reads them.
    pub live: watch::Sender<Arc<ingest::Live>>,
    /// The configured sources, as the server reads them.
    pub sources: watch::Sender<Arc<Vec<Source>>>,
    /// The server's time limits, as each new connection reads them.
    pub limits: watch::Sender<serve::ConnectionLimits>,
}

impl Running {
    /// Reads the config at `path` again and applies what changed.
    pub async fn reload(&mut self, path: &Path) -> Result<(), Failure> {
        let mut next = match Config::load(path) {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(
                    "the edited config was not applied; still running on the previous one:\n{e}"
                );
                return Ok(());
            }
        };
        if next.server.listen != self.current.server.listen {
            self.move_server(next.server.listen).await;
        }
        self.limits.send_if_modified(|limits| {
            let next = serve::ConnectionLimits::from(&next.server);
            std::mem::replace(limits, next) != next
        });
        if next.poll != self.current.poll {
            self.pollers.set_poll(&next.poll)?;
        }
        let _ = self.live.send(Arc::new(live_settings(&next)));
        let sources = Arc::new(std::mem::take(&mut next.sources));
        self.pollers.sync(&sources);
        tracing::info!(sources = sources.len(), "config reloaded");
        let _ = self.sources.send(sources);
        self.current = next;
        Ok(())
    }

    /// Serves on `listen` instead, once it is bound; keeps the old address if it cannot be.
    async fn move_server(&mut self, listen: SocketAddr) {
        if self.socket_activated {
            tracing::warn!("[server] listen changed, but systemd's socket unit owns the address: edit feedmerge.socket instead");
            return;
        }
        match Server::bind(listen, self.shared.clone()).await {
            Ok(rebound) => {
                tracing::info!(addr = %rebound.addr, "listening on the new address");
                std::mem::replace(&mut self.server, rebound).stop().await;
            }
            Err(e) => tracing::error!("kept the old address: {e}"),
        }
    }
}

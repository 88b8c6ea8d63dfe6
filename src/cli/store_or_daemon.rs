//! Commands that read the store (`status`, `explain`) while the daemon may be running. sled
//! lets one process open a store, and a running daemon holds it; so such a command reads the
//! store itself when it can, and otherwise asks that daemon, which answers from the same store
//! over HTTP (`/status`, `/stories/{id}.json`, ...).
//!
//! `stats` and `export` are not among them: no endpoint of the daemon answers with the store's
//! counts or with every story, so while it runs they stop with the store-locked exit code.

use serde::de::DeserializeOwned;
use url::Url;

use crate::config::Config;
use crate::exit::Failure;
use crate::store::{OpenError, Store, StoreError};

/// Runs `read` on the store on a blocking thread: its answer, or `None` when another process
/// (the daemon) holds the store, to ask that one instead. `what` names the command in the
/// message of a task that fails.
pub(super) async fn read_store<T, F>(
    config: &Config,
    what: &str,
    read: F,
) -> Result<Option<T>, Failure>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    let path = config.store.path.clone();
    tokio::task::spawn_blocking(move || match Store::open(&path) {
        Ok(store) => read(&store)
            .map(Some)
            .map_err(|e| Failure::Store(e.to_string())),
        Err(OpenError::Locked(_)) => Ok(None),
        Err(e) => Err(Failure::Store(e.to_string())),
    })
    .await
    .map_err(|e| Failure::Other(anyhow::anyhow!("{what} task failed: {e}")))?
}

/// The address of `path` on the daemon that `[server] listen` names.
pub(super) fn daemon_url(config: &Config, path: &str) -> Result<Url, Failure> {
    Url::parse(&format!("http://{}/", config.server.listen))
        .and_then(|base| base.join(path))
        .map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))
}

/// The daemon's JSON answer at `url`, or `None` when it has nothing there (404). A daemon
/// that does not answer at all is the store-locked failure: the store is held, and by no
/// daemon this command can reach.
pub(super) async fn ask_daemon<T: DeserializeOwned>(
    config: &Config,
    url: Url,
) -> Result<Option<T>, Failure> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::get(url.clone()).await.map_err(|e| {
        Failure::StoreLocked(format!(
            "the store {} is in use by another process and the daemon at {url} did not answer ({e})",
            config.store.path.display()
        ))
    })?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let body = response
        .error_for_status()
        .map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))?
        .bytes()
        .await
        .map_err(|e| Failure::Other(anyhow::anyhow!("no answer from {url}: {e}")))?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| Failure::Other(anyhow::anyhow!("unreadable answer from {url}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: std::net::SocketAddr, store: &std::path::Path) -> Config {
        let text = format!(
            "[server]\nlisten = \"{listen}\"\n[store]\npath = \"{}\"\n[[source]]\nname = \"A\"\nurl = \"https://a.example/feed\"\n",
            store.display()
        );
        Config::parse(std::path::Path::new("test.toml"), &text).unwrap()
    }

    #[tokio::test]
    async fn a_store_held_elsewhere_is_asked_of_the_daemon_and_no_daemon_is_store_locked() {
        let dir = tempfile::tempdir().unwrap();
        // A port nothing listens on: bound, then let go.
        let listen = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let config = config(listen, dir.path());
        let held = Store::open(dir.path()).unwrap();
        let local = read_store(&config, "test", |s| s.story_count()).await;
        assert!(
            matches!(local, Ok(None)),
            "a held store is left to the daemon"
        );
        drop(held);
        assert!(crate::store::wait_until_released(
            dir.path(),
            std::time::Duration::from_secs(5)
        ));
        let local = read_store(&config, "test", |s| s.story_count()).await;
        assert!(matches!(local, Ok(Some(0))), "a free store is read");

        let url = daemon_url(&config, "status").unwrap();
        let asked = ask_daemon::<serde_json::Value>(&config, url).await;
        let Err(failure) = asked else {
            panic!("no daemon answers")
        };
        assert_eq!(failure.exit_code(), 75, "{failure}");
        assert!(failure.to_string().contains("did not answer"), "{failure}");
    }
}

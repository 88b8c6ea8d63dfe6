//! Noticing edits to the config file: its directory is watched (editors save by writing a new
//! file and renaming it over the old one, which a watch on the file itself would lose), events
//! for other files are ignored, and a burst of events becomes one reload after a short quiet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult};
use tokio::sync::mpsc;

/// How long the file must stay quiet before a change counts.
const QUIET: Duration = Duration::from_millis(500);

/// Sends `()` on `reloads` after each change to `path`, until the receiver is dropped. A
/// watch that cannot be set up is logged and reloads fall back to SIGHUP.
pub fn config_file(path: &Path, reloads: mpsc::Sender<()>) {
    let file = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let Some(dir) = file.parent().map(Path::to_path_buf) else {
        return;
    };
    let name = file.file_name().map(|n| n.to_os_string());
    let sender = reloads.clone();
    let debouncer = new_debouncer(QUIET, move |events: DebounceEventResult| {
        let Ok(events) = events else { return };
        let ours = events
            .iter()
            .any(|e| e.path.file_name().map(|n| n.to_os_string()) == name);
        if ours {
            tracing::info!("the config file changed: reloading");
            // Full means a reload is already pending, which is as good.
            let _ = sender.try_send(());
        }
    });
    let mut debouncer = match debouncer {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(
                "cannot watch {} for changes ({e}); reload with SIGHUP",
                dir.display()
            );
            return;
        }
    };
    if let Err(e) = debouncer.watcher().watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(
            "cannot watch {} for changes ({e}); reload with SIGHUP",
            dir.display()
        );
        return;
    }
    let watched: PathBuf = dir;
    tokio::spawn(async move {
        // The debouncer stops watching when dropped: keep it until nobody listens.
        let _keep = debouncer;
        reloads.closed().await;
        tracing::debug!("stopped watching {}", watched.display());
    });
}

//! `feedmerge export`: every stored story as one JSON object a line, for backups, for moving to
//! another machine, and for measuring deduplication (`bench/`).

use std::io::Write;

use crate::config::Config;
use crate::daemon::open_store;
use crate::exit::Failure;

pub async fn run(config: &Config) -> Result<(), Failure> {
    let store = open_store(&config.store.path).await?;
    tokio::task::spawn_blocking(move || {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for story in store.stories() {
            let story = story.map_err(|e| Failure::Store(e.to_string()))?;
            let line = serde_json::to_string(&story)
                .map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))?;
            writeln!(out, "{line}").map_err(|e| Failure::Other(anyhow::anyhow!("export: {e}")))?;
        }
        out.flush()
            .map_err(|e| Failure::Other(anyhow::anyhow!("export: {e}")))
    })
    .await
    .map_err(|e| Failure::Other(anyhow::anyhow!("export task failed: {e}")))?
}

//! `feedmerge export`, `import` and `stats`: backups, moving to a new machine, and a look at
//! what the store holds. Export writes every story as one JSON object a line, its HTML
//! sanitized as the feeds publish it (relative URLs made absolute); import reads that
//! back, rebuilding every index, and skips stories the store already has.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::config::Config;
use crate::exit::Failure;
use crate::ingest::Restore;
use crate::model::Story;
use crate::store::{open_store_with, Store};

fn other(e: impl std::fmt::Display) -> Failure {
    Failure::Other(anyhow::anyhow!("{e}"))
}

pub async fn export(config: &Config) -> Result<(), Failure> {
    let store = open_store_with(&config.store).await?;
    tokio::task::spawn_blocking(move || {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for story in store.stories() {
            let story = story.map_err(|e| Failure::Store(e.to_string()))?;
            // Exported as published: an export is read by other programs (and `import`),
            // which must not get the raw HTML the store keeps.
            let story = crate::render::sanitize::story(story);
            let line = serde_json::to_string(&story).map_err(other)?;
            writeln!(out, "{line}").map_err(|e| other(format!("export: {e}")))?;
        }
        out.flush().map_err(|e| other(format!("export: {e}")))
    })
    .await
    .map_err(|e| other(format!("export task failed: {e}")))?
}

pub async fn import(config: &Config, file: &Path) -> Result<(), Failure> {
    let store = open_store_with(&config.store).await?;
    let file = file.to_path_buf();
    let (added, present) = tokio::task::spawn_blocking(move || import_file(&store, &file))
        .await
        .map_err(|e| other(format!("import task failed: {e}")))??;
    println!("imported {added} stories ({present} already in the store)");
    Ok(())
}

/// Reads `file` line by line into the store through ingest's [`Restore`], which writes each
/// story with its keys.
fn import_file(store: &Store, file: &Path) -> Result<(usize, usize), Failure> {
    let input = std::fs::File::open(file)
        .map_err(|e| other(format!("cannot read {}: {e}", file.display())))?;
    let mut restore = Restore::new(store);
    for (i, line) in std::io::BufReader::new(input).lines().enumerate() {
        let line = line.map_err(|e| other(format!("{}: {e}", file.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let story: Story = serde_json::from_str(&line).map_err(|e| {
            other(format!(
                "{}:{}: not a story exported by feedmerge: {e}",
                file.display(),
                i + 1
            ))
        })?;
        restore
            .add(story)
            .map_err(|e| Failure::Store(e.to_string()))?;
    }
    let (added, present) = (restore.added, restore.present);
    restore
        .finish()
        .map_err(|e| Failure::Store(e.to_string()))?;
    Ok((added, present))
}

pub async fn stats(config: &Config) -> Result<(), Failure> {
    let store = open_store_with(&config.store).await?;
    let stats = tokio::task::spawn_blocking(move || store.stats())
        .await
        .map_err(|e| other(format!("stats task failed: {e}")))?
        .map_err(|e| Failure::Store(e.to_string()))?;
    println!("store {}", config.store.path.display());
    print!("{stats}");
    Ok(())
}

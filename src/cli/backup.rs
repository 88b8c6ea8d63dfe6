//! `feedmerge export`, `import` and `stats`: backups, moving to a new machine, and a look at
//! what the store holds. Export writes every story as one JSON object a line; import reads that
//! back, rebuilding every index, and skips stories the store already has.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::config::Config;
use crate::dedup::{self, Signature};
use crate::exit::Failure;
use crate::model::Story;
use crate::normalize::{title, url_key};
use crate::store::{open_store_with, EntryRecord, Store};

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

fn import_file(store: &Store, file: &Path) -> Result<(usize, usize), Failure> {
    let input = std::fs::File::open(file)
        .map_err(|e| other(format!("cannot read {}: {e}", file.display())))?;
    let (mut added, mut present) = (0, 0);
    let mut txn = store.begin();
    for (i, line) in std::io::BufReader::new(input).lines().enumerate() {
        let line = line.map_err(|e| other(format!("{}: {e}", file.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut story: Story = serde_json::from_str(&line).map_err(|e| {
            other(format!(
                "{}:{}: not a story exported by feedmerge: {e}",
                file.display(),
                i + 1
            ))
        })?;
        if txn
            .story(story.id)
            .map_err(|e| Failure::Store(e.to_string()))?
            .is_some()
        {
            present += 1;
            continue;
        }
        restore(&mut txn, &mut story).map_err(|e| Failure::Store(e.to_string()))?;
        added += 1;
        if added % 500 == 0 {
            txn.commit().map_err(|e| Failure::Store(e.to_string()))?;
            txn = store.begin();
        }
    }
    txn.commit().map_err(|e| Failure::Store(e.to_string()))?;
    store.flush().map_err(|e| Failure::Store(e.to_string()))?;
    Ok((added, present))
}

/// Writes an exported story back with every key that finds it. The signature is not exported;
/// the leading copy's text gives it back.
fn restore(
    txn: &mut crate::store::Txn<'_>,
    story: &mut Story,
) -> Result<(), crate::store::StoreError> {
    story.signature = Signature::of(&story.title, story.summary.as_deref());
    // The sketch written with the story is what the near-duplicate index is built from.
    txn.insert_story(story)?;
    for copy in &story.copies {
        txn.insert_entry(
            &copy.entry,
            &EntryRecord {
                story: story.id,
                first_seen: story.updated,
                fingerprint: 0,
            },
        )?;
        let key = copy
            .link
            .as_deref()
            .and_then(|l| url::Url::parse(l).ok())
            .and_then(|u| url_key(&u));
        if let Some(u) = key {
            txn.claim_url(&u, story.id)?;
        }
        if let Some(t) = title::title_key(&copy.title, &[copy.source.as_str()]) {
            txn.claim_title(&t, dedup::day(copy.published), story.id)?;
        }
    }
    Ok(())
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

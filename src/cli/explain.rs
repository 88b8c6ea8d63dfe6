//! `feedmerge explain URL|ID`: a story, its copies, and why each joined.
//!
//! Reads the store directly; while a daemon holds the store's lock it asks that daemon instead
//! (`/stories/{id}.json`, `/stories.json?url=`), which answers from the same store.

use std::fmt::Write;

use url::Url;

use crate::config::Config;
use crate::exit::Failure;
use crate::model::Story;
use crate::store::{find_story, story_id_in, DropRecord, OpenError, Store, StoreError};

/// The explanation a person reads.
pub fn describe(story: &Story) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "story {}  {}", story.id, story.title);
    let _ = writeln!(out, "  guid:      {}", story.id.guid());
    if let Some(link) = &story.link {
        let _ = writeln!(out, "  link:      {link}");
    }
    let _ = writeln!(out, "  published: {}", story.published.to_rfc3339());
    let _ = writeln!(out, "  copies ({}), the first leads:", story.copies.len());
    for (i, c) in story.copies.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}: {}", i + 1, c.source, c.title);
        if let Some(link) = &c.link {
            let _ = writeln!(out, "     {link}");
        }
        let score = c
            .score
            .map(|s| format!(" (score {s:.2})"))
            .unwrap_or_default();
        let reason = if c.reason.is_empty() {
            "-"
        } else {
            c.reason.as_str()
        };
        let _ = writeln!(
            out,
            "     {}  joined by {}{score}: {reason}{}",
            c.published.to_rfc3339(),
            c.joined_by,
            if c.priority != 0 {
                format!("  [priority {}]", c.priority)
            } else {
                String::new()
            }
        );
    }
    out
}

/// What the store knows of a query: a story, or the filter that dropped it.
enum Found {
    Story(Box<Story>),
    Dropped(DropRecord),
    Nothing,
}

fn look_up(store: &Store, query: &str) -> Result<Found, StoreError> {
    if let Some(story) = find_story(store, query)? {
        return Ok(Found::Story(Box::new(story)));
    }
    if let Ok(url) = Url::parse(query.trim()) {
        if let Some(record) = store.dropped(&url)? {
            return Ok(Found::Dropped(record));
        }
    }
    Ok(Found::Nothing)
}

/// Runs `feedmerge explain`.
pub async fn run(config: &Config, query: &str) -> Result<(), Failure> {
    let path = config.store.path.clone();
    let q = query.to_string();
    let local = tokio::task::spawn_blocking(move || match Store::open(&path) {
        Ok(store) => look_up(&store, &q)
            .map(Some)
            .map_err(|e| Failure::Store(e.to_string())),
        Err(OpenError::Locked(_)) => Ok(None),
        Err(e) => Err(Failure::Store(e.to_string())),
    })
    .await
    .map_err(|e| Failure::Other(anyhow::anyhow!("explain task failed: {e}")))??;
    let found = match local {
        Some(found) => found,
        None => ask_daemon(config, query).await?,
    };
    match found {
        Found::Story(story) => {
            print!("{}", describe(&story));
            Ok(())
        }
        Found::Dropped(record) => {
            println!("not a story: dropped by {}", record.rule);
            println!("  {}: {}", record.source, record.title);
            if let Some(link) = &record.link {
                println!("  {link}");
            }
            println!("  first dropped {}", record.at.to_rfc3339());
            Ok(())
        }
        Found::Nothing => Err(Failure::Other(anyhow::anyhow!(
            "no stored story has the id or link {query}, and no filter dropped it"
        ))),
    }
}

/// The running daemon's answer, when it holds the store.
async fn ask_daemon(config: &Config, query: &str) -> Result<Found, Failure> {
    if let Some(story) = ask_daemon_for::<Story>(config, query, "stories.json").await? {
        return Ok(Found::Story(Box::new(story)));
    }
    if story_id_in(query).is_none() {
        if let Some(record) = ask_daemon_for::<DropRecord>(config, query, "dropped.json").await? {
            return Ok(Found::Dropped(record));
        }
    }
    Ok(Found::Nothing)
}

async fn ask_daemon_for<T: serde::de::DeserializeOwned>(
    config: &Config,
    query: &str,
    by_url: &str,
) -> Result<Option<T>, Failure> {
    let base = Url::parse(&format!("http://{}/", config.server.listen))
        .map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))?;
    let mut url = match story_id_in(query) {
        Some(id) => base.join(&format!("stories/{id}.json")),
        None => base.join(by_url),
    }
    .map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))?;
    if story_id_in(query).is_none() {
        url.query_pairs_mut().append_pair("url", query);
    }
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

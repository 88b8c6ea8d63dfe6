//! `feedmerge explain URL|ID`: a story, its copies, and why each joined.
//!
//! Reads the store directly; while a daemon holds the store's lock it asks that daemon instead
//! (`/stories/{id}.json`, `/stories.json?url=`, `/dropped.json?url=`; see
//! [`super::store_or_daemon`]).

use std::fmt::Write;

use url::Url;

use super::store_or_daemon::{ask_daemon, daemon_url, read_store};
use crate::config::Config;
use crate::exit::Failure;
use crate::model::Story;
use crate::store::{find_story, story_id_in, DropRecord, Store, StoreError};

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
    let q = query.to_string();
    let local = read_store(config, "explain", move |store| look_up(store, &q)).await?;
    let found = match local {
        Some(found) => found,
        None => ask_daemon_about(config, query).await?,
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
async fn ask_daemon_about(config: &Config, query: &str) -> Result<Found, Failure> {
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
    let url = match story_id_in(query) {
        Some(id) => daemon_url(config, &format!("stories/{id}.json"))?,
        None => {
            let mut url = daemon_url(config, by_url)?;
            url.query_pairs_mut().append_pair("url", query);
            url
        }
    };
    ask_daemon(config, url).await
}

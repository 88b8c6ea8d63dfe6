//! `feedmerge preview URL|PATH|-`: one feed through the daemon's own fetch → parse → normalize
//! path, without touching the store, to check a feed before adding it to the TOML.

use std::io::Read;

use chrono::Utc;
use url::Url;

use crate::config::{Config, FetchOptions, Source};
use crate::exit::Failure;
use crate::fetch::{Fetched, Fetcher, Limits, Validators};
use crate::normalize::normalize_feed;
use crate::parse;

fn other(e: impl std::fmt::Display) -> Failure {
    Failure::Other(anyhow::anyhow!("{e}"))
}

/// Bytes, their content type, and the URL relative links resolve against.
async fn load(
    what: &str,
    config: Option<&Config>,
) -> Result<(Vec<u8>, Option<String>, Url), Failure> {
    if what == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| other(format!("stdin: {e}")))?;
        let base = Url::parse("file:///dev/stdin").map_err(other)?;
        return Ok((bytes, None, base));
    }
    if let Ok(url) = Url::parse(what) {
        if matches!(url.scheme(), "http" | "https") {
            let poll = config.map(|c| c.poll.clone()).unwrap_or_default();
            let fetcher = Fetcher::new(Limits::from(&poll))?;
            return match fetcher
                .fetch(&url, &FetchOptions::default(), &Validators::default())
                .await
            {
                Ok(Fetched::Fresh {
                    body,
                    content_type,
                    final_url,
                    ..
                }) => {
                    if final_url != url {
                        println!("redirected to {final_url}");
                    }
                    Ok((body.to_vec(), content_type, final_url))
                }
                Ok(Fetched::NotModified { .. }) => {
                    Err(other(format!("{url}: 304 without a conditional request")))
                }
                Err(e) => Err(other(format!("{url}: {e}"))),
            };
        }
    }
    let path = std::path::Path::new(what);
    let bytes = std::fs::read(path).map_err(|e| other(format!("cannot read {what}: {e}")))?;
    let absolute = std::fs::canonicalize(path).map_err(|e| other(format!("{what}: {e}")))?;
    let base =
        Url::from_file_path(&absolute).map_err(|_| other(format!("{what}: not a usable path")))?;
    Ok((bytes, None, base))
}

pub async fn run(what: &str, json: bool, config: Option<&Config>) -> Result<(), Failure> {
    let (bytes, content_type, base) = load(what, config).await?;
    let parsed = parse::parse(&bytes, content_type.as_deref(), &base)
        .map_err(|e| other(format!("{what}: {e}")))?;
    let source = Source {
        name: "preview".into(),
        url: base.clone(),
        interval: std::time::Duration::from_secs(900),
        tags: Vec::new(),
        priority: 0,
        fetch: FetchOptions::default(),
    };
    let now = Utc::now();
    let entries = normalize_feed(&parsed.feed, &source, &base, now);
    if !json {
        println!("format:  {:?}", parsed.feed.feed_type);
        if let Some(t) = &parsed.feed.title {
            println!(
                "title:   {}",
                crate::normalize::text::plain_text(&t.content)
            );
        }
        println!("entries: {}", entries.len());
        for r in &parsed.recoveries {
            println!("repaired: {r}");
        }
    }
    for (i, e) in entries.iter().enumerate() {
        let raw = parsed.feed.entries.get(i);
        let dated = raw.is_some_and(|r| crate::normalize::entry_date(r, now).is_some());
        if json {
            let value = serde_json::json!({
                "title": e.title,
                "link": e.link,
                "canonical_url": e.url_key,
                "date": e.published.to_rfc3339(),
                "date_from_feed": dated,
                "guid": e.guid,
                "entry_key": e.key.0,
                "title_key": e.title_key,
                "categories": e.categories,
                "authors": e.authors,
            });
            println!("{value}");
        } else {
            println!();
            println!("{}. {}", i + 1, e.title);
            println!("   link:      {}", e.link.as_deref().unwrap_or("(none)"));
            println!(
                "   canonical: {}",
                e.url_key
                    .as_deref()
                    .unwrap_or("(none: no link, or a home page)")
            );
            println!(
                "   date:      {}{}",
                e.published.to_rfc3339(),
                if dated {
                    ""
                } else {
                    "  (none usable in the feed: placed below its dated entries)"
                }
            );
            println!(
                "   guid:      {}",
                e.guid
                    .as_deref()
                    .unwrap_or("(none: the key comes from the link or title)")
            );
            println!("   key:       {}", e.key.0);
        }
    }
    Ok(())
}

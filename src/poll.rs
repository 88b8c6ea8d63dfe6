//! Polling: one task per source that waits until the source is due, takes a permit from the
//! global concurrency bound, and runs [`poll_once`] (fetch → parse → normalize). The result goes
//! to the ingest task as a [`Batch`]; the poller waits for it to be stored before logging the
//! outcome in one line, so the log never claims what the store does not hold.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::Source;
use crate::fetch::{Fetched, Fetcher};
use crate::ingest::{Batch, Ingested};
use crate::metrics::Metrics;
use crate::normalize::normalize_feed;
use crate::parse::{self, Recovery};
use crate::store::PollState;

/// What one poll of one source came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A fresh document with this many entries, and what was stored of them.
    Fresh {
        entries: usize,
        recoveries: Vec<Recovery>,
        stored: Ingested,
    },
    NotModified,
    /// The fetch, the parse or the store failed; the reason names what and why.
    Failed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Fresh {
                entries,
                recoveries,
                stored,
            } => {
                write!(
                    f,
                    "{entries} entries: {} new stories, {} joined existing stories, {} already seen",
                    stored.new_stories, stored.joined, stored.seen
                )?;
                if !stored.filtered.is_empty() {
                    write!(f, ", {} filtered out", stored.filtered.len())?;
                }
                for r in recoveries {
                    write!(f, "; repaired: {r}")?;
                }
                Ok(())
            }
            Outcome::NotModified => f.write_str("not modified (304)"),
            Outcome::Failed(reason) => f.write_str(reason),
        }
    }
}

/// Fetches, parses and normalizes `source` once, sends the result to ingest, waits until it is
/// stored, and logs the outcome.
pub async fn poll_once(
    fetcher: &Fetcher,
    source: &Source,
    state: &PollState,
    batches: &mpsc::Sender<Batch>,
    metrics: &Metrics,
) -> (Outcome, PollState) {
    let now = Utc::now();
    let mut next = PollState {
        last_fetch: Some(now),
        ..state.clone()
    };
    let (entries, mut outcome) = match fetcher
        .fetch(&source.url, &source.fetch, &state.validators)
        .await
    {
        Ok(Fetched::NotModified { validators }) => {
            next.validators = validators;
            (Vec::new(), Outcome::NotModified)
        }
        Ok(Fetched::Fresh {
            body,
            content_type,
            validators,
            final_url,
        }) => {
            let source_for_parse = source.clone();
            let parsed = tokio::task::spawn_blocking(move || {
                parse::parse(&body, content_type.as_deref(), &final_url).map(|p| {
                    let entries = normalize_feed(&p.feed, &source_for_parse, &final_url, now);
                    (entries, p.recoveries)
                })
            })
            .await;
            match parsed {
                Ok(Ok((entries, recoveries))) => {
                    next.validators = validators;
                    let n = entries.len();
                    (
                        entries,
                        Outcome::Fresh {
                            entries: n,
                            recoveries,
                            stored: Ingested::default(),
                        },
                    )
                }
                Ok(Err(e)) => (Vec::new(), Outcome::Failed(e.to_string())),
                Err(e) => (Vec::new(), Outcome::Failed(format!("parser crashed: {e}"))),
            }
        }
        Err(e) => (Vec::new(), Outcome::Failed(e.to_string())),
    };
    match &outcome {
        Outcome::Failed(_) => next.consecutive_failures = state.consecutive_failures + 1,
        _ => {
            next.consecutive_failures = 0;
            next.last_success = Some(now);
        }
    }
    next.last_outcome = outcome.to_string();
    let (reply, stored) = oneshot::channel();
    let batch = Batch {
        source_name: source.name.clone(),
        source_url: source.url.to_string(),
        entries,
        state: next.clone(),
        reply: Some(reply),
    };
    if batches.send(batch).await.is_err() {
        outcome = Outcome::Failed("the store is shutting down".into());
    } else {
        match stored.await {
            Ok(Ok(done)) => {
                if let Outcome::Fresh { stored, .. } = &mut outcome {
                    *stored = done;
                }
            }
            Ok(Err(e)) => outcome = Outcome::Failed(format!("could not store the entries: {e}")),
            Err(_) => outcome = Outcome::Failed("the store is shutting down".into()),
        }
    }
    log(source, &outcome);
    metrics.count_poll(match outcome {
        Outcome::Fresh { .. } => "fresh",
        Outcome::NotModified => "not_modified",
        Outcome::Failed(_) => "failed",
    });
    (outcome, next)
}

fn log(source: &Source, outcome: &Outcome) {
    match outcome {
        Outcome::Failed(reason) => tracing::warn!(
            source = %source.name, url = %source.url,
            "poll failed, retrying next interval: {reason}"
        ),
        other => tracing::info!(source = %source.name, "polled: {other}"),
    }
}

/// Polls `source` every interval until `shutdown`, starting when it is next due according to
/// the stored `state` (so a restart does not hit every source at once again).
pub async fn run_source(
    fetcher: Fetcher,
    source: Source,
    mut state: PollState,
    batches: mpsc::Sender<Batch>,
    permits: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    loop {
        let wait = until_due(state.last_fetch, source.interval, Utc::now());
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let permit = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            p = permits.acquire() => p,
        };
        let Ok(_permit) = permit else { return };
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            (_, next) = poll_once(&fetcher, &source, &state, &batches, &metrics) => state = next,
        }
    }
}

fn until_due(
    last_fetch: Option<DateTime<Utc>>,
    interval: Duration,
    now: DateTime<Utc>,
) -> Duration {
    let Some(last) = last_fetch.filter(|t| *t <= now) else {
        return Duration::ZERO;
    };
    let elapsed = (now - last).to_std().unwrap_or_default();
    interval.saturating_sub(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_due_after_its_interval() {
        let now = Utc::now();
        let minute = Duration::from_secs(60);
        assert_eq!(until_due(None, minute, now), Duration::ZERO);
        let recently = now - chrono::Duration::seconds(20);
        assert_eq!(
            until_due(Some(recently), minute, now),
            Duration::from_secs(40)
        );
        let long_ago = now - chrono::Duration::hours(2);
        assert_eq!(until_due(Some(long_ago), minute, now), Duration::ZERO);
        let future = now + chrono::Duration::hours(2);
        assert_eq!(until_due(Some(future), minute, now), Duration::ZERO);
    }
}

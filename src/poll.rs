//! Polling: one task per source that waits until the source is due, takes a permit from the
//! global concurrency bound, and runs [`poll_once`] (fetch → parse → normalize). The result goes
//! to the ingest task as a [`Batch`]; the poller waits for it to be stored before logging the
//! outcome in one line, so the log never claims what the store does not hold.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::Source;
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::ingest::{Batch, Ingested};
use crate::metrics::Metrics;
use crate::model::Entry;
use crate::normalize::normalize_feed;
use crate::parse::{self, Recovery};
use crate::schedule;
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
    let bounds = fetcher.wait_bounds();
    let fetched = fetch(fetcher, source, state, metrics).await;
    let read = read(fetched, source, &mut next, now).await;
    schedule(&mut next, state, source, &read, bounds, now);
    next.last_outcome = read.outcome.to_string();
    let outcome = hand_to_ingest(batches, source, read.entries, &next, read.outcome).await;
    log(source, &outcome);
    metrics.count_poll(match outcome {
        Outcome::Fresh { .. } => "fresh",
        Outcome::NotModified => "not_modified",
        Outcome::Failed(_) => "failed",
    });
    (outcome, next)
}

/// GETs the source (where it moved to, if it moved permanently) in its host's turn, and counts
/// the time and bytes.
async fn fetch(
    fetcher: &Fetcher,
    source: &Source,
    state: &PollState,
    metrics: &Metrics,
) -> Result<Fetched, FetchError> {
    let turn = fetcher.host_turn(&source.url).await;
    let started = std::time::Instant::now();
    // A feed that moved permanently is fetched where it lives now.
    let target = state
        .moved_to
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .unwrap_or_else(|| source.url.clone());
    let fetched = fetcher
        .fetch(&target, &source.fetch, &state.validators)
        .await;
    drop(turn);
    metrics
        .fetch_seconds
        .observe(started.elapsed().as_secs_f64());
    if let Ok(Fetched::Fresh { body, .. }) = &fetched {
        metrics.fetched_bytes.inc_by(body.len() as u64);
    }
    fetched
}

/// What a fetch came to before it is stored: the entries, and what scheduling the next poll
/// needs to know.
struct Read {
    entries: Vec<Entry>,
    outcome: Outcome,
    /// What the publisher said about polling.
    hints: schedule::Hints,
    /// When the server asked to be tried again (`Retry-After`).
    retry_after: Option<DateTime<Utc>>,
}

/// Reads a fetch's result: a fresh document is parsed and normalized (off the async threads),
/// and what the response says about the feed (new validators, a permanent move, 410 Gone) goes
/// into `next`.
async fn read(
    fetched: Result<Fetched, FetchError>,
    source: &Source,
    next: &mut PollState,
    now: DateTime<Utc>,
) -> Read {
    let mut read = Read {
        entries: Vec::new(),
        outcome: Outcome::NotModified,
        hints: schedule::Hints::default(),
        retry_after: None,
    };
    match fetched {
        Ok(Fetched::NotModified {
            validators,
            fresh_for,
            moved_to,
        }) => {
            remember_move(next, source, moved_to);
            next.validators = validators;
            read.hints.fresh_for = fresh_for;
        }
        Ok(Fetched::Fresh {
            body,
            content_type,
            validators,
            final_url,
            fresh_for,
            moved_to,
        }) => {
            remember_move(next, source, moved_to);
            match parse(body, content_type, final_url, source, now).await {
                Ok((entries, recoveries, hints)) => {
                    read.hints = hints;
                    read.hints.fresh_for = fresh_for;
                    next.validators = validators;
                    read.outcome = Outcome::Fresh {
                        entries: entries.len(),
                        recoveries,
                        stored: Ingested::default(),
                    };
                    read.entries = entries;
                }
                Err(reason) => read.outcome = Outcome::Failed(reason),
            }
        }
        Err(e) => {
            if let FetchError::Status { code, retry_after } = &e {
                read.retry_after = *retry_after;
                next.gone = *code == 410;
            }
            read.outcome = Outcome::Failed(e.to_string());
        }
    }
    read
}

/// Parses and normalizes a fresh document on a blocking thread. The error says why it could
/// not be read.
async fn parse(
    body: Bytes,
    content_type: Option<String>,
    final_url: url::Url,
    source: &Source,
    now: DateTime<Utc>,
) -> Result<(Vec<Entry>, Vec<Recovery>, schedule::Hints), String> {
    let source = source.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        parse::parse(&body, content_type.as_deref(), &final_url).map(|p| {
            let entries = normalize_feed(&p.feed, &source, &final_url, now);
            let hints = p.hints(&body);
            (entries, p.recoveries, hints)
        })
    })
    .await;
    match parsed {
        Ok(Ok(read)) => Ok(read),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("parser crashed: {e}")),
    }
}

/// Sets when to poll next: after a success, the interval as the publisher's hints lengthen it;
/// after a failure, backing off (or when the server asked).
fn schedule(
    next: &mut PollState,
    state: &PollState,
    source: &Source,
    read: &Read,
    bounds: schedule::WaitBounds,
    now: DateTime<Utc>,
) {
    let interval = chrono::Duration::from_std(source.interval).unwrap_or(chrono::Duration::MAX);
    let seed = jitter_seed(source, now);
    match &read.outcome {
        Outcome::Failed(_) => {
            next.consecutive_failures = state.consecutive_failures + 1;
            next.next_poll = Some(schedule::after_failure(
                interval,
                next.consecutive_failures,
                read.retry_after,
                bounds,
                now,
                seed,
            ));
        }
        _ => {
            next.consecutive_failures = 0;
            next.last_success = Some(now);
            next.gone = false;
            next.next_poll = Some(schedule::after_success(
                interval,
                &read.hints,
                bounds,
                now,
                seed,
            ));
        }
    }
}

/// Sends the entries and the new poll state to ingest and waits until they are stored. Returns
/// the outcome with what was stored, or the failure if they were not.
async fn hand_to_ingest(
    batches: &mpsc::Sender<Batch>,
    source: &Source,
    entries: Vec<Entry>,
    next: &PollState,
    mut outcome: Outcome,
) -> Outcome {
    let (reply, stored) = oneshot::channel();
    let batch = Batch {
        source_name: source.name.clone(),
        source_url: source.url.to_string(),
        entries,
        state: next.clone(),
        reply: Some(reply),
    };
    if batches.send(batch).await.is_err() {
        return Outcome::Failed("the store is shutting down".into());
    }
    match stored.await {
        Ok(Ok(done)) => {
            if let Outcome::Fresh { stored, .. } = &mut outcome {
                *stored = done;
            }
            outcome
        }
        Ok(Err(e)) => Outcome::Failed(format!("could not store the entries: {e}")),
        Err(_) => Outcome::Failed("the store is shutting down".into()),
    }
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
    fetcher: Arc<Fetcher>,
    source: Arc<Source>,
    mut state: PollState,
    batches: mpsc::Sender<Batch>,
    permits: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    loop {
        if state.gone {
            tracing::warn!(
                source = %source.name, url = %source.url,
                "the feed is gone (410): not polling it again; remove it from the config or change its url"
            );
            shutdown.cancelled().await;
            return;
        }
        let wait = until_due(&state, source.interval, Utc::now());
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
            // Boxed: a poll's state (fetch, parse, reply) is ~1.9 KB, and an unboxed await
            // would make every idle poller's task that large (10,000 sources: ~60 MB).
            (_, next) = Box::pin(poll_once(&fetcher, &source, &state, &batches, &metrics)) => state = next,
        }
    }
}

/// Records a permanent move (and logs it once), so later polls go to the new address.
fn remember_move(next: &mut PollState, source: &Source, moved_to: Option<url::Url>) {
    if let Some(to) = moved_to {
        if next.moved_to.as_deref() != Some(to.as_str()) {
            tracing::warn!(
                source = %source.name, url = %source.url,
                "the feed moved permanently to {to}: polling it there; update its url in the config"
            );
            next.moved_to = Some(to.to_string());
        }
    }
}

/// How long until `state` says the source is due. A stored next poll wins (it carries the
/// publisher's hints and any backoff); a state without one (a store written before poll states
/// carried it) falls back to the interval after the last fetch.
fn until_due(state: &PollState, interval: Duration, now: DateTime<Utc>) -> Duration {
    if let Some(next) = state.next_poll {
        return (next - now).to_std().unwrap_or_default();
    }
    let Some(last) = state.last_fetch.filter(|t| *t <= now) else {
        return Duration::ZERO;
    };
    let elapsed = (now - last).to_std().unwrap_or_default();
    interval.saturating_sub(elapsed)
}

/// A per-source, per-poll number for jitter: not random, but different for every source and
/// moment, which is all spreading polls needs.
fn jitter_seed(source: &Source, now: DateTime<Utc>) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new();
    h.write(source.url.as_str().as_bytes());
    h.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_due_after_its_interval_or_when_its_schedule_says() {
        let now = Utc::now();
        let minute = Duration::from_secs(60);
        let fetched = |t| PollState {
            last_fetch: t,
            ..PollState::default()
        };
        assert_eq!(until_due(&fetched(None), minute, now), Duration::ZERO);
        let recently = now - chrono::Duration::seconds(20);
        assert_eq!(
            until_due(&fetched(Some(recently)), minute, now),
            Duration::from_secs(40)
        );
        let long_ago = now - chrono::Duration::hours(2);
        assert_eq!(
            until_due(&fetched(Some(long_ago)), minute, now),
            Duration::ZERO
        );
        let future = now + chrono::Duration::hours(2);
        assert_eq!(
            until_due(&fetched(Some(future)), minute, now),
            Duration::ZERO
        );
        let rest = PollState {
            last_fetch: Some(recently),
            next_poll: Some(now + chrono::Duration::hours(1)),
            ..PollState::default()
        };
        let wait = until_due(&rest, minute, now);
        assert!(
            wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600),
            "{wait:?}"
        );
    }
}

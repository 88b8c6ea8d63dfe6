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
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::ingest::{Batch, Ingested};
use crate::metrics::Metrics;
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
    let mut hints = schedule::Hints::default();
    let mut retry_after = None;
    let limits = fetcher.schedule_limits();
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
    let (entries, mut outcome) = match fetched {
        Ok(Fetched::NotModified {
            validators,
            fresh_for,
            moved_to,
        }) => {
            remember_move(&mut next, source, moved_to);
            next.validators = validators;
            hints.fresh_for = fresh_for;
            (Vec::new(), Outcome::NotModified)
        }
        Ok(Fetched::Fresh {
            body,
            content_type,
            validators,
            final_url,
            fresh_for,
            moved_to,
        }) => {
            remember_move(&mut next, source, moved_to);
            let source_for_parse = source.clone();
            let parsed = tokio::task::spawn_blocking(move || {
                parse::parse(&body, content_type.as_deref(), &final_url).map(|p| {
                    let entries = normalize_feed(&p.feed, &source_for_parse, &final_url, now);
                    {
                        let hints = p.hints(&body);
                        (entries, p.recoveries, hints)
                    }
                })
            })
            .await;
            match parsed {
                Ok(Ok((entries, recoveries, feed_hints))) => {
                    hints = feed_hints;
                    hints.fresh_for = fresh_for;
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
        Err(e) => {
            if let FetchError::Status {
                code,
                retry_after: after,
            } = &e
            {
                retry_after = *after;
                next.gone = *code == 410;
            }
            (Vec::new(), Outcome::Failed(e.to_string()))
        }
    };
    let interval = chrono::Duration::from_std(source.interval).unwrap_or(chrono::Duration::MAX);
    let seed = jitter_seed(source, now);
    match &outcome {
        Outcome::Failed(_) => {
            next.consecutive_failures = state.consecutive_failures + 1;
            next.next_poll = Some(schedule::after_failure(
                interval,
                next.consecutive_failures,
                retry_after,
                limits,
                now,
                seed,
            ));
        }
        _ => {
            next.consecutive_failures = 0;
            next.last_success = Some(now);
            next.gone = false;
            next.next_poll = Some(schedule::after_success(interval, &hints, limits, now, seed));
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
/// publisher's hints and any backoff); a state from before schedules existed falls back to the
/// interval after the last fetch.
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

//! WebSub publishing: after each change, tell the configured hub which feeds (topics) changed,
//! so it can push them to subscribers at once instead of them polling.
//!
//! Watches the same snapshot channel the server reads, and compares each feed's ETag with the
//! previous snapshot's: only feeds whose bytes changed are pinged. A failed ping is retried with
//! exponential backoff (1 s doubling to 10 min, or the hub's `Retry-After` if longer); changes
//! that arrive meanwhile are gathered and sent with the retry, never sooner.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::render::Snapshot;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(600);

/// Pings `hub` after each change until `shutdown`.
pub async fn run(
    hub: Url,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    shutdown: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .user_agent(crate::fetch::USER_AGENT)
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(%hub, "WebSub disabled: cannot build the HTTP client: {e}");
            return;
        }
    };
    let mut previous = snapshots.borrow_and_update().clone();
    let mut pending = BTreeSet::new();
    let mut retry_at: Option<Instant> = None;
    let mut backoff = FIRST_RETRY;
    loop {
        if !pending.is_empty() && retry_at.is_none_or(|t| Instant::now() >= t) {
            match ping_all(&client, &hub, &pending).await {
                Ok(()) => {
                    tracing::info!(%hub, topics = pending.len(), "notified the WebSub hub");
                    pending.clear();
                    retry_at = None;
                    backoff = FIRST_RETRY;
                }
                Err((failed, retry_after)) => {
                    let wait = backoff.max(retry_after.unwrap_or_default());
                    tracing::warn!(%hub, topics = failed.len(), "WebSub ping failed; retrying in {wait:?}");
                    pending = failed;
                    retry_at = Some(Instant::now() + wait);
                    backoff = (backoff * 2).min(LONGEST_RETRY);
                }
            }
            continue;
        }
        let retry = async {
            match retry_at {
                Some(t) if !pending.is_empty() => tokio::time::sleep_until(t).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return;
                }
                let current = snapshots.borrow_and_update().clone();
                pending.extend(changed_topics(&previous, &current));
                previous = current;
            }
            _ = retry => {}
        }
    }
}

/// The self URLs of feeds that are new or whose bytes differ.
pub fn changed_topics(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let old: HashMap<String, String> = before.topics().into_iter().collect();
    after
        .topics()
        .into_iter()
        .filter(|(url, version)| old.get(url) != Some(version))
        .map(|(url, _)| url)
        .collect()
}

/// Sends one publish notification per topic. On failure: the topics still to send, and how
/// long the hub asked us to wait.
async fn ping_all(
    client: &reqwest::Client,
    hub: &Url,
    topics: &BTreeSet<String>,
) -> Result<(), (BTreeSet<String>, Option<Duration>)> {
    let mut failed = BTreeSet::new();
    let mut retry_after = None;
    for topic in topics {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "publish")
            .append_pair("hub.url", topic)
            .finish();
        let sent = client
            .post(hub.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => {
                tracing::debug!(%topic, status = %resp.status(), "the hub refused the ping");
                retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s.min(LONGEST_RETRY.as_secs())))
                    .or(retry_after);
                failed.insert(topic.clone());
            }
            Err(e) => {
                tracing::debug!(%topic, "cannot reach the hub: {e}");
                failed.insert(topic.clone());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err((failed, retry_after))
    }
}

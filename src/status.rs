//! Per-source status, for `/status` and `feedmerge status`: when each source was last fetched,
//! what came of it, when it is next due, and what it contributed. Built from the configured
//! sources and their stored poll state; never includes fetch options (credentials, headers).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Source;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    pub url: String,
    pub tags: Vec<String>,
    pub interval_seconds: u64,
    pub last_fetch: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// As logged: "3 entries: 1 new stories, …", "not modified (304)", or the error.
    pub last_outcome: String,
    pub ok: bool,
    pub consecutive_failures: u32,
    /// None for a source that answered 410 Gone.
    pub next_poll: Option<DateTime<Utc>>,
    pub gone: bool,
    /// Where the feed moved permanently: the config's url should be updated.
    pub moved_to: Option<String>,
    /// The server gave validators, so polls are conditional.
    pub conditional_get: bool,
    pub entries_seen: u64,
    pub stories_led: u64,
}

/// The status of every configured source.
pub fn of(store: &Store, sources: &[Source]) -> Result<Vec<SourceStatus>, StoreError> {
    let mut out = Vec::with_capacity(sources.len());
    for s in sources {
        let state = store.poll_state(s.url.as_str())?.unwrap_or_default();
        let interval = chrono::Duration::from_std(s.interval).unwrap_or(chrono::Duration::MAX);
        out.push(SourceStatus {
            name: s.name.clone(),
            url: s.url.to_string(),
            tags: s.tags.clone(),
            interval_seconds: s.interval.as_secs(),
            last_fetch: state.last_fetch,
            last_success: state.last_success,
            ok: state.last_fetch.is_some() && state.consecutive_failures == 0,
            last_outcome: if state.last_fetch.is_some() {
                state.last_outcome
            } else {
                "not polled yet".into()
            },
            consecutive_failures: state.consecutive_failures,
            gone: state.gone,
            moved_to: state.moved_to.clone(),
            next_poll: if state.gone {
                None
            } else {
                state.next_poll.or_else(|| {
                    state
                        .last_fetch
                        .and_then(|t| t.checked_add_signed(interval))
                })
            },
            conditional_get: state.validators.etag.is_some()
                || state.validators.last_modified.is_some(),
            entries_seen: state.entries_seen,
            stories_led: state.stories_led,
        });
    }
    Ok(out)
}

/// The table `feedmerge status` prints.
pub fn table(statuses: &[SourceStatus]) -> String {
    let mut out = String::new();
    for s in statuses {
        let when = s.last_fetch.map_or_else(
            || "never".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
        out.push_str(&format!(
            "{:<7} {}  last {when}  next {}  entries {}  led {}{}\n    {}\n",
            if s.ok {
                "ok"
            } else if s.last_fetch.is_none() {
                "waiting"
            } else {
                "FAILING"
            },
            s.name,
            s.next_poll
                .map_or_else(|| "now".into(), |t| t.format("%H:%M:%S").to_string()),
            s.entries_seen,
            s.stories_led,
            if s.conditional_get {
                "  conditional GET"
            } else {
                ""
            },
            s.last_outcome
        ));
    }
    out
}

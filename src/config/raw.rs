//! The TOML file as written: strict serde types (`deny_unknown_fields`) that keep the position of
//! every value a later check may need to point at.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::secret::RawSecret;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub feed: RawFeed,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub poll: RawPoll,
    #[serde(default)]
    pub dedup: RawDedup,
    #[serde(default)]
    pub publish: RawPublish,
    #[serde(default, rename = "filter")]
    pub filters: Vec<Spanned<RawFilter>>,
    #[serde(default, rename = "source")]
    pub sources: Vec<RawSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPublish {
    pub min_sources: Option<Spanned<i64>>,
    pub websub_hub: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFilter {
    pub action: Spanned<String>,
    pub field: Option<Spanned<String>>,
    pub pattern: Option<Spanned<String>>,
    pub max_age: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDedup {
    pub window: Option<Spanned<String>>,
    pub threshold: Option<Spanned<f64>>,
    pub min_shared: Option<Spanned<i64>>,
    pub min_words: Option<Spanned<i64>>,
    pub related: Option<Spanned<f64>>,
    pub summary_threshold: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub listen: Option<Spanned<String>>,
    pub base_url: Option<Spanned<String>>,
    pub write_timeout: Option<Spanned<String>>,
    pub shutdown_grace: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub title: Option<String>,
    pub description: Option<String>,
    pub max_items: Option<Spanned<i64>>,
    pub author: Option<String>,
    pub author_email: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub path: Option<String>,
    pub cache_mb: Option<Spanned<i64>>,
    pub max_age: Option<Spanned<String>>,
    pub max_stories: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPoll {
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub concurrency: Option<Spanned<i64>>,
    pub max_body: Option<Spanned<i64>>,
    pub min_interval: Option<Spanned<String>>,
    pub backoff_cap: Option<Spanned<String>>,
    pub allow_private_redirects: Option<bool>,
    pub per_host: Option<Spanned<i64>>,
    pub contact: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub priority: Option<Spanned<i64>>,
    #[serde(default)]
    pub filter: Vec<Spanned<RawFilter>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<RawSecret>>,
    pub username: Option<Spanned<RawSecret>>,
    pub password: Option<Spanned<RawSecret>>,
    pub user_agent: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
}

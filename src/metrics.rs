//! Counters for `/metrics` (Prometheus text format, prometheus-client). Shared by the stages
//! that count and the server that reports; counting is lock-free.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Every metric feedmerge reports.
pub struct Metrics {
    registry: Registry,
    /// Entries by what ingest did with them: new, joined, seen, filtered.
    pub entries: Family<Labels, Counter>,
    /// Entries a filter rule dropped, by rule.
    pub filtered: Family<Labels, Counter>,
    /// Polls by outcome: fresh, not_modified, failed.
    pub polls: Family<Labels, Counter>,
    /// Stories in the published feed right now.
    pub published: Gauge,
    /// How long fetches take, in seconds (every outcome).
    pub fetch_seconds: Histogram,
    /// Body bytes received (after decompression).
    pub fetched_bytes: Counter,
    /// Copies joined to a story, by the dedup layer that matched.
    pub joins: Family<Labels, Counter>,
    /// Joins of a source's copy to a story it already had a copy in.
    pub same_outlet_joins: Counter,
    /// Two stored stories found to be one and merged.
    pub merges: Counter,
    /// Stories stored and the store's size on disk, refreshed hourly.
    pub stored_stories: Gauge,
    pub store_bytes: Gauge,
    /// Story ids in the in-memory near-duplicate index, after each stored group.
    pub near_index_ids: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("feedmerge");
        let entries = Family::<Labels, Counter>::default();
        let filtered = Family::<Labels, Counter>::default();
        let polls = Family::<Labels, Counter>::default();
        let published = Gauge::default();
        registry.register("entries", "Entries ingested, by decision", entries.clone());
        registry.register(
            "filtered",
            "Entries dropped by a filter rule, by rule",
            filtered.clone(),
        );
        registry.register("polls", "Source polls, by outcome", polls.clone());
        registry.register(
            "published_stories",
            "Stories in the published feed",
            published.clone(),
        );
        let fetch_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let fetched_bytes = Counter::default();
        let joins = Family::<Labels, Counter>::default();
        let same_outlet_joins = Counter::default();
        let merges = Counter::default();
        registry.register(
            "dedup_same_outlet_joins",
            "Copies joined to a story their own source already had a copy in",
            same_outlet_joins.clone(),
        );
        registry.register(
            "dedup_merges",
            "Stored stories merged into another when a copy showed them to be one",
            merges.clone(),
        );
        let stored_stories = Gauge::default();
        let store_bytes = Gauge::default();
        let near_index_ids = Gauge::default();
        registry.register(
            "dedup_index_story_ids",
            "Story ids in the in-memory near-duplicate index (lists of the days lookups reached)",
            near_index_ids.clone(),
        );
        registry.register(
            "fetch_duration_seconds",
            "Time a fetch took",
            fetch_seconds.clone(),
        );
        registry.register(
            "fetched_bytes",
            "Feed bytes received",
            fetched_bytes.clone(),
        );
        registry.register(
            "dedup_joins",
            "Copies joined to a story, by layer",
            joins.clone(),
        );
        registry.register(
            "stored_stories",
            "Stories in the store",
            stored_stories.clone(),
        );
        registry.register(
            "store_size_bytes",
            "The store's size on disk",
            store_bytes.clone(),
        );
        Metrics {
            registry,
            fetch_seconds,
            fetched_bytes,
            joins,
            same_outlet_joins,
            merges,
            stored_stories,
            store_bytes,
            near_index_ids,
            entries,
            filtered,
            polls,
            published,
        }
    }
}

impl Metrics {
    pub fn count_entries(&self, decision: &str, n: usize) {
        if n > 0 {
            self.entries
                .get_or_create(&vec![("decision".into(), decision.into())])
                .inc_by(n as u64);
        }
    }

    pub fn count_filtered(&self, rule: &str) {
        self.filtered
            .get_or_create(&vec![("rule".into(), rule.into())])
            .inc();
    }

    pub fn count_join(&self, layer: &str) {
        self.joins
            .get_or_create(&vec![("layer".into(), layer.into())])
            .inc();
    }

    pub fn count_poll(&self, outcome: &str) {
        self.polls
            .get_or_create(&vec![("outcome".into(), outcome.into())])
            .inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

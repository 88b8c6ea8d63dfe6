//! Counters for `/metrics` (Prometheus text format, prometheus-client). Shared by the stages
//! that count and the server that reports; counting is lock-free.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
        Metrics {
            registry,
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

//! What `[dedup]` configures: the time window and the similarity thresholds. Plain data,
//! defined here so that config sits below the stage it configures; [`crate::dedup`] uses them
//! (and re-exports them under its own name).

use chrono::Duration;

/// Tunables (`[dedup]` in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// How far apart two copies' publication times may be for a title or near match.
    pub window: Duration,
    pub thresholds: Thresholds,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window: Duration::hours(48),
            thresholds: Thresholds::default(),
        }
    }
}

/// Thresholds of the similarity layer (`[dedup]` in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Jaccard similarity of content words needed for a duplicate.
    pub threshold: f64,
    /// Content words two headlines must share at least.
    pub min_shared: usize,
    /// Content words a headline needs to take part at all.
    pub min_words: usize,
    /// Below `threshold` but at least this: "related" (reported, never merged).
    pub related: f64,
    /// With both summaries present: summary word similarity that, with `min_shared` shared
    /// headline words, makes a duplicate too (syndicated copy under a rewritten headline).
    pub summary_threshold: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            threshold: 0.5,
            min_shared: 3,
            min_words: 3,
            related: 0.3,
            summary_threshold: 0.6,
        }
    }
}

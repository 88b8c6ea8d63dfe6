//! The per-source feeds ([`SourceFeeds`]): picked with each snapshot, rendered on first request
//! and kept within a memory budget.

use std::collections::HashMap;
use std::hash::Hasher;

use siphasher::sip128::SipHasher13;

use super::document::{finish, with_hub, RSS_TYPE};
use super::meta::Meta;
use super::select::newest;
use super::{rss, Rendered, Settings};
use crate::model::Story;

/// The per-source feeds, rendered on first request and kept for the snapshot's life. Rendering
/// them all with every snapshot would cost a daemon with thousands of sources thousands of
/// renders and compressions per change, for feeds few people read.
#[derive(Debug)]
pub struct SourceFeeds {
    /// The stories the snapshot read (newest first).
    stories: Vec<Story>,
    /// For each configured source, the indices in `stories` of the newest `max_items` it
    /// carried.
    picks: HashMap<String, Vec<usize>>,
    pub(super) rendered: std::sync::Mutex<SourceFeedCache>,
    /// [`SOURCE_FEEDS_BYTES`]; smaller in tests.
    pub(super) budget: usize,
}

/// The per-source feeds rendered so far, within [`SOURCE_FEEDS_BYTES`].
#[derive(Debug, Default)]
pub(super) struct SourceFeedCache {
    pub(super) docs: HashMap<String, std::sync::Arc<Rendered>>,
    pub(super) bytes: usize,
}

/// How much memory rendered per-source feeds ([`Rendered::memory`]) one snapshot keeps.
/// Without a bound, anyone fetching every `/sources/NAME.xml` of a 10,000-source daemon would
/// make it hold every one of those feeds until the next change; beyond the bound a feed is
/// rendered again when asked (milliseconds).
const SOURCE_FEEDS_BYTES: usize = 8 << 20;

impl SourceFeeds {
    pub(super) fn new(stories: &[Story], settings: &Settings) -> SourceFeeds {
        let mut picks: HashMap<String, Vec<usize>> = settings
            .source_tags
            .keys()
            .map(|name| (name.clone(), Vec::new()))
            .collect();
        // One pass over the stories rather than one per source.
        for (i, story) in stories.iter().enumerate() {
            let mut seen: Vec<&str> = Vec::new();
            for copy in &story.copies {
                if seen.contains(&copy.source.as_str()) {
                    continue;
                }
                seen.push(&copy.source);
                if let Some(list) = picks.get_mut(&copy.source) {
                    if list.len() < settings.max_items {
                        list.push(i);
                    }
                }
            }
        }
        SourceFeeds {
            stories: stories.to_vec(),
            picks,
            rendered: std::sync::Mutex::new(SourceFeedCache::default()),
            budget: SOURCE_FEEDS_BYTES,
        }
    }

    /// The feed of the source named `name`, or `None` if no such source is configured.
    pub fn get(&self, name: &str, settings: &Settings) -> Option<std::sync::Arc<Rendered>> {
        let picks = self.picks.get(name)?;
        // A poisoned lock only means another request panicked mid-insert; the map is still a
        // valid cache.
        let mut cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(doc) = cache.docs.get(name) {
            return Some(doc.clone());
        }
        let selected: Vec<&Story> = picks.iter().map(|&i| &self.stories[i]).collect();
        let meta = Meta::source(settings, name);
        let updated = newest(&selected);
        let body = rss::render(&selected, settings, &meta, updated);
        let doc = std::sync::Arc::new(with_hub(
            finish(body, updated, RSS_TYPE, settings),
            settings,
            &meta.rss,
        ));
        let size = doc.memory();
        while cache.bytes + size > self.budget {
            // Any one: which feeds are asked for again is not known, and all are cheap.
            let Some(evict) = cache.docs.keys().next().cloned() else {
                break;
            };
            if let Some(old) = cache.docs.remove(&evict) {
                cache.bytes -= old.memory();
            }
        }
        if size <= self.budget {
            cache.bytes += size;
            cache.docs.insert(name.to_string(), doc.clone());
        }
        Some(doc)
    }

    /// Each source's feed as (public URL, version), without rendering it: the version is a
    /// hash of what the feed shows, so it changes exactly when the feed's content does.
    pub(super) fn topics<'a>(
        &'a self,
        settings: &'a Settings,
    ) -> impl Iterator<Item = (String, String)> + 'a {
        self.picks.iter().map(|(name, picks)| {
            let url = Meta::source(settings, name).rss;
            (url, format!("{:016x}", self.version(picks)))
        })
    }

    /// A hash of what a source's feed shows (each story's id and last change).
    fn version(&self, picks: &[usize]) -> u64 {
        let mut hasher = SipHasher13::new();
        for &i in picks {
            let story = &self.stories[i];
            hasher.write_u64(story.id.0);
            hasher.write_i64(story.updated.timestamp_micros());
        }
        hasher.finish()
    }
}

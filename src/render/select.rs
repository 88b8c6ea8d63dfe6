//! Story selection: which stories go in a document. [`Wanted`] tells the store's read when every
//! feed has what it needs; [`select`] and [`newest`] pick and date each feed's stories.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::item::tags_of;
use super::Settings;
use crate::model::Story;

/// Which stories a render needs, offered newest first: every story until the main feeds have
/// `max_items`, then only those a tag or source feed still lacks. Reading until [`Wanted`]
/// is satisfied fills a rare tag's feed from older stories instead of leaving it short; a
/// source's feed is filled from the stories read for those, so a quiet source without a tag
/// of its own may show fewer than `max_items`.
pub struct Wanted<'a> {
    settings: &'a Settings,
    main: usize,
    tags: HashMap<&'a str, usize>,
    sources: HashMap<&'a str, usize>,
}

impl<'a> Wanted<'a> {
    pub fn new(settings: &'a Settings) -> Wanted<'a> {
        Wanted {
            settings,
            main: 0,
            tags: settings
                .source_tags
                .values()
                .flatten()
                .map(|t| (t.as_str(), 0))
                .collect(),
            sources: settings
                .source_tags
                .keys()
                .map(|s| (s.as_str(), 0))
                .collect(),
        }
    }

    /// Whether `story` (older than every story offered before) goes into some feed, and
    /// whether any feed still has room.
    pub fn offer(&mut self, story: &Story) -> crate::store::Offer {
        let max = self.settings.max_items;
        let mut keep = false;
        let mut count = |n: &mut usize| {
            if *n < max {
                *n += 1;
                keep = true;
            }
        };
        count(&mut self.main);
        for tag in tags_of(story, self.settings) {
            if let Some(n) = self.tags.get_mut(tag) {
                count(n);
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for copy in &story.copies {
            if seen.contains(&copy.source.as_str()) {
                continue;
            }
            seen.push(&copy.source);
            if let Some(n) = self.sources.get_mut(copy.source.as_str()) {
                count(n);
            }
        }
        // Per-source feeds take what the main and tag feeds read but do not prolong the read:
        // with thousands of sources some never fill, and every render would read the store's
        // whole scan limit for them.
        let more = self.main < max || self.tags.values().any(|n| *n < max);
        crate::store::Offer { keep, more }
    }
}

pub(super) fn select<'a>(
    stories: &'a [Story],
    settings: &Settings,
    keep: impl Fn(&Story) -> bool,
) -> Vec<&'a Story> {
    stories
        .iter()
        .filter(|s| keep(s))
        .take(settings.max_items)
        .collect()
}

/// When the newest of `stories` last changed. An empty feed has never changed: a fixed date
/// keeps its bytes, and so its ETag, the same on every render (the clock would change them and
/// ping WebSub subscribers for nothing). Atom requires one; [`EMPTY_FEED_DATE`] is one that
/// validators take as plausible.
pub(super) fn newest(stories: &[&Story]) -> DateTime<Utc> {
    stories
        .iter()
        .map(|s| s.updated)
        .max()
        .unwrap_or(EMPTY_FEED_DATE)
}

/// The date of a feed with no stories: 2000-01-01T00:00:00Z. Not the Unix epoch, which the W3C
/// validator reports as implausible (it takes any date before 1990 for a mistake).
pub(super) const EMPTY_FEED_DATE: DateTime<Utc> = match DateTime::from_timestamp(946_684_800, 0) {
    Some(t) => t,
    None => DateTime::UNIX_EPOCH,
};

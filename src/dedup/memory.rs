//! An [`Index`] held in memory: what `feedmerge pairs` runs the daemon's decision against, and
//! what the unit tests pin the rules with. Small by design (it scans), never the daemon's index.

use std::collections::HashMap;
use std::convert::Infallible;
use std::ops::RangeInclusive;

use super::{day, Brief, Candidate, Index, Sketch};
use crate::model::{EntryKey, Story, StoryId};

/// Stories and their keys, in memory.
#[derive(Debug, Default)]
pub struct Memory {
    entries: HashMap<EntryKey, StoryId>,
    urls: HashMap<String, StoryId>,
    titles: HashMap<String, StoryId>,
    stories: HashMap<StoryId, Story>,
}

impl Memory {
    /// Stores `story` with the keys of its founding entry.
    pub fn insert(&mut self, story: Story, url_key: Option<&str>, title_key: Option<&str>) {
        for copy in &story.copies {
            self.entries.insert(copy.entry.clone(), story.id);
        }
        if let Some(u) = url_key {
            self.urls.entry(u.to_string()).or_insert(story.id);
        }
        if let Some(t) = title_key {
            self.titles.entry(t.to_string()).or_insert(story.id);
        }
        self.stories.insert(story.id, story);
    }

    pub fn story_mut(&mut self, id: StoryId) -> Option<&mut Story> {
        self.stories.get_mut(&id)
    }
}

impl Index for Memory {
    type Error = Infallible;

    fn story_of_entry(&self, key: &EntryKey) -> Result<Option<StoryId>, Infallible> {
        Ok(self.entries.get(key).copied())
    }

    fn story_of_url(&self, url_key: &str) -> Result<Option<StoryId>, Infallible> {
        Ok(self.urls.get(url_key).copied())
    }

    fn story_of_title(
        &self,
        title_key: &str,
        _days: RangeInclusive<i64>,
    ) -> Result<Option<StoryId>, Infallible> {
        Ok(self.titles.get(title_key).copied())
    }

    fn sketch(&self, id: StoryId) -> Result<Option<Sketch>, Infallible> {
        Ok(self.stories.get(&id).map(Sketch::of))
    }

    fn candidates(
        &self,
        words: &[String],
        days: RangeInclusive<i64>,
    ) -> Result<Vec<Candidate>, Infallible> {
        let mut found: Vec<Candidate> = self
            .stories
            .values()
            .filter(|s| days.contains(&day(s.published)))
            .filter_map(|s| {
                let shared = s
                    .signature
                    .words
                    .iter()
                    .filter(|w| words.contains(w))
                    .count();
                (shared > 0).then(|| Candidate {
                    id: s.id,
                    shared,
                    uncounted: 0,
                    brief: Some(Brief::of(&s.signature)),
                })
            })
            .collect();
        found.sort_by(|a, b| b.shared.cmp(&a.shared).then(a.id.cmp(&b.id)));
        Ok(found)
    }
}

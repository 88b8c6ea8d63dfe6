//! Stage 4: decide whether an entry is new, already seen, or another copy of a stored story.
//!
//! Pure decision, no I/O of its own: it reads through the [`Index`] it is given (the store's
//! pending transaction), so every decision sees the ones made before it in the same batch.
//! Layers, first hit wins:
//!
//! 1. **entry key**: the same item of the same source, on every poll ([`Decision::Seen`]);
//! 2. **canonical URL**: the same article under a new GUID, or linked from another source;
//! 3. **normalized title**: the same specific headline from another source, within
//!    [`Settings::title_window`] of the story, and only if that source has no copy yet
//!    (a source that repeats a headline with a different link may mean a different story).
//!
//! Two different stories must never merge, so each layer only matches on an exact key and
//! the title layer only on titles long enough to be specific (see [`crate::normalize::title`]).

use chrono::Duration;

use crate::model::{Entry, EntryKey, Layer, Story, StoryId};

/// Read access to what is already stored.
pub trait Index {
    type Error;
    fn story_of_entry(&self, key: &EntryKey) -> Result<Option<StoryId>, Self::Error>;
    fn story_of_url(&self, url_key: &str) -> Result<Option<StoryId>, Self::Error>;
    fn story_of_title(&self, title_key: &str) -> Result<Option<StoryId>, Self::Error>;
    fn story(&self, id: StoryId) -> Result<Option<Story>, Self::Error>;
}

/// What to do with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// This very entry is stored already (it may have been edited since).
    Seen(StoryId),
    /// Another copy of `story`, matched by `layer`. When the entry also matches a second story
    /// by title (the two were started by copies that share neither link nor source), that
    /// story is `absorb`ed: the entry proves both are one.
    Join {
        story: StoryId,
        layer: Layer,
        absorb: Option<StoryId>,
    },
    /// A story we have not seen.
    New,
}

/// Tunables of the exact layers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How far apart two copies' publication times may be for a title match.
    pub title_window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            title_window: Duration::hours(48),
        }
    }
}

/// Decides what `entry` is, given what `index` holds.
pub fn decide<I: Index>(
    entry: &Entry,
    index: &I,
    settings: &Settings,
) -> Result<Decision, I::Error> {
    if let Some(id) = index.story_of_entry(&entry.key)? {
        return Ok(Decision::Seen(id));
    }
    let by_title = match &entry.title_key {
        Some(key) => title_match(entry, key, index, settings)?,
        None => None,
    };
    if let Some(url_key) = &entry.url_key {
        if let Some(id) = index.story_of_url(url_key)? {
            if let Some(story) = index.story(id)? {
                let absorb = by_title
                    .filter(|other| other.id != story.id && disjoint_sources(&story, other))
                    .map(|other| other.id);
                return Ok(Decision::Join {
                    story: id,
                    layer: Layer::Url,
                    absorb,
                });
            }
        }
    }
    if let Some(story) = by_title {
        return Ok(Decision::Join {
            story: story.id,
            layer: Layer::Title,
            absorb: None,
        });
    }
    Ok(Decision::New)
}

/// The story whose headline `entry` repeats, if the match passes the guards: close enough in
/// time, and from a source that has no copy in that story yet.
fn title_match<I: Index>(
    entry: &Entry,
    title_key: &str,
    index: &I,
    settings: &Settings,
) -> Result<Option<Story>, I::Error> {
    let Some(id) = index.story_of_title(title_key)? else {
        return Ok(None);
    };
    let Some(story) = index.story(id)? else {
        return Ok(None);
    };
    let close = (story.published - entry.published).abs() <= settings.title_window;
    let new_source = story
        .copies
        .iter()
        .all(|c| c.source_url != entry.source_url);
    Ok((close && new_source).then_some(story))
}

/// Two stories can be one only if no source carried both: a source that published two items
/// told us they are different.
fn disjoint_sources(a: &Story, b: &Story) -> bool {
    a.copies
        .iter()
        .all(|ca| b.copies.iter().all(|cb| ca.source_url != cb.source_url))
}

/// Drops the URL key of entries whose link is shared, within one fetch, by items with different
/// titles: such a feed links every item to one page (a section front, a live blog), and the link
/// says nothing about which story an item is.
pub fn distrust_shared_links(entries: &mut [Entry]) {
    use std::collections::HashMap;
    let mut titles: HashMap<&str, &str> = HashMap::new();
    let mut shared: Vec<String> = Vec::new();
    for e in entries.iter() {
        if let Some(u) = e.url_key.as_deref() {
            match titles.get(u) {
                Some(t) if *t != e.title.as_str() => shared.push(u.to_string()),
                Some(_) => {}
                None => {
                    titles.insert(u, &e.title);
                }
            }
        }
    }
    if shared.is_empty() {
        return;
    }
    for e in entries.iter_mut() {
        if e.url_key.as_ref().is_some_and(|u| shared.contains(u)) {
            e.url_key = None;
        }
    }
}

#[cfg(test)]
mod tests;

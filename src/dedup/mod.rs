//! Stage 4: decide whether an entry is new, already seen, or another copy of a stored story.
//!
//! Pure decision, no I/O of its own: it reads through the [`Index`] it is given (the store's
//! pending transaction), so every decision sees the ones made before it in the same batch.
//! Layers, first hit wins:
//!
//! 1. **entry key**: the same item of the same source, on every poll ([`Decision::Seen`]);
//! 2. **canonical URL**: the same article under a new GUID, or linked from another source;
//! 3. **normalized title**: the same specific headline, wire furniture ("UPDATE 2-") and the
//!    outlet's name aside;
//! 4. **near duplicate**: a reworded headline whose content words overlap enough with the
//!    story's *founding* copy and that passes every guard ([`similar`]).
//!
//! Layers 3 and 4 only match within [`Settings::window`] of the story. They match a source's
//! own earlier copy too, within [`SAME_OUTLET_WINDOW`]: outlets repeat themselves (a wire
//! re-issues a story as "UPDATE 3-", a site files one article in two sections under two
//! links), and the guards that keep two different stories apart do not depend on who published
//! them. Generic headlines ("Morning briefing") have no title key and never reach the near
//! layer, and a daily series is a day apart, so a series stays apart. Layer 4 compares the
//! [`Signature`]s normalize gave each entry; it does not read headlines itself.

mod brief;
mod memory;
pub mod postings;
mod similar;

use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, Utc};

use crate::model::{Entry, EntryKey, Layer, Story, StoryId};

pub use crate::config::dedup::{Settings, Thresholds};
pub use crate::model::Signature;
pub use brief::Brief;
pub use memory::Memory;
pub use postings::Postings;
pub use similar::{compare, Verdict};

/// Read access to what is already stored.
pub trait Index {
    type Error;
    fn story_of_entry(&self, key: &EntryKey) -> Result<Option<StoryId>, Self::Error>;
    fn story_of_url(&self, url_key: &str) -> Result<Option<StoryId>, Self::Error>;
    /// The story a headline was claimed for on any of `days`.
    fn story_of_title(
        &self,
        title_key: &str,
        days: RangeInclusive<i64>,
    ) -> Result<Option<StoryId>, Self::Error>;
    /// What dedup needs to know of a stored story (not its text).
    fn sketch(&self, id: StoryId) -> Result<Option<Sketch>, Self::Error>;
    /// Stories founded on `days` whose founding headline has any of `words`, with how many of
    /// them, most first (ties: lowest id first). Bounded: lists hold at most
    /// [`postings::POSTINGS_CAP`] stories per word and day. Only the first [`MAX_CANDIDATES`]
    /// are looked at, so an index may return no more.
    fn candidates(
        &self,
        words: &[String],
        days: RangeInclusive<i64>,
    ) -> Result<Vec<Candidate>, Self::Error>;
}

/// A story the near layer may have to verify.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: StoryId,
    /// How many of the entry's headline words its founding headline has, as counted.
    pub shared: usize,
    /// How many more it may have: a list at its cap may have dropped the story
    /// ([`postings::POSTINGS_CAP`]).
    pub uncounted: usize,
    /// Its founding signature in brief, when the index has it: with it, a candidate that could
    /// never be a duplicate is not read.
    pub brief: Option<Brief>,
}

/// A stored story as dedup sees it: when it was first reported, by which sources, and its
/// founding copy's signature. Kept beside the story so that deciding never loads story text.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sketch {
    pub id: StoryId,
    pub published: DateTime<Utc>,
    /// Feed URLs of the sources with a copy.
    pub sources: Vec<String>,
    pub signature: Signature,
}

impl Sketch {
    pub fn of(story: &Story) -> Sketch {
        let mut sources: Vec<String> = Vec::new();
        for c in &story.copies {
            if !sources.contains(&c.source_url) {
                sources.push(c.source_url.clone());
            }
        }
        Sketch {
            id: story.id,
            published: story.published,
            sources,
            signature: story.signature.clone(),
        }
    }
}

/// What to do with an entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// This very entry is stored already (it may have been edited since).
    Seen(StoryId),
    /// Another copy of `story`, matched by `layer` for `reason`. When the entry also matches a
    /// second story by title (the two were started by copies that share neither link nor
    /// source), that story is `absorb`ed: the entry proves both are one.
    Join {
        story: StoryId,
        layer: Layer,
        absorb: Option<StoryId>,
        score: Option<f64>,
        reason: String,
    },
    /// A story we have not seen.
    New,
}

/// How many candidate stories the near layer verifies at most: the store's index returns no
/// more than these. Enough that the story an entry belongs to is not crowded out by others
/// sharing as many words (a day of one big story founds dozens of stories on its names): with
/// 8, the UCI sample kept 60-120 founder pairs apart that the near layer calls duplicates,
/// depending on poll order (`bench/dedup_order.py`). Most candidates are ruled out by their
/// brief in memory, without a read.
pub const MAX_CANDIDATES: usize = 64;

/// The day number a time falls on (days since 1970), as the near-duplicate index buckets it.
pub fn day(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(86_400)
}

/// Index keys are bucketed by day: a window of 48 h reaches two days either side.
fn window_days(settings: &Settings) -> i64 {
    (settings.window.num_seconds() + 86_399) / 86_400
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
        Some(key) if !entry.signature.generic => title_match(entry, key, index, settings)?,
        _ => None,
    };
    if let Some(url_key) = &entry.url_key {
        if let Some(id) = index.story_of_url(url_key)? {
            if let Some(story) = index.sketch(id)? {
                let absorb = by_title
                    .filter(|other| other.id != story.id && disjoint_sources(&story, other))
                    .map(|other| other.id);
                return Ok(Decision::Join {
                    story: id,
                    layer: Layer::Url,
                    absorb,
                    score: None,
                    reason: "same canonical URL".into(),
                });
            }
        }
    }
    if let Some(story) = by_title {
        return Ok(Decision::Join {
            story: story.id,
            layer: Layer::Title,
            absorb: None,
            score: None,
            reason: title_reason(entry, &story),
        });
    }
    near_match(entry, index, settings)
}

/// The near-duplicate layer: candidates from the index, each verified against its founding
/// copy's signature with every guard.
fn near_match<I: Index>(
    entry: &Entry,
    index: &I,
    settings: &Settings,
) -> Result<Decision, I::Error> {
    let sig = &entry.signature;
    if sig.generic || sig.words.len() < settings.thresholds.min_words {
        return Ok(Decision::New);
    }
    let reach = window_days(settings);
    let today = day(entry.published);
    let found = index.candidates(&sig.words, today - reach..=today + reach)?;
    let mut query_brief = None;
    for Candidate {
        id,
        shared,
        uncounted,
        brief,
    } in found.into_iter().take(MAX_CANDIDATES)
    {
        // Most shared words first: once one cannot pass, none after it can, and their
        // sketches are not read.
        if !settings.thresholds.may_join(sig, shared) {
            break;
        }
        if let Some(brief) = brief {
            let query_brief = query_brief.get_or_insert_with(|| Brief::of(sig));
            if !settings
                .thresholds
                .may_join_brief(sig, query_brief, shared + uncounted, &brief)
            {
                continue;
            }
        }
        let Some(story) = index.sketch(id)? else {
            continue;
        };
        if !close(entry, &story, settings) {
            continue;
        }
        if let Verdict::Duplicate { score, reason } =
            compare(sig, &story.signature, &settings.thresholds)
        {
            let reason = if same_outlet(entry, &story) {
                format!("same outlet, reworded: {reason}")
            } else {
                reason
            };
            return Ok(Decision::Join {
                story: id,
                layer: Layer::Near,
                absorb: None,
                score: Some(score),
                reason,
            });
        }
    }
    Ok(Decision::New)
}

/// How far a source's repeat of its own story may lie from that story's first report. Shorter
/// than the window: an outlet that runs one specific headline every day ("Stock market today:
/// Dow, S&P 500 and Nasdaq futures") runs a series of different stories a day apart, while a
/// re-issue or a second filing of one article comes within hours.
pub const SAME_OUTLET_WINDOW: Duration = Duration::hours(12);

/// Whether `entry` was published close enough to `story`'s first report to join it: within
/// the window, or [`SAME_OUTLET_WINDOW`] for a source's repeat of its own story.
fn close(entry: &Entry, story: &Sketch, settings: &Settings) -> bool {
    let window = if same_outlet(entry, story) {
        settings.window.min(SAME_OUTLET_WINDOW)
    } else {
        settings.window
    };
    (story.published - entry.published).abs() <= window
}

/// Whether `entry`'s source already has a copy in `story`.
fn same_outlet(entry: &Entry, story: &Sketch) -> bool {
    story.sources.contains(&entry.source_url)
}

/// Why a title match joined, in the words `explain` shows.
fn title_reason(entry: &Entry, story: &Sketch) -> String {
    let reissued = crate::normalize::title::strip_wire_prefix(&entry.title) != entry.title;
    match (same_outlet(entry, story), reissued) {
        (true, true) => "same outlet, wire re-issue".into(),
        (true, false) => "same outlet, same headline".into(),
        (false, true) => "same headline, wire re-issue".into(),
        (false, false) => "same headline".into(),
    }
}

/// The story whose headline `entry` repeats, if it was first reported close enough in time.
fn title_match<I: Index>(
    entry: &Entry,
    title_key: &str,
    index: &I,
    settings: &Settings,
) -> Result<Option<Sketch>, I::Error> {
    let today = day(entry.published);
    let reach = window_days(settings);
    let Some(id) = index.story_of_title(title_key, today - reach..=today + reach)? else {
        return Ok(None);
    };
    let Some(story) = index.sketch(id)? else {
        return Ok(None);
    };
    Ok(close(entry, &story, settings).then_some(story))
}

/// Two stories can be one only if no source carried both: a source that published two items
/// told us they are different.
fn disjoint_sources(a: &Sketch, b: &Sketch) -> bool {
    a.sources.iter().all(|s| !b.sources.contains(s))
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

//! Applying one poll to the store: each entry is filtered, given its story by
//! [`dedup::decide`], and written with the keys that let later copies find that story, all in
//! one [`Txn`]. The rule for which keys an entry claims ([`claim`]) lives here, and `import`
//! uses it too, so a restored story is found exactly as a polled one is.

use chrono::{DateTime, Utc};

use crate::dedup::{self, Decision, Index};
use crate::model::{Copy, Entry, EntryKey, Layer, Story, StoryId};
use crate::render::sanitize;
use crate::store::{EntryRecord, PollState, Store, StoreError, Txn};

use super::{Ingested, Settings};

/// Applies one poll to the store (not flushed). Public for tests and the benchmarks.
pub fn apply(
    store: &Store,
    source_url: &str,
    mut entries: Vec<Entry>,
    state: &PollState,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Ingested, StoreError> {
    dedup::distrust_shared_links(&mut entries);
    // Oldest first, so that within one fetch the earliest copy of a story leads it.
    entries.sort_by_key(|e| e.published);
    let started = std::time::Instant::now();
    let mut txn = store.begin();
    let mut done = Ingested::default();
    for entry in &entries {
        apply_entry(&mut txn, entry, settings, now, &mut done)?;
    }
    // The store keeps the running counts: the poller's copy of the state does not have them.
    let mut state = state.clone();
    let stored = txn.poll_state(source_url)?.unwrap_or_default();
    state.entries_seen = stored.entries_seen + entries.len() as u64;
    state.stories_led = stored.stories_led + done.new_stories as u64;
    txn.set_poll_state(source_url, &state);
    done.timing.reading = txn.read_time();
    let committed = std::time::Instant::now();
    txn.commit()?;
    done.timing.committing = committed.elapsed();
    done.timing.total = started.elapsed();
    Ok(done)
}

/// One entry: dropped if retention or a filter says so, else decided and written.
fn apply_entry(
    txn: &mut Txn<'_>,
    entry: &Entry,
    settings: &Settings,
    now: DateTime<Utc>,
    done: &mut Ingested,
) -> Result<(), StoreError> {
    let expired_before = settings.retention.max_age.map(|age| now - age);
    if expired_before.is_some_and(|t| entry.published < t) {
        // Older than retention keeps stories: storing it would only bring back what
        // retention removed.
        done.expired += 1;
        return Ok(());
    }
    if !settings.filters.is_empty() && txn.story_of_entry(&entry.key)?.is_none() {
        // Filters decide what becomes a story; what already is one stays (a filter added
        // later applies to new entries only).
        if let Err(dropped) = settings.filters.check(entry, now) {
            txn.record_dropped(entry, &dropped.rule, now)?;
            done.filtered.push(dropped.rule);
            return Ok(());
        }
    }
    let (decided, read_before) = (std::time::Instant::now(), txn.read_time());
    let decision = dedup::decide(entry, &*txn, &settings.dedup)?;
    done.timing.deciding += decided
        .elapsed()
        .saturating_sub(txn.read_time().saturating_sub(read_before));
    match decision {
        Decision::Seen(id) => {
            done.seen += 1;
            apply_seen(txn, entry, id, now, done)
        }
        Decision::Join {
            story,
            layer,
            absorb,
            score,
            reason,
        } => {
            let copy = Copy::of(entry, layer, score, reason);
            apply_join(txn, entry, copy, story, absorb, now, done)
        }
        Decision::New => {
            let story =
                Story::founded_by(txn.new_story_id(&entry.key, entry.published)?, entry, now);
            txn.insert_story(&story)?;
            txn.index_story(story.id, &entry.signature, dedup::day(entry.published));
            record(txn, &Keys::of(entry), story.id, now, content_hash(entry))?;
            done.new_stories += 1;
            Ok(())
        }
    }
}

/// An entry is another copy of story `id`: it joins it (after `absorb`, a second story it
/// showed to be the same one, is merged into it) and claims its keys for it.
fn apply_join(
    txn: &mut Txn<'_>,
    entry: &Entry,
    copy: Copy,
    id: StoryId,
    absorb: Option<StoryId>,
    now: DateTime<Utc>,
    done: &mut Ingested,
) -> Result<(), StoreError> {
    let Some(mut story) = txn.story(id)? else {
        return Ok(());
    };
    let old_published = story.published;
    if let Some(other) = absorb.map(|o| txn.story(o)).transpose()?.flatten() {
        txn.remove_story(&other, story.id);
        merge(&mut story, other, entry, now);
        done.merged += 1;
    }
    if story
        .copies
        .iter()
        .any(|c| c.source_url == entry.source_url)
    {
        done.same_outlet += 1;
    }
    done.joined_by.push(copy.joined_by);
    join(&mut story, copy, entry, now);
    txn.update_story(old_published, &story)?;
    record(txn, &Keys::of(entry), story.id, now, content_hash(entry))?;
    done.joined += 1;
    Ok(())
}

/// An entry already stored came again: if its text changed since, carry the edit over to its
/// story and remember the new content hash.
fn apply_seen(
    txn: &mut Txn<'_>,
    entry: &Entry,
    id: StoryId,
    now: DateTime<Utc>,
    done: &mut Ingested,
) -> Result<(), StoreError> {
    let hash = content_hash(entry);
    let Some(mut record) = txn.entry_record(&entry.key)? else {
        return Ok(());
    };
    if record.fingerprint == hash {
        return Ok(());
    }
    if let Some(mut story) = txn.story(id)? {
        let old_published = story.published;
        if refresh_copy(&mut story, entry, now) {
            txn.update_story(old_published, &story)?;
            claim(txn, &Keys::of(entry), story.id)?;
            done.updated += 1;
        }
    }
    record.fingerprint = hash;
    txn.insert_entry(&entry.key, &record)
}

/// The keys by which a later copy of a story finds it: the entry's own key, the canonical form
/// of its link, and its headline on the day it was published.
pub(super) struct Keys<'a> {
    pub entry: &'a EntryKey,
    pub url_key: Option<&'a str>,
    pub title_key: Option<&'a str>,
    pub published: DateTime<Utc>,
}

impl<'a> Keys<'a> {
    fn of(entry: &'a Entry) -> Keys<'a> {
        Keys {
            entry: &entry.key,
            url_key: entry.url_key.as_deref(),
            title_key: entry.title_key.as_deref(),
            published: entry.published,
        }
    }
}

/// Records an entry as a copy of `story`, first seen at `first_seen`, with the hash of its
/// content, and claims its link and headline for the story.
pub(super) fn record(
    txn: &mut Txn<'_>,
    keys: &Keys<'_>,
    story: StoryId,
    first_seen: DateTime<Utc>,
    content_hash: u64,
) -> Result<(), StoreError> {
    txn.insert_entry(
        keys.entry,
        &EntryRecord {
            story,
            first_seen,
            fingerprint: content_hash,
        },
    )?;
    claim(txn, keys, story)
}

/// Points the link and headline keys at `story`, unless they already point at a story (the
/// first story to claim a key keeps it).
pub(super) fn claim(txn: &mut Txn<'_>, keys: &Keys<'_>, story: StoryId) -> Result<(), StoreError> {
    if let Some(u) = keys.url_key {
        txn.claim_url(u, story)?;
    }
    if let Some(t) = keys.title_key {
        txn.claim_title(t, dedup::day(keys.published), story)?;
    }
    Ok(())
}

/// A stable hash of what an edit can change: an entry that comes again with the same hash is
/// unchanged, and costs one read instead of a story load.
fn content_hash(entry: &Entry) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0x0000_6669_6e67_6572, 0x0070_7269_6e74);
    for part in [
        Some(entry.title.as_str()),
        entry.link.as_deref(),
        entry.summary.as_deref(),
        entry.content.as_deref(),
    ] {
        h.write(part.unwrap_or("").as_bytes());
        h.write(&[0]);
    }
    h.finish()
}

/// Makes `entry`'s text the story's. The story keeps its id, so its GUID does not change.
fn lead(story: &mut Story, entry: &Entry) {
    story.title = entry.title.clone();
    story.link = entry.link.clone();
    story.summary = entry.summary.clone();
    story.content = entry.content.clone();
    story.html_base = entry.html_base.clone();
    story.authors = entry.authors.clone();
    story.enclosures = entry.enclosures.clone();
}

/// The story is placed in the feed by its first report, whoever leads it.
fn first_reported(story: &Story) -> DateTime<Utc> {
    story
        .copies
        .iter()
        .map(|c| c.published)
        .min()
        .unwrap_or(story.published)
}

/// Adds a copy; if it leads now (a higher-priority source, or an earlier copy), its text
/// becomes the story's.
fn join(story: &mut Story, copy: Copy, entry: &Entry, now: DateTime<Utc>) {
    story.copies.push(copy);
    story.order_copies();
    if story.copies[0].entry == entry.key {
        lead(story, entry);
    }
    story.published = first_reported(story);
    story.updated = now;
    story.changed = Some(now);
}

/// Moves every copy of `other` into `story`; the copy that ranks first leads. `bridge` is the
/// entry that showed the two are one.
fn merge(story: &mut Story, other: Story, bridge: &Entry, now: DateTime<Utc>) {
    let other_leader = other.copies.first().map(|c| c.entry.clone());
    // The absorbed story's first copy joins by the title match that bridged the two, and says
    // which story it came from and what joined them.
    let reason = format!(
        "merged: story {} (\"{}\") met this one when {}'s \"{}\" had this story's link and \
         that story's headline",
        other.id, other.title, bridge.source, bridge.title
    );
    story.copies.extend(other.copies.into_iter().map(|mut c| {
        if c.joined_by == Layer::First {
            c.joined_by = Layer::Title;
            c.reason = reason.clone();
        }
        c
    }));
    story.order_copies();
    if story.copies.first().map(|c| &c.entry) == other_leader.as_ref() {
        story.title = other.title;
        story.link = other.link;
        story.summary = other.summary;
        story.content = other.content;
        story.html_base = other.html_base;
        story.authors = other.authors;
    }
    story.published = first_reported(story);
    story.updated = now;
    story.changed = Some(now);
}

/// Whether the entry's HTML reads differently from its story's. Stories stored by older
/// versions hold their HTML sanitized and entries now carry it as the feed gave it, so the two
/// strings differ for every such story's first poll after an upgrade although nothing was
/// edited: they are compared as published (sanitized), so that no reader sees every story
/// re-dated. Sanitizing runs only when the strings differ (an edit, or that first poll once).
fn html_changed(story: &Story, entry: &Entry) -> bool {
    if story.summary == entry.summary
        && story.content == entry.content
        && story.html_base == entry.html_base
    {
        return false;
    }
    let published = |html: &Option<String>, base: &Option<String>| {
        html.as_deref().map(|h| sanitize::html(h, base.as_deref()))
    };
    published(&story.summary, &story.html_base) != published(&entry.summary, &entry.html_base)
        || published(&story.content, &story.html_base)
            != published(&entry.content, &entry.html_base)
}

/// An already stored entry came again: carry over edits to its title, link or text. Returns
/// whether anything changed.
fn refresh_copy(story: &mut Story, entry: &Entry, now: DateTime<Utc>) -> bool {
    let Some(index) = story.copies.iter().position(|c| c.entry == entry.key) else {
        return false;
    };
    let copy = &mut story.copies[index];
    let copy_changed = copy.title != entry.title || copy.link != entry.link;
    copy.title = entry.title.clone();
    copy.link = entry.link.clone();
    let is_leader = index == 0;
    let text_changed = is_leader
        && (story.title != entry.title || story.link != entry.link || html_changed(story, entry));
    if is_leader && text_changed {
        // An edit changes the text, never the GUID or the place in the feed.
        lead(story, entry);
    }
    if copy_changed || text_changed {
        story.updated = now;
        story.changed = Some(now);
        true
    } else {
        false
    }
}

//! Stage 3: turn each parsed `feed_rs` entry into our [`Entry`]: plain-text title, HTML as
//! the feed gave it with the base its relative URLs resolve against, absolute and canonical
//! links, a publication time, and a stable [`EntryKey`].
//!
//! Pure: no I/O, no clock except the `now` passed in. HTML is not sanitized here but when a
//! story is published (`render::sanitize`): once per story change instead of once per entry
//! of every poll.

pub mod canonical_url;
pub mod enclosure;
pub mod lexicon;
mod signature;
pub mod strip;
pub mod text;
pub mod title;

use std::collections::HashSet;
use std::hash::Hasher;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry as FeedEntry, Feed};
use siphasher::sip128::{Hasher128, SipHasher13};
use url::Url;

use crate::config::Source;
use crate::model::{Entry, EntryKey};

pub use canonical_url::{canonical_url, url_key};

/// Normalizes every entry of `feed`, fetched for `source` from `base` (the URL after redirects).
/// Entries come out in feed order; keys are unique within the result.
pub fn normalize_feed(feed: &Feed, source: &Source, base: &Url, now: DateTime<Utc>) -> Vec<Entry> {
    let feed_title = feed
        .title
        .as_ref()
        .map(|t| text::plain_text(&t.content))
        .unwrap_or_default();
    let site_names = [source.name.as_str(), feed_title.as_str()];
    let undated = undated_time(feed, now);
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(feed.entries.len());
    for raw in &feed.entries {
        let mut entry = normalize_entry(raw, source, base, &site_names, (now, undated));
        if !used.insert(entry.key.clone()) {
            // A feed that repeats one GUID for different items (it happens): tell them apart by
            // link and title rather than dropping all but the first.
            entry.key = entry_key(
                &source.url,
                &[
                    "dup",
                    &entry.key.0,
                    entry.url_key.as_deref().unwrap_or(""),
                    &entry.title,
                ],
            );
            if !used.insert(entry.key.clone()) {
                continue; // the very same item twice in one document
            }
        }
        out.push(entry);
    }
    out
}

fn normalize_entry(
    raw: &FeedEntry,
    source: &Source,
    base: &Url,
    site_names: &[&str],
    (now, undated): (DateTime<Utc>, DateTime<Utc>),
) -> Entry {
    let entry_base = raw
        .base
        .as_deref()
        .and_then(|b| base.join(b).ok())
        .unwrap_or_else(|| base.clone());
    let link = pick_link(raw, &entry_base);
    let url_key = link.as_ref().and_then(url_key);
    // Fields declared plain text that hold HTML (an Atom summary without `type`, a JSON Feed
    // `content_text` of tags) are read as HTML: readers would otherwise show the tags.
    let summary = raw.summary.as_ref().and_then(|t| {
        let plain = t.content_type.essence().to_string() == "text/plain";
        let html = text::feed_html(&t.content, plain);
        (!html.is_empty()).then_some(html)
    });
    let content = raw
        .content
        .as_ref()
        .and_then(|c| {
            let plain = c.content_type.essence().to_string() == "text/plain";
            c.body.as_deref().map(|body| (body, plain))
        })
        .map(|(body, plain)| text::feed_html(body, plain))
        .filter(|html| !html.is_empty());
    let (title, title_key) = headline(
        raw.title.as_ref().map(|t| t.content.as_str()),
        summary.as_deref().or(content.as_deref()),
        site_names,
    );
    let guid = Some(text::strip_control(raw.id.trim())).filter(|g| !g.is_empty());
    let published = entry_date(raw, now).map_or(undated, |t| t.min(now));
    let key = match (&guid, &url_key) {
        (Some(guid), _) => entry_key(&source.url, &["guid", guid]),
        (None, Some(u)) => entry_key(&source.url, &["url", u]),
        (None, None) => entry_key(
            &source.url,
            &[
                "text",
                &title::fold(&title),
                &raw.published.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ],
        ),
    };
    let signature = crate::model::Signature::of(&title, summary.as_deref().or(content.as_deref()));
    // Relative URLs in the HTML resolve against the entry's base when it is sanitized for
    // output; the base is kept beside the HTML rather than the URLs made absolute here, which
    // would mean parsing every entry's HTML (what sanitizing on output saves). Only HTML that
    // may hold a URL attribute needs it.
    let html_base = [&summary, &content]
        .into_iter()
        .flatten()
        .any(|html| text::may_hold_relative_urls(html))
        .then(|| entry_base.to_string());
    let authors = raw
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(text::plain_text))
        .filter(|n| !n.is_empty())
        .collect();
    Entry {
        key,
        source: source.name.clone(),
        source_url: source.url.to_string(),
        guid,
        title,
        link: link.map(|u| u.to_string()),
        url_key,
        title_key,
        summary,
        content,
        html_base,
        authors,
        categories: raw
            .categories
            .iter()
            .map(|c| text::plain_text(c.label.as_deref().unwrap_or(&c.term)))
            .filter(|c| !c.is_empty())
            .collect(),
        enclosures: enclosure::enclosures(raw, &entry_base),
        published,
        priority: source.priority,
        signature,
    }
}

/// How far ahead of now an entry's date may be and still be taken (clamped to now): clocks and
/// zones go wrong by hours, not by days.
const FUTURE_SLACK: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The entry's own date, if it has one that is not more than a day ahead.
pub fn entry_date(raw: &FeedEntry, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    raw.published
        .or(raw.updated)
        .filter(|t| *t <= now + FUTURE_SLACK)
}

/// The time given to an entry without a usable date, so that it does not outrank dated
/// stories (a years-old post stamped "now" would top the merged feed): a second before the
/// document's oldest dated entry, or the feed's own date (`lastBuildDate`, `pubDate`,
/// `updated`) when that is older or nothing in the document is dated; now when neither is
/// known. Applied on every poll, not only the first: which poll is a source's first is not
/// the document's to say, and a feed that dates some entries and not others gives no better
/// clue to when an undated one appeared.
fn undated_time(feed: &Feed, now: DateTime<Utc>) -> DateTime<Utc> {
    let feed_date = feed
        .updated
        .or(feed.published)
        .filter(|t| *t <= now + FUTURE_SLACK);
    let oldest = || {
        feed.entries
            .iter()
            .filter_map(|e| entry_date(e, now))
            .min()
            .map(|t| t.min(now) - chrono::TimeDelta::seconds(1))
    };
    let feed_date = feed_date.map(|t| t.min(now));
    match (feed_date, oldest()) {
        (Some(feed), Some(oldest)) => feed.min(oldest),
        (one, other) => one.or(other).unwrap_or(now),
    }
}

/// The headline as published (plain text, site suffix removed, or the start of the body when
/// there is none) and its exact-match key. Shared with `feedmerge pairs`.
pub fn headline(
    raw: Option<&str>,
    body: Option<&str>,
    site_names: &[&str],
) -> (String, Option<String>) {
    let title = raw
        .map(text::plain_text)
        .map(|t| title::strip_site_suffix(&t, site_names).to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| title_from_body(body));
    let key = title::title_key(&title, site_names);
    (title, key)
}

/// The entry's web page: the first `alternate` (or rel-less) link, resolved and canonicalized.
/// Only http(s) links are kept.
fn pick_link(raw: &FeedEntry, base: &Url) -> Option<Url> {
    let preferred = raw
        .links
        .iter()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .or_else(|| raw.links.first())?;
    let href = text::strip_control(preferred.href.trim());
    let url = base.join(&href).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| canonical_url(&url))
}

/// A title for an entry that has none: the start of its text.
fn title_from_body(html: Option<&str>) -> String {
    let text = html.map(text::plain_text).unwrap_or_default();
    if text.is_empty() {
        return "(untitled)".to_string();
    }
    let mut title = String::new();
    for word in text.split(' ') {
        if title.chars().count() + word.chars().count() > 80 {
            title.push('\u{2026}');
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    title
}

/// A stable hash of the source and the parts that identify the entry. SipHash-1-3 with fixed
/// keys: the same input gives the same key in every process and release, which persisted keys
/// need (std's `DefaultHasher` promises neither).
///
/// The key starts with a hash of the source alone, so one source's entries sit together in the
/// store: a poll's lookups touch a few pages instead of one page per entry.
fn entry_key(source_url: &Url, parts: &[&str]) -> EntryKey {
    let mut source = SipHasher13::new_with_keys(0x736f_7572_6365, 0x6b65_7973);
    source.write(source_url.as_str().as_bytes());
    let mut hasher = SipHasher13::new_with_keys(0x6665_6564_6d65_7267, 0x6520_656e_7472_7920);
    hasher.write(source_url.as_str().as_bytes());
    for part in parts {
        hasher.write(&[0]);
        hasher.write(part.as_bytes());
    }
    let h = hasher.finish128();
    EntryKey(format!(
        "{:08x}{:016x}{:016x}",
        source.finish() as u32,
        h.h1,
        h.h2
    ))
}

#[cfg(test)]
mod tests;

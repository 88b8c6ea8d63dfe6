//! Key layout of the `feedmerge` tree. One byte prefix per kind of record. Values marked
//! *compact* are written as the tag byte `0x01` and postcard (the fields in declaration
//! order); the others, and compact ones written by earlier versions, are JSON (`{...}`), and
//! both are read wherever they are found (see `super::decode`):
//!
//! | key                              | value                     |
//! |----------------------------------|---------------------------|
//! | `v`                              | layout version            |
//! | `e` entry key                    | [`super::txn::EntryRecord`], compact |
//! | `u` url key                      | story id (8 bytes BE)     |
//! | `t` day (8 BE) + title key       | story id (8 bytes BE)     |
//! | `s` story id (8 bytes BE)        | [`crate::model::Story`]   |
//! | `g` story id (8 bytes BE)        | [`crate::dedup::Sketch`]: what dedup reads of it, compact |
//! | `o` published (8 BE) + story id  | empty: newest-first order |
//! | `p` source URL                   | [`super::PollState`], compact |
//! | `x` url key (or `#` entry key)   | [`super::DropRecord`]: which filter dropped it |
//! | `m` story id (8 bytes BE)        | id of the story it was merged into |
//! | `w` day (8 BE) + word            | story ids (8 bytes BE each, newest last): near-duplicate index |

use chrono::{DateTime, Utc};

use crate::model::{EntryKey, StoryId};

pub const VERSION: &[u8] = b"v";
pub const ORDER_PREFIX: &[u8] = b"o";
pub const STORY_PREFIX: &[u8] = b"s";
pub const TITLE_PREFIX: &[u8] = b"t";
pub const DROPPED_PREFIX: &[u8] = b"x";

fn prefixed(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + rest.len());
    key.push(prefix);
    key.extend_from_slice(rest);
    key
}

pub fn entry(key: &EntryKey) -> Vec<u8> {
    prefixed(b'e', key.0.as_bytes())
}

pub fn url(url_key: &str) -> Vec<u8> {
    prefixed(b'u', url_key.as_bytes())
}

/// A headline claimed on `day`: keys of one day sit together, so the days a lookup reaches are
/// the only pages it touches, and old days can be pruned whole.
pub fn title(day: i64, title_key: &str) -> Vec<u8> {
    let d = (day as i128 - i64::MIN as i128) as u64;
    let mut key = Vec::with_capacity(9 + title_key.len());
    key.push(b't');
    key.extend_from_slice(&d.to_be_bytes());
    key.extend_from_slice(title_key.as_bytes());
    key
}

pub fn story(id: StoryId) -> Vec<u8> {
    prefixed(b's', &id.0.to_be_bytes())
}

/// Stories a posting list keeps, newest last: a word more common than that identifies nothing.
pub const POSTINGS_CAP: usize = 64;
pub const POSTING_PREFIX: &[u8] = b"w";

/// Posting list of `word` for stories founded on `day`. The day is offset like times in
/// [`order`] so that the keys sort by day.
pub fn posting(day: i64, word: &str) -> Vec<u8> {
    let mut key = postings_from(day);
    key.extend_from_slice(word.as_bytes());
    key
}

/// The first posting key of `day`: everything before it belongs to earlier days.
pub fn postings_from(day: i64) -> Vec<u8> {
    let d = (day as i128 - i64::MIN as i128) as u64;
    let mut key = Vec::with_capacity(24);
    key.extend_from_slice(POSTING_PREFIX);
    key.extend_from_slice(&d.to_be_bytes());
    key
}

pub fn merged(id: StoryId) -> Vec<u8> {
    prefixed(b'm', &id.0.to_be_bytes())
}

pub fn sketch(id: StoryId) -> Vec<u8> {
    prefixed(b'g', &id.0.to_be_bytes())
}

pub fn dropped(url_key: &str) -> Vec<u8> {
    prefixed(b'x', url_key.as_bytes())
}

pub fn poll_state(source_url: &str) -> Vec<u8> {
    prefixed(b'p', source_url.as_bytes())
}

/// Sorts by publication time, then id. The time is offset so that dates before 1970 still sort.
pub fn order(published: DateTime<Utc>, id: StoryId) -> Vec<u8> {
    let t = (published.timestamp() as i128 - i64::MIN as i128) as u64;
    let mut key = Vec::with_capacity(17);
    key.extend_from_slice(ORDER_PREFIX);
    key.extend_from_slice(&t.to_be_bytes());
    key.extend_from_slice(&id.0.to_be_bytes());
    key
}

pub fn story_in_order_key(key: &[u8]) -> Option<StoryId> {
    let bytes: [u8; 8] = key.get(9..17)?.try_into().ok()?;
    Some(StoryId(u64::from_be_bytes(bytes)))
}

pub fn story_id_value(id: StoryId) -> [u8; 8] {
    id.0.to_be_bytes()
}

pub fn story_id_from_value(value: &[u8]) -> Option<StoryId> {
    let bytes: [u8; 8] = value.try_into().ok()?;
    Some(StoryId(u64::from_be_bytes(bytes)))
}

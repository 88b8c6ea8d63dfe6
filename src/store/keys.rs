//! Key layout of the `feedmerge` tree. One byte prefix per kind of record. Values marked
//! *compact* are written as the tag byte `0x01` and postcard (the fields in declaration
//! order); the others, and compact ones written by earlier versions, are JSON (`{...}`), and
//! both are read wherever they are found (see `super::decode`):
//!
//! | key                              | value                     |
//! |----------------------------------|---------------------------|
//! | `v`                              | layout version            |
//! | `f` segment (4 BE) + entry key   | [`super::txn::EntryRecord`], compact; see [`super::entries`] |
//! | `e` entry key                    | the same, as stored before version 3; moved to `f` on open |
//! | `i` segment (4 BE)               | the key hashes of the segment's entry keys, 4 bytes BE each: what the entry index is read from at open |
//! | `u` url key                      | story id (8 bytes BE)     |
//! | `t` day (8 BE) + title key       | story id (8 bytes BE); pruned with the oldest story's day |
//! | `s` story id (8 bytes BE)        | [`crate::model::Story`]   |
//! | `g` story id (8 bytes BE)        | [`crate::dedup::Sketch`]: what dedup reads of it, compact |
//! | `o` published (8 BE) + story id  | empty: newest-first order |
//! | `p` source URL                   | [`super::PollState`], compact |
//! | `x` url key (or `#` entry key)   | [`super::DropRecord`]: which filter dropped it |
//! | `m` story id (8 bytes BE)        | id of the story it was merged into |
//! | `w` day (8 BE) + word            | no longer written (the near-duplicate index of earlier feedmerge); pruned |
//!
//! Story ids carry the day their founding copy was published in their top 20 bits
//! ([`story_id_day`]), so the sketches of one day's stories are one key range: that is what
//! the in-memory near-duplicate index ([`crate::dedup::Postings`]) is rebuilt from.

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

pub const ENTRY_PREFIX: &[u8] = b"f";
/// Entry records as versions before 3 stored them: `e` + entry key.
pub const OLD_ENTRY_PREFIX: &[u8] = b"e";

/// An entry record's key: the segment it was stored in, then the entry key.
pub fn entry(segment: u32, key: &EntryKey) -> Vec<u8> {
    entry_of_bytes(segment, key.0.as_bytes())
}

pub fn entry_of_bytes(segment: u32, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + key.len());
    out.extend_from_slice(ENTRY_PREFIX);
    out.extend_from_slice(&segment.to_be_bytes());
    out.extend_from_slice(key);
    out
}

pub const SEGMENT_PREFIX: &[u8] = b"i";

/// The key of a segment's key-hash list (see [`super::entries`]).
pub fn segment(segment: u32) -> Vec<u8> {
    prefixed(SEGMENT_PREFIX[0], &segment.to_be_bytes())
}

/// The segment a [`segment`] key was written for.
pub fn segment_in_key(key: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = key.get(1..5)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
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

/// The title key a [`title`] key was written for.
pub fn title_in_key(key: &[u8]) -> Option<&str> {
    key.get(9..).and_then(|t| std::str::from_utf8(t).ok())
}

pub fn story(id: StoryId) -> Vec<u8> {
    prefixed(b's', &id.0.to_be_bytes())
}

/// Keys of the near-duplicate index of earlier versions, pruned whole.
pub const POSTING_PREFIX: &[u8] = b"w";

/// The bits of a story id below its founding day: the hash of its leading entry.
pub const STORY_ID_LOW: u64 = (1 << 44) - 1;

/// The high bits of a story id founded on `day` (days since 1970, wrapping after 2,870 years).
pub fn story_id_day(day: i64) -> u64 {
    (day.rem_euclid(1 << 20) as u64) << STORY_ID_LOW.count_ones()
}

/// First and last sketch key of stories founded on `day`.
pub fn sketches_of_day(day: i64) -> (Vec<u8>, Vec<u8>) {
    let first = story_id_day(day);
    (
        sketch(StoryId(first)),
        sketch(StoryId(first | STORY_ID_LOW)),
    )
}

pub const MERGED_PREFIX: &[u8] = b"m";

pub fn merged(id: StoryId) -> Vec<u8> {
    prefixed(MERGED_PREFIX[0], &id.0.to_be_bytes())
}

/// The story a [`merged`] key was written for.
pub fn story_in_merged_key(key: &[u8]) -> Option<StoryId> {
    let bytes: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    Some(StoryId(u64::from_be_bytes(bytes)))
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

/// The time an order key was written for, to the second.
pub fn time_in_order_key(key: &[u8]) -> Option<DateTime<Utc>> {
    let bytes: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    let seconds = i64::try_from(u64::from_be_bytes(bytes) as i128 + i64::MIN as i128).ok()?;
    DateTime::from_timestamp(seconds, 0)
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

//! The sanitized HTML of recently published stories, so that a story is sanitized once per
//! change of its HTML rather than once per document and snapshot that shows it.
//!
//! Two generations: entries go into the current one; when it would pass half the budget, it
//! becomes the previous one (the older previous one is dropped whole), and a hit in the
//! previous one moves the entry back into the current. What every snapshot shows stays,
//! what no snapshot asked for in a generation goes, with no bookkeeping per lookup. Written
//! by hand: the caches on crates.io bound entries by count, not by the bytes they hold, or
//! bring their own threads and clocks for what is two hash maps here.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

use siphasher::sip128::{Hasher128, SipHasher13};

use crate::model::{Story, StoryId};

/// How much sanitized HTML ([`Sanitized::bytes`]) the cache holds at most, both generations
/// together. A snapshot shows the main feed's and each tag feed's `max_items` stories (100
/// each by default; farm stories carry about 2 KB of HTML), archive pages up to 1,000 stories
/// a day, and the per-source feeds asked for; 16 MiB holds several snapshots' worth, and is
/// what a busy daemon adds to its memory at most. Beyond it the least recently shown stories
/// are sanitized again when shown again (about 0.1 ms each).
pub(in crate::render) const CACHE_BYTES: usize = 16 << 20;

/// What an entry costs beyond its HTML: the key, the `Arc` and the map's slot.
const ENTRY_OVERHEAD: usize = 96;

/// A story's summary and content, sanitized.
#[derive(Debug, PartialEq, Eq)]
pub struct Sanitized {
    pub summary: Option<String>,
    pub content: Option<String>,
}

impl Sanitized {
    fn bytes(&self) -> usize {
        ENTRY_OVERHEAD
            + self.summary.as_ref().map_or(0, String::len)
            + self.content.as_ref().map_or(0, String::len)
    }
}

/// A story and a hash of what sanitizing reads (its summary, content and base): an edit makes
/// a new key, so a stale entry is never served, only left to age out. 128 bits, so no two
/// versions of a story's HTML share a key but by a chance of 2^-128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Key(StoryId, u128);

impl Key {
    pub(super) fn of(story: &Story) -> Key {
        let mut h = SipHasher13::new_with_keys(0x7361_6e69_7469_7a65, 0x6f75_7470_7574);
        for part in [&story.summary, &story.content, &story.html_base] {
            match part {
                Some(text) => {
                    h.write_u8(1);
                    h.write(text.as_bytes());
                    h.write_u8(0xff);
                }
                None => h.write_u8(0),
            }
        }
        let h = h.finish128();
        Key(story.id, (u128::from(h.h1) << 64) | u128::from(h.h2))
    }
}

/// See the module doc.
#[derive(Debug)]
pub(super) struct Cache {
    current: HashMap<Key, Arc<Sanitized>>,
    previous: HashMap<Key, Arc<Sanitized>>,
    /// Bytes in `current`.
    bytes: usize,
    /// Bytes one generation holds at most: half the budget.
    generation: usize,
}

impl Cache {
    pub(super) fn new(budget: usize) -> Cache {
        Cache {
            current: HashMap::new(),
            previous: HashMap::new(),
            bytes: 0,
            generation: budget / 2,
        }
    }

    pub(super) fn get(&mut self, key: &Key) -> Option<Arc<Sanitized>> {
        if let Some(hit) = self.current.get(key) {
            return Some(hit.clone());
        }
        let hit = self.previous.remove(key)?;
        self.insert(*key, hit.clone());
        Some(hit)
    }

    pub(super) fn insert(&mut self, key: Key, value: Arc<Sanitized>) {
        let size = value.bytes();
        if size > self.generation {
            return; // larger than a generation: sanitized again when shown again
        }
        if self.bytes + size > self.generation {
            self.previous = std::mem::take(&mut self.current);
            self.bytes = 0;
        }
        if let Some(old) = self.current.insert(key, value) {
            self.bytes -= old.bytes();
        }
        self.bytes += size;
    }

    /// Bytes held in both generations.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.bytes + self.previous.values().map(|v| v.bytes()).sum::<usize>()
    }
}

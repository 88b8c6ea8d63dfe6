//! Where each stored entry record is. Records are keyed by segment, then entry key
//! ([`keys::entry`]), and segments fill one after another, so a new record lands among the
//! other new ones, in pages the cache holds. Keyed by the (hashed) entry key alone, every new
//! entry's lookup and insert would load a random page of a range as large as the store, and
//! that cost grows with the store.
//!
//! The price is this map, from a 32-bit hash of each stored entry key (its key hash, not
//! the content `fingerprint` an entry record carries) to its segment: a slot is 9 bytes,
//! ~10-19 bytes a stored entry. It also answers most lookups of a new entry without reading
//! the store at all: a key hash it does not hold is an entry never stored. Each segment's key
//! hashes are stored beside it ([`keys::segment`]), written in the same batch as its
//! records, and the map is read from those at open: reading the records' keys instead would
//! load every page of them into sled's cache.
//!
//! Written by hand: it is a counting multimap over 32-bit key hashes, a hundred lines on
//! std's `HashMap`; a Bloom or cuckoo filter crate answers "maybe present" but not "where".

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use siphasher::sip::SipHasher13;

use super::keys;
use crate::dedup::postings::IdHasher;

/// Records a segment holds before new records go to the next one. Within a segment records
/// sort by entry key, so a batch's new records land on as many pages as the segment spans:
/// a few at 64 (sled splits a page at 16 records), against ~30 a batch at 4,096, each one more
/// page to write and fsync at commit.
pub(super) const SEGMENT_RECORDS: u32 = 64;

/// Bits of a slot that count records; the rest is the segment.
const COUNT_BITS: u32 = 4;

/// Segment numbers fit in 28 bits: 17 billion records at [`SEGMENT_RECORDS`] each. Beyond it
/// new records stay in the last segment.
const LAST_SEGMENT: u32 = (1 << (32 - COUNT_BITS)) - 1;

/// A count at this value is no longer kept: the slot is never forgotten (holding a segment
/// too many costs a read; holding one too few would lose an entry). Sixteen keys sharing a
/// 32-bit key hash do not happen by chance.
const PINNED: u32 = (1 << COUNT_BITS) - 1;

/// A segment's key-hash list with `hashes` added.
fn listed(list: Option<&[u8]>, hashes: impl Iterator<Item = u32>) -> Vec<u8> {
    let mut out = list.map(<[u8]>::to_vec).unwrap_or_default();
    for hash in hashes {
        out.extend_from_slice(&hash.to_be_bytes());
    }
    out
}

/// A key to write and its value.
type Write = (Vec<u8>, Vec<u8>);

/// The key-hash lists of the segments `added` (key hash, segment) records went to, each
/// with its new key hashes joined: (key, list) to write, old lists read through `read`.
pub(super) fn lists_with<E>(
    added: &[(u32, u32)],
    mut read: impl FnMut(&[u8]) -> Result<Option<sled::IVec>, E>,
) -> Result<Vec<Write>, E> {
    let mut segments: Vec<u32> = added.iter().map(|(_, s)| *s).collect();
    segments.sort_unstable();
    segments.dedup();
    segments
        .into_iter()
        .map(|segment| {
            let key = keys::segment(segment);
            let hashes = added.iter().filter(|(_, s)| *s == segment).map(|(f, _)| *f);
            let list = listed(read(&key)?.as_deref(), hashes);
            Ok((key, list))
        })
        .collect()
}

/// A segment's key-hash list with one occurrence of each of `hashes` taken out.
pub(super) fn unlisted(list: &[u8], hashes: &[u32]) -> Vec<u8> {
    let mut left: Vec<u32> = key_hashes(list).collect();
    for hash in hashes {
        if let Some(i) = left.iter().position(|f| f == hash) {
            left.swap_remove(i);
        }
    }
    listed(None, left.into_iter())
}

/// The key hashes in a segment's list.
pub(super) fn key_hashes(list: &[u8]) -> impl Iterator<Item = u32> + '_ {
    list.chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
}

/// The key hash of an entry key (its bytes as stored after the segment).
pub(super) fn key_hash(entry_key: &[u8]) -> u32 {
    let mut hasher = SipHasher13::new_with_keys(0x656e_7472_7920_6670, 0x7365_676d_656e_7473);
    hasher.write(entry_key);
    hasher.finish() as u32
}

/// Key hash -> the segments that hold records with it, and how many.
#[derive(Debug, Default)]
pub(super) struct EntryIndex {
    /// A key hash's first segment in the top bits, its record count there in the low
    /// [`COUNT_BITS`].
    slots: HashMap<u32, u32, BuildHasherDefault<IdHasher>>,
    /// Further (segment, count) pairs of a key hash, when records sharing it were stored in
    /// other segments: two batches open at once, each given a new key with that key hash
    /// before either committed, either side of a segment's end. Nearly always empty.
    more: HashMap<u32, Vec<(u32, u32)>>,
    /// The segment new records go to, and how many it has been given.
    current: u32,
    in_current: u32,
}

impl EntryIndex {
    /// Segments that may hold a record whose key hash is `hash`, first where new ones
    /// go. Empty (no allocation) for a key never stored, the common case.
    pub fn segments(&self, hash: u32) -> Vec<u32> {
        let Some(slot) = self.slots.get(&hash) else {
            return Vec::new();
        };
        let mut found = vec![slot >> COUNT_BITS];
        if let Some(more) = self.more.get(&hash) {
            found.extend(more.iter().map(|(segment, _)| *segment));
        }
        found
    }

    /// The segment a new record with key hash `hash` goes to: where others with it are, so
    /// that a key hash's records stay in one segment, else the current one.
    pub fn segment_for_new(&self, hash: u32) -> u32 {
        self.slots
            .get(&hash)
            .map_or(self.current, |slot| slot >> COUNT_BITS)
    }

    /// Counts a record stored in `segment`.
    pub fn add(&mut self, hash: u32, segment: u32) {
        match self.slots.get_mut(&hash) {
            None => {
                self.slots.insert(hash, segment << COUNT_BITS | 1);
            }
            Some(slot) if *slot >> COUNT_BITS == segment => {
                if *slot & PINNED != PINNED {
                    *slot += 1;
                }
            }
            Some(_) => {
                let more = self.more.entry(hash).or_default();
                match more.iter_mut().find(|(s, _)| *s == segment) {
                    Some((_, n)) => *n = n.saturating_add(1),
                    None => more.push((segment, 1)),
                }
            }
        }
    }

    /// Forgets a record removed from `segment`.
    pub fn remove(&mut self, hash: u32, segment: u32) {
        let Some(&slot) = self.slots.get(&hash) else {
            return;
        };
        if slot >> COUNT_BITS == segment {
            match slot & PINNED {
                PINNED => {}
                1 => {
                    // The next segment holding the key hash, if any, takes the slot.
                    match self.more.get_mut(&hash).and_then(Vec::pop) {
                        Some((s, n)) => self.slots.insert(hash, s << COUNT_BITS | n.min(PINNED)),
                        None => self.slots.remove(&hash),
                    };
                }
                _ => {
                    self.slots.insert(hash, slot - 1);
                }
            }
        } else if let Some(more) = self.more.get_mut(&hash) {
            if let Some(i) = more.iter().position(|(s, _)| *s == segment) {
                match more[i].1 {
                    0 | 1 => {
                        more.swap_remove(i);
                    }
                    u32::MAX => {}
                    _ => more[i].1 -= 1,
                }
            }
        }
        if self.more.get(&hash).is_some_and(Vec::is_empty) {
            self.more.remove(&hash);
        }
    }

    /// The segment new records go to now.
    #[cfg(test)]
    pub fn current(&self) -> u32 {
        self.current
    }

    /// Notes `n` records stored in the current segment; moves on when it is full.
    pub fn filled(&mut self, n: usize) {
        self.in_current = self
            .in_current
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if self.in_current >= SEGMENT_RECORDS && self.current < LAST_SEGMENT {
            self.current += 1;
            self.in_current = 0;
        }
    }

    /// New records go to a fresh segment after `segment` (at open: after the last one read).
    pub fn start_after(&mut self, segment: u32) {
        self.current = segment.saturating_add(1).min(LAST_SEGMENT);
        self.in_current = 0;
    }

    /// How many distinct key hashes it holds, and about how many bytes.
    pub fn size(&self) -> (usize, usize) {
        let bytes = self.slots.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
            + self
                .more
                .values()
                .map(|m| 48 + m.capacity() * 8)
                .sum::<usize>();
        (self.slots.len(), bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_hash_in_two_segments_is_found_in_both_until_each_record_is_removed() {
        let mut index = EntryIndex::default();
        assert!(index.segments(7).is_empty());
        index.add(7, 3);
        index.add(7, 3);
        index.add(7, 9);
        assert_eq!(index.segments(7), vec![3, 9]);
        assert_eq!(index.segment_for_new(7), 3);
        index.remove(7, 3);
        assert_eq!(index.segments(7), vec![3, 9]);
        index.remove(7, 3);
        // Segment 9 takes the slot: new records with the key hash go there now.
        assert_eq!(index.segments(7), vec![9]);
        assert_eq!(index.segment_for_new(7), 9);
        index.remove(7, 9);
        assert!(index.segments(7).is_empty());
        assert_eq!(index.size().0, 0);
        assert!(index.more.is_empty());
    }

    #[test]
    fn a_count_past_what_a_slot_holds_is_never_forgotten() {
        let mut index = EntryIndex::default();
        for _ in 0..PINNED + 5 {
            index.add(1, 2);
        }
        for _ in 0..PINNED + 5 {
            index.remove(1, 2);
        }
        assert_eq!(index.segments(1), vec![2]);
    }

    #[test]
    fn segments_fill_one_after_another() {
        let mut index = EntryIndex::default();
        index.start_after(4);
        assert_eq!(index.current(), 5);
        index.filled(SEGMENT_RECORDS as usize - 1);
        assert_eq!(index.current(), 5);
        index.filled(1);
        assert_eq!(index.current(), 6);
        // A key hash already stored keeps its segment.
        index.add(42, 5);
        assert_eq!(index.segment_for_new(42), 5);
        assert_eq!(index.segment_for_new(43), 6);
    }
}

//! The near-duplicate layer's candidate index: for each day, which stories founded that day
//! have a content word in their founding headline. Held in memory by the ingest writer.
//!
//! Why memory and not sled: a lookup reads every word of the headline on every day the window
//! reaches (~45 lists for a 48 h window), and a new story rewrites one list per word. As sled
//! keys that was a third of the writer's time and the part that grew with the store. The
//! lists are derived data: each stored story's sketch has its founding words, and stories are
//! clustered by founding day ([`crate::store`]), so a day's lists are rebuilt from one range
//! of sketches the first time a lookup reaches that day. Memory is bounded by the days kept
//! (the window, pruned hourly), not by the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::StoryId;

/// Stories a list keeps per word and day, newest last: a word more common than that
/// identifies nothing, and the cap bounds the work of a lookup.
pub const POSTINGS_CAP: usize = 64;

type Lists = HashMap<u64, Vec<StoryId>, BuildHasherDefault<IdHasher>>;

/// Posting lists of the days loaded so far.
#[derive(Debug, Default)]
pub struct Postings {
    days: BTreeMap<i64, Lists>,
    /// Days whose lists hold every story founded on them (loaded, or added to since).
    loaded: BTreeSet<i64>,
    ids: usize,
}

impl Postings {
    /// Whether `day`'s lists are complete; if not, the caller loads them ([`Postings::load`]).
    pub fn has_day(&self, day: i64) -> bool {
        self.loaded.contains(&day)
    }

    /// Marks `day` complete with the stories given (each with its founding words' hashes).
    pub fn load(&mut self, day: i64, stories: impl IntoIterator<Item = (StoryId, Vec<u64>)>) {
        self.loaded.insert(day);
        for (id, words) in stories {
            self.add(id, &words, day);
        }
    }

    /// Adds a story founded on `day` under each of its founding words ([`hashes`]).
    pub fn add(&mut self, id: StoryId, words: &[u64], day: i64) {
        let lists = self.days.entry(day).or_default();
        for word in words {
            let list = lists.entry(*word).or_default();
            // Oldest out before the push: a full list never grows its buffer past the cap.
            if list.len() >= POSTINGS_CAP {
                list.remove(0);
            } else {
                self.ids += 1;
            }
            list.push(id);
        }
    }

    /// Adds a story only if its day is loaded: an unloaded day gets it when it is loaded.
    pub fn add_if_loaded(&mut self, id: StoryId, words: &[u64], day: i64) {
        if self.has_day(day) {
            self.add(id, words, day);
        }
    }

    /// Counts, for every story in the lists of `words` on `days`, how many of them it has.
    pub fn count(
        &self,
        words: &[u64],
        days: std::ops::RangeInclusive<i64>,
        counts: &mut HashMap<StoryId, usize, BuildHasherDefault<IdHasher>>,
    ) {
        for (_, lists) in self.days.range(days) {
            for word in words {
                for id in lists.get(word).into_iter().flatten() {
                    *counts.entry(*id).or_insert(0) += 1;
                }
            }
        }
    }

    /// Forgets days before `day`: lookups no longer reach them.
    pub fn prune_before(&mut self, day: i64) {
        let kept = self.days.split_off(&day);
        let gone = std::mem::replace(&mut self.days, kept);
        self.ids -= gone
            .values()
            .flat_map(|l| l.values())
            .map(Vec::len)
            .sum::<usize>();
        self.loaded = self.loaded.split_off(&day);
    }

    /// About how many bytes the lists take: each list's table slot (key, `Vec`, control byte)
    /// and its buffer. For the benchmarks and `feedmerge stats`-like reports.
    pub fn memory(&self) -> usize {
        self.days
            .values()
            .map(|lists| {
                lists.capacity() * (8 + std::mem::size_of::<Vec<StoryId>>() + 1)
                    + lists.values().map(|l| l.capacity() * 8).sum::<usize>()
            })
            .sum()
    }

    /// Forgets days `keep` says no to (a lookup that reaches one again loads it again).
    pub fn retain_days(&mut self, mut keep: impl FnMut(i64) -> bool) {
        let mut gone = 0;
        self.days.retain(|day, lists| {
            let kept = keep(*day);
            if !kept {
                gone += lists.values().map(Vec::len).sum::<usize>();
            }
            kept
        });
        self.ids -= gone;
        self.loaded.retain(|day| keep(*day));
    }

    /// How many days are loaded.
    pub fn days_loaded(&self) -> usize {
        self.loaded.len()
    }

    /// The newest loaded days, at most `n`.
    pub fn newest_days(&self, n: usize) -> impl Iterator<Item = i64> + '_ {
        self.loaded.iter().rev().take(n).copied()
    }

    /// Story ids held, over all lists (for `/metrics` and the benchmarks).
    pub fn len(&self) -> usize {
        self.ids
    }

    pub fn is_empty(&self) -> bool {
        self.ids == 0
    }
}

/// The keys words are listed under. A 64-bit hash instead of the word keeps a list's key at
/// 8 bytes; two words that collide only add a candidate, which verification then rejects.
pub fn hashes(words: &[String]) -> Vec<u64> {
    words
        .iter()
        .map(|word| {
            let mut h =
                siphasher::sip::SipHasher13::new_with_keys(0x706f_7374_696e_6773, 0x776f_7264);
            h.write(word.as_bytes());
            h.finish()
        })
        .collect()
}

/// The best [`super::MAX_CANDIDATES`] of `counts`: most shared words first, then lowest id.
/// A total order (ids are unique), so selecting the best few and sorting only those gives
/// what sorting everything would.
pub fn best(counts: impl IntoIterator<Item = (StoryId, usize)>) -> Vec<(StoryId, usize)> {
    let mut counts: Vec<(StoryId, usize)> = counts.into_iter().collect();
    let order = |a: &(StoryId, usize), b: &(StoryId, usize)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
    const BEST: usize = super::MAX_CANDIDATES;
    if counts.len() > BEST {
        counts.select_nth_unstable_by(BEST - 1, order);
        counts.truncate(BEST);
    }
    counts.sort_unstable_by(order);
    counts
}

/// Hashes values that are hashes already (story ids below their day bits, word hashes): one
/// multiply spreads them; std's SipHash costs more than the counting itself.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<u64> {
        hashes(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn candidates(
        p: &Postings,
        w: &[&str],
        days: std::ops::RangeInclusive<i64>,
    ) -> Vec<(u64, usize)> {
        let mut counts = HashMap::default();
        p.count(&words(w), days, &mut counts);
        best(counts).into_iter().map(|(id, n)| (id.0, n)).collect()
    }

    #[test]
    fn lookups_count_shared_words_on_the_days_asked_only() {
        let mut p = Postings::default();
        p.add(StoryId(1), &words(&["fed", "rate", "rais"]), 10);
        p.add(StoryId(2), &words(&["fed", "rate"]), 11);
        p.add(StoryId(3), &words(&["fed", "rate", "rais"]), 20);
        assert_eq!(
            candidates(&p, &["fed", "rais"], 9..=12),
            vec![(1, 2), (2, 1)]
        );
        assert_eq!(candidates(&p, &["fed", "rais"], 19..=21), vec![(3, 2)]);
        assert_eq!(p.len(), 8);
        p.prune_before(11);
        assert_eq!(
            candidates(&p, &["fed", "rais"], 0..=30),
            vec![(3, 2), (2, 1)]
        );
        assert_eq!(p.len(), 5);
    }

    #[test]
    fn a_list_keeps_the_newest_stories_up_to_the_cap() {
        let mut p = Postings::default();
        for id in 0..(POSTINGS_CAP as u64 + 10) {
            p.add(StoryId(id), &words(&["common"]), 5);
        }
        assert_eq!(p.len(), POSTINGS_CAP);
        let mut counts = HashMap::default();
        p.count(&words(&["common"]), 5..=5, &mut counts);
        assert_eq!(counts.len(), POSTINGS_CAP);
        assert!(!counts.contains_key(&StoryId(9)));
        assert!(counts.contains_key(&StoryId(10)));
    }

    #[test]
    fn days_can_be_forgotten_and_their_ids_are_no_longer_counted() {
        let mut p = Postings::default();
        for day in 0..10 {
            p.load(day, [(StoryId(day as u64), words(&["a", "b"]))]);
        }
        assert_eq!((p.days_loaded(), p.len()), (10, 20));
        assert_eq!(p.newest_days(2).collect::<Vec<_>>(), vec![9, 8]);
        p.retain_days(|d| d % 3 == 0);
        assert_eq!((p.days_loaded(), p.len()), (4, 8));
        assert!(p.has_day(6) && !p.has_day(7));
        assert_eq!(
            candidates(&p, &["a"], 0..=9),
            vec![(0, 1), (3, 1), (6, 1), (9, 1)]
        );
    }

    #[test]
    fn only_loaded_days_take_new_stories() {
        let mut p = Postings::default();
        p.add_if_loaded(StoryId(1), &words(&["a"]), 3);
        assert!(p.is_empty());
        p.load(3, [(StoryId(2), words(&["a"]))]);
        p.add_if_loaded(StoryId(1), &words(&["a"]), 3);
        assert!(p.has_day(3) && !p.has_day(4));
        assert_eq!(p.len(), 2);
        p.prune_before(4);
        assert!(!p.has_day(3) && p.is_empty());
    }
}

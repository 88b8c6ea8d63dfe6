//! The windowed layers' index, held in memory by the ingest writer: for each day, which
//! stories founded that day have a content word in their founding headline (the near-duplicate
//! layer's candidates), and which headlines were claimed that day (the title layer).
//!
//! Why memory and not sled: a lookup reads every word of the headline on every day the window
//! reaches (~45 lists for a 48 h window), and a new story rewrites one list per word. As sled
//! keys they would be a third of the writer's time and the part that grows with the store. The
//! lists are derived data: each stored story's sketch has its founding words, and stories are
//! clustered by founding day ([`crate::store`]), so a day's lists are rebuilt from one range
//! of sketches the first time a lookup reaches that day. Memory is bounded by the days kept
//! (the window, pruned hourly) and by [`MAX_IDS`], not by the store.
//!
//! The title layer's keys are day-keyed in sled too, and a lookup read one per day the window
//! reaches (five), nearly always to find nothing: a tenth of the ingest bench's time. A day's
//! headlines are one key range, loaded with its lists and held as 32-bit fingerprints: a miss
//! is certain, a hit only a hint, which the caller confirms with one read of the key (it
//! holds the story id, so the fingerprint need not).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use super::Brief;
use crate::model::StoryId;

/// Story ids the lists and headlines hold at most, over all days (~10-25 bytes each): beyond
/// it, the days used least recently are forgotten. The window's days of a busy store fit
/// (about a million ids for ten thousand sources' first round); it bounds what lookups of entries dated long
/// ago (a podcast's back catalogue, a blog's archive on its first poll) can load between
/// upkeeps.
pub const MAX_IDS: usize = 2 << 20;

/// Stories a list keeps per word and day, newest last: the cap bounds the work of a lookup.
/// Above the few hundred stories a day one name can found in a busy news day ("Snowden",
/// "Titanfall" in the UCI sample), so no candidate is dropped for a full list there; a word
/// in more headlines than that (a feed's house word) identifies nothing anyway.
pub const POSTINGS_CAP: usize = 1024;

type Lists = HashMap<u64, Vec<StoryId>, BuildHasherDefault<IdHasher>>;

/// What one day holds.
#[derive(Debug, Default)]
struct Day {
    /// Word hash -> stories founded this day with that word in their founding headline.
    words: Lists,
    /// Fingerprints of the title keys claimed this day ([`title_hash`]'s top 32 bits).
    titles: HashSet<u32, BuildHasherDefault<IdHasher>>,
    /// The founding signature, in brief, of each story in `words`.
    briefs: HashMap<StoryId, Brief, BuildHasherDefault<IdHasher>>,
}

impl Day {
    fn ids(&self) -> usize {
        self.words.values().map(Vec::len).sum::<usize>() + self.titles.len()
    }
}

/// Posting lists and headlines of the days loaded so far.
#[derive(Debug)]
pub struct Postings {
    days: BTreeMap<i64, Day>,
    /// Days whose lists hold every story founded on them (loaded, or added to since), with
    /// when a lookup last used them: in order of uses, and in time.
    loaded: BTreeMap<i64, (u64, Instant)>,
    ids: usize,
    uses: u64,
    budget: usize,
}

impl Default for Postings {
    fn default() -> Self {
        Postings {
            days: BTreeMap::new(),
            loaded: BTreeMap::new(),
            ids: 0,
            uses: 0,
            budget: MAX_IDS,
        }
    }
}

impl Postings {
    /// Whether `day`'s lists are complete; if not, the caller loads them ([`Postings::load`]).
    pub fn has_day(&self, day: i64) -> bool {
        self.loaded.contains_key(&day)
    }

    /// Marks `day` complete with the stories given (each with its founding words' hashes and
    /// brief) and the headlines claimed on it (each title key's [`title_hash`]).
    pub fn load(
        &mut self,
        day: i64,
        stories: impl IntoIterator<Item = (StoryId, Vec<u64>, Brief)>,
        titles: impl IntoIterator<Item = u64>,
    ) {
        self.uses += 1;
        self.loaded.insert(day, (self.uses, Instant::now()));
        for (id, words, brief) in stories {
            self.add(id, &words, brief, day);
        }
        for title in titles {
            self.add_title(title, day);
        }
    }

    fn add_title(&mut self, title: u64, day: i64) {
        if self
            .days
            .entry(day)
            .or_default()
            .titles
            .insert(fingerprint(title))
        {
            self.ids += 1;
        }
    }

    /// Adds a claimed headline only if its day is loaded.
    pub fn add_title_if_loaded(&mut self, title: u64, day: i64) {
        if self.has_day(day) {
            self.add_title(title, day);
        }
    }

    /// Whether a headline with this [`title_hash`] may have been claimed on `day`, a loaded
    /// day (`false` for one not loaded). Certain when `false`.
    pub fn may_have_title(&self, title: u64, day: i64) -> bool {
        self.days
            .get(&day)
            .is_some_and(|d| d.titles.contains(&fingerprint(title)))
    }

    /// The brief of a story founded on one of `days`, if that day is loaded.
    pub fn brief(&self, id: StoryId, days: std::ops::RangeInclusive<i64>) -> Option<Brief> {
        self.days
            .range(days)
            .find_map(|(_, day)| day.briefs.get(&id).copied())
    }

    /// Whether a story with this id was founded on `day`, a loaded day (`false` for one not
    /// loaded). A loaded day holds the brief of every story whose sketch was stored for it, and
    /// keeps a story merged away since (its id stays taken by the merge's forward).
    pub fn holds_story(&self, id: StoryId, day: i64) -> bool {
        self.days
            .get(&day)
            .is_some_and(|d| d.briefs.contains_key(&id))
    }

    /// Adds a story founded on `day` under each of its founding words ([`hashes`]).
    pub fn add(&mut self, id: StoryId, words: &[u64], brief: Brief, day: i64) {
        let day = self.days.entry(day).or_default();
        day.briefs.insert(id, brief);
        let lists = &mut day.words;
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
    pub fn add_if_loaded(&mut self, id: StoryId, words: &[u64], brief: Brief, day: i64) {
        if self.has_day(day) {
            self.add(id, words, brief, day);
        }
    }

    /// Counts, for every story in the lists of `words` on `days`, how many of them it has.
    /// Returns how many of `words` have a list at [`POSTINGS_CAP`] on one of the days: a story
    /// may have been dropped from those, so it may have up to that many more than counted.
    pub fn count(
        &self,
        words: &[u64],
        days: std::ops::RangeInclusive<i64>,
        counts: &mut HashMap<StoryId, usize, BuildHasherDefault<IdHasher>>,
    ) -> usize {
        let mut full = vec![false; words.len()];
        for (_, day) in self.days.range(days) {
            for (i, word) in words.iter().enumerate() {
                let list = day.words.get(word).map_or(&[][..], Vec::as_slice);
                full[i] |= list.len() >= POSTINGS_CAP;
                for id in list {
                    *counts.entry(*id).or_insert(0) += 1;
                }
            }
        }
        full.iter().filter(|f| **f).count()
    }

    /// Forgets days before `day`: lookups no longer reach them.
    pub fn prune_before(&mut self, day: i64) {
        let kept = self.days.split_off(&day);
        let gone = std::mem::replace(&mut self.days, kept);
        self.ids -= gone.values().map(Day::ids).sum::<usize>();
        self.loaded = self.loaded.split_off(&day);
    }

    /// About how many bytes the lists take: each list's table slot (key, `Vec`, control byte)
    /// and its buffer, and each headline's slot. Walks every list: for the benchmarks, not the
    /// hot path.
    pub fn memory(&self) -> usize {
        self.days
            .values()
            .map(|day| {
                day.words.capacity() * (8 + std::mem::size_of::<Vec<StoryId>>() + 1)
                    + day.words.values().map(|l| l.capacity() * 8).sum::<usize>()
                    + day.titles.capacity() * (4 + 1)
                    + day.briefs.capacity() * (8 + std::mem::size_of::<Brief>() + 1)
            })
            .sum()
    }

    /// Marks `day` as just used by a lookup.
    pub fn touch(&mut self, day: i64) {
        self.touch_at(day, Instant::now());
    }

    fn touch_at(&mut self, day: i64, at: Instant) {
        self.uses += 1;
        if let Some(used) = self.loaded.get_mut(&day) {
            *used = (self.uses, at);
        }
    }

    /// Forgets the least recently used days until the lists hold no more than the budget
    /// ([`MAX_IDS`]), never a day `keep` names. A lookup that reaches a forgotten day loads it
    /// again.
    pub fn shrink(&mut self, keep: impl Fn(i64) -> bool) {
        while self.ids > self.budget {
            let Some(day) = self
                .loaded
                .iter()
                .filter(|(day, _)| !keep(**day))
                .min_by_key(|(_, (used, _))| *used)
                .map(|(day, _)| *day)
            else {
                break;
            };
            self.forget(day);
        }
    }

    /// Forgets the days no lookup has used for `idle` (as of `now`); returns how many. What a
    /// day holds is rebuilt in milliseconds when a lookup needs it again, while a first round
    /// over thousands of feeds loads every day their back issues reach (months of them) and
    /// would otherwise keep them until the hourly upkeep.
    pub fn forget_idle(&mut self, idle: Duration, now: Instant) -> usize {
        let idle_days: Vec<i64> = self
            .loaded
            .iter()
            .filter(|(_, (_, at))| now.saturating_duration_since(*at) >= idle)
            .map(|(day, _)| *day)
            .collect();
        for day in &idle_days {
            self.forget(*day);
        }
        idle_days.len()
    }

    fn forget(&mut self, day: i64) {
        self.loaded.remove(&day);
        if let Some(gone) = self.days.remove(&day) {
            self.ids -= gone.ids();
        }
    }

    /// Sets the budget in story ids (tests use a small one).
    pub fn set_budget(&mut self, ids: usize) {
        self.budget = ids;
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

fn fingerprint(title_hash: u64) -> u32 {
    (title_hash >> 32) as u32
}

/// What a title key is held as: 4 bytes of this instead of the headline.
pub fn title_hash(title_key: &str) -> u64 {
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0x7469_746c_6573, 0x6865_6164_6c69_6e65);
    h.write(title_key.as_bytes());
    h.finish()
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
mod tests;

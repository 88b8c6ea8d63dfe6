//! What the near layer knows of a candidate before reading its sketch: enough to prove that
//! some candidates could never be judged duplicates, so their sketches are not read.
//!
//! Why: reading a sketch is a sled read and the decoding of ~70 summary words, and most
//! candidates the posting lists propose are not duplicates. The lists say how many headline
//! words a candidate shares with the entry, but not how many it has, so without a brief any
//! candidate sharing half the entry's words would be read; and an entry with a long summary
//! would read every candidate sharing one word, since summaries alike vouch for a merge. A brief holds
//! the candidate's word counts and a 64-bucket count of its headline's and its summary's words,
//! and from them [`Thresholds::may_join_brief`] computes upper bounds of both similarities.
//!
//! Hand-written: the bound is specific to the verdict in [`super::similar`]; a MinHash or
//! Bloom sketch from a crate estimates similarity, and an estimate could skip a duplicate.

use std::hash::Hasher;

use super::similar::MIN_SUMMARY_WORDS;
use crate::config::dedup::Thresholds;
use crate::model::Signature;

/// Buckets words are counted in.
const BUCKETS: usize = 64;

/// A stored story's founding signature, in 51 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Brief {
    /// Content words of the founding headline (saturating).
    words: u8,
    generic: bool,
    /// Content words of the founding summary (saturating).
    summary_words: u8,
    /// 2 bits a bucket: a headline has a dozen words, rarely two in one bucket.
    headline: Buckets<16>,
    /// 4 bits a bucket: a summary has up to 120.
    summary: Buckets<32>,
}

impl Brief {
    pub fn of(sig: &Signature) -> Brief {
        Brief {
            words: saturate(sig.words.len()),
            generic: sig.generic,
            summary_words: saturate(sig.summary_words.len()),
            headline: Buckets::of(&sig.words),
            summary: Buckets::of(&sig.summary_words),
        }
    }
}

/// How many words fall in each of [`BUCKETS`] buckets, in `BYTES * 8 / BUCKETS` bits each,
/// saturating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Buckets<const BYTES: usize>([u8; BYTES]);

impl<const BYTES: usize> Buckets<BYTES> {
    const BITS: usize = BYTES * 8 / BUCKETS;
    /// A count no bucket can be assumed not to exceed.
    const SATURATED: u8 = (1 << Self::BITS) - 1;

    fn of(words: &[String]) -> Self {
        let mut b = Buckets([0u8; BYTES]);
        for word in words {
            let i = bucket(word);
            if b.count(i) < Self::SATURATED {
                b.0[i * Self::BITS / 8] += 1 << (i * Self::BITS % 8);
            }
        }
        b
    }

    fn count(&self, i: usize) -> u8 {
        (self.0[i * Self::BITS / 8] >> (i * Self::BITS % 8)) & Self::SATURATED
    }

    /// An upper bound on how many words the two word lists have in common: a word both have
    /// falls in the same bucket in both, so no bucket holds more shared words than the smaller
    /// of its two counts. A count that saturated says nothing of the true count: with both
    /// saturated the bucket's bound is unbounded.
    fn shared_at_most(&self, other: &Self) -> usize {
        (0..BUCKETS)
            .map(|i| {
                let (a, b) = (self.count(i), other.count(i));
                if a == Self::SATURATED && b == Self::SATURATED {
                    usize::from(u8::MAX)
                } else {
                    usize::from(a.min(b))
                }
            })
            .sum()
    }
}

fn saturate(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// The most a saturated count may stand for.
fn at_most(count: u8) -> usize {
    if count == u8::MAX {
        usize::MAX
    } else {
        usize::from(count)
    }
}

fn bucket(word: &str) -> usize {
    let mut h = rustc_hash::FxHasher::default();
    h.write(word.as_bytes());
    // Fx's high bits are its well-mixed ones.
    (h.finish() >> (64 - BUCKETS.trailing_zeros())) as usize
}

/// `shared / union` as [`super::similar`] computes it, so a bound equal to the true value
/// compares exactly as the verdict will.
fn jaccard(shared: usize, union: usize) -> f64 {
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

impl Thresholds {
    /// Whether a candidate whose founding signature is `stored`, sharing at most `shared` of
    /// the query's headline words, could be judged a duplicate of `query` (whose brief is
    /// `query_brief`). `false` only when [`super::compare`] is certain to say it is not:
    /// generic or too short, and neither the headline bound nor the summary bound reaches its
    /// threshold.
    pub fn may_join_brief(
        &self,
        query: &Signature,
        query_brief: &Brief,
        shared: usize,
        stored: &Brief,
    ) -> bool {
        if stored.generic || usize::from(stored.words) < self.min_words {
            return false;
        }
        // Similarity grows with the words shared, so the most there can be gives the bound:
        // the lists' count (which may be short by the words whose lists were full, hence
        // `shared` is that plus them), the buckets' bound, and either headline's length.
        let shared = shared
            .min(query_brief.headline.shared_at_most(&stored.headline))
            .min(query.words.len())
            .min(at_most(stored.words));
        // A saturated count may be larger: then the union is at least what is computed here,
        // and the bound only looser.
        let union = (query.words.len() + usize::from(stored.words)).saturating_sub(shared);
        if shared >= self.min_shared && jaccard(shared, union) >= self.threshold {
            return true;
        }
        if shared == 0
            || query.summary_words.len() < MIN_SUMMARY_WORDS
            || usize::from(stored.summary_words) < MIN_SUMMARY_WORDS
        {
            return false;
        }
        let (ours, theirs) = (query.summary_words.len(), usize::from(stored.summary_words));
        let shared = query_brief
            .summary
            .shared_at_most(&stored.summary)
            .min(ours)
            .min(at_most(stored.summary_words));
        let union = (ours + theirs).saturating_sub(shared);
        jaccard(shared, union) >= self.summary_threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{compare, Verdict};

    /// A deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Made-up words that no stemmer or stop list changes.
    fn word(n: usize) -> String {
        const SYLLABLES: &[&str] = &["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zu", "pe"];
        let mut w = String::from("x");
        let mut n = n;
        for _ in 0..4 {
            w.push_str(SYLLABLES[n % SYLLABLES.len()]);
            n /= SYLLABLES.len();
        }
        w
    }

    fn text(words: &[usize]) -> String {
        words.iter().map(|w| word(*w)).collect::<Vec<_>>().join(" ")
    }

    /// Two headlines and summaries that share some of their words: from none to all.
    fn pair(rng: &mut Rng) -> (Signature, Signature) {
        let side = |shared: &[usize], len: usize, rng: &mut Rng| {
            let mut w: Vec<usize> = shared.to_vec();
            while w.len() < len {
                w.push(rng.below(5_000));
            }
            w
        };
        let (h, s) = (4 + rng.below(8), 12 + rng.below(60));
        let hs: Vec<usize> = (0..rng.below(h + 1)).map(|_| rng.below(5_000)).collect();
        let ss: Vec<usize> = (0..rng.below(s + 1)).map(|_| rng.below(5_000)).collect();
        let (ha, hb) = (side(&hs, h, rng), side(&hs, h + rng.below(3), rng));
        let (sa, sb) = (side(&ss, s, rng), side(&ss, s + rng.below(20), rng));
        (
            Signature::of(&text(&ha), Some(&text(&sa))),
            Signature::of(&text(&hb), Some(&text(&sb))),
        )
    }

    #[test]
    fn a_candidate_whose_brief_says_no_could_never_have_joined_and_most_unlike_ones_are_skipped() {
        let t = Thresholds::default();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut joined, mut unlike, mut unlike_skipped) = (0, 0, 0);
        for _ in 0..3_000 {
            let (a, b) = pair(&mut rng);
            let shared = a.words.iter().filter(|w| b.words.contains(w)).count();
            let may = t.may_join_brief(&a, &Brief::of(&a), shared, &Brief::of(&b));
            match compare(&a, &b, &t) {
                Verdict::Duplicate { .. } => {
                    joined += 1;
                    assert!(may, "skipped a duplicate: {a:?} / {b:?}");
                }
                _ => {
                    let s_shared = a
                        .summary_words
                        .iter()
                        .filter(|w| b.summary_words.contains(w))
                        .count();
                    // Unlike: a third of the headline and a fifth of the summary in common.
                    if shared * 3 <= a.words.len() && s_shared * 5 <= a.summary_words.len() {
                        unlike += 1;
                        unlike_skipped += usize::from(!may);
                    }
                }
            }
        }
        assert!(joined > 300, "the generator makes duplicates ({joined})");
        assert!(
            unlike_skipped * 10 >= unlike * 9,
            "{unlike_skipped} of {unlike} unlike pairs skipped"
        );
    }

    #[test]
    fn saturated_buckets_never_lower_the_bound() {
        let many: Vec<String> = (0..40).map(|_| "same".to_string()).collect();
        let mut a = Signature::of(&text(&[1, 2, 3, 4]), None);
        a.summary_words = many.clone();
        let b = a.clone();
        let (ba, bb) = (Brief::of(&a), Brief::of(&b));
        assert!(ba.summary.shared_at_most(&bb.summary) >= 40);
        assert!(Thresholds::default().may_join_brief(&a, &ba, 1, &bb));
        let five: Vec<String> = (0..5).map(|_| "same".to_string()).collect();
        let headline = Buckets::<16>::of(&five);
        assert_eq!(headline.count(bucket("same")), 3, "2 bits saturate at 3");
        assert!(headline.shared_at_most(&headline) >= 5);
        // Headlines of more words than a count holds: 400 of 600 shared, similarity 0.5.
        let long = |words: std::ops::Range<usize>| {
            let mut sig = Signature::of(&text(&[1, 2, 3, 4]), None);
            sig.words = words.map(word).collect();
            sig.words.sort();
            sig
        };
        let (a, b) = (long(0..600), long(200..800));
        assert!(matches!(
            compare(&a, &b, &Thresholds::default()),
            Verdict::Duplicate { .. }
        ));
        assert!(Thresholds::default().may_join_brief(&a, &Brief::of(&a), 400, &Brief::of(&b)));
    }
}

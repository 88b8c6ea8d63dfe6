//! Word lists headlines are read with, kept as plain text files in `lexicon/` so a person can
//! read and extend them, and loaded once. Signing a headline ([`super::signature`]) uses them
//! all; dedup's near-duplicate verdict names actions and polarity scales with them.
//!
//! Hand-written data because no maintained crate carries headline vocabulary: which words are
//! opposites on a scale (raise/hold/cut), which places a headline names, which headlines recur.

use std::sync::LazyLock;

/// The lists are looked up several times per word of every entry. Their keys are fixed here and
/// lookups never insert, so a fast non-keyed hash (rustc's) is safe: no input can flood them.
type HashMap<K, V> = rustc_hash::FxHashMap<K, V>;
type HashSet<K> = rustc_hash::FxHashSet<K>;

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Words that carry no story.
pub static STOPWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    lines(include_str!("lexicon/stopwords.txt"))
        .flat_map(str::split_whitespace)
        .collect()
});

/// A file of "canonical alias alias ..." lines as alias → canonical (the canonical word maps
/// to itself; the first line to name a word wins).
fn canonical_map(text: &'static str) -> HashMap<&'static str, &'static str> {
    let mut map = HashMap::default();
    for line in lines(text) {
        let mut words = line.split_whitespace();
        if let Some(canonical) = words.next() {
            map.insert(canonical, canonical);
            for w in words {
                map.entry(w).or_insert(canonical);
            }
        }
    }
    map
}

/// Word → its canonical synonym.
pub static SYNONYMS: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| canonical_map(include_str!("lexicon/synonyms.txt")));

/// Action word → the index of its action (a line of `actions.txt`).
pub static ACTIONS: LazyLock<HashMap<&'static str, u8>> = LazyLock::new(|| {
    let mut map = HashMap::default();
    for (i, line) in lines(include_str!("lexicon/actions.txt")).enumerate() {
        let words = line.split_once(':').map_or(line, |(_, w)| w);
        for w in words.split_whitespace() {
            map.entry(w).or_insert(i as u8);
        }
    }
    map
});

/// The name of an action, for explanations ("approve").
pub fn action_name(action: u8) -> &'static str {
    lines(include_str!("lexicon/actions.txt"))
        .nth(action as usize)
        .and_then(|line| line.split_once(':'))
        .map_or("?", |(name, _)| name)
}

/// Place name, alias or demonym → canonical place (multi-word names joined with '-').
pub static PLACES: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| canonical_map(include_str!("lexicon/places.txt")));

/// Every hyphen-bounded start of a multi-word place ("new" and "new-york" for
/// "new-york-city"): a token that is not one cannot begin a place, so tokenizing skips joining
/// it with the next words to look them up.
pub static PLACE_PREFIXES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    PLACES
        .keys()
        .flat_map(|key| key.match_indices('-').map(|(i, _)| &key[..i]))
        .collect()
});

/// Word → (scale, class) on a polarity scale.
pub static POLARITY: LazyLock<HashMap<&'static str, (u8, u8)>> = LazyLock::new(|| {
    let mut map = HashMap::default();
    for (scale, line) in lines(include_str!("lexicon/polarity.txt")).enumerate() {
        for (class, group) in line.split(" | ").enumerate() {
            let words = group.split_once(':').map_or(group, |(_, w)| w);
            for w in words.split_whitespace() {
                map.entry(w).or_insert((scale as u8, class as u8));
            }
        }
    }
    map
});

/// What each line of `polarity.txt` says about its scale, parsed once: the guards ask for
/// every pair of headlines they compare.
struct Scale {
    event: bool,
    noun: bool,
    classes: Vec<&'static str>,
}

static SCALES: LazyLock<Vec<Scale>> = LazyLock::new(|| {
    lines(include_str!("lexicon/polarity.txt"))
        .map(|line| Scale {
            event: line.starts_with('!'),
            noun: line.starts_with('@'),
            classes: line
                .split(" | ")
                .map(|group| {
                    group
                        .split_once(':')
                        .map_or("?", |(name, _)| name.trim_start_matches(['!', '@']))
                })
                .collect(),
        })
        .collect()
});

/// Names of the classes, for explanations: (scale, class) → "raise".
pub fn polarity_name(scale: u8, class: u8) -> &'static str {
    SCALES
        .get(scale as usize)
        .and_then(|s| s.classes.get(class as usize).copied())
        .unwrap_or("?")
}

/// Whether a scale reports an event (marked `!`): one headline with it, one without, differ.
pub fn is_event_scale(scale: u8) -> bool {
    SCALES.get(scale as usize).is_some_and(|s| s.event)
}

/// Whether a scale sorts nouns (marked `@`) rather than verbs.
pub fn is_noun_scale(scale: u8) -> bool {
    SCALES.get(scale as usize).is_some_and(|s| s.noun)
}

/// Weekdays and months: two headlines naming different ones are about different days.
pub fn date_word(word: &str) -> bool {
    matches!(
        word,
        "monday"
            | "tuesday"
            | "wednesday"
            | "thursday"
            | "friday"
            | "saturday"
            | "sunday"
            | "january"
            | "february"
            | "march"
            | "april"
            | "june"
            | "july"
            | "august"
            | "september"
            | "october"
            | "november"
            | "december"
    )
}

/// Words that negate a statement.
pub static NEGATIONS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    lines(include_str!("lexicon/negation.txt"))
        .flat_map(str::split_whitespace)
        .collect()
});

/// Headlines that recur for different stories (already folded).
pub static GENERIC: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| lines(include_str!("lexicon/generic.txt")).collect());

/// Small number words → digits, so "eleven killed" and "11 killed" agree.
pub fn number_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        "ten" => "10",
        "eleven" => "11",
        "twelve" => "12",
        "thirteen" => "13",
        "fourteen" => "14",
        "fifteen" => "15",
        "sixteen" => "16",
        "seventeen" => "17",
        "eighteen" => "18",
        "nineteen" => "19",
        "twenty" => "20",
        "thirty" => "30",
        "forty" => "40",
        "fifty" => "50",
        "hundred" => "100",
        "thousand" => "1000",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_load() {
        assert_eq!(PLACES.get("syrian"), Some(&"syria"));
        assert_eq!(PLACES.get("british"), Some(&"uk"));
        assert_eq!(SYNONYMS.get("quits"), Some(&"resign"));
        assert!(STOPWORDS.contains("the"));
        let raise = POLARITY["raises"];
        let hold = POLARITY["holds"];
        assert_eq!(raise.0, hold.0);
        assert_ne!(raise.1, hold.1);
        assert_eq!(polarity_name(hold.0, hold.1), "flat");
        assert!(NEGATIONS.contains("not"));
        assert!(GENERIC.contains("morning briefing"));
        assert_eq!(ACTIONS["scraps"], ACTIONS["cancelled"]);
        assert_ne!(ACTIONS["approves"], ACTIONS["delays"]);
        assert_eq!(action_name(ACTIONS["backs"]), "support");
    }
}

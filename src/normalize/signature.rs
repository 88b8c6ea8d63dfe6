//! Signing a headline: [`Signature::of`] reduces it to its content words (stemmed, with
//! synonyms and place names made canonical) plus the facts dedup's guards check — numbers,
//! places, names in order, polarity words, negation, and the kind of item (live blog,
//! opinion, ...). It is done once, when an entry is normalized; dedup only compares the
//! [`Signature`]s it finds on entries and in the store.

use std::collections::BTreeSet;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;

use super::lexicon::{
    date_word, number_word, ACTIONS, GENERIC, NEGATIONS, PLACES, PLACE_PREFIXES, POLARITY,
    STOPWORDS, SYNONYMS,
};
use super::strip::html_text;
use super::title;
use crate::model::Signature;

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// How many words' stems are remembered, and the longest word remembered (in bytes): a feed
/// of long made-up words must not make the cache large.
const STEMS_KEPT: usize = 8192;
const STEM_WORD_MAX: usize = 24;

/// Stems made so far (see [`stem`]).
static STEMS: LazyLock<Mutex<FxHashMap<Box<str>, Box<str>>>> = LazyLock::new(Mutex::default);

/// The Snowball stem of a lower-case word. Stemming is a fifth of signing an entry uncached, and the
/// words of news repeat (a few thousand make most of any day's text), so stems once made are
/// kept, all forgotten at once when [`STEMS_KEPT`] is reached: under a megabyte in all, with
/// no bookkeeping per lookup. One map for every thread, not one each: pollers sign on as many
/// blocking threads as run at once, and the lock is held for one lookup.
fn stem(word: &str) -> String {
    // A panic elsewhere while the lock was held leaves a map that is still sound.
    let stems = || STEMS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(stem) = stems().get(word) {
        return stem.to_string();
    }
    // Stemmed without the lock, so other threads' lookups do not wait for it.
    let stem = STEMMER.stem(word).into_owned();
    if word.len() > STEM_WORD_MAX {
        return stem;
    }
    let mut kept = stems();
    if kept.len() >= STEMS_KEPT {
        kept.clear();
    }
    kept.insert(word.into(), stem.as_str().into());
    stem
}

static KIND_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(live|opinion|analysis|watch|video|podcast|breaking|update(?:\s*\d+)?|wrapup(?:\s*\d+)?|refile|rpt|corrected|exclusive|factbox|explainer|q&a)\s*(?::|-|–|—|\|)\s*")
        .expect("static regex")
});
static ACRONYM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\pL)\.(\pL)\.(?:(\pL)\.)?").expect("static regex"));
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9][0-9.,:]*%?|\pL[\pL\pN'-]*[\pL\pN]|\pL").expect("static regex")
});
static RAW_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\pL[\pL'’.-]*").expect("static regex"));

/// How many summary words take part: enough for the lead sentence, not the whole article.
const SUMMARY_WORDS: usize = 40;

impl Signature {
    /// The signature of a headline and, when present, its summary: plain text, or HTML as a
    /// feed gave it or as older versions stored it sanitized (read with
    /// [`strip::html_text`](super::strip::html_text)).
    pub fn of(headline: &str, summary: Option<&str>) -> Signature {
        let mut sig = Signature::default();
        let mut rest = headline.trim();
        while let Some(m) = KIND_PREFIX.captures(rest) {
            let word = m.get(1).map_or("", |w| w.as_str()).to_lowercase();
            if matches!(
                word.as_str(),
                "live" | "opinion" | "analysis" | "video" | "watch" | "podcast"
            ) {
                sig.kind = Some(if word == "watch" {
                    "video".into()
                } else {
                    word
                });
            }
            rest = &rest[m.get(0).map_or(0, |m| m.end())..];
        }
        if sig.kind.is_none() && rest.trim_end().ends_with('?') {
            // A question is analysis, not the report it asks about.
            sig.kind = Some("question".into());
        }
        let folded = title::fold(rest);
        let bare = folded.trim_matches(|c: char| !c.is_alphanumeric());
        sig.generic = GENERIC.contains(bare)
            || folded
                .split_once(':')
                .is_some_and(|(head, _)| GENERIC.contains(head.trim()));
        let headline_tokens = tokens(&folded);
        let mut words = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        let mut places = BTreeSet::new();
        let mut polarity = BTreeSet::new();
        let mut subject = BTreeSet::new();
        let acronyms: std::collections::HashSet<String> = RAW_WORD
            .find_iter(rest)
            .map(|m| m.as_str())
            .filter(|w| w.chars().count() >= 2 && w.chars().all(char::is_uppercase))
            .map(str::to_lowercase)
            .collect();
        for token in &headline_tokens {
            let token = number_word(token).unwrap_or(token);
            if token.starts_with(|c: char| c.is_ascii_digit()) {
                numbers.insert(number(token));
                continue;
            }
            if date_word(token) {
                sig.dates.push(token.to_string());
            }
            if NEGATIONS.contains(token) {
                sig.negated = true;
            }
            if !sig.actions.is_empty() && sig.object.is_none() && !PLACES.contains_key(token) {
                let mut object = BTreeSet::new();
                content_words(token, &mut object);
                sig.object = object.into_iter().next();
            } else if sig.actions.is_empty() {
                match ACTIONS.get(token) {
                    Some(action) if !subject.is_empty() => {
                        sig.actions.push(*action);
                        sig.subject = std::mem::take(&mut subject).into_iter().collect();
                    }
                    // "The WHO": an acronym is a name even where the word is a stopword.
                    _ if acronyms.contains(token) => {
                        subject.insert(token.to_string());
                    }
                    _ => content_words(token, &mut subject),
                }
            }
            // A synonym shares its canonical word's polarity ("detains" is "arrests").
            let canonical = SYNONYMS.get(token).copied().unwrap_or(token);
            if let Some(p) = POLARITY.get(token).or_else(|| POLARITY.get(canonical)) {
                polarity.insert(*p);
            }
            if let Some(place) = PLACES.get(token) {
                places.insert(place.to_string());
                words.insert(place.to_string());
                continue;
            }
            content_words(token, &mut words);
        }
        sig.words = words.into_iter().collect();
        sig.numbers = numbers.into_iter().collect();
        sig.places = places.into_iter().collect();
        sig.polarity = polarity.into_iter().collect();
        (sig.names, sig.title_case) = names(rest);
        if let Some(summary) = summary {
            let plain = summary_lead(summary);
            let mut words = BTreeSet::new();
            for token in tokens(&title::fold(&plain)).iter().take(SUMMARY_WORDS) {
                match PLACES.get(token.as_str()) {
                    Some(place) => {
                        words.insert(place.to_string());
                    }
                    None if !token.starts_with(|c: char| c.is_ascii_digit()) => {
                        content_words(token, &mut words)
                    }
                    None => {}
                }
            }
            sig.summary_words = words.into_iter().collect();
        }
        sig
    }
}

/// The first `3 × SUMMARY_WORDS` words of a summary's text, which hold its first
/// `SUMMARY_WORDS` tokens (every whitespace-separated word gives at least one token).
///
/// Only the lead counts, and turning a whole article body into text to keep its start was a
/// sixth of normalizing: the text [`html_text`] reads from a prefix of the summary is a
/// prefix of the whole text but for its last, possibly cut, word. So a prefix that yields more
/// words than needed gives exactly the whole text's first ones; one that does not (markup-heavy
/// HTML) is retried whole.
fn summary_lead(summary: &str) -> String {
    const PREFIX: usize = 4096;
    let want = SUMMARY_WORDS * 3;
    if summary.len() > PREFIX {
        let mut cut = PREFIX;
        while !summary.is_char_boundary(cut) {
            cut -= 1;
        }
        let plain = html_text(&summary[..cut]);
        let words: Vec<&str> = plain.split_whitespace().collect();
        if words.len() > want {
            return words[..want].join(" ");
        }
    }
    let plain = html_text(summary);
    plain
        .split_whitespace()
        .take(want)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Folded text as tokens, with "u.s." as "us" and multi-word places joined ("new-york").
fn tokens(folded: &str) -> Vec<String> {
    let collapsed = if folded.contains('.') {
        ACRONYM.replace_all(folded, "$1$2$3")
    } else {
        std::borrow::Cow::Borrowed(folded)
    };
    let mut raw: Vec<String> = TOKEN
        .find_iter(&collapsed)
        .map(|m| {
            let t = m.as_str();
            let t = t.strip_suffix("'s").unwrap_or(t);
            t.trim_matches('\'').to_string()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let joined = if PLACE_PREFIXES.contains(raw[i].as_str()) {
            [3, 2].into_iter().find_map(|n| {
                let j = raw.get(i..i + n)?.join("-");
                PLACES.contains_key(j.as_str()).then_some((j, n))
            })
        } else {
            None
        };
        match joined {
            Some((j, n)) => {
                out.push(j);
                i += n;
            }
            None => {
                out.push(std::mem::take(&mut raw[i]));
                i += 1;
            }
        }
    }
    out
}

/// Adds the canonical form(s) of a non-number token that is not a place.
fn content_words(token: &str, words: &mut BTreeSet<String>) {
    if STOPWORDS.contains(token) {
        return;
    }
    if let Some(syn) = SYNONYMS.get(token) {
        words.insert(syn.to_string());
        return;
    }
    if token.contains('-') {
        for part in token.split('-') {
            if !part.is_empty() && !part.starts_with(|c: char| c.is_ascii_digit()) {
                content_words(part, words);
            }
        }
        return;
    }
    words.insert(stem(token));
}

fn number(token: &str) -> String {
    let t = token.trim_end_matches(['.', ',', ':']).replace(',', "");
    match t.split_once('.') {
        Some((int, frac)) if frac.chars().all(|c| c == '0') => int.to_string(),
        _ => t,
    }
}

/// Capitalized words in order (canonical, lower-case), and whether the headline is in Title
/// Case (then capitals mark nothing and no names are taken).
fn names(raw: &str) -> (Vec<String>, bool) {
    let words: Vec<&str> = RAW_WORD.find_iter(raw).map(|m| m.as_str()).collect();
    let long: Vec<&&str> = words.iter().filter(|w| w.chars().count() >= 4).collect();
    let capitalized = long
        .iter()
        .filter(|w| w.starts_with(char::is_uppercase))
        .count();
    let title_case = !long.is_empty() && capitalized * 10 > long.len() * 7;
    if title_case {
        return (Vec::new(), true);
    }
    let mut names = Vec::new();
    for w in words {
        if !w.starts_with(char::is_uppercase) {
            continue;
        }
        let lower = title::fold(w);
        let lower = lower.trim_end_matches("'s").trim_matches(['.', '\'', '-']);
        if STOPWORDS.contains(lower) {
            continue;
        }
        let canonical = PLACES
            .get(lower)
            .map_or_else(|| stem(lower), |p| p.to_string());
        if !names.contains(&canonical) {
            names.push(canonical);
        }
    }
    (names, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_stems_are_the_stemmers_and_the_cache_stays_bounded() {
        for word in ["raises", "rates", "flooding", "elections", "running"] {
            let fresh = STEMMER.stem(word).into_owned();
            assert_eq!(stem(word), fresh);
            assert_eq!(stem(word), fresh, "from the cache");
        }
        let long = "pneumonoultramicroscopicsilicovolcanoconiosis";
        assert_eq!(stem(long), STEMMER.stem(long));
        for i in 0..STEMS_KEPT + 100 {
            stem(&format!("word{i}s"));
        }
        let kept = STEMS.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(kept.len() <= STEMS_KEPT, "{}", kept.len());
        assert!(!kept.contains_key(long));
    }

    #[test]
    fn a_headline_is_reduced_to_what_matters() {
        let s = Signature::of("U.S. Fed raises rates to 5.5% as Syrian talks stall", None);
        assert_eq!(s.numbers, vec!["5.5%"]);
        assert_eq!(s.places, vec!["syria", "us"]);
        assert!(s.words.contains(&"rate".to_string()), "{:?}", s.words);
        assert!(s.words.contains(&"talk".to_string()), "{:?}", s.words);
        assert!(!s.words.contains(&"to".to_string()));
        assert_eq!(s.polarity.len(), 1);
        assert!(!s.negated && !s.generic && !s.title_case);
        assert_eq!(s.names, vec!["us", "fed", "syria"]);
    }

    #[test]
    fn prefixes_kinds_generic_titles_and_title_case() {
        assert_eq!(
            Signature::of("LIVE: Ukraine war latest", None)
                .kind
                .as_deref(),
            Some("live")
        );
        let s = Signature::of(
            "EXCLUSIVE-UPDATE 2-Egypt alliance signals flexibility",
            None,
        );
        assert_eq!(s.kind, None);
        assert!(s.numbers.is_empty(), "{:?}", s.numbers);
        assert!(Signature::of("Morning Briefing", None).generic);
        assert!(Signature::of("Letters: on the new bridge", None).generic);
        assert!(Signature::of("Tony Abbott Sworn In As Australia PM", None).title_case);
    }

    #[test]
    fn number_words_multiword_places_and_negation() {
        let s = Signature::of(
            "Eleven hurt as storm hits New York, police will not say why",
            None,
        );
        assert_eq!(s.numbers, vec!["11"]);
        assert!(s.places.contains(&"new-york".to_string()), "{:?}", s.places);
        assert!(s.negated);
    }
}

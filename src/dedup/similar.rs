//! The near-duplicate verdict on two signatures: word overlap decides how alike two headlines
//! are, and guards veto any merge where the headlines say different things.
//!
//! Every guard exists because plain overlap merges different stories: "Fed raises rates" /
//! "Fed holds rates" (polarity), "28-point plan" / "20-point plan" (numbers), "quake hits
//! Japan" / "quake hits Chile" (places), "A beat B" / "B beat A" (order of names), "will send" /
//! "will not send" (negation).

use crate::config::dedup::Thresholds;
use crate::model::Signature;
use crate::normalize::lexicon::{action_name, is_event_scale, is_noun_scale, polarity_name};

impl Thresholds {
    /// Whether a stored headline that shares `shared` of `query`'s content words could be
    /// judged a duplicate of it, before reading it. Its Jaccard similarity is at most
    /// `shared / query.words.len()` (the union has at least the query's words), so below the
    /// threshold or `min_shared` only the summaries could still vouch, and they need the
    /// query's summary to be long enough.
    pub fn may_join(&self, query: &Signature, shared: usize) -> bool {
        if query.summary_words.len() >= MIN_SUMMARY_WORDS && shared >= 1 {
            return true;
        }
        let n = query.words.len().max(1);
        shared >= self.min_shared && shared as f64 / n as f64 >= self.threshold
    }
}

/// A summary needs this many content words to vouch for a merge: short ones ("Read more") are
/// the same everywhere.
pub(super) const MIN_SUMMARY_WORDS: usize = 12;

/// What two headlines are to each other.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The same story: merge.
    Duplicate { score: f64, reason: String },
    /// About the same thing but not the same story (or a guard said so): keep both.
    Related { score: f64, reason: String },
    /// Different stories.
    Distinct { score: f64, reason: String },
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Duplicate { .. } => "duplicate",
            Verdict::Related { .. } => "related",
            Verdict::Distinct { .. } => "distinct",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Verdict::Duplicate { reason, .. }
            | Verdict::Related { reason, .. }
            | Verdict::Distinct { reason, .. } => reason,
        }
    }
}

/// (shared, union) of two sorted word lists.
fn overlap(a: &[String], b: &[String]) -> (usize, usize) {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (shared, a.len() + b.len() - shared)
}

fn jaccard(shared: usize, union: usize) -> f64 {
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// Compares two signatures. Symmetric.
pub fn compare(a: &Signature, b: &Signature, t: &Thresholds) -> Verdict {
    let (shared, union) = overlap(&a.words, &b.words);
    let score = jaccard(shared, union);
    if a.generic || b.generic {
        return Verdict::Distinct {
            score,
            reason: "a recurring headline never identifies a story".into(),
        };
    }
    if a.words.len() < t.min_words || b.words.len() < t.min_words {
        return Verdict::Distinct {
            score,
            reason: format!("too few words to be specific (need {})", t.min_words),
        };
    }
    let (s_shared, s_union) = overlap(&a.summary_words, &b.summary_words);
    let summary_score = jaccard(s_shared, s_union);
    let by_summary = a.summary_words.len() >= MIN_SUMMARY_WORDS
        && b.summary_words.len() >= MIN_SUMMARY_WORDS
        && summary_score >= t.summary_threshold
        && shared >= 1;
    let by_headline = shared >= t.min_shared && score >= t.threshold;
    let similar = by_headline || by_summary;
    if !similar {
        let reason = format!("similarity {score:.2}, {shared} shared words");
        return if score >= t.related && shared >= 2 {
            Verdict::Related { score, reason }
        } else {
            Verdict::Distinct { score, reason }
        };
    }
    // When only the summaries match, the headlines were written apart: their wording (verbs,
    // names' order) says little, but their facts (numbers, places, days) must still agree.
    if let Some(reason) = guard(a, b, by_headline) {
        return Verdict::Related { score, reason };
    }
    let reason = if !by_headline {
        format!("same summary (similarity {summary_score:.2}), headline similarity {score:.2}")
    } else {
        format!("similarity {score:.2}, {shared} shared words, all guards pass")
    };
    Verdict::Duplicate { score, reason }
}

/// The first guard that says the two headlines are different stories. With `wording` false
/// only the factual guards (kind, numbers, days, places, who did what to what) run.
fn guard(a: &Signature, b: &Signature, wording: bool) -> Option<String> {
    if a.kind != b.kind {
        return Some(format!(
            "different kinds: {} vs {}",
            a.kind.as_deref().unwrap_or("report"),
            b.kind.as_deref().unwrap_or("report")
        ));
    }
    if !a.numbers.is_empty() && !b.numbers.is_empty() && a.numbers != b.numbers {
        return Some(format!(
            "numbers differ: {} vs {}",
            a.numbers.join(" "),
            b.numbers.join(" ")
        ));
    }
    if !a.dates.is_empty() && !b.dates.is_empty() && a.dates.iter().all(|d| !b.dates.contains(d)) {
        return Some(format!("different days: {} vs {}", a.dates[0], b.dates[0]));
    }
    let only_a: Vec<&String> = a.places.iter().filter(|p| !b.places.contains(p)).collect();
    let only_b: Vec<&String> = b.places.iter().filter(|p| !a.places.contains(p)).collect();
    if !only_a.is_empty() && !only_b.is_empty() {
        return Some(format!("different places: {} vs {}", only_a[0], only_b[0]));
    }
    // Who did what to what: summaries that match under headlines naming different actors,
    // actions or objects are boilerplate, not one story.
    if !a.actions.is_empty()
        && !b.actions.is_empty()
        && !a.actions.iter().any(|x| b.actions.contains(x))
    {
        return Some(format!(
            "different actions: {} vs {}",
            action_name(a.actions[0]),
            action_name(b.actions[0])
        ));
    }
    if !a.subject.is_empty()
        && !b.subject.is_empty()
        && !a.subject.iter().any(|x| b.subject.contains(x))
    {
        return Some(format!(
            "different subjects: {} vs {}",
            a.subject.join(" "),
            b.subject.join(" ")
        ));
    }
    if let (Some(x), Some(y)) = (&a.object, &b.object) {
        if !b.words.contains(x) && !a.words.contains(y) {
            return Some(format!("different objects: {x} vs {y}"));
        }
    }
    if !wording {
        return None;
    }
    if a.negated != b.negated {
        return Some("one headline negates what the other says".into());
    }
    for &(scale, class) in &a.polarity {
        let theirs: Vec<u8> = b
            .polarity
            .iter()
            .filter(|(s, _)| *s == scale)
            .map(|(_, c)| *c)
            .collect();
        let ours: Vec<u8> = a
            .polarity
            .iter()
            .filter(|(s, _)| *s == scale)
            .map(|(_, c)| *c)
            .collect();
        if !theirs.is_empty() && !theirs.iter().any(|c| ours.contains(c)) {
            return Some(format!(
                "opposite meanings: {} vs {}",
                polarity_name(scale, class),
                polarity_name(scale, theirs[0])
            ));
        }
    }
    if let Some(reason) = events(a, b).or_else(|| events(b, a)) {
        return Some(reason);
    }
    let scales = |s: &Signature| {
        s.polarity
            .iter()
            .map(|(scale, _)| *scale)
            .filter(|scale| !is_noun_scale(*scale))
            .collect::<Vec<u8>>()
    };
    let (scales_a, scales_b) = (scales(a), scales(b));
    if !scales_a.is_empty()
        && !scales_b.is_empty()
        && !scales_a.iter().any(|s| scales_b.contains(s))
    {
        let first = |s: &Signature| {
            s.polarity
                .iter()
                .find(|(scale, _)| !is_noun_scale(*scale))
                .map_or("?", |(scale, class)| polarity_name(*scale, *class))
        };
        return Some(format!("different events: {} vs {}", first(a), first(b)));
    }
    if !a.title_case && !b.title_case {
        let shared: Vec<&String> = a.names.iter().filter(|n| b.names.contains(n)).collect();
        let theirs: Vec<&String> = b.names.iter().filter(|n| a.names.contains(n)).collect();
        if shared.len() >= 2 && shared != theirs {
            return Some(format!(
                "names in another order: {} vs {}",
                join(&shared),
                join(&theirs)
            ));
        }
    }
    None
}

/// An event `a` reports (a death, a verdict, a resignation, a release) that `b` does not.
fn events(a: &Signature, b: &Signature) -> Option<String> {
    a.polarity
        .iter()
        .find(|(scale, _)| is_event_scale(*scale) && !b.polarity.iter().any(|(s, _)| s == scale))
        .map(|(scale, class)| {
            format!(
                "only one headline reports: {}",
                polarity_name(*scale, *class)
            )
        })
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(a: &str, b: &str) -> Verdict {
        compare(
            &Signature::of(a, None),
            &Signature::of(b, None),
            &Thresholds::default(),
        )
    }

    fn assert_label(a: &str, b: &str, label: &str) {
        let v = verdict(a, b);
        assert_eq!(v.label(), label, "{a:?} / {b:?}: {v:?}");
        let back = verdict(b, a);
        assert_eq!(
            back.label(),
            label,
            "not symmetric: {b:?} / {a:?}: {back:?}"
        );
    }

    #[test]
    fn reworded_copies_are_duplicates() {
        assert_label(
            "Trump Defends Envoy Steve Witkoff After Leak Suggests Coaching Russian Official",
            "Trump defends envoy Witkoff after leak suggests he coached Russian official",
            "duplicate",
        );
        assert_label(
            "Putin sworn in as Russian president",
            "Putin sworn in as Russia's president for 6 years",
            "duplicate",
        );
        assert_label(
            "Eleven killed in Chinese police station attack",
            "11 killed in China police station attack",
            "duplicate",
        );
    }

    #[test]
    fn headlines_that_say_different_things_are_never_duplicates() {
        for (a, b) in [
            (
                "Fed raises interest rates by a quarter point",
                "Fed holds interest rates by a quarter point",
            ),
            (
                "Council approves 28-point plan for city transit",
                "Council approves 20-point plan for city transit",
            ),
            (
                "Powerful earthquake strikes off coast of Japan",
                "Powerful earthquake strikes off coast of Chile",
            ),
            (
                "Man United beat Liverpool in a dramatic derby",
                "Liverpool beat Man United in a dramatic derby",
            ),
            (
                "Government will send troops to the border",
                "Government will not send troops to the border",
            ),
            (
                "Apple shares rise after strong earnings report",
                "Apple shares fall after strong earnings report",
            ),
            (
                "Senate approves transit plan today",
                "Senate delays transit plan today",
            ),
            (
                "Lawmakers weigh open-source license change",
                "Mayor weighs open-source license change",
            ),
            (
                "Q&A: Police warn of drought emergency in Kraków",
                "Q&A: Hospitals warn of drought emergency in Lagos",
            ),
            (
                "Researchers approve ban on single-use plastics",
                "Researchers back ban on single-use plastics",
            ),
            (
                "Central bank blocks water rationing in Zürich",
                "Explainer: The WHO blocks water rationing in Zürich",
            ),
            (
                "Hooli reports AI safety framework as prices climb",
                "Governor reports AI safety framework as prices climb",
            ),
            (
                "Governor launches battery breakthrough ahead of election",
                "Q&A: Governor launches emissions targets ahead of election",
            ),
            (
                "LIVE: Ukraine war latest news and updates",
                "Ukraine war latest news and updates",
            ),
        ] {
            assert_ne!(verdict(a, b).label(), "duplicate", "{a:?} / {b:?}");
            assert_ne!(verdict(b, a).label(), "duplicate", "{b:?} / {a:?}");
        }
    }

    #[test]
    fn generic_and_short_headlines_never_merge() {
        assert_label("Morning briefing", "Morning briefing", "distinct");
        assert_label("Markets wrap", "Markets wrap", "distinct");
        // One recurring headline is enough: the other's words cannot make it a story.
        assert_verdict(
            "Morning briefing",
            "Markets rally in the morning briefing after the central bank decision",
            "distinct",
            "a recurring headline never identifies a story",
        );
    }

    /// `label` both ways round, with `reason` (what `feedmerge pairs` prints for it).
    fn assert_verdict(a: &str, b: &str, label: &str, reason: &str) {
        assert_label(a, b, label);
        let v = verdict(a, b);
        assert_eq!(v.reason(), reason, "{a:?} / {b:?}");
    }

    /// Weekdays and months: headlines that name only different days are different stories;
    /// naming the same day is no bar.
    #[test]
    fn headlines_naming_different_days_are_not_duplicates_and_the_same_day_is_no_bar() {
        assert_label(
            "Acme unveils new electric truck on Tuesday",
            "Acme unveils its new electric truck Tuesday",
            "duplicate",
        );
        assert_verdict(
            "Acme unveils new electric truck on Tuesday",
            "Acme unveils new electric truck on Friday",
            "related",
            "different days: tuesday vs friday",
        );
    }

    /// Verbs on different polarity scales (neither events nor nouns) are different events; a
    /// headline with no such verb says nothing against one that has one.
    #[test]
    fn verbs_on_different_scales_are_different_events() {
        assert_verdict(
            "Talks on Acme merger open in Geneva",
            "Talks on Acme merger continue in Geneva",
            "related",
            "different events: open vs keep",
        );
        assert_label(
            "Talks on Acme merger open in Geneva",
            "Talks on Acme merger in Geneva",
            "duplicate",
        );
    }

    /// An event one headline reports and the other does not (a resignation) makes two stories.
    #[test]
    fn an_event_only_one_headline_reports_makes_two_stories() {
        assert_verdict(
            "Acme chief executive resigns after accounting scandal",
            "Acme chief executive faces questions after accounting scandal",
            "related",
            "only one headline reports: leave",
        );
    }

    /// The names the order guard compares are listed in its reason.
    #[test]
    fn names_in_another_order_are_named() {
        assert_verdict(
            "Man United beat Liverpool in a dramatic derby",
            "Liverpool beat Man United in a dramatic derby",
            "related",
            "names in another order: man, unit, liverpool vs liverpool, man, unit",
        );
    }

    /// `min_words` holds for each headline: one short headline is enough to keep two apart,
    /// however well it matches the other.
    #[test]
    fn one_headline_under_min_words_keeps_the_pair_apart() {
        let t = Thresholds {
            min_words: 5,
            ..Thresholds::default()
        };
        let (long, short) = ("Acme agrees to buy rival Globex", "Acme to buy Globex");
        for (a, b) in [(long, short), (short, long)] {
            let v = compare(&Signature::of(a, None), &Signature::of(b, None), &t);
            assert_eq!(v.label(), "distinct", "{a:?} / {b:?}: {v:?}");
            assert_eq!(v.reason(), "too few words to be specific (need 5)");
        }
        let v = compare(
            &Signature::of(long, None),
            &Signature::of(short, None),
            &Thresholds::default(),
        );
        assert_eq!(v.label(), "duplicate", "{v:?}");
    }
}

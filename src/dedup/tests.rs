use chrono::{TimeZone, Utc};

use super::*;

fn entry(key: &str, source: &str, url: Option<&str>, title: &str, hour: i64) -> Entry {
    let published =
        Utc.with_ymd_and_hms(2025, 11, 26, 0, 0, 0).unwrap() + chrono::Duration::hours(hour);
    Entry {
        url_key: url.map(str::to_string),
        title_key: crate::normalize::title::title_key(title, &[]),
        signature: Signature::of(title, None),
        ..Entry::new(
            key,
            source,
            &format!("https://{source}.example/feed"),
            title,
            published,
        )
    }
}

fn remember(index: &mut Memory, id: u64, e: &Entry) {
    let story = Story::founded_by(StoryId(id), e, e.published);
    index.insert(story, e.url_key.as_deref(), e.title_key.as_deref());
}

fn decide_in(index: &Memory, e: &Entry) -> Decision {
    decide(e, index, &Settings::default()).unwrap()
}

fn layer(d: &Decision) -> Option<(StoryId, Layer, Option<StoryId>)> {
    match d {
        Decision::Join {
            story,
            layer,
            absorb,
            ..
        } => Some((*story, *layer, *absorb)),
        _ => None,
    }
}

const HEADLINE: &str = "Volcano erupts on remote island forcing thousands to flee";

#[test]
fn layers_in_order() {
    let mut index = Memory::default();
    let first = entry("a1", "a", Some("a.example/x"), HEADLINE, 0);
    assert_eq!(decide_in(&index, &first), Decision::New);
    remember(&mut index, 1, &first);
    assert_eq!(decide_in(&index, &first), Decision::Seen(StoryId(1)));
    let same_url = entry(
        "b1",
        "b",
        Some("a.example/x"),
        "Something else entirely here",
        1,
    );
    assert_eq!(
        layer(&decide_in(&index, &same_url)),
        Some((StoryId(1), Layer::Url, None))
    );
    let same_title = entry("c1", "c", Some("c.example/y"), HEADLINE, 2);
    assert_eq!(
        layer(&decide_in(&index, &same_title)),
        Some((StoryId(1), Layer::Title, None))
    );
    let reworded = entry(
        "d1",
        "d",
        Some("d.example/z"),
        "Thousands flee as volcano erupts on remote island",
        3,
    );
    let d = decide_in(&index, &reworded);
    assert_eq!(layer(&d), Some((StoryId(1), Layer::Near, None)), "{d:?}");
    match d {
        Decision::Join {
            score: Some(score),
            reason,
            ..
        } => {
            assert!(score >= 0.5, "{score}");
            assert!(reason.contains("all guards pass"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn title_and_near_matches_need_the_time_window() {
    let mut index = Memory::default();
    let first = entry("a1", "a", Some("a.example/x"), HEADLINE, 0);
    remember(&mut index, 1, &first);
    let much_later = entry("b1", "b", Some("b.example/x"), HEADLINE, 49);
    assert_eq!(decide_in(&index, &much_later), Decision::New);
    let within = entry("b2", "b", Some("b.example/x"), HEADLINE, 47);
    assert_eq!(
        layer(&decide_in(&index, &within)).map(|l| l.1),
        Some(Layer::Title)
    );
}

#[test]
fn a_near_match_that_fails_a_guard_is_a_new_story() {
    let mut index = Memory::default();
    remember(
        &mut index,
        1,
        &entry(
            "a1",
            "a",
            None,
            "Central bank raises interest rates to curb inflation",
            0,
        ),
    );
    let held = entry(
        "b1",
        "b",
        None,
        "Central bank holds interest rates to curb inflation",
        1,
    );
    assert_eq!(decide_in(&index, &held), Decision::New);
}

#[test]
fn an_entry_matching_two_stories_bridges_them_unless_a_source_carried_both() {
    let mut index = Memory::default();
    remember(
        &mut index,
        1,
        &entry(
            "a1",
            "a",
            Some("shared.example/x"),
            "Headline one of a kind about the harbour",
            0,
        ),
    );
    remember(
        &mut index,
        2,
        &entry("b1", "b", Some("b.example/y"), HEADLINE, 1),
    );
    let bridge = entry("c1", "c", Some("shared.example/x"), HEADLINE, 2);
    assert_eq!(
        layer(&decide_in(&index, &bridge)),
        Some((StoryId(1), Layer::Url, Some(StoryId(2))))
    );
    // If source "b" also carried story 1, it told us the two are different.
    let story1 = index.story_mut(StoryId(1)).unwrap();
    let mut copy = story1.copies[0].clone();
    copy.source_url = "https://b.example/feed".into();
    story1.copies.push(copy);
    assert_eq!(
        layer(&decide_in(&index, &bridge)),
        Some((StoryId(1), Layer::Url, None))
    );
}

#[test]
fn shared_links_with_different_titles_are_distrusted() {
    let mut batch = vec![
        entry("1", "a", Some("a.example/live"), "first update", 0),
        entry("2", "a", Some("a.example/live"), "second update", 1),
        entry("3", "a", Some("a.example/own"), "own page", 1),
    ];
    distrust_shared_links(&mut batch);
    assert_eq!(batch[0].url_key, None);
    assert_eq!(batch[1].url_key, None);
    assert_eq!(batch[2].url_key.as_deref(), Some("a.example/own"));
}

/// `may_join` and `may_join_brief` let the near layer skip reading candidates; they must never
/// skip one that `compare` would join. Checked on every hand-written pair, both ways (and on
/// generated summaries in `brief.rs`).
#[test]
fn a_candidate_skipped_for_too_few_shared_words_could_never_have_joined() {
    let fixtures = include_str!("../../tests/fixtures/dedup-pairs.tsv");
    let t = Thresholds::default();
    let mut joined = 0;
    for line in fixtures
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let sig = |i: usize| Signature::of(f[i], f.get(i + 2).copied());
        for (query, stored) in [(sig(1), sig(2)), (sig(2), sig(1))] {
            let shared = query
                .words
                .iter()
                .filter(|w| stored.words.contains(w))
                .count();
            if let Verdict::Duplicate { .. } = compare(&query, &stored, &t) {
                joined += 1;
                assert!(t.may_join(&query, shared), "{line}");
                let brief = Brief::of(&stored);
                assert!(
                    t.may_join_brief(&query, &Brief::of(&query), shared, &brief),
                    "{line}"
                );
            }
        }
    }
    assert!(joined >= 20, "the fixtures have positives ({joined})");
}

/// The decision's reason, for a join.
fn reason(d: &Decision) -> &str {
    match d {
        Decision::Join { reason, .. } => reason,
        _ => "",
    }
}

#[test]
fn an_outlets_repeat_of_its_own_headline_joins_its_story() {
    let mut index = Memory::default();
    remember(
        &mut index,
        1,
        &entry("a1", "a", Some("a.example/one"), HEADLINE, 0),
    );
    // The same headline under another link and GUID, and re-issued with wire furniture.
    let again = entry("a2", "a", Some("a.example/two"), HEADLINE, 1);
    let d = decide_in(&index, &again);
    assert_eq!(layer(&d), Some((StoryId(1), Layer::Title, None)));
    assert_eq!(reason(&d), "same outlet, same headline");
    let reissued = entry(
        "a3",
        "a",
        Some("a.example/three"),
        &format!("UPDATE 2-{HEADLINE}"),
        2,
    );
    let d = decide_in(&index, &reissued);
    assert_eq!(layer(&d), Some((StoryId(1), Layer::Title, None)));
    assert_eq!(reason(&d), "same outlet, wire re-issue");
    // Another outlet's re-issue is the same story too.
    let other = entry("b1", "b", None, &format!("REFILE-{HEADLINE}"), 3);
    assert_eq!(
        reason(&decide_in(&index, &other)),
        "same headline, wire re-issue"
    );
}

#[test]
fn an_outlets_reworded_repeat_joins_when_every_guard_passes() {
    let mut index = Memory::default();
    remember(
        &mut index,
        1,
        &entry(
            "a1",
            "a",
            None,
            "Crude-Oil Futures Fall as China Signals Demand Concerns",
            0,
        ),
    );
    let reworded = entry(
        "a2",
        "a",
        None,
        "Oil Futures Fall as China Signals Concerns Over Demand",
        1,
    );
    let d = decide_in(&index, &reworded);
    assert_eq!(
        layer(&d).map(|l| (l.0, l.1)),
        Some((StoryId(1), Layer::Near))
    );
    assert!(reason(&d).starts_with("same outlet, reworded"), "{d:?}");
    // A syndicating site's own headline again, with an outlet's name after it.
    let mut syndicated = Memory::default();
    remember(&mut syndicated, 2, &entry("s1", "s", None, HEADLINE, 0));
    let suffixed = entry("s2", "s", None, &format!("{HEADLINE} | The Nation"), 1);
    assert_eq!(
        layer(&decide_in(&syndicated, &suffixed)).map(|l| (l.0, l.1)),
        Some((StoryId(2), Layer::Near))
    );
    // A guard still keeps the outlet's next, different story apart.
    let opposite = entry(
        "a3",
        "a",
        None,
        "Crude-Oil Futures Rise as China Signals Demand Concerns",
        2,
    );
    assert_eq!(decide_in(&index, &opposite), Decision::New);
}

#[test]
fn an_outlets_series_stays_apart() {
    let mut index = Memory::default();
    let daily = "Stock market today: Dow, S&P 500 and Nasdaq futures drift";
    remember(&mut index, 1, &entry("a1", "a", None, daily, 0));
    // The same specific headline a day later is the next story of a series...
    let tomorrow = entry("a2", "a", None, daily, 24);
    assert_eq!(decide_in(&index, &tomorrow), Decision::New);
    // ...though from another outlet, within the window, it is the same story.
    let elsewhere = entry("b1", "b", None, daily, 24);
    assert_eq!(
        layer(&decide_in(&index, &elsewhere)).map(|l| l.1),
        Some(Layer::Title)
    );
    // Templated and generic headlines stay apart whoever repeats them.
    for (i, (one, two)) in [
        ("Image of the Day: January 27", "Image of the Day: March 20"),
        (
            "Top Asian News at 2:30 a.m. GMT",
            "Top Asian News at 1:25 a.m. GMT",
        ),
        ("Morning briefing", "Morning briefing"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut index = Memory::default();
        remember(&mut index, 10 + i as u64, &entry("t1", "a", None, one, 0));
        assert_eq!(
            decide_in(&index, &entry("t2", "a", None, two, 1)),
            Decision::New,
            "{one} / {two}"
        );
    }
}

/// The pre-filter before a candidate is read: it lets through exactly what `compare` could
/// call a duplicate by the headline (enough shared words, a share of the query's words at
/// least the threshold) or by the summary (a long enough summary and one shared word), and
/// nothing else, so candidates that cannot join are never read.
#[test]
fn may_join_lets_through_what_compare_could_merge_and_nothing_else() {
    let t = Thresholds::default();
    // Seven content words, no summary: 4 shared is 4/7 >= 0.5, 3 shared is 3/7 < 0.5.
    let seven = Signature::of(HEADLINE, None);
    assert_eq!(seven.words.len(), 7, "{:?}", seven.words);
    assert!(t.may_join(&seven, 4));
    assert!(!t.may_join(&seven, 3));
    // Four content words: 3 shared is enough, 2 is below min_shared even at 2/4 = 0.5.
    let four = Signature::of("Volcano erupts on remote island", None);
    assert_eq!(four.words.len(), 4, "{:?}", four.words);
    assert!(t.may_join(&four, 3));
    assert!(!t.may_join(&four, 2));
    // With a summary of 12 content words or more, one shared headline word is enough.
    let summary = "Lava from the volcano reached the coast overnight, and officials ordered \
                   villages along the southern shore evacuated as ash fell on the capital";
    let with_summary = Signature::of("Volcano erupts on remote island", Some(summary));
    assert!(with_summary.summary_words.len() >= 12);
    assert!(t.may_join(&with_summary, 1));
    assert!(!t.may_join(&with_summary, 0));
}

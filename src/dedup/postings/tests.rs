use super::*;

fn words(w: &[&str]) -> Vec<u64> {
    hashes(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

fn brief() -> Brief {
    Brief::of(&crate::dedup::Signature::default())
}

fn candidates(p: &Postings, w: &[&str], days: std::ops::RangeInclusive<i64>) -> Vec<(u64, usize)> {
    let mut counts = HashMap::default();
    p.count(&words(w), days, &mut counts);
    best(counts).into_iter().map(|(id, n)| (id.0, n)).collect()
}

#[test]
fn lookups_count_shared_words_on_the_days_asked_only() {
    let mut p = Postings::default();
    p.add(StoryId(1), &words(&["fed", "rate", "rais"]), brief(), 10);
    p.add(StoryId(2), &words(&["fed", "rate"]), brief(), 11);
    p.add(StoryId(3), &words(&["fed", "rate", "rais"]), brief(), 20);
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
        p.add(StoryId(id), &words(&["common"]), brief(), 5);
    }
    assert_eq!(p.len(), POSTINGS_CAP);
    p.add(
        StoryId(POSTINGS_CAP as u64 + 1_000),
        &words(&["rare"]),
        brief(),
        5,
    );
    let mut counts = HashMap::default();
    assert_eq!(
        p.count(&words(&["common", "rare"]), 5..=5, &mut counts),
        1,
        "a story may be missing from one full list"
    );
    assert_eq!(counts.len(), POSTINGS_CAP + 1);
    counts.clear();
    assert_eq!(p.count(&words(&["rare"]), 5..=5, &mut counts), 0);
    counts.clear();
    p.count(&words(&["common"]), 5..=5, &mut counts);
    assert_eq!(counts.len(), POSTINGS_CAP);
    assert!(!counts.contains_key(&StoryId(9)));
    assert!(counts.contains_key(&StoryId(10)));
}

#[test]
fn over_budget_the_least_recently_used_days_are_forgotten_first() {
    let mut p = Postings::default();
    p.set_budget(8);
    for day in 0..10 {
        p.load(
            day,
            [(StoryId(day as u64), words(&["a", "b"]), brief())],
            [],
        );
    }
    p.touch(0);
    p.touch(1);
    assert_eq!(p.len(), 20);
    p.shrink(|d| d == 2);
    assert_eq!(p.len(), 8);
    let kept: Vec<i64> = (0..10).filter(|d| p.has_day(*d)).collect();
    assert_eq!(kept, vec![0, 1, 2, 9], "used last, or kept");
    assert_eq!(
        candidates(&p, &["a"], 0..=9),
        vec![(0, 1), (1, 1), (2, 1), (9, 1)]
    );
}

#[test]
fn headlines_are_held_once_a_day_and_count_against_the_budget() {
    let mut p = Postings::default();
    p.load(5, [], [title_hash("fed raises rates")]);
    p.add_title_if_loaded(title_hash("fed raises rates"), 5);
    p.add_title_if_loaded(title_hash("fed holds rates"), 5);
    p.add_title_if_loaded(title_hash("fed holds rates"), 6);
    assert!(p.may_have_title(title_hash("fed raises rates"), 5));
    assert!(p.may_have_title(title_hash("fed holds rates"), 5));
    assert!(!p.may_have_title(title_hash("fed cuts rates"), 5));
    assert!(
        !p.may_have_title(title_hash("fed holds rates"), 6),
        "not loaded"
    );
    assert_eq!(p.len(), 2);
    p.set_budget(1);
    p.shrink(|_| false);
    assert!(p.is_empty() && !p.has_day(5));
}

#[test]
fn days_no_lookup_used_for_a_while_are_forgotten() {
    let mut p = Postings::default();
    for day in 0..3 {
        p.load(day, [(StoryId(day as u64), words(&["a"]), brief())], []);
    }
    let (minute, later) = (
        Duration::from_secs(60),
        Instant::now() + Duration::from_secs(60),
    );
    assert_eq!(p.forget_idle(2 * minute, later), 0);
    p.touch_at(1, later);
    assert_eq!(p.forget_idle(minute / 2, later + minute / 4), 2);
    assert!(p.has_day(1) && !p.has_day(0) && !p.has_day(2));
    assert_eq!(p.len(), 1);
}

#[test]
fn only_loaded_days_take_new_stories() {
    let mut p = Postings::default();
    p.add_if_loaded(StoryId(1), &words(&["a"]), brief(), 3);
    assert!(p.is_empty());
    p.load(3, [(StoryId(2), words(&["a"]), brief())], [title_hash("t")]);
    p.add_if_loaded(StoryId(1), &words(&["a"]), brief(), 3);
    p.add_title_if_loaded(title_hash("u"), 3);
    p.add_title_if_loaded(title_hash("u"), 4);
    assert!(p.has_day(3) && !p.has_day(4));
    assert_eq!(p.len(), 4);
    assert!(p.may_have_title(title_hash("u"), 3));
    assert!(!p.may_have_title(title_hash("u"), 4));
    p.prune_before(4);
    assert!(!p.has_day(3) && p.is_empty());
}

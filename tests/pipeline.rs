//! The pipeline through the library: real loopback HTTP, real parsing, a real sled store.

use std::path::Path;
use std::time::Duration;

use feedmerge::config::Config;
use feedmerge::daemon::{self, OnceReport};
use feedmerge::model::{Layer, Story};
use feedmerge::poll::Outcome;
use feedmerge::store::Store;

use crate::feeds::{atom, json, rss, Item};
use crate::support::origin::{Origin, Reply};

/// A story, and another outlet's reworded copy that the near layer joins to it.
const VOLCANO: Item = (
    "a1",
    "Volcano erupts on remote island forcing thousands to flee",
    "https://a.example/volcano",
    "2025-11-26T08:00:00Z",
);
const VOLCANO_REWORDED: Item = (
    "b1",
    "Thousands flee as volcano erupts on remote island",
    "https://b.example/eruption",
    "2025-11-26T09:30:00Z",
);

const WITKOFF: &str =
    "Trump Defends Envoy Steve Witkoff After Leak Suggests Coaching Russian Official";

fn config(dir: &Path, sources: &[(&str, String)]) -> Config {
    let mut text = format!("[store]\npath = \"{}\"\n", dir.join("store").display());
    for (name, url) in sources {
        text.push_str(&format!("[[source]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    Config::parse(&dir.join("feedmerge.toml"), &text).expect("valid test config")
}

/// Runs `once`, which returns with the store closed.
async fn once(config: &Config) -> Vec<OnceReport> {
    daemon::once(config.clone()).await.expect("once completes")
}

/// Opens the store (closed by `once` and by [`stories`]).
fn open_store(config: &Config) -> Store {
    Store::open(&config.store.path).expect("the store opens")
}

/// The stored stories, newest first; the store is closed again before this returns.
fn stories(config: &Config) -> Vec<Story> {
    let store = open_store(config);
    let stories = store.newest_stories(1000).expect("stories readable");
    drop(store);
    assert!(
        feedmerge::store::wait_until_released(&config.store.path, Duration::from_secs(10)),
        "the store stays locked"
    );
    stories
}

fn story_with<'a>(stories: &'a [Story], title_part: &str) -> &'a Story {
    stories
        .iter()
        .find(|s| s.title.contains(title_part))
        .unwrap_or_else(|| {
            panic!(
                "no story titled like {title_part:?} in {:?}",
                titles(stories)
            )
        })
}

fn titles(stories: &[Story]) -> Vec<&str> {
    stories.iter().map(|s| s.title.as_str()).collect()
}

fn layers(story: &Story) -> Vec<(String, Layer)> {
    story
        .copies
        .iter()
        .map(|c| (c.source.clone(), c.joined_by))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_story_from_rss_atom_and_json_is_published_once_with_every_source() {
    let origin = Origin::start();
    origin.feed(
        "wire.xml",
        rss(
            "Wire",
            &[
                (
                    "w1",
                    WITKOFF,
                    "https://wire.example/politics/witkoff?utm_source=rss&utm_medium=feed",
                    "2025-11-26T15:10:00Z",
                ),
                (
                    "w2",
                    "Harbour cranes idle as dock strike enters its third week",
                    "https://wire.example/business/strike",
                    "2025-11-26T09:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "post.atom",
        atom(
            "Post",
            &[
                (
                    "urn:post:1",
                    "Witkoff leak: Trump stands by his envoy",
                    "https://WIRE.example/politics/witkoff#comments",
                    "2025-11-26T16:00:00Z",
                ),
                (
                    "urn:post:2",
                    "Scientists map the deepest cave system found in Europe",
                    "https://post.example/science/cave",
                    "2025-11-26T10:00:00Z",
                ),
            ],
        ),
        "application/atom+xml",
    );
    origin.feed(
        "ledger.json",
        json(
            "Daily Ledger",
            &[
                (
                    "l1",
                    &format!("{} - Daily Ledger", WITKOFF.to_uppercase()),
                    "https://ledger.example/trump-witkoff",
                    "2025-11-26T17:00:00Z",
                ),
                (
                    "l2",
                    "Morning briefing",
                    "https://ledger.example/briefing",
                    "2025-11-26T06:00:00Z",
                ),
            ],
        ),
        "application/feed+json",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[
            ("Wire", origin.url("wire.xml")),
            ("Post", origin.url("post.atom")),
            ("Daily Ledger", origin.url("ledger.json")),
        ],
    );
    let reports = once(&config).await;
    assert!(
        reports
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Fresh { .. })),
        "{reports:?}"
    );

    let stories = stories(&config);
    assert_eq!(stories.len(), 4, "{:?}", titles(&stories));
    let merged = story_with(&stories, "Witkoff");
    assert_eq!(merged.title, WITKOFF, "the earliest copy leads");
    assert_eq!(
        merged.link.as_deref(),
        Some("https://wire.example/politics/witkoff"),
        "tracking junk removed"
    );
    // Sources are polled concurrently, so which copy arrived first (and so which layer joined
    // which) varies; the copies' order and the one story do not.
    let copies = layers(merged);
    let sources: Vec<&str> = copies.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        sources,
        vec!["Wire", "Post", "Daily Ledger"],
        "copies in publication order"
    );
    assert_eq!(
        copies.iter().filter(|(_, l)| *l == Layer::First).count(),
        1,
        "{copies:?}"
    );
    assert!(copies.iter().any(|(_, l)| *l == Layer::Url), "{copies:?}");
    assert!(copies.iter().any(|(_, l)| *l == Layer::Title), "{copies:?}");

    // The rendered feed carries the story once, naming every source.
    let snapshot =
        feedmerge::render::render(&stories, &feedmerge::render::Settings::from_config(&config));
    let xml = String::from_utf8(snapshot.rss.body.to_vec()).unwrap();
    let channel = rss::Channel::read_from(xml.as_bytes()).unwrap();
    let items: Vec<_> = channel
        .items()
        .iter()
        .filter(|i| i.title().unwrap_or("").contains("Witkoff"))
        .collect();
    assert_eq!(items.len(), 1);
    let description = items[0].description().unwrap();
    assert!(description.contains("Also reported by: <a href=\"https://wire.example/politics/witkoff\">Post</a>, <a href=\"https://ledger.example/trump-witkoff\">Daily Ledger</a>"), "{description}");
    assert_eq!(items[0].source().map(|s| s.title()), Some(Some("Wire")));
    let atom_doc = atom_syndication::Feed::read_from(snapshot.atom.body.as_ref()).unwrap();
    assert_eq!(atom_doc.entries().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_entry_on_every_poll_and_the_same_article_under_a_new_guid_are_not_new() {
    let origin = Origin::start();
    let first = [(
        "g1",
        "Council votes to extend the river ferry service to 2030",
        "https://city.example/ferry",
        "2025-11-26T08:00:00Z",
    )];
    origin.feed("city.xml", rss("City", &first), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("City", origin.url("city.xml"))]);
    once(&config).await;
    let before = stories(&config);
    assert_eq!(before.len(), 1);

    // Next poll: the same item again, the same article re-published under a new GUID with
    // tracking junk, and one genuinely new item.
    origin.feed(
        "city.xml",
        rss(
            "City",
            &[
                first[0],
                (
                    "g1-republished",
                    "Council votes to extend the river ferry service to 2030",
                    "https://www.city.example/ferry/?utm_campaign=x&fbclid=abc",
                    "2025-11-26T09:00:00Z",
                ),
                (
                    "g2",
                    "New library opens with a rooftop reading garden downtown",
                    "https://city.example/library",
                    "2025-11-26T10:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    let reports = once(&config).await;
    match &reports[0].outcome {
        Outcome::Fresh { stored, .. } => {
            assert_eq!(
                (stored.new_stories, stored.joined, stored.seen),
                (1, 1, 1),
                "{stored:?}"
            );
            // The stages it reports (the ingest bench's breakdown) were timed, and fit in it.
            let t = stored.timing;
            assert!(
                t.reading > Duration::ZERO
                    && t.committing > Duration::ZERO
                    && t.deciding + t.reading + t.committing <= t.total,
                "{t:?}"
            );
        }
        other => panic!("expected a fresh poll, got {other:?}"),
    }
    let after = stories(&config);
    assert_eq!(after.len(), 2, "{:?}", titles(&after));
    let ferry = story_with(&after, "ferry");
    assert_eq!(ferry.id, before[0].id, "the story keeps its id (and GUID)");
    assert_eq!(ferry.copies.len(), 2);
    // The source's newer copy says what it says now: it leads, the first report follows.
    assert_eq!(
        (ferry.copies[0].joined_by, ferry.copies[1].joined_by),
        (Layer::Url, Layer::First)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn different_stories_are_never_merged() {
    let origin = Origin::start();
    origin.feed(
        "a.xml",
        rss(
            "A",
            &[
                (
                    "a1",
                    "Central bank raises interest rates by a quarter point",
                    "https://a.example/rates-up",
                    "2025-11-26T08:00:00Z",
                ),
                (
                    "a2",
                    "Council approves 28-point plan for city transit",
                    "https://a.example/plan",
                    "2025-11-26T08:00:00Z",
                ),
                (
                    "a3",
                    "Morning briefing",
                    "https://a.example/briefing-1",
                    "2025-11-26T06:00:00Z",
                ),
                // The same headline twice from one source with different links: kept apart.
                (
                    "a4",
                    "Storm warning issued for the northern coast tonight",
                    "https://a.example/storm-1",
                    "2025-11-20T06:00:00Z",
                ),
                (
                    "a5",
                    "Storm warning issued for the northern coast tonight",
                    "https://a.example/storm-2",
                    "2025-11-26T06:00:00Z",
                ),
                // Every item links to the site's front page: the link identifies nothing.
                (
                    "a6",
                    "Quiz night raises funds for the animal shelter",
                    "https://a.example/",
                    "2025-11-26T07:00:00Z",
                ),
                (
                    "a7",
                    "Road closures planned for the marathon on Sunday",
                    "https://a.example/",
                    "2025-11-26T07:30:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "b.xml",
        rss(
            "B",
            &[
                (
                    "b1",
                    "Central bank holds interest rates steady amid slowing growth",
                    "https://b.example/rates-hold",
                    "2025-11-26T09:00:00Z",
                ),
                (
                    "b2",
                    "Council approves 20-point plan for city transit",
                    "https://b.example/plan",
                    "2025-11-26T09:00:00Z",
                ),
                (
                    "b3",
                    "Morning briefing",
                    "https://b.example/briefing",
                    "2025-11-26T06:30:00Z",
                ),
                // A specific headline equal to A's, but five days later: a different event.
                (
                    "b4",
                    "Storm warning issued for the northern coast tonight",
                    "https://b.example/storm",
                    "2025-12-01T06:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[("A", origin.url("a.xml")), ("B", origin.url("b.xml"))],
    );
    once(&config).await;
    let stories = stories(&config);
    assert_eq!(
        stories.len(),
        11,
        "every item is its own story: {:?}",
        titles(&stories)
    );
    assert!(stories.iter().all(|s| s.copies.len() == 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn conditional_get_sends_validators_and_a_304_changes_nothing() {
    let origin = Origin::start();
    origin.feed(
        "c.xml",
        rss(
            "C",
            &[(
                "c1",
                "Volunteers plant ten thousand trees along the old railway",
                "https://c.example/trees",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("C", origin.url("c.xml"))]);
    once(&config).await;
    let reports = once(&config).await;
    assert_eq!(reports[0].outcome, Outcome::NotModified);
    let requests = origin.requests("c.xml");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].if_none_match, None);
    assert!(
        requests[1].if_none_match.is_some(),
        "validator sent back: {requests:?}"
    );
    assert_eq!(requests[1].status, 304);
    assert!(requests[0]
        .user_agent
        .as_deref()
        .unwrap_or("")
        .starts_with("feedmerge/"));
    assert_eq!(stories(&config).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_source_is_reported_and_the_others_still_merge() {
    let origin = Origin::start();
    origin.feed(
        "good.xml",
        rss(
            "Good",
            &[(
                "g1",
                "Lighthouse keeper retires after forty years on the rock",
                "https://good.example/lighthouse",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "broken.xml",
        "<rss version=\"2.0\"><channel><title>x</title><item><title>cut off",
        "application/rss+xml",
    );
    origin.feed(
        "page.html",
        "<!DOCTYPE html><html><body>Not a feed</body></html>",
        "text/html",
    );
    origin.set("down.xml", Reply::Status(500));
    origin.feed("empty.xml", "", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[
            ("Good", origin.url("good.xml")),
            ("Broken", origin.url("broken.xml")),
            ("Page", origin.url("page.html")),
            ("Down", origin.url("down.xml")),
            ("Empty", origin.url("empty.xml")),
            ("Nowhere", "http://127.0.0.1:9/feed.xml".to_string()),
        ],
    );
    let reports = once(&config).await;
    let reason = |name: &str| match &reports.iter().find(|r| r.source == name).unwrap().outcome {
        Outcome::Failed(reason) => reason.clone(),
        other => panic!("{name}: expected a failure, got {other:?}"),
    };
    assert!(
        reason("Broken").starts_with("not a feed"),
        "{}",
        reason("Broken")
    );
    assert!(reason("Page").contains("HTML page"));
    assert_eq!(reason("Down"), "HTTP status 500");
    assert!(reason("Empty").contains("empty"));
    assert!(
        reason("Nowhere").contains("connect"),
        "{}",
        reason("Nowhere")
    );
    let stories = stories(&config);
    assert_eq!(
        titles(&stories),
        vec!["Lighthouse keeper retires after forty years on the rock"]
    );
    // A failed poll keeps no validators, so the next poll fetches in full again.
    let store = open_store(&config);
    let state = store.poll_state(&origin.url("down.xml")).unwrap().unwrap();
    assert_eq!(state.consecutive_failures, 1);
    assert_eq!(state.last_outcome, "HTTP status 500");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reworded_headline_from_another_outlet_joins_and_a_guarded_one_does_not() {
    let origin = Origin::start();
    origin.feed(
        "a.xml",
        rss(
            "A",
            &[
                VOLCANO,
                (
                    "a2",
                    "Central bank raises interest rates to curb stubborn inflation",
                    "https://a.example/rates",
                    "2025-11-26T08:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "b.xml",
        atom(
            "B",
            &[
                VOLCANO_REWORDED,
                (
                    "b2",
                    "Central bank holds interest rates to curb stubborn inflation",
                    "https://b.example/rates",
                    "2025-11-26T09:30:00Z",
                ),
            ],
        ),
        "application/atom+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[("A", origin.url("a.xml")), ("B", origin.url("b.xml"))],
    );
    once(&config).await;
    let stories = stories(&config);
    assert_eq!(stories.len(), 3, "{:?}", titles(&stories));
    let volcano = story_with(&stories, "olcano");
    assert_eq!(volcano.copies.len(), 2);
    let joined = volcano
        .copies
        .iter()
        .find(|c| c.joined_by != Layer::First)
        .unwrap();
    assert_eq!(joined.joined_by, Layer::Near);
    assert!(joined.score.unwrap() >= 0.5);
    assert!(joined.reason.contains("guards pass"), "{}", joined.reason);
    assert!(stories
        .iter()
        .filter(|s| s.title.contains("interest rates"))
        .all(|s| s.copies.len() == 1));
}

/// A store holding one `once` run of source A carrying [`VOLCANO`] (source B carries nothing
/// yet), for tests of what a later run makes of B's copies.
async fn volcano_stored_by_a_first_run(origin: &Origin) -> (tempfile::TempDir, Config) {
    origin.feed("a.xml", rss("A", &[VOLCANO]), "application/rss+xml");
    origin.feed("b.xml", rss("B", &[]), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[("A", origin.url("a.xml")), ("B", origin.url("b.xml"))],
    );
    let first_run: usize = once(&config)
        .await
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Fresh { stored, .. } => Some(stored.new_stories),
            _ => None,
        })
        .sum();
    assert_eq!(first_run, 1);
    (dir, config)
}

/// The near layer's index lives in memory and is rebuilt from the stored sketches: a reworded
/// copy that arrives in a later run (a restart, another `once`) still finds its story, also
/// one older than the window is from now (copies are compared by their own dates).
#[tokio::test(flavor = "multi_thread")]
async fn a_reworded_copy_in_a_later_run_joins_the_story_stored_before() {
    let origin = Origin::start();
    let (_dir, config) = volcano_stored_by_a_first_run(&origin).await;

    origin.feed(
        "b.xml",
        rss(
            "B",
            &[
                VOLCANO_REWORDED,
                (
                    "b2",
                    "Volcano on remote island quiet again as thousands return",
                    "https://b.example/return",
                    "2025-11-27T09:30:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    once(&config).await;
    let stories = stories(&config);
    assert_eq!(stories.len(), 2, "{:?}", titles(&stories));
    let volcano = story_with(&stories, "forcing thousands");
    assert_eq!(layers(volcano).len(), 2, "{:?}", layers(volcano));
    assert_eq!(volcano.copies[1].joined_by, Layer::Near);
    assert_eq!(story_with(&stories, "quiet again").copies.len(), 1);
}

/// The same for a headline repeated word for word: it joins by the title layer, as it would
/// have in the first run. Headline keys used to be pruned with the window from now, so a
/// later run's upkeep took those of a story dated last year and the copy joined by
/// similarity instead (or, had the guards refused it, not at all).
#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_headline_in_a_later_run_joins_by_the_title_layer() {
    let origin = Origin::start();
    let (_dir, config) = volcano_stored_by_a_first_run(&origin).await;
    let repeated = (
        "b1",
        VOLCANO.1,
        "https://b.example/volcano-island",
        "2025-11-26T10:00:00Z",
    );
    origin.feed("b.xml", rss("B", &[repeated]), "application/rss+xml");
    once(&config).await;
    let stories = stories(&config);
    assert_eq!(stories.len(), 1, "{:?}", titles(&stories));
    assert_eq!(
        layers(&stories[0]),
        vec![
            ("A".to_string(), Layer::First),
            ("B".to_string(), Layer::Title)
        ],
        "{:?}",
        stories[0].copies
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_with_priority_leads_the_stories_it_carries() {
    let origin = Origin::start();
    let headline = "Harbour cranes idle as dock strike enters its third week";
    origin.feed(
        "early.xml",
        rss(
            "Early",
            &[(
                "e1",
                headline,
                "https://early.example/strike",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "trusted.xml",
        rss(
            "Trusted",
            &[(
                "t1",
                headline,
                "https://trusted.example/strike",
                "2025-11-26T10:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\npath = \"{}\"\n[[source]]\nname = \"Early\"\nurl = \"{}\"\n[[source]]\nname = \"Trusted\"\nurl = \"{}\"\npriority = 10\n",
        dir.path().join("store").display(),
        origin.url("early.xml"),
        origin.url("trusted.xml")
    );
    let config = Config::parse(&dir.path().join("f.toml"), &text).unwrap();
    once(&config).await;
    let stories = stories(&config);
    assert_eq!(stories.len(), 1);
    let story = &stories[0];
    assert_eq!(
        story.link.as_deref(),
        Some("https://trusted.example/strike"),
        "the trusted copy leads"
    );
    assert_eq!(story.copies[0].source, "Trusted");
    assert_eq!(
        story.published.to_rfc3339(),
        "2025-11-26T08:00:00+00:00",
        "placed by its first report"
    );
}

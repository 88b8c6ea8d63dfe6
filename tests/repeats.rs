//! An outlet's own repeats through the real binary: the repeated headline this project grew
//! from folds into one story, and series of templated or generic headlines stay apart.

use std::time::Duration;

use crate::feeds::rss;
use crate::support::origin::Origin;
use crate::support::process::{run_cli, write_config, Daemon};
use crate::support::scenario::Scenario;
use crate::support::{get, wait_for};

const SEED: &str =
    "Trump Defends Envoy Steve Witkoff After Leak Suggests Coaching Russian Official";

/// Every exported story as JSON, one a line.
fn export(config: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = run_cli(&["-c", config, "export"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("export writes JSON lines"))
        .collect()
}

fn copies(story: &serde_json::Value) -> Vec<&serde_json::Value> {
    story["copies"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

#[test]
fn an_outlets_repeated_headline_and_its_wire_reissue_are_one_story() {
    let origin = Origin::start();
    let update = format!("UPDATE 2-{SEED}");
    origin.feed(
        "wire.xml",
        rss(
            "Wire",
            &[
                (
                    "w1",
                    SEED,
                    "https://wire.example/world/1",
                    "2025-03-25T08:00:00Z",
                ),
                (
                    "w2",
                    SEED,
                    "https://wire.example/politics/2",
                    "2025-03-25T08:05:00Z",
                ),
                (
                    "w3",
                    SEED,
                    "https://wire.example/us/3",
                    "2025-03-25T08:10:00Z",
                ),
                (
                    "w4",
                    &update,
                    "https://wire.example/us/4",
                    "2025-03-25T10:00:00Z",
                ),
                (
                    "w5",
                    "Harbour authority approves dredging of the northern shipping lane",
                    "https://wire.example/harbour",
                    "2025-03-25T09:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "post.xml",
        rss(
            "Post",
            &[(
                "p1",
                SEED,
                "https://post.example/witkoff",
                "2025-03-25T09:30:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("Wire", origin.url("wire.xml")),
            ("Post", origin.url("post.xml")),
        ],
        "1h",
        "",
    );
    let c = config.to_str().unwrap();
    let (code, out, err) = run_cli(&["-c", c, "once"]);
    assert_eq!(code, 0, "{out}{err}");

    let stories = export(c);
    assert_eq!(stories.len(), 2, "{stories:#?}");
    let seed = stories
        .iter()
        .find(|s| copies(s).len() > 1)
        .expect("the repeated headline is one story");
    let links: Vec<&str> = copies(seed)
        .iter()
        .filter_map(|c| c["link"].as_str())
        .collect();
    for link in [
        "https://wire.example/world/1",
        "https://wire.example/politics/2",
        "https://wire.example/us/3",
        "https://wire.example/us/4",
        "https://post.example/witkoff",
    ] {
        assert!(links.contains(&link), "{link} missing from {links:?}");
    }
    assert_eq!(links.len(), 5);
    // The re-issue is the wire's newest word on the story, and the wire reported first: it leads.
    assert_eq!(seed["title"], update.as_str(), "{seed:#}");
    assert_eq!(seed["link"], "https://wire.example/us/4");

    // `explain` says which rule let each repeat in.
    let (code, why, err) = run_cli(&["-c", c, "explain", "https://wire.example/us/3"]);
    assert_eq!(code, 0, "{err}");
    assert!(why.contains("same outlet, same headline"), "{why}");
    assert!(why.contains("same outlet, wire re-issue"), "{why}");

    // The published item names each source once.
    let daemon = Daemon::start(&config);
    let feed = wait_for("the merged feed", Duration::from_secs(20), || {
        let (status, _, body) = get(&daemon.url("feed.xml"), &[])?;
        let body = String::from_utf8(body).ok()?;
        (status == 200 && body.contains("Witkoff")).then_some(body)
    });
    let item = feed
        .split("<item>")
        .find(|i| i.contains("Witkoff"))
        .expect("the story's item");
    assert!(
        item.contains("From <a href=\"https://wire.example/us/4\">Wire</a>. Also reported by: <a href=\"https://post.example/witkoff\">Post</a>.</p>"),
        "{item}"
    );
    assert_eq!(item.matches(">Wire</a>").count(), 1, "{item}");
    assert_eq!(item.matches(">Post</a>").count(), 1, "{item}");
}

#[test]
fn an_outlets_templated_and_generic_series_stay_apart() {
    let origin = Origin::start();
    let items = [
        (
            "i1",
            "Image of the Day: January 27",
            "https://a.example/i1",
            "2025-03-25T08:00:00Z",
        ),
        (
            "i2",
            "Image of the Day: March 20",
            "https://a.example/i2",
            "2025-03-25T09:00:00Z",
        ),
        (
            "t1",
            "Top Asian News at 2:30 a.m. GMT",
            "https://a.example/t1",
            "2025-03-25T08:30:00Z",
        ),
        (
            "t2",
            "Top Asian News at 1:25 a.m. GMT",
            "https://a.example/t2",
            "2025-03-25T09:30:00Z",
        ),
        (
            "m1",
            "Morning briefing",
            "https://a.example/m1",
            "2025-03-25T06:00:00Z",
        ),
        (
            "m2",
            "Morning briefing",
            "https://a.example/m2",
            "2025-03-25T10:00:00Z",
        ),
        (
            "d1",
            "Stock market today: Dow, S&P 500 and Nasdaq futures drift",
            "https://a.example/d1",
            "2025-03-24T07:00:00Z",
        ),
        (
            "d2",
            "Stock market today: Dow, S&P 500 and Nasdaq futures drift",
            "https://a.example/d2",
            "2025-03-25T07:00:00Z",
        ),
    ];
    origin.feed("a.xml", rss("A", &items), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("A", origin.url("a.xml"))], "1h", "");
    let c = config.to_str().unwrap();
    let (code, out, err) = run_cli(&["-c", c, "once"]);
    assert_eq!(code, 0, "{out}{err}");
    let stories = export(c);
    assert_eq!(stories.len(), items.len(), "{stories:#?}");
    assert!(stories.iter().all(|s| copies(s).len() == 1), "{stories:#?}");
}

/// The value of counter `name` in the daemon's /metrics, once it is there.
fn counter(daemon: &Daemon, name: &str) -> Option<u64> {
    let (_, _, body) = get(&daemon.url("metrics"), &[])?;
    String::from_utf8(body)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.trim().parse().ok())
}

#[test]
fn metrics_count_an_outlets_repeats_and_explain_names_the_stories_a_merge_joined() {
    const OTHER: &str = "Harbour authority approves dredging of the northern shipping lane";
    let day = "2025-03-25T08:00:00Z";
    let scenario = Scenario::new()
        .interval("1s")
        .rss(
            "Wire",
            "wire.xml",
            &[
                ("w1", SEED, "https://wire.example/world/1", day),
                (
                    "w2",
                    SEED,
                    "https://wire.example/politics/2",
                    "2025-03-25T08:05:00Z",
                ),
                (
                    "w3",
                    &format!("UPDATE 2-{SEED}"),
                    "https://wire.example/us/3",
                    "2025-03-25T09:00:00Z",
                ),
            ],
        )
        .rss(
            "Harbour",
            "harbour.xml",
            &[("h1", OTHER, "https://harbour.example/dredging", day)],
        )
        .rss("Post", "post.xml", &[]);
    let daemon = scenario.run();
    wait_for(
        "the wire's two repeats counted",
        Duration::from_secs(20),
        || (counter(&daemon, "feedmerge_dedup_same_outlet_joins_total")? == 2).then_some(()),
    );
    assert_eq!(counter(&daemon, "feedmerge_dedup_merges_total"), Some(0));

    // An item with the harbour story's link and the wire story's headline shows the two are one.
    scenario.origin().feed(
        "post.xml",
        rss(
            "Post",
            &[(
                "p1",
                SEED,
                "https://harbour.example/dredging",
                "2025-03-25T10:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    wait_for("the merge counted", Duration::from_secs(20), || {
        (counter(&daemon, "feedmerge_dedup_merges_total")? == 1).then_some(())
    });
    let (status, _, body) = get(
        &daemon.url("stories.json?url=https://harbour.example/dredging"),
        &[],
    )
    .expect("the story");
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("met this one when Post's") && body.contains("merged: story "),
        "{body}"
    );
    assert_eq!(
        counter(&daemon, "feedmerge_dedup_same_outlet_joins_total"),
        Some(2)
    );
}

//! The daemon as a real process: serving, conditional requests, restarts, kill -9, signals.

use std::io::Read;
use std::time::Duration;

use crate::feeds::{rss, Item};
use crate::support::origin::Reply;
use crate::support::process::Daemon;
use crate::support::scenario::{free_port, Scenario};
use crate::support::{get, rss_guids, rss_titles, wait_for};

/// The one item of source A in two tests.
const FERRY: Item = (
    "a1",
    "Ferry service resumes after the winter storm passes",
    "https://a.example/ferry",
    "2025-11-26T08:00:00Z",
);

fn feed(daemon: &Daemon) -> String {
    let (status, _, body) = get(&daemon.url("feed.xml"), &[]).expect("feed reachable");
    assert_eq!(status, 200);
    String::from_utf8(body).expect("utf-8 feed")
}

fn wait_for_items(daemon: &Daemon, n: usize) -> String {
    wait_for(
        &format!("{n} items in the merged feed"),
        Duration::from_secs(30),
        || {
            let xml = feed(daemon);
            (rss_guids(&xml).len() >= n).then_some(xml)
        },
    )
}

#[test]
fn serves_rss_and_atom_with_etags_304s_and_gzip() {
    let s = Scenario::new().rss("A", "a.xml", &[FERRY]);
    let daemon = s.run();
    assert_eq!(get(&daemon.url("healthz"), &[]).unwrap().0, 200);
    wait_for_items(&daemon, 1);

    for (path, content_type) in [
        ("feed.xml", "application/rss+xml"),
        ("atom.xml", "application/atom+xml"),
    ] {
        let (status, headers, body) = get(&daemon.url(path), &[]).unwrap();
        assert_eq!(status, 200);
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with(content_type));
        let etag = headers["etag"].to_str().unwrap().to_string();
        let last_modified = headers["last-modified"].to_str().unwrap().to_string();

        let (status, _, body304) = get(&daemon.url(path), &[("If-None-Match", &etag)]).unwrap();
        assert_eq!(status, 304);
        assert!(body304.is_empty());
        let (status, _, _) =
            get(&daemon.url(path), &[("If-Modified-Since", &last_modified)]).unwrap();
        assert_eq!(status, 304);
        let (status, _, _) = get(&daemon.url(path), &[("If-None-Match", "\"other\"")]).unwrap();
        assert_eq!(status, 200);

        let (status, headers, gz) = get(&daemon.url(path), &[("Accept-Encoding", "gzip")]).unwrap();
        assert_eq!(status, 200);
        assert_eq!(headers["content-encoding"], "gzip");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
    }
    let xml = feed(&daemon);
    assert!(
        xml.contains("<atom:link href=\"http://127.0.0.1:"),
        "self link: {xml}"
    );
    assert!(
        xml.contains("<pubDate>Wed, 26 Nov 2025 08:00:00 +0000</pubDate>"),
        "{xml}"
    );
}

#[test]
fn a_restart_keeps_every_story_and_publishes_none_twice() {
    let items = [
        (
            "a1",
            "Orchestra announces a free concert series in city parks",
            "https://a.example/concerts",
            "2025-11-26T08:00:00Z",
        ),
        (
            "a2",
            "Airport adds direct flights to three new destinations",
            "https://a.example/flights",
            "2025-11-26T09:00:00Z",
        ),
    ];
    let s = Scenario::new().rss("A", "a.xml", &items).interval("3s");

    let mut daemon = s.run();
    let before = rss_guids(&wait_for_items(&daemon, 2));
    daemon.signal("TERM");
    assert!(
        daemon.wait_exit().success(),
        "SIGTERM exits 0: {}",
        daemon.stderr()
    );
    assert!(daemon.stderr().contains("shutting down"));
    drop(daemon);

    // The publisher now re-sends the same items (new GUIDs and tracking junk on one), and one
    // new story.
    s.origin().feed(
        "a.xml",
        rss(
            "A",
            &[
                items[0],
                (
                    "a2-again",
                    items[1].1,
                    "https://a.example/flights?utm_source=rss",
                    items[1].3,
                ),
                (
                    "a3",
                    "Museum reopens its restored Roman mosaic gallery",
                    "https://a.example/mosaic",
                    "2025-11-26T10:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    let daemon = s.run();
    let right_away = rss_guids(&feed(&daemon));
    assert_eq!(
        right_away, before,
        "stories are served from the store before any poll"
    );
    let after = rss_guids(&wait_for_items(&daemon, 3));
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(&after[1..], &before[..], "old stories keep their GUIDs");
    let mut unique = after.clone();
    unique.dedup();
    assert_eq!(unique.len(), after.len());
}

#[test]
fn kill_9_after_a_reported_ingest_loses_nothing() {
    let mut s = Scenario::new()
        .rss(
            "A",
            "a.xml",
            &[
                (
                    "k1",
                    "Glacier retreat measured at a record pace this summer",
                    "https://a.example/glacier",
                    "2025-11-26T08:00:00Z",
                ),
                (
                    "k2",
                    "Town hall debate draws the largest crowd in a decade",
                    "https://a.example/debate",
                    "2025-11-26T09:00:00Z",
                ),
            ],
        )
        .interval("1h");
    let mut daemon = s.run();
    daemon.wait_log("2 new stories");
    daemon.kill9();
    drop(daemon);
    // The publisher is gone: whatever the restarted daemon serves comes from the store.
    s.stop_origin();
    let daemon = s.run();
    let titles = rss_titles(&feed(&daemon));
    assert_eq!(
        titles,
        vec![
            "Town hall debate draws the largest crowd in a decade",
            "Glacier retreat measured at a record pace this summer"
        ]
    );
}

#[test]
fn broken_sources_are_logged_by_name_and_the_feed_stays_clean() {
    let s = Scenario::new()
        .rss(
            "Good",
            "good.xml",
            &[(
                "g1",
                "Harvest festival returns to the old market square",
                "https://good.example/harvest",
                "2025-11-26T08:00:00Z",
            )],
        )
        .feed(
            "Bad XML",
            "bad.xml",
            "<rss version=\"2.0\"><channel><item><title>Error 42 <b>",
        )
        .source("Slow", "slow.xml")
        .source("Unavailable", "gone.xml");
    s.origin().set("slow.xml", Reply::Hang);
    s.origin().set("gone.xml", Reply::Status(503));
    // write_config sets a 5 s timeout; the hanging source must not hold the others up.
    let daemon = s.run();
    let xml = wait_for_items(&daemon, 1);
    daemon.wait_log("source=Bad XML");
    daemon.wait_log("source=Unavailable");
    daemon.wait_log("source=Slow");
    let log = daemon.stderr();
    assert!(
        log.contains("poll failed, retrying next interval: not a feed"),
        "{log}"
    );
    assert!(log.contains("HTTP status 503"), "{log}");
    assert!(log.contains("timed out"), "{log}");
    assert_eq!(
        rss_titles(&xml),
        vec!["Harvest festival returns to the old market square"]
    );
    assert_eq!(
        rss_titles(&feed(&daemon)).len(),
        1,
        "no error text became an item"
    );
}

#[test]
fn a_second_process_on_the_same_store_is_refused_clearly() {
    let s = Scenario::new();
    let _daemon = s.run();
    let (code, _, err) = s.once();
    assert_eq!(code, 75, "{err}");
    assert!(
        err.contains("is in use by another feedmerge process"),
        "{err}"
    );
}

#[test]
fn a_running_daemon_explains_stories_over_http_and_to_the_cli() {
    // The CLI reaches the daemon at [server] listen, so it needs a fixed port here.
    let s = Scenario::new()
        .rss("A", "a.xml", &[FERRY])
        .listen(free_port());
    let daemon = s.run();
    let xml = wait_for_items(&daemon, 1);
    let guid = rss_guids(&xml)[0].clone();
    let id = guid.trim_start_matches("urn:feedmerge:story:").to_string();
    let (status, headers, body) = get(&daemon.url(&format!("stories/{id}.json")), &[]).unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let story: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(story["copies"][0]["source"], "A");
    let (status, _, _) = get(
        &daemon.url("stories.json?url=https%3A%2F%2Fa.example%2Fferry"),
        &[],
    )
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        get(&daemon.url("stories/0000000000000000.json"), &[])
            .unwrap()
            .0,
        404
    );
    // The store is locked by the daemon: the CLI asks it instead.
    let (code, out, err) = s.cli(&["explain", &guid]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Ferry service resumes after the winter storm passes"),
        "{out}"
    );
}

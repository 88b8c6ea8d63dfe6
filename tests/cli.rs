//! The command line through the real binary: `check`, `once`, exit codes, error messages.

use crate::feeds::rss;
use crate::support::assert_contains;
use crate::support::origin::Origin;
use crate::support::process::run_cli;
use crate::support::scenario::{ConfigFile, Scenario};

#[test]
fn check_accepts_the_example_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/feedmerge.toml");
    let (code, out, err) = run_cli(&["-c", example, "check"]);
    assert_eq!(code, 0, "{out}{err}");
    // What each of its values reads as: config::tests::the_example_config_reads_as_written.
    assert_eq!(out, format!("{example}: ok, 3 sources\n"), "{err}");
}

#[test]
fn check_lists_every_problem_with_file_line_and_column_and_exits_78() {
    ConfigFile::new("bad.toml")
        .write("[poll]\ninterval = \"often\"\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/feed\"\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/feed\"\n")
        .expect(
            &["check"],
            78,
            &[
                "{p}:2:12: `interval = \"often\"` is not a duration",
                "{p}:9:8: duplicate source name \"A\"",
                "{p}:10:7: duplicate source url https://a.example/feed",
            ],
        );
}

#[test]
fn an_invalid_websub_hub_is_pinpointed_by_check() {
    let file = ConfigFile::new("hub.toml");
    let source = "\n[[source]]\nname = \"A\"\nurl = \"https://a.example/feed\"\n";
    for (hub, why) in [
        ("hub.example/publish", "is not a valid URL"),
        ("ftp://hub.example/", "uses the scheme `ftp:`"),
        ("http://", "is not a valid URL"),
    ] {
        file.write(&format!("[publish]\nwebsub_hub = \"{hub}\"\n{source}"))
            .expect(
                &["check"],
                78,
                &[&format!("{{p}}:2:14: `websub_hub`: \"{hub}\" {why}")],
            );
    }
    file.write(&format!(
        "[publish]\nwebsub_hub = \"https://hub.example/\"\n{source}"
    ))
    .expect(&["check"], 0, &[]);
}

#[test]
fn unknown_keys_and_syntax_errors_are_pinpointed_and_run_refuses_to_start() {
    let file = ConfigFile::new("typo.toml");
    file.write("[feed]\ntitle = \"x\"\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\nintervall = \"5m\"\n")
        .expect(&["run"], 78, &["{p}:7:1: unknown field `intervall`"]);
    file.write("[feed\ntitle = \"x\"\n")
        .expect(&["check"], 78, &["{p}:1:"]);
}

#[test]
fn a_missing_config_file_says_so() {
    let (code, _, err) = run_cli(&["-c", "/nonexistent/feedmerge.toml", "check"]);
    assert_eq!(code, 78);
    assert!(
        err.contains("/nonexistent/feedmerge.toml: cannot read the config file"),
        "{err}"
    );
}

#[test]
fn once_prints_a_summary_naming_failed_sources_and_exits_0() {
    let s = Scenario::new()
        .rss(
            "Ok",
            "ok.xml",
            &[(
                "o1",
                "Bridge reopens to traffic after two years of repairs",
                "https://ok.example/bridge",
                "2025-11-26T08:00:00Z",
            )],
        )
        .source("Missing", "missing.xml");
    let (code, out, err) = s.once();
    assert_eq!(code, 0, "{out}{err}");
    assert_contains(
        &out,
        &[
            "ok        Ok: 1 entries: 1 new stories",
            "FAILED    Missing: HTTP status 404",
            "polled 2 sources: 1 ok, 0 not modified, 1 failed; 1 new stories",
        ],
    );
    assert!(
        err.contains("source=Missing"),
        "the log names the source: {err}"
    );
}

#[test]
fn an_unusable_store_path_is_one_clear_line_with_its_own_exit_code() {
    let s = Scenario::new();
    let blocker = s.dir().join("store");
    std::fs::write(&blocker, "a file where the store directory should be").unwrap();
    let (code, _, err) = s.once();
    assert_eq!(code, 74, "{err}");
    assert!(
        err.contains(&format!("cannot open the store {}", blocker.display())),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn explain_shows_a_story_its_copies_and_why_each_joined() {
    let s = Scenario::new()
        .rss(
            "A",
            "a.xml",
            &[(
                "a1",
                "Volcano erupts on remote island forcing thousands to flee",
                "https://a.example/volcano?utm_source=rss",
                "2025-11-26T08:00:00Z",
            )],
        )
        .rss(
            "B",
            "b.xml",
            &[(
                "b1",
                "Thousands flee as volcano erupts on remote island",
                "https://b.example/eruption",
                "2025-11-26T09:00:00Z",
            )],
        );
    assert_eq!(s.once().0, 0);
    let (code, out, err) = s.cli(&["explain", "https://a.example/volcano"]);
    assert_eq!(code, 0, "{err}");
    assert_contains(
        &out,
        &[
            "Volcano erupts on remote island forcing thousands to flee",
            "1. A:",
            "2. B:",
            "joined by near (score",
            "all guards pass",
        ],
    );
    // By id too, and an unknown link is a clear error.
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    let (code, by_id, _) = s.cli(&["explain", &id]);
    assert_eq!((code, by_id), (0, out));
    let (code, _, err) = s.cli(&["explain", "https://nowhere.example/x"]);
    assert_ne!(code, 0);
    assert!(err.contains("no stored story"), "{err}");
    // The export has the same story.
    let (code, export, _) = s.cli(&["export"]);
    assert_eq!(code, 0);
    assert_eq!(export.lines().count(), 1);
    assert!(export.contains("\"joined_by\":\"near\""), "{export}");
}

#[test]
fn preview_shows_what_the_daemon_would_read_without_storing_anything() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/cli/demo/feeds/metro-bulletin.xml"
    );
    let (code, out, err) = run_cli(&["-c", "/nonexistent.toml", "preview", file]);
    assert_eq!(code, 0, "{err}");
    assert_contains(
        &out,
        &[
            "format:  RSS2",
            "repaired: missing or unknown <rss version> read as 2.0",
            "guid:      (none: the key comes from the link or title)",
        ],
    );

    let origin = Origin::start();
    origin.feed(
        "p.xml",
        rss(
            "P",
            &[(
                "p1",
                "Harbour ferry adds a late-night service on weekends",
                "https://p.example/ferry?utm_source=rss",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let (code, out, err) = run_cli(&["preview", "--json", &origin.url("p.xml")]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["link"], "https://p.example/ferry");
    assert_eq!(v["canonical_url"], "p.example/ferry");
    assert_eq!(v["guid"], "p1");
    assert_eq!(v["date_from_feed"], true);
}

#[test]
fn status_reports_each_source() {
    let s = Scenario::new()
        .rss(
            "Ok",
            "ok.xml",
            &[(
                "o1",
                "New cycle lanes open along the river embankment",
                "https://ok.example/lanes",
                "2025-11-26T08:00:00Z",
            )],
        )
        .source("Gone", "gone.xml");
    assert_eq!(s.once().0, 0);
    let (code, out, err) = s.cli(&["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["name"], "Ok");
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[0]["entries_seen"], 1);
    assert_eq!(v[0]["stories_led"], 1);
    assert_eq!(v[0]["conditional_get"], true);
    assert_eq!(v[1]["ok"], false);
    assert_eq!(v[1]["last_outcome"], "HTTP status 404");
    let (_, table, _) = s.cli(&["status"]);
    assert!(table.contains("FAILING Gone"), "{table}");
}

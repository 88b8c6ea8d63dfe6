//! Real feed clients subscribe to the running daemon: Python feedparser and newsboat.

use std::time::Duration;

use crate::feeds::{atom, rss};
use crate::support::origin::Origin;
use crate::support::process::{write_config, Daemon};
use crate::support::tools::{require, require_python_module, run};
use crate::support::{get, rss_guids, wait_for};

const FERRY: &str = "Ferry service resumes after the winter storm passes the coast";

/// Two sources, three stories (one carried by both), tags `world` and `local`.
fn merged_daemon(dir: &std::path::Path) -> (Origin, Daemon) {
    let origin = Origin::start();
    origin.feed(
        "a.xml",
        rss(
            "A",
            &[
                (
                    "a1",
                    FERRY,
                    "https://a.example/ferry",
                    "2025-11-26T08:00:00Z",
                ),
                (
                    "a2",
                    "Chip maker unveils a low power processor for small laptops",
                    "https://a.example/chip",
                    "2025-11-26T07:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "b.atom",
        atom(
            "B",
            &[
                (
                    "urn:b:1",
                    FERRY,
                    "https://a.example/ferry",
                    "2025-11-26T08:10:00Z",
                ),
                (
                    "urn:b:2",
                    "City library extends weekend opening hours & adds rooms",
                    "https://b.example/library",
                    "2025-11-26T09:00:00Z",
                ),
            ],
        ),
        "application/atom+xml",
    );
    let config = write_config(
        dir,
        &[],
        "15m",
        &format!(
            "[[source]]\nname = \"A\"\nurl = \"{}\"\ntags = [\"world\"]\n\
             [[source]]\nname = \"B\"\nurl = \"{}\"\ntags = [\"local\"]\n",
            origin.url("a.xml"),
            origin.url("b.atom")
        ),
    );
    let daemon = Daemon::start(&config);
    wait_for("3 stories", Duration::from_secs(30), || {
        let (_, _, body) = get(&daemon.url("feed.xml"), &[])?;
        (rss_guids(&String::from_utf8(body).ok()?).len() == 3).then_some(())
    });
    (origin, daemon)
}

fn json_feed_ids(daemon: &Daemon, path: &str) -> Vec<String> {
    let (_, _, body) = get(&daemon.url(path), &[]).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn feedparser_reads_main_tag_and_archive_feeds_cleanly_with_the_same_items_and_304_on_resubscribe()
{
    if !require_python_module("feedparser") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_origin, daemon) = merged_daemon(dir.path());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/feedparser_check.py"
    );
    let groups = [
        ("feed.xml", "atom.xml", "feed.json", 3),
        ("tags/world.xml", "tags/world.atom", "tags/world.json", 2),
        (
            "archive/2025-11-26.xml",
            "archive/2025-11-26.atom",
            "archive/2025-11-26.json",
            3,
        ),
    ];
    let mut args = vec![script.to_string()];
    for (rss_path, atom_path, _, _) in groups {
        args.push(daemon.url(rss_path));
        args.push(daemon.url(atom_path));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run("python3", &args, dir.path(), Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "feedparser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 2 * groups.len(), "{stdout}");
    for (i, (_, _, json_path, n)) in groups.iter().enumerate() {
        let (r, a) = (&results[2 * i], &results[2 * i + 1]);
        for parsed in [r, a] {
            assert_eq!(parsed["bozo"], 0, "{parsed}");
            assert_eq!(parsed["status"], 200, "{parsed}");
            assert_eq!(parsed["second_status"], 304, "conditional GET: {parsed}");
            assert_eq!(parsed["ids"].as_array().unwrap().len(), *n, "{parsed}");
        }
        assert_eq!(r["version"], "rss20");
        assert_eq!(a["version"], "atom10");
        assert_eq!(r["ids"], a["ids"], "the same items, in the same order");
        assert_eq!(r["titles"], a["titles"]);
        assert_eq!(r["links"], a["links"]);
        // feedparser 6.0 (the newest release) does not read JSON Feed; its items are checked
        // against the same ids here instead.
        let json_ids = json_feed_ids(&daemon, json_path);
        assert_eq!(serde_json::json!(json_ids), r["ids"], "{json_path}");
    }
}

#[test]
fn newsboat_subscribes_to_rss_and_atom_and_lists_every_story_once() {
    if !require("newsboat", "apt-get install newsboat") {
        return;
    }
    if !require_python_module("sqlite3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_origin, daemon) = merged_daemon(dir.path());
    let urls = dir.path().join("urls");
    std::fs::write(
        &urls,
        format!("{}\n{}\n", daemon.url("feed.xml"), daemon.url("atom.xml")),
    )
    .unwrap();
    let cache = dir.path().join("cache.db");
    let (urls_arg, cache_arg) = (urls.to_str().unwrap(), cache.to_str().unwrap());
    // Twice: a second reload must not add anything.
    for _ in 0..2 {
        let out = run(
            "newsboat",
            &[
                "-u",
                urls_arg,
                "-c",
                cache_arg,
                "-x",
                "reload",
                "print-unread",
            ],
            dir.path(),
            Duration::from_secs(60),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "newsboat: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("3 unread articles"), "{stdout}");
    }
    // What newsboat stored: every story once, by our GUIDs.
    let query = "import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); \
                 print(json.dumps(sorted(r[0] for r in c.execute('select guid from rss_item'))))";
    let out = run(
        "python3",
        &["-c", query, cache_arg],
        dir.path(),
        Duration::from_secs(30),
    );
    let stored: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    let (_, _, body) = get(&daemon.url("feed.xml"), &[]).unwrap();
    let mut ids = rss_guids(&String::from_utf8(body).unwrap());
    ids.sort();
    assert_eq!(stored, ids);
    assert!(
        daemon.stderr().is_empty() || !daemon.stderr().contains("ERROR"),
        "{}",
        daemon.stderr()
    );
}

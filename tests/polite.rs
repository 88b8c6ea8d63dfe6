//! Polling etiquette through the real binary: Retry-After, 410 Gone, the publisher's
//! Cache-Control, backoff, and schedules that survive a restart.

use std::time::Duration;

use crate::feeds::rss;
use crate::support::origin::{Origin, Reply};
use crate::support::process::{run_cli, write_config, Daemon};
use crate::support::wait_for;

fn status(config: &std::path::Path) -> serde_json::Value {
    let (code, out, err) = run_cli(&["-c", config.to_str().unwrap(), "status", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn seconds_until(v: &serde_json::Value) -> i64 {
    let next = chrono::DateTime::parse_from_rfc3339(v["next_poll"].as_str().unwrap()).unwrap();
    (next.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
}

#[test]
fn retry_after_gone_and_cache_control_shape_the_schedule_across_restarts() {
    let origin = Origin::start();
    let feed = rss(
        "A",
        &[(
            "a1",
            "Library extends its opening hours for exam season",
            "https://a.example/library",
            "2025-11-26T08:00:00Z",
        )],
    );
    origin.feed("ok.xml", feed.clone(), "application/rss+xml");
    origin.set(
        "busy.xml",
        Reply::Custom {
            status: 429,
            headers: vec![("Retry-After".into(), "3600".into())],
            body: b"slow down".to_vec(),
        },
    );
    origin.set("gone.xml", Reply::Status(410));
    origin.set(
        "cached.xml",
        Reply::Custom {
            status: 200,
            headers: vec![
                ("Cache-Control".into(), "public, max-age=7200".into()),
                ("Content-Type".into(), "application/rss+xml".into()),
            ],
            body: rss(
                "C",
                &[(
                    "c1",
                    "Museum opens a gallery of maritime paintings",
                    "https://c.example/museum",
                    "2025-11-26T08:00:00Z",
                )],
            )
            .into_bytes(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("Ok", origin.url("ok.xml")),
            ("Busy", origin.url("busy.xml")),
            ("Gone", origin.url("gone.xml")),
            ("Cached", origin.url("cached.xml")),
        ],
        "1s",
        "",
    );
    let daemon = Daemon::start(&config);
    daemon.wait_log("the feed is gone (410)");
    // The healthy source keeps being polled every second...
    wait_for(
        "three polls of the healthy source",
        Duration::from_secs(30),
        || (origin.requests("ok.xml").len() >= 3).then_some(()),
    );
    // ...the others were asked for rest and get it.
    assert_eq!(origin.requests("busy.xml").len(), 1);
    assert_eq!(origin.requests("gone.xml").len(), 1);
    assert_eq!(origin.requests("cached.xml").len(), 1);
    drop(daemon);

    let s = status(&config);
    assert!(
        seconds_until(&s[1]) > 3000,
        "Retry-After honoured: {}",
        s[1]
    );
    assert_eq!(s[1]["last_outcome"], "HTTP status 429");
    assert_eq!(s[2]["last_outcome"], "HTTP status 410");
    assert_eq!(s[2]["gone"], true);
    assert!(
        seconds_until(&s[3]) > 6000,
        "Cache-Control honoured: {}",
        s[3]
    );

    // A restart honours the stored schedule: no request to the resting sources.
    let daemon = Daemon::start(&config);
    let before = origin.requests("ok.xml").len();
    wait_for(
        "the healthy source polled after restart",
        Duration::from_secs(30),
        || (origin.requests("ok.xml").len() > before + 1).then_some(()),
    );
    assert_eq!(origin.requests("busy.xml").len(), 1);
    assert_eq!(origin.requests("gone.xml").len(), 1);
    assert_eq!(origin.requests("cached.xml").len(), 1);
    drop(daemon);
}

#[test]
fn failures_back_off_and_a_success_recovers_at_once() {
    let origin = Origin::start();
    origin.set("flaky.xml", Reply::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("Flaky", origin.url("flaky.xml"))], "1s", "");
    let daemon = Daemon::start(&config);
    // Waits of 1, 2 and 4 s (±10%): the fourth request comes after about 7 s, not 3. The log
    // line comes once the failure is stored, so the store is read after the third one.
    daemon.wait_log_count("poll failed", 3);
    drop(daemon);
    let s = status(&config);
    assert!(
        s[0]["consecutive_failures"].as_u64().unwrap() >= 3,
        "{}",
        s[0]
    );
    assert!(seconds_until(&s[0]) >= 2, "backing off: {}", s[0]);
    origin.feed(
        "flaky.xml",
        rss(
            "F",
            &[(
                "f1",
                "Swimming pool reopens after repairs to its roof",
                "https://f.example/pool",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let (code, out, _) = run_cli(&["-c", config.to_str().unwrap(), "once"]);
    assert_eq!(code, 0);
    assert!(out.contains("ok        Flaky"), "{out}");
    let s = status(&config);
    assert_eq!(s[0]["consecutive_failures"], 0);
    assert!(seconds_until(&s[0]) <= 2, "back to its interval: {}", s[0]);
}

#[test]
fn one_host_gets_at_most_per_host_requests_at_once_and_the_contact_is_sent() {
    let origin = Origin::start();
    for path in ["h1.xml", "h2.xml", "h3.xml"] {
        origin.set(path, Reply::Hang);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("H1", origin.url("h1.xml")),
            ("H2", origin.url("h2.xml")),
            ("H3", origin.url("h3.xml")),
        ],
        "1h",
        "",
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "timeout = \"5s\"",
        "timeout = \"2s\"\nper_host = 2\ncontact = \"mailto:ops@example.org\"",
    );
    std::fs::write(&config, text).unwrap();
    let (code, out, _) = run_cli(&["-c", config.to_str().unwrap(), "once"]);
    assert_eq!(code, 0);
    assert_eq!(out.matches("timed out").count(), 3, "{out}");
    let mut seen: Vec<_> = ["h1.xml", "h2.xml", "h3.xml"]
        .iter()
        .flat_map(|p| origin.requests(p))
        .collect();
    seen.sort_by_key(|s| s.at);
    assert_eq!(seen.len(), 3);
    // The third request had to wait for one of the first two to time out (2 s).
    assert!(
        seen[2].at.duration_since(seen[0].at) >= Duration::from_millis(1800),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .all(|s| s.from.as_deref() == Some("ops@example.org")),
        "{seen:?}"
    );
}

#[test]
fn a_permanent_redirect_is_remembered_and_check_reports_it() {
    let origin = Origin::start();
    origin.set(
        "old.xml",
        Reply::Custom {
            status: 301,
            headers: vec![("Location".into(), "/new.xml".into())],
            body: vec![],
        },
    );
    origin.set(
        "temp.xml",
        Reply::Custom {
            status: 302,
            headers: vec![("Location".into(), "/new.xml".into())],
            body: vec![],
        },
    );
    origin.feed(
        "new.xml",
        rss(
            "N",
            &[(
                "n1",
                "Bakery celebrates a century on the high street",
                "https://n.example/bakery",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("Moved", origin.url("old.xml")),
            ("Temporary", origin.url("temp.xml")),
        ],
        "1h",
        "",
    );
    let c = config.to_str().unwrap();
    assert_eq!(run_cli(&["-c", c, "once"]).0, 0);
    assert_eq!(run_cli(&["-c", c, "once"]).0, 0);
    // The moved source goes straight to its new address the second time; the temporary one
    // keeps asking its configured address.
    assert_eq!(origin.requests("old.xml").len(), 1);
    assert_eq!(origin.requests("temp.xml").len(), 2);
    let (code, out, _) = run_cli(&["-c", c, "check"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!(
            "note: source \"Moved\" moved permanently to {}",
            origin.url("new.xml")
        )),
        "{out}"
    );
    assert!(!out.contains("\"Temporary\" moved"), "{out}");
}

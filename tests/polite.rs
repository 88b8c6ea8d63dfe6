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

/// Set in the copy of the test that runs inside its own network namespace.
const NAMESPACE_CHILD: &str = "FEEDMERGE_TEST_NAMESPACE_CHILD";

/// The redirect guard needs a *public* origin and a name that resolves to a private address,
/// which a test machine does not have (and `/etc/hosts` is not ours to edit). So the test runs
/// itself again in new network and mount namespaces (`unshare`), where the loopback device also
/// has the public address 203.0.113.7 and `/etc/hosts` is replaced by one where `public.test`
/// is 203.0.113.7 and `internal.test` is 127.0.0.1: the real binary, the system resolver, no
/// test hooks. Skips with a note where namespaces are not permitted; required in CI.
#[test]
fn a_redirect_to_a_name_of_a_private_address_is_refused_when_connecting() {
    if std::env::var_os(NAMESPACE_CHILD).is_some() {
        return redirect_to_names_inside_the_namespace();
    }
    let in_ci = std::env::var_os("CI").is_some();
    let skip = |why: String| {
        assert!(!in_ci, "{why}");
        eprintln!("skipping: {why} (run as root, or where user namespaces are allowed)");
    };
    // Root can unshare directly; elsewhere a user namespace may allow it.
    let Some(unshare) = [
        &["--mount", "--net"][..],
        &["--map-root-user", "--mount", "--net"],
    ]
    .into_iter()
    .find(|flags| {
        std::process::Command::new("unshare")
            .args(*flags)
            .arg("true")
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        return skip("cannot create network and mount namespaces with unshare".into());
    };
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n203.0.113.7 public.test\n127.0.0.1 internal.test\n",
    )
    .unwrap();
    let setup = "ip link set lo up && ip addr add 203.0.113.7/32 dev lo && mount --bind \"$HOSTS\" /etc/hosts || exit 77; exec \"$@\"";
    let out = std::process::Command::new("unshare")
        .args(unshare)
        .args(["--", "sh", "-c", setup, "sh"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "polite::a_redirect_to_a_name_of_a_private_address_is_refused_when_connecting",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(NAMESPACE_CHILD, "1")
        .env("HOSTS", &hosts)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(77) {
        return skip(format!("cannot set up the namespace (ip, mount): {log}"));
    }
    assert!(
        out.status.success(),
        "the test in the namespace failed:\n{log}"
    );
    assert!(log.contains("1 passed"), "{log}");
}

fn redirect_to_names_inside_the_namespace() {
    let origin = Origin::start_on("0.0.0.0:0");
    let port = url::Url::parse(&origin.base).unwrap().port().unwrap();
    origin.feed(
        "feed.xml",
        rss(
            "Inside",
            &[(
                "i1",
                "Harbour ferry timetable changes from next week",
                "https://inside.example/ferry",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let redirect = |to: &str| Reply::Custom {
        status: 302,
        headers: vec![("Location".into(), format!("http://{to}:{port}/feed.xml"))],
        body: vec![],
    };
    origin.set("to-internal.xml", redirect("internal.test"));
    origin.set("to-public.xml", redirect("public.test"));
    let at = |path: &str| format!("http://203.0.113.7:{port}/{path}");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("Internal", at("to-internal.xml")),
            ("Public", at("to-public.xml")),
        ],
        "1h",
        "",
    );
    let c = config.to_str().unwrap();
    let (code, _, err) = run_cli(&["-c", c, "once"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        line_of(&err, "Internal").contains(&format!(
            "redirect refused: a redirect from a public address to a private one (http://internal.test:{port}/feed.xml: internal.test resolves to 127.0.0.1 only) was refused; set [poll] allow_private_redirects = true to allow it"
        )),
        "{err}"
    );
    assert!(
        line_of(&err, "Public").contains("polled: 1 entries"),
        "{err}"
    );
    assert_eq!(
        origin.requests("feed.xml").len(),
        1,
        "only the public hop reached the feed"
    );

    // The person may allow it.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "timeout = \"5s\"",
        "timeout = \"5s\"\nallow_private_redirects = true",
    );
    std::fs::write(&config, text).unwrap();
    let (code, _, err) = run_cli(&["-c", c, "once"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        line_of(&err, "Internal").contains("polled: 1 entries"),
        "{err}"
    );
    assert_eq!(origin.requests("feed.xml").len(), 3);
}

/// A source the person configured by a name of a private address (`localhost` here) is fetched:
/// only the hops after a public origin are held to public addresses, never the first request.
#[test]
fn a_source_configured_by_a_private_name_is_fetched() {
    let origin = Origin::start();
    let port = url::Url::parse(&origin.base).unwrap().port().unwrap();
    origin.feed(
        "feed.xml",
        rss(
            "Local",
            &[(
                "l1",
                "Harbour ferry timetable changes from next week",
                "https://local.example/ferry",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[("Local", format!("http://localhost:{port}/feed.xml"))],
        "1h",
        "",
    );
    let (code, _, err) = run_cli(&["-c", config.to_str().unwrap(), "once"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        line_of(&err, "Local").contains("polled: 1 entries"),
        "{err}"
    );
    assert_eq!(origin.requests("feed.xml").len(), 1);
}

fn line_of(log: &str, source: &str) -> String {
    log.lines()
        .find(|l| {
            l.split_whitespace()
                .any(|w| w == format!("source={source}"))
        })
        .unwrap_or_else(|| panic!("no log line for {source}:\n{log}"))
        .to_string()
}

//! Operations through the real binary: live reload, retention, backup and restore, stats,
//! logs for machines, the systemd unit, and SIGKILL at random points during ingest.

use std::time::Duration;

use crate::feeds::rss;
use crate::support::process::{run_cli, write_config, Daemon};
use crate::support::scenario::{free_port, Scenario};
use crate::support::{get, rss_guids, rss_titles, sorted_titles, wait_for};

/// Whether `feedmerge stats` printed `name` with the count `n`.
fn has_stat(stats: &str, name: &str, n: usize) -> bool {
    stats
        .lines()
        .any(|l| l.starts_with(name) && l.contains(&format!(" {n} ")))
}

fn wait_titles(daemon: &Daemon, n: usize) -> Vec<String> {
    wait_for(&format!("{n} stories"), Duration::from_secs(30), || {
        let t = sorted_titles(daemon);
        (t.len() == n).then_some(t)
    })
}

#[test]
fn sighup_and_file_edits_reload_sources_and_a_bad_edit_keeps_the_old_config() {
    let s = Scenario::new()
        .rss(
            "A",
            "a.xml",
            &[(
                "a1",
                "Tram line extension opens to passengers",
                "https://a.example/tram",
                "2025-11-26T08:00:00Z",
            )],
        )
        .interval("1h");
    // B is served but not yet a source: a reload adds it.
    let origin = s.origin();
    origin.feed(
        "b.xml",
        rss(
            "B",
            &[(
                "b1",
                "Observatory spots a comet visible next week",
                "https://b.example/comet",
                "2025-11-26T09:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    let config = s.config_path();
    let base = std::fs::read_to_string(config).unwrap();
    let daemon = s.run();
    assert_eq!(
        wait_titles(&daemon, 1),
        vec!["Tram line extension opens to passengers"]
    );

    // A new source through SIGHUP: polled at once, its story published.
    std::fs::write(
        config,
        format!(
            "{base}[[source]]\nname = \"B\"\nurl = \"{}\"\n",
            origin.url("b.xml")
        ),
    )
    .unwrap();
    daemon.signal("HUP");
    assert_eq!(wait_titles(&daemon, 2).len(), 2);
    daemon.wait_log("config reloaded");

    // An invalid edit (picked up from the file alone): logged with its position, ignored.
    std::fs::write(
        config,
        format!("{base}[[source]]\nname = \"B\"\nurl = \"not a url\"\n"),
    )
    .unwrap();
    daemon.wait_log("the edited config was not applied");
    daemon.wait_log("feedmerge.toml:");
    assert_eq!(
        get(&daemon.url("healthz"), &[]).unwrap().0,
        200,
        "still serving"
    );

    // Removing a source stops its polling; what it published stays.
    let before = origin.requests("a.xml").len();
    std::fs::write(
        config,
        base.replace(&origin.url("a.xml"), &origin.url("b.xml"))
            .replace("name = \"A\"", "name = \"B\""),
    )
    .unwrap();
    daemon.wait_log_count("config reloaded", 2);
    daemon.signal("HUP");
    daemon.wait_log_count("config reloaded", 3);
    assert_eq!(
        origin.requests("a.xml").len(),
        before,
        "a removed source is not polled"
    );
    assert_eq!(sorted_titles(&daemon).len(), 2, "nothing stored is lost");
}

#[test]
fn a_changed_listen_address_is_rebound_on_reload() {
    let s = Scenario::new().interval("1h");
    let daemon = s.run();
    let port = free_port();
    let text = std::fs::read_to_string(s.config_path())
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(s.config_path(), text).unwrap();
    daemon.signal("HUP");
    daemon.wait_log("listening on the new address");
    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/healthz"), &[])
            .unwrap()
            .0,
        200
    );
    assert!(
        get(&daemon.url("healthz"), &[]).is_none(),
        "the old address is closed"
    );
}

#[test]
fn retention_prunes_the_oldest_stories_beyond_max_stories() {
    let items: Vec<(String, String, String, String)> = (0..130)
        .map(|i| {
            (
                format!("g{i}"),
                format!("Numbered story {i:03} about the harbour district council"),
                format!("https://h.example/story/{i}"),
                format!("2025-11-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24),
            )
        })
        .collect();
    let borrowed: Vec<(&str, &str, &str, &str)> = items
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
        .collect();
    let mut s = Scenario::new()
        .rss("H", "h.xml", &borrowed)
        .interval("1h")
        .config("[feed]\nmax_items = 1000\n");
    assert_eq!(s.once().0, 0);
    let (_, stats, _) = s.cli(&["stats"]);
    assert!(has_stat(&stats, "stories", 130), "{stats}");

    let text = std::fs::read_to_string(s.config_path())
        .unwrap()
        .replace("[store]\n", "[store]\nmax_stories = 100\n");
    std::fs::write(s.config_path(), text).unwrap();
    s.stop_origin(); // nothing new can arrive: only retention changes the store
    let daemon = s.run();
    daemon.wait_log("retention removed old stories");
    let kept = wait_titles(&daemon, 100);
    assert_eq!(
        kept.first().map(String::as_str),
        Some("Numbered story 030 about the harbour district council")
    );
    drop(daemon);
    let (_, stats, _) = s.cli(&["stats"]);
    assert!(has_stat(&stats, "stories", 100), "{stats}");
    assert!(has_stat(&stats, "entries", 100), "{stats}");
}

#[test]
fn export_then_import_restores_every_story_with_its_guid_into_a_new_store() {
    let old = Scenario::new()
        .rss(
            "A",
            "a.xml",
            &[
                (
                    "a1",
                    "Ferry timetable changes for the winter season",
                    "https://a.example/ferry",
                    "2025-11-26T08:00:00Z",
                ),
                (
                    "a2",
                    "Council votes to plant trees on every school street",
                    "https://a.example/trees",
                    "2025-11-26T09:00:00Z",
                ),
            ],
        )
        .interval("1h");
    assert_eq!(old.once().0, 0);
    let (code, backup, _) = old.cli(&["export"]);
    assert_eq!(code, 0);
    let backup_file = old.dir().join("backup.jsonl");
    std::fs::write(&backup_file, &backup).unwrap();

    let new = tempfile::tempdir().unwrap();
    let new_config = write_config(new.path(), &[("A", old.origin().url("a.xml"))], "1h", "");
    let n = new_config.to_str().unwrap();
    let (code, out, err) = run_cli(&["-c", n, "import", backup_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "imported 2 stories (0 already in the store)");
    let (_, again, _) = run_cli(&["-c", n, "import", backup_file.to_str().unwrap()]);
    assert_eq!(again.trim(), "imported 0 stories (2 already in the store)");
    // The restored store recognises the feed's items: polling it adds nothing.
    let (_, polled, _) = run_cli(&["-c", n, "once"]);
    assert!(polled.contains("0 new stories"), "{polled}");
    let (_, exported, _) = run_cli(&["-c", n, "export"]);
    let ids = |jsonl: &str| {
        let mut v: Vec<String> = jsonl
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(&exported),
        ids(&backup),
        "the same stories, the same GUIDs"
    );
}

#[test]
fn json_logs_are_one_object_a_line() {
    let s = Scenario::new().interval("1h");
    let daemon = Daemon::spawn(&["-c", s.c(), "--log-format", "json", "run"]);
    daemon.wait_log("serving the merged feed");
    let line = daemon
        .stderr()
        .lines()
        .find(|l| l.contains("serving the merged feed"))
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(v["level"], "INFO");
    assert!(
        v["fields"]["addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{v}"
    );
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let Ok(status) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze must be installed in CI (.ci/run)"
        );
        eprintln!("systemd-analyze not installed here; skipping");
        return;
    };
    assert!(status.status.success());
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/feedmerge.service"
    ))
    .unwrap()
    .replace("/usr/bin/feedmerge", crate::support::process::BIN);
    let path = dir.path().join("feedmerge.service");
    std::fs::write(&path, unit).unwrap();
    // The optional socket unit activates this service; both must verify.
    let socket = dir.path().join("feedmerge.socket");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/feedmerge.socket"),
        &socket,
    )
    .unwrap();
    let verify = std::process::Command::new("systemd-analyze")
        // The man pages the units name are installed by the package (checked there, .ci/deb-test).
        .args(["verify", "--man=no"])
        .arg(&path)
        .arg(&socket)
        .output()
        .unwrap();
    let verify_text = String::from_utf8_lossy(&verify.stderr).to_string()
        + &String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success()
            && !verify_text.contains("feedmerge.service:")
            && !verify_text.contains("feedmerge.socket:"),
        "{verify_text}"
    );
    let security = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&security.stdout).to_string();
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for feedmerge.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure score in:\n{text}"));
    assert!(score <= 1.5, "exposure {score} > 1.5:\n{text}");
}

/// systemd's own socket passing (`systemd-socket-activate`, from the systemd package, does what
/// `feedmerge.socket` does): the daemon serves on the socket it is given, not on `[server]
/// listen`.
#[test]
fn a_socket_passed_by_systemd_is_served() {
    if std::process::Command::new("systemd-socket-activate")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-socket-activate (package systemd) must be installed in CI"
        );
        eprintln!("systemd-socket-activate not installed here; skipping");
        return;
    }
    // `listen` names a port nobody serves: requests must reach the passed socket.
    let s = Scenario::new();
    let port = free_port();
    let mut child = std::process::Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-E", "RUST_LOG=info"])
        .arg(crate::support::process::BIN)
        .args(["-c", s.c(), "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first connection starts the daemon, which then answers it.
    let (status, _, body) = wait_for(
        "the daemon to answer on the passed socket",
        Duration::from_secs(30),
        || get(&format!("http://127.0.0.1:{port}/healthz"), &[]),
    );
    // A graceful stop, so the log is complete when read (SIGKILL could cut it short).
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    wait_for("the daemon to stop", Duration::from_secs(30), || {
        child.try_wait().ok().flatten()
    });
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(
        log.contains("using the socket systemd passed"),
        "exit {:?}, healthz body {:?}, log:\n{log}",
        output.status,
        String::from_utf8_lossy(&body)
    );
}

#[test]
fn sigkill_at_random_points_during_ingest_loses_no_acknowledged_story() {
    let s = Scenario::new()
        .source("A", "a.xml")
        .interval("1s")
        .config("[feed]\nmax_items = 1000\n");
    let mut acknowledged: Vec<String> = Vec::new();
    let mut items: Vec<(String, String, String, String)> = Vec::new();
    // A cheap deterministic "random": the kill lands 0-40 ms after a logged ingest, when the
    // next poll may be fetching, deciding or writing.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 0..6 {
        for j in 0..20 {
            let n = round * 20 + j;
            items.push((
                format!("r{n}"),
                format!("Crash round {round} story {j:02} about the port authority"),
                format!("https://c.example/{n}"),
                format!("2025-11-{:02}T{:02}:{:02}:00Z", 1 + round, j, 0),
            ));
        }
        let borrowed: Vec<(&str, &str, &str, &str)> = items
            .iter()
            .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
            .collect();
        s.origin()
            .feed("a.xml", rss("A", &borrowed), "application/rss+xml");
        let mut daemon = s.run();
        daemon.wait_log("20 new stories");
        acknowledged.extend(items[items.len() - 20..].iter().map(|i| i.1.clone()));
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pause = Duration::from_millis(seed % 40);
        std::thread::park_timeout(pause);
        daemon.kill9();
    }
    let daemon = s.run();
    let xml = {
        let (_, _, body) = get(&daemon.url("feed.xml"), &[]).unwrap();
        String::from_utf8(body).unwrap()
    };
    let titles = rss_titles(&xml);
    for t in &acknowledged {
        assert!(titles.contains(t), "acknowledged story lost: {t}");
    }
    let mut guids = rss_guids(&xml);
    let n = guids.len();
    guids.sort();
    guids.dedup();
    assert_eq!(guids.len(), n, "a story published twice");
    assert_eq!(n, 120);
}

//! Filters, `min_sources`, per-source fetch options and secrets, through the real binary.

use crate::support::scenario::{ConfigFile, Scenario};
use crate::support::{get, rss_titles, sorted_titles, wait_for};

/// RSS with categories, authors, summaries and content per item:
/// (guid, title, link, category, author, summary, content).
fn rich_rss(items: &[(&str, &str, &str, &str, &str, &str, &str)]) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>T</title><link>https://t.example/</link><description>d</description>",
    );
    for (guid, title, link, category, author, summary, content) in items {
        x.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{link}</link><category>{category}</category><dc:creator>{author}</dc:creator><pubDate>Wed, 26 Nov 2025 08:00:00 GMT</pubDate><description>{summary}</description><content:encoded><![CDATA[{content}]]></content:encoded></item>"
        ));
    }
    x.push_str("</channel></rss>");
    x
}

#[test]
fn filters_keep_and_drop_by_every_field_source_rules_first() {
    let s = Scenario::new();
    let origin = s.origin();
    origin.feed(
        "a.xml",
        rich_rss(&[
            (
                "a1",
                "Ukraine and Russia resume grain corridor talks",
                "https://a.example/grain",
                "world",
                "Ann",
                "Talks in Istanbul.",
                "<p>Body</p>",
            ),
            (
                "a2",
                "Tomahawk missiles for Ukraine under discussion",
                "https://a.example/tomahawk",
                "world",
                "Ann",
                "Weapons.",
                "<p>Body</p>",
            ),
            (
                "a3",
                "Local bakery wins national bread award",
                "https://a.example/bread",
                "local",
                "Ann",
                "Crumbs.",
                "<p>Body</p>",
            ),
        ]),
        "application/rss+xml",
    );
    origin.feed(
        "b.xml",
        rich_rss(&[
            (
                "b1",
                "Russia announces new cabinet after reshuffle",
                "https://b.example/cabinet",
                "politics",
                "Bea",
                "Ministers named.",
                "<p>Body</p>",
            ),
            (
                "b2",
                "Ukraine beats Russia in football friendly",
                "https://b.example/football",
                "sport",
                "Bea",
                "Goals.",
                "<p>Body</p>",
            ),
            (
                "b3",
                "Russia grain exports summary for the week",
                "https://b.example/export",
                "economy",
                "newsbot",
                "Numbers.",
                "<p>Body</p>",
            ),
            (
                "b4",
                "Russia and Ukraine: live coverage of the summit",
                "https://b.example/live/summit",
                "world",
                "Bea",
                "Updates.",
                "<p>Body</p>",
            ),
            (
                "b5",
                "Ukraine energy deal explained by our partners",
                "https://b.example/energy",
                "world",
                "Bea",
                "Sponsored content.",
                "<p>Body</p>",
            ),
            (
                "b6",
                "Russia steel output figures for November",
                "https://b.example/steel",
                "world",
                "Bea",
                "Figures.",
                "<p>An advertorial by SteelCo</p>",
            ),
        ]),
        "application/rss+xml",
    );
    let s = s.config(
        r#"
[[filter]]
action = "keep"
field = "any"
pattern = "ukraine|russia"
"#,
    );
    let sources = format!(
        r#"
[[source]]
name = "A"
url = "{}"
filter = [{{ action = "drop", field = "title", pattern = "TOMAHAWK" }}]

[[source]]
name = "B"
url = "{}"
filter = [
  {{ action = "drop", field = "category", pattern = "^sport$" }},
  {{ action = "drop", field = "author", pattern = "bot$" }},
  {{ action = "drop", field = "link", pattern = "/live/" }},
  {{ action = "drop", field = "summary", pattern = "sponsored" }},
  {{ action = "drop", field = "content", pattern = "advertorial" }},
]
"#,
        s.origin().url("a.xml"),
        s.origin().url("b.xml")
    );
    let s = s.config(&sources);
    assert_eq!(s.cli(&["check"]).0, 0);

    let daemon = s.run();
    daemon.wait_log_count("polled:", 2);
    assert_eq!(
        sorted_titles(&daemon),
        vec![
            "Russia announces new cabinet after reshuffle",
            "Ukraine and Russia resume grain corridor talks",
        ]
    );
    let (_, _, metrics) = get(&daemon.url("metrics"), &[]).unwrap();
    let metrics = String::from_utf8(metrics).unwrap();
    // The two stories kept went through the near-duplicate layer: its in-memory index holds
    // them under their content words.
    let indexed: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("feedmerge_dedup_index_story_ids "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no index gauge in:\n{metrics}"));
    assert!(indexed >= 6, "{indexed} ids for two stories");
    for rule in [
        "source A filter 1 (drop Title /TOMAHAWK/)",
        "source B filter 1 (drop Category /^sport$/)",
        "source B filter 2 (drop Author /bot$/)",
        "source B filter 3 (drop Link //live//)",
        "source B filter 4 (drop Summary /sponsored/)",
        "source B filter 5 (drop Content /advertorial/)",
        "no keep rule of the global filters matched",
    ] {
        let line = metrics
            .lines()
            .find(|l| l.starts_with("feedmerge_filtered_total") && l.contains(rule));
        assert!(
            line.is_some_and(|l| l.ends_with(" 1")),
            "{rule} not counted once in:\n{metrics}"
        );
    }
    drop(daemon);
    // explain says which rule dropped an entry.
    let (code, out, err) = s.cli(&["explain", "https://a.example/tomahawk"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("dropped by source A filter 1 (drop Title /TOMAHAWK/)"),
        "{out}"
    );
    let (_, out, _) = s.cli(&["explain", "https://a.example/bread"]);
    assert!(
        out.contains("no keep rule of the global filters matched"),
        "{out}"
    );
}

#[test]
fn min_sources_publishes_only_stories_enough_sources_carried() {
    let shared = (
        "s",
        "Parliament passes the long-debated housing reform bill",
        "https://x.example/housing",
    );
    let s = Scenario::new()
        .rss(
            "A",
            "a.xml",
            &[
                (shared.0, shared.1, shared.2, "2025-11-26T08:00:00Z"),
                (
                    "a2",
                    "Only one outlet covers the village fete results",
                    "https://a.example/fete",
                    "2025-11-26T09:00:00Z",
                ),
            ],
        )
        .rss(
            "B",
            "b.xml",
            &[(
                "b1",
                shared.1,
                "https://b.example/housing",
                "2025-11-26T10:00:00Z",
            )],
        )
        .config("[publish]\nmin_sources = 2\n");
    let daemon = s.run();
    daemon.wait_log_count("polled:", 2);
    let titles = wait_for(
        "the shared story",
        std::time::Duration::from_secs(30),
        || {
            let (_, _, body) = get(&daemon.url("feed.xml"), &[])?;
            let titles = rss_titles(&String::from_utf8(body).ok()?);
            (!titles.is_empty()).then_some(titles)
        },
    );
    assert_eq!(titles, vec![shared.1]);
}

#[test]
fn an_invalid_regex_or_missing_secret_is_a_config_error_with_its_position() {
    ConfigFile::new("f.toml")
        .write("[[filter]]\naction = \"drop\"\npattern = \"(unclosed\"\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\npassword = { env = \"FEEDMERGE_TEST_NOT_SET\" }\nusername = \"u\"\nheaders = { \"X-Key\" = { file = \"/nonexistent/key\" } }\n")
        .expect(
            &["check"],
            78,
            &[
                "{p}:3:11: `pattern` is not a valid regular expression",
                "{p}:8:12: source \"A\" password: the environment variable FEEDMERGE_TEST_NOT_SET is not set",
                "cannot read the secret file /nonexistent/key",
            ],
        );
}

#[test]
fn credentials_and_headers_reach_the_server_and_secrets_appear_nowhere() {
    use base64_like::encode;
    let s = Scenario::new();
    let origin = s.origin();
    let item =
        |g: &str, t: &str, l: &str| crate::feeds::rss("S", &[(g, t, l, "2025-11-26T08:00:00Z")]);
    origin.feed(
        "basic.xml",
        item(
            "1",
            "Members-only briefing on the harbour expansion plan",
            "https://p.example/harbour",
        ),
        "application/rss+xml",
    );
    origin.feed(
        "key.xml",
        item(
            "2",
            "Subscriber report on regional rail timetables",
            "https://p.example/rail",
        ),
        "application/rss+xml",
    );
    origin.feed(
        "cred.xml",
        item(
            "3",
            "Private newsletter on the city budget vote",
            "https://p.example/budget",
        ),
        "application/rss+xml",
    );
    let password = "s3cret-pa55word-from-env";
    let api_key = "k3y-from-a-file-9f8e7d";
    let token = "t0ken-from-systemd-credential";
    origin.require(
        "basic.xml",
        "authorization",
        &format!("Basic {}", encode(&format!("reader:{password}"))),
    );
    origin.require("key.xml", "x-api-key", api_key);
    origin.require("cred.xml", "x-token", token);
    std::fs::write(s.dir().join("api.key"), format!("{api_key}\n")).unwrap();
    let creds = s.dir().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("token"), token).unwrap();
    let sources = format!(
        r#"
[[source]]
name = "Basic"
url = "{}"
username = "reader"
password = {{ env = "FEEDMERGE_TEST_PASSWORD" }}
user_agent = "custom-agent/1.0"
timeout = "3s"

[[source]]
name = "Key"
url = "{}"
headers = {{ "X-Api-Key" = {{ file = "{}" }} }}

[[source]]
name = "Cred"
url = "{}"
headers = {{ "X-Token" = {{ credential = "token" }} }}

[[source]]
name = "Wrong"
url = "{}"
username = "reader"
password = "wrong-{password}"
"#,
        origin.url("basic.xml"),
        origin.url("key.xml"),
        s.dir().join("api.key").display(),
        origin.url("cred.xml"),
        origin.url("basic.xml?wrong"),
    );
    let s = s.config(&sources);
    let out = std::process::Command::new(crate::support::process::BIN)
        .args(["-c", s.c(), "once"])
        .env("FEEDMERGE_TEST_PASSWORD", password)
        .env("CREDENTIALS_DIRECTORY", &creds)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("ok        Basic: 1 entries"), "{stdout}");
    assert!(stdout.contains("ok        Key: 1 entries"), "{stdout}");
    assert!(stdout.contains("ok        Cred: 1 entries"), "{stdout}");
    assert!(
        stdout.contains("FAILED    Wrong: HTTP status 401"),
        "{stdout}"
    );
    let basic = s.origin().requests("basic.xml");
    assert!(
        basic
            .iter()
            .any(|r| r.user_agent.as_deref() == Some("custom-agent/1.0")),
        "{basic:?}"
    );

    let (_, export, _) = s.cli(&["export"]);
    // What a running daemon serves: the status, the OPML export, the metrics, the feed.
    let daemon = crate::support::process::Daemon::spawn_with_env(
        &["-c", s.c(), "run"],
        &[
            ("FEEDMERGE_TEST_PASSWORD", std::ffi::OsStr::new(password)),
            ("CREDENTIALS_DIRECTORY", creds.as_os_str()),
        ],
    );
    let served: Vec<(&str, String)> = ["status", "sources.opml", "metrics", "feed.xml", ""]
        .iter()
        .map(|path| {
            let (_, _, body) = get(&daemon.url(path), &[]).expect("served");
            (*path, String::from_utf8_lossy(&body).into_owned())
        })
        .collect();
    assert!(served[1].1.contains("xmlUrl="), "{}", served[1].1);
    let daemon_log = daemon.stderr();
    drop(daemon);
    let (_, check, check_err) = s.cli(&["check"]);
    let status = std::process::Command::new(crate::support::process::BIN)
        .args(["-c", s.c(), "status", "--json"])
        .env("FEEDMERGE_TEST_PASSWORD", password)
        .env("CREDENTIALS_DIRECTORY", &creds)
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(status.contains("\"name\": \"Key\""), "{status}");
    for secret in [password, api_key, token] {
        for (what, text) in [
            ("stdout", &stdout),
            ("log", &stderr),
            ("export", &export),
            ("check", &check),
            ("check errors", &check_err),
            ("status", &status),
            ("daemon log", &daemon_log),
        ] {
            assert!(
                !text.contains(secret),
                "the secret appears in {what}:\n{text}"
            );
        }
        for (path, text) in &served {
            assert!(
                !text.contains(secret),
                "the secret appears in /{path}:\n{text}"
            );
        }
    }
}

/// Just enough base64 for a Basic authorization header in a test.
pub mod base64_like {
    pub fn encode(input: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = input.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

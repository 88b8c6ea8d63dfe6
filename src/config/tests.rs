use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("/etc/feedmerge/feedmerge.toml"), text)
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected config errors"),
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}

#[test]
fn a_full_config_is_read() {
    let c = parse(
        r#"
[server]
listen = "127.0.0.1:9000"
base_url = "https://news.example.org/"
write_timeout = "10s"
shutdown_grace = "3s"
[feed]
title = "T"
max_items = 5
[store]
path = "/tmp/x"
[poll]
interval = "10m"
[[source]]
name = "A"
url = "https://a.example/feed"
tags = ["world"]
[[source]]
name = "B"
url = "https://b.example/feed"
interval = "1h"
"#,
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 9000);
    assert_eq!(c.server.write_timeout, Duration::from_secs(10));
    assert_eq!(c.server.shutdown_grace, Duration::from_secs(3));
    assert_eq!(c.feed.max_items, 5);
    assert_eq!(c.sources[0].interval, Duration::from_secs(600));
    assert_eq!(c.sources[1].interval, Duration::from_secs(3600));
    assert_eq!(c.sources[0].tags, vec!["world".to_string()]);
}

#[test]
fn unknown_key_names_line_and_column() {
    let p = problems("[feed]\ntitle = \"x\"\nmax_itemz = 3\n");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("/etc/feedmerge/feedmerge.toml:3:1: unknown field `max_itemz`"),
        "{p:?}"
    );
}

#[test]
fn every_semantic_problem_is_listed_with_its_position() {
    let p = problems(
        r#"[poll]
interval = "soon"
[[source]]
name = "A"
url = "ftp://a.example/feed"
[[source]]
name = "A"
url = "not a url"
[[source]]
name = "C"
url = "https://c.example/f"
[[source]]
name = "D"
url = "https://c.example/f"
"#,
    );
    assert_eq!(p.len(), 5, "{p:?}");
    assert!(
        p[0].contains(":2:12: `interval = \"soon\"` is not a duration"),
        "{p:?}"
    );
    assert!(p[1].contains(":5:7: source \"A\": \"ftp://a.example/feed\" uses the scheme `ftp:`"));
    assert!(p[2].contains(":7:8: duplicate source name \"A\" (first used at line 4, column 8)"));
    assert!(p[3].contains(":8:7: source \"A\": \"not a url\" is not a valid URL"));
    assert!(
        p[4].contains(":14:7: duplicate source url https://c.example/f (first listed at line 11")
    );
}

#[test]
fn bad_toml_syntax_points_at_the_error() {
    let p = problems("[feed]\ntitle = \"unterminated\n");
    assert!(
        p[0].starts_with("/etc/feedmerge/feedmerge.toml:2:"),
        "{p:?}"
    );
}

#[test]
fn defaults_apply_to_an_empty_file() {
    let c = parse("").unwrap();
    assert_eq!(c.feed.max_items, 100);
    assert_eq!(c.poll.interval, Duration::from_secs(900));
    assert_eq!(c.server.base_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(c.server.write_timeout, DEFAULT_WRITE_TIMEOUT);
    assert_eq!(c.server.shutdown_grace, DEFAULT_SHUTDOWN_GRACE);
    assert!(c.sources.is_empty());
}

#[test]
fn server_time_limits_are_bounded() {
    let p = problems("[server]\nwrite_timeout = \"2h\"\nshutdown_grace = \"0s\"\n");
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].contains(":2:17: `write_timeout` must be at most 1h"),
        "{p:?}"
    );
    assert!(
        p[1].contains(":3:18: `shutdown_grace` must be at least 1s"),
        "{p:?}"
    );
}

#[test]
fn the_feed_author_defaults_to_the_title_and_its_email_must_be_an_address() {
    let c = parse("[feed]\ntitle = \"Morning Desk\"\n").unwrap();
    assert_eq!(c.feed.author, "Morning Desk");
    assert_eq!(c.feed.author_email, None);
    let c =
        parse("[feed]\nauthor = \"Desk team\"\nauthor_email = \"desk@news.example\"\n").unwrap();
    assert_eq!(c.feed.author, "Desk team");
    assert_eq!(c.feed.author_email.as_deref(), Some("desk@news.example"));
    for bad in ["desk", "desk@localhost", "Desk <desk@news.example>"] {
        let p = problems(&format!("[feed]\nauthor_email = \"{bad}\"\n"));
        assert_eq!(p.len(), 1, "{bad}: {p:?}");
        assert!(
            p[0].contains("`author_email` must be an e-mail address"),
            "{p:?}"
        );
    }
}

/// Every table rejects a key it does not know, at the key's line: a misspelled setting must
/// never be silently ignored (`[pol]` or `max_bodyy = 1` would leave the default in force).
#[test]
fn every_table_rejects_an_unknown_key_at_its_line() {
    let source = "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\n";
    let cases: &[(&str, &str, &str)] = &[
        ("top level", "titel = \"x\"\n", "titel"),
        ("a misspelled table", "[pol]\ninterval = \"5m\"\n", "pol"),
        ("[server]", "[server]\nlisten_on = \"127.0.0.1:1\"\n", "listen_on"),
        ("[feed]", "[feed]\nmax_itemz = 3\n", "max_itemz"),
        ("[store]", "[store]\nmax_ages = \"30d\"\n", "max_ages"),
        ("[poll]", "[poll]\nmax_bodyy = 1\n", "max_bodyy"),
        ("[dedup]", "[dedup]\nthreshhold = 0.9\n", "threshhold"),
        ("[publish]", "[publish]\nmin_source = 2\n", "min_source"),
        (
            "[[filter]]",
            "[[filter]]\naction = \"drop\"\npatern = \"x\"\n",
            "patern",
        ),
        (
            "[[source]]",
            "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\nintervall = \"5m\"\n",
            "intervall",
        ),
        (
            "an inline source filter",
            "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\nfilter = [{ action = \"drop\", patern = \"x\" }]\n",
            "patern",
        ),
        (
            "a source's [[source.filter]]",
            "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\n[[source.filter]]\naction = \"drop\"\nfeild = \"title\"\n",
            "feild",
        ),
    ];
    for (what, text, key) in cases {
        let text = if text.starts_with("[[source]]") {
            text.to_string()
        } else {
            format!("{text}{source}")
        };
        let p = problems(&text);
        let line = text
            .lines()
            .position(|l| l.contains(key))
            .map(|i| i + 1)
            .unwrap();
        assert_eq!(p.len(), 1, "{what}: {p:?}");
        assert!(
            p[0].starts_with(&format!("/etc/feedmerge/feedmerge.toml:{line}:"))
                && p[0].contains(&format!("`{key}`")),
            "{what}: {p:?}"
        );
    }
}

/// A secret written as a table takes exactly one of `env`, `file`, `credential`: a misspelled
/// or extra key is an error, not a secret read from somewhere else than the person meant.
#[test]
fn a_secret_table_with_an_unknown_key_is_refused() {
    let source = "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\n";
    for secret in [
        "{ env = \"FEEDMERGE_TEST_PW\", fille = \"/x\" }",
        "{ enn = \"FEEDMERGE_TEST_PW\" }",
        "{ file = \"/x\", env = \"FEEDMERGE_TEST_PW\" }",
    ] {
        for key in ["password = ", "headers = { \"X-Api-Key\" = "] {
            let close = if key.starts_with("headers") { " }" } else { "" };
            let user = if key.starts_with("password") {
                "username = \"u\"\n"
            } else {
                ""
            };
            let line = if user.is_empty() { 4 } else { 5 };
            let text = format!("{source}{user}{key}{secret}{close}\n");
            let p = problems(&text);
            assert!(
                p.len() == 1
                    && p[0].starts_with(&format!("/etc/feedmerge/feedmerge.toml:{line}:"))
                    && p[0].contains("{ env = \"NAME\" }"),
                "{text}: {p:?}"
            );
        }
    }
}

/// The example config people start from reads as its comments say: every value it sets.
#[test]
fn the_example_config_reads_as_written() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/feedmerge.toml"
    ));
    let c = Config::load(path).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.base_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(
        (c.feed.title.as_str(), c.feed.max_items),
        ("My merged news", 100)
    );
    assert_eq!(c.store.path, Path::new("/var/lib/feedmerge"));
    assert_eq!(c.store.retention, Retention::default());
    assert_eq!(c.poll, Poll::default());
    assert_eq!(c.dedup, dedup::Settings::default());
    assert_eq!(c.publish, Publish::default());
    let global: Vec<_> = c
        .filters
        .global
        .iter()
        .map(|r| {
            (
                r.action,
                r.field,
                r.pattern.as_ref().map(|p| p.as_str().to_string()),
                r.max_age,
            )
        })
        .collect();
    assert_eq!(
        global,
        vec![
            (
                filter::Action::Drop,
                filter::Field::Title,
                Some("^(sponsored|advertisement):".to_string()),
                None
            ),
            (
                filter::Action::Drop,
                filter::Field::Any,
                None,
                Some(chrono::Duration::days(30))
            ),
        ]
    );
    // Case-insensitive, as the comment says.
    let sponsored = c.filters.global[0].pattern.as_ref().unwrap();
    assert!(sponsored.is_match("SPONSORED: a sale"));
    let sources: Vec<_> = c
        .sources
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.url.as_str(),
                s.interval.as_secs(),
                s.tags.clone(),
                s.priority,
            )
        })
        .collect();
    let world = vec!["world".to_string()];
    assert_eq!(
        sources,
        vec![
            (
                "BBC World",
                "https://feeds.bbci.co.uk/news/world/rss.xml",
                600,
                world.clone(),
                10
            ),
            (
                "The Guardian World",
                "https://www.theguardian.com/world/rss",
                900,
                world,
                0
            ),
            (
                "NPR News",
                "https://feeds.npr.org/1001/rss.xml",
                900,
                vec![],
                0
            ),
        ]
    );
}

#[test]
fn the_default_cache_is_the_documented_32_mib() {
    let default = parse("").unwrap().store.cache_bytes;
    assert_eq!(default, 32 * 1024 * 1024);
    assert_eq!(
        default,
        parse("[store]\ncache_mb = 32\n").unwrap().store.cache_bytes,
        "the example config documents `cache_mb = 32` as the default"
    );
}

#[test]
fn a_missing_config_file_says_how_to_pass_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feedmerge.toml");
    let message = Config::load(&path).unwrap_err().to_string();
    assert!(
        message.contains("cannot read the config file")
            && message.contains("Pass another with -c PATH, or start from config/feedmerge.toml"),
        "{message}"
    );
    // A file that exists but cannot be read as text gets no such hint.
    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    let message = Config::load(&path).unwrap_err().to_string();
    assert!(
        message.contains("cannot read the config file") && !message.contains("-c PATH"),
        "{message}"
    );
}

/// Secrets reach the source's fetch options as written: in clear, or read from a file without
/// the newline an editor leaves at its end.
#[test]
fn secrets_resolve_into_the_sources_headers_and_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-key");
    std::fs::write(&file, "k3y-from-file\n").unwrap();
    let c = parse(&format!(
        "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\nusername = \"reader\"\n\
         password = {{ file = \"{}\" }}\nheaders = {{ \"X-Api-Key\" = {{ file = \"{}\" }}, \
         \"X-Plain\" = \"in clear\" }}\n",
        file.display(),
        file.display()
    ))
    .unwrap();
    let fetch = &c.sources[0].fetch;
    let headers: Vec<(&str, &str)> = fetch
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.expose()))
        .collect();
    assert_eq!(
        headers,
        [("X-Api-Key", "k3y-from-file"), ("X-Plain", "in clear")]
    );
    let (user, password) = fetch.basic_auth.as_ref().expect("basic auth");
    assert_eq!(
        (user.expose(), password.expose()),
        ("reader", "k3y-from-file")
    );
}

/// However a config is printed (a `Debug` in a log, an error), a secret's value never shows,
/// and where it came from does.
#[test]
fn secrets_print_redacted() {
    let c = parse(
        "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\nheaders = { \"X-Key\" = \"hunter2\" }\n",
    )
    .unwrap();
    let secret = &c.sources[0].fetch.headers[0].1;
    assert_eq!(format!("{secret:?}"), "<redacted>");
    assert_eq!(secret.to_string(), "<redacted>");
    assert!(!format!("{c:?}").contains("hunter2"));
    let raw: raw::RawConfig = toml::from_str(
        "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\nheaders = { \"X-Key\" = \"hunter2\", \"X-Env\" = { env = \"KEY_VAR\" } }\n",
    )
    .unwrap();
    let printed = format!("{raw:?}");
    assert!(
        printed.contains("Plain(<redacted>)")
            && printed.contains("Env(KEY_VAR)")
            && !printed.contains("hunter2"),
        "{printed}"
    );
}

/// Each bounded number: refused one past either end, at its line, with the bound in words; read
/// as written at either end.
#[test]
fn every_bounded_number_is_refused_outside_its_range_and_read_at_its_ends() {
    type Read = fn(&Config) -> i64;
    /// Table header ("" for the source), key, lowest, highest (None: unbounded), message, read.
    type Case = (
        &'static str,
        &'static str,
        i64,
        Option<i64>,
        &'static str,
        Read,
    );
    let source = "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\n";
    let cases: &[Case] = &[
        (
            "[feed]",
            "max_items",
            1,
            Some(10_000),
            "`max_items` must be between 1 and 10000",
            |c| c.feed.max_items as i64,
        ),
        (
            "[publish]",
            "min_sources",
            1,
            Some(100),
            "`min_sources` must be between 1 and 100",
            |c| c.publish.min_sources as i64,
        ),
        (
            "[poll]",
            "concurrency",
            1,
            Some(1024),
            "`concurrency` must be between 1 and 1024",
            |c| c.poll.concurrency as i64,
        ),
        (
            "[poll]",
            "per_host",
            1,
            Some(64),
            "`per_host` must be between 1 and 64",
            |c| c.poll.per_host as i64,
        ),
        (
            "[poll]",
            "max_body",
            1024,
            None,
            "`max_body` is in bytes and must be at least 1024",
            |c| c.poll.max_body as i64,
        ),
        (
            "[store]",
            "cache_mb",
            8,
            Some(65_536),
            "`cache_mb` must be between 8 and 65536",
            |c| (c.store.cache_bytes >> 20) as i64,
        ),
        (
            "",
            "priority",
            -1000,
            Some(1000),
            "`priority` must be between -1000 and 1000",
            |c| c.sources[0].priority as i64,
        ),
        (
            "[store]",
            "max_stories",
            100,
            None,
            "`max_stories` must be at least 100",
            |c| c.store.retention.max_stories.map_or(-1, |n| n as i64),
        ),
    ];
    let text = |table: &str, key: &str, value: i64| {
        if table.is_empty() {
            format!("{source}{key} = {value}\n")
        } else {
            format!("{table}\n{key} = {value}\n{source}")
        }
    };
    for (table, key, low, high, message, read) in cases {
        let mut bad = vec![low - 1];
        let mut good = vec![*low];
        if let Some(high) = high {
            bad.push(high + 1);
            good.push(*high);
        }
        for value in bad {
            let text = text(table, key, value);
            let line = text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
            let p = problems(&text);
            assert_eq!(p.len(), 1, "{key} = {value}: {p:?}");
            assert!(
                p[0].contains(&format!(":{line}:")) && p[0].contains(message),
                "{key} = {value}: {p:?}"
            );
        }
        for value in good {
            let config = parse(&text(table, key, value))
                .unwrap_or_else(|e| panic!("{key} = {value} is allowed: {e}"));
            assert_eq!(read(&config), value, "{key} = {value}");
        }
    }
}

/// `[store] max_age` below the three days deduplication looks back is refused at its line;
/// three days exactly is read.
#[test]
fn max_age_is_at_least_three_days() {
    let source = "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\n";
    let p = problems(&format!("[store]\nmax_age = \"71h\"\n{source}"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains(":2:") && p[0].contains("`max_age` must be at least 3 days"),
        "{p:?}"
    );
    for (age, days) in [("3d", 3), ("72h", 3), ("30d", 30)] {
        let config = parse(&format!("[store]\nmax_age = \"{age}\"\n{source}")).unwrap();
        assert_eq!(
            config.store.retention.max_age,
            Some(chrono::Duration::days(days)),
            "{age}"
        );
    }
}

/// A misspelled key is answered with the known key nearest to it when at most a third of its
/// letters differ, and with nothing when more do.
#[test]
fn the_nearest_known_key_allows_a_third_of_the_letters_to_differ() {
    let known = ["shutdown_grace", "concurrency", "max_items"];
    // 12 letters, 2 missing: within a third.
    assert_eq!(keys::nearest("shutdwn_grce", known), Some("shutdown_grace"));
    assert_eq!(keys::nearest("concurency", known), Some("concurrency"));
    // 9 letters, 4 differ: beyond a third.
    assert_eq!(keys::nearest("mux_otamz", known), None);
    assert_eq!(keys::nearest("colour", known), None);
}

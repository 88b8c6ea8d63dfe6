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

//! Every document the daemon publishes is valid at the strictest level: the W3C Feed Validation
//! Service (vendored in `tests/tools/feedvalidator/`, run at level AA: errors and warnings) over
//! every RSS, Atom and OPML document of a realistic configuration, and the JSON Feed 1.1 rules
//! the spec states over every JSON Feed.
//!
//! The configuration has sources with and without authors, enclosures, tags (published as
//! categories), HTML and plain-text summaries, non-ASCII titles and names, and a `base_url`
//! with a path prefix. At level AA the validator checks a feed's `rel="self"` link against the
//! address it fetched, so each document, as the daemon served it, is put on a local server at
//! the address its self link names (under the prefix) and validated there.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

mod json_feed;

use crate::support::origin::{Origin, Reply};
use crate::support::process::Daemon;
use crate::support::{get, tools, wait_for};

/// The demo's five outlets (RSS 2.0 with HTML and authors, RSS without a version, RSS 1.0,
/// Atom, JSON Feed), a podcast with enclosures, non-ASCII titles and no authors, and a feed
/// with no items yet (its tag's and its own feeds are empty).
const SOURCES: &[(&str, &str, &[u8], &str, &str)] = &[
    (
        "Capital Wire",
        "capital-wire.xml",
        include_bytes!("../src/cli/demo/feeds/capital-wire.xml"),
        "application/rss+xml",
        "[\"politics\", \"économie\"]",
    ),
    (
        "Northern Post",
        "northern-post.atom",
        include_bytes!("../src/cli/demo/feeds/northern-post.atom"),
        "application/atom+xml",
        "[\"world\"]",
    ),
    (
        "Daily Ledger",
        "daily-ledger.json",
        include_bytes!("../src/cli/demo/feeds/daily-ledger.json"),
        "application/feed+json",
        "[\"économie\"]",
    ),
    (
        "Harbor Times",
        "harbor-times.rdf",
        include_bytes!("../src/cli/demo/feeds/harbor-times.rdf"),
        "application/rdf+xml",
        "[]",
    ),
    (
        "Metro Bulletin",
        "metro-bulletin.xml",
        include_bytes!("../src/cli/demo/feeds/metro-bulletin.xml"),
        "application/rss+xml",
        "[\"city news\"]",
    ),
    (
        "Radio Zürich",
        "radio-zurich.xml",
        include_bytes!("fixtures/valid/radio-zurich.xml"),
        "application/rss+xml",
        "[\"podcasts\", \"world\"]",
    ),
    (
        "Quiet Gazette",
        "quiet-gazette.xml",
        include_bytes!("fixtures/valid/quiet-gazette.xml"),
        "application/rss+xml",
        "[\"weather\"]",
    ),
];

/// The public address prefix of the merged feeds (on `origin`, under `news/`).
const PREFIX: &str = "news/";

/// The configuration: the sources on `origin`, published under `origin`'s `news/`.
fn config(dir: &Path, origin: &Origin, feed: &str) -> std::path::PathBuf {
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nbase_url = \"{}\"\n[store]\npath = \"{}\"\n\
         [poll]\ninterval = \"15m\"\ntimeout = \"5s\"\n[feed]\nmax_items = 8\n{feed}",
        origin.url(PREFIX),
        dir.join("store").display()
    );
    for (name, file, body, content_type, tags) in SOURCES {
        origin.feed(file, body.to_vec(), content_type);
        text.push_str(&format!(
            "[[source]]\nname = \"{name}\"\nurl = \"{}\"\ntags = {tags}\n",
            origin.url(file)
        ));
    }
    let path = dir.join("feedmerge.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// `segments` under the prefix, percent-encoded as the daemon writes its links.
fn path_of(segments: &[&str]) -> String {
    let mut url = url::Url::parse("http://x/").expect("static URL");
    if let Ok(mut path) = url.path_segments_mut() {
        path.extend(segments);
    }
    url.path()[1..].to_string()
}

/// Every document the daemon serves in RSS, Atom, OPML and JSON Feed, as paths under the
/// prefix: the main feeds, each tag's, each source's, and each archive day's (found by walking
/// the `prev-archive` links back from `/atom.xml`). `public` is the prefix's full URL.
fn documents(daemon: &Daemon, public: &str) -> Vec<String> {
    let mut docs: Vec<String> = ["feed.xml", "atom.xml", "feed.json", "sources.opml"]
        .map(String::from)
        .to_vec();
    let tags: BTreeSet<&str> = SOURCES
        .iter()
        .flat_map(|s| s.4.trim_matches(['[', ']']).split(", "))
        .map(|t| t.trim_matches('"'))
        .filter(|t| !t.is_empty())
        .collect();
    for tag in tags {
        for ext in ["xml", "atom", "json"] {
            docs.push(path_of(&["tags", &format!("{tag}.{ext}")]));
        }
    }
    for (name, ..) in SOURCES {
        docs.push(path_of(&["sources", &format!("{name}.xml")]));
    }
    let mut next = prev_archive(daemon, public, "atom.xml");
    let mut days = 0;
    while let Some(href) = next {
        days += 1;
        assert!(days < 30, "prev-archive links loop at {href}");
        let day = href.trim_end_matches(".atom");
        for ext in ["xml", "atom", "json"] {
            docs.push(format!("{day}.{ext}"));
        }
        next = prev_archive(daemon, public, &href);
    }
    assert!(
        days >= 2,
        "the fixture spans several archive days: {docs:?}"
    );
    docs
}

/// The `prev-archive` link of the Atom document at `path`, relative to `public`.
fn prev_archive(daemon: &Daemon, public: &str, path: &str) -> Option<String> {
    let (status, _, body) = get(&daemon.url(path), &[]).expect("the daemon answers");
    assert_eq!(status, 200, "{path}");
    let feed = atom_syndication::Feed::read_from(body.as_slice()).expect("our Atom parses");
    let href = feed
        .links()
        .iter()
        .find(|l| l.rel() == "prev-archive")?
        .href();
    let relative = href.strip_prefix(public);
    assert!(relative.is_some(), "{href} is under {public}");
    relative.map(str::to_string)
}

/// Each Atom entry says when its own story changed: a story another source's copy joined, at
/// the join (after `started`); one that stands as founded, at its copy's date (the fixture's
/// dates are in 2025), not at the poll that stored it.
fn entries_dated_by_their_stories(daemon: &Daemon, started: chrono::DateTime<chrono::Utc>) {
    let (_, _, body) = get(&daemon.url("atom.xml"), &[]).expect("the daemon answers");
    let feed = atom_syndication::Feed::read_from(body.as_slice()).expect("our Atom parses");
    let (mut joined, mut founded) = (0, 0);
    for entry in feed.entries() {
        let updated = entry.updated().to_utc();
        if entry.links().iter().any(|l| l.rel() == "related") {
            joined += 1;
            assert!(updated >= started, "{}: {updated}", entry.title().as_str());
        } else if updated < started {
            founded += 1;
            let published = entry.published().expect("published").to_utc();
            assert!(
                updated >= published,
                "{}: {updated}",
                entry.title().as_str()
            );
        }
    }
    assert!(
        joined > 0 && founded > 0,
        "{joined} joined, {founded} founded"
    );
}

/// The W3C validator's report on the document at `url` at level AA: `None` when it says
/// "No errors or warnings".
fn validator_report(url: &str) -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/feedvalidator/src");
    // -B: no __pycache__ written into the repository.
    let out = tools::run(
        "python3",
        &["-B", "demo.py", url, "AA"],
        &dir,
        Duration::from_secs(60),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (!(out.status.success() && text.contains("No errors or warnings"))).then_some(text)
}

#[test]
fn every_published_document_passes_the_w3c_validator_and_the_json_feed_rules() {
    for module in ["lxml", "html5lib", "rdflib"] {
        if !tools::require_python_module(module) {
            return;
        }
    }
    // A feed author with an e-mail address and a WebSub hub: every document kind.
    let (checked, failures) = check(
        "title = \"Morning Desk — Ausgabe Zürich\"\nauthor = \"Morning Desk newsroom\"\n\
         author_email = \"desk@news.example\"\n[publish]\nwebsub_hub = \"https://hub.example/\"\n",
        true,
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} documents are not valid:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 4 main documents, 6 tags in 3 formats, 7 sources, at least 2 archive days in 3 formats.
    assert!(checked >= 4 + 18 + 7 + 6, "{checked} documents");
    // The default feed author is the title; the feed keeps every check (the main feeds here).
    let (_, failures) = check("", false);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs the daemon on the fixture with `feed` as its `[feed]` settings and checks every
/// document it publishes (`all`), or only its main feeds: (how many were checked, the reports
/// of those not valid).
fn check(feed: &str, all: bool) -> (usize, Vec<String>) {
    let origin = Origin::start();
    let public = origin.url(PREFIX);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    let daemon = Daemon::start(&config(dir.path(), &origin, feed));
    // Every source polled and its stories rendered: each source but the empty one leads or
    // joins some story.
    wait_for("every source in the feed", Duration::from_secs(60), || {
        let (_, _, body) = get(&daemon.url("feed.json"), &[])?;
        let feed: Value = serde_json::from_slice(&body).ok()?;
        let mut names = HashSet::new();
        for item in feed["items"].as_array()? {
            for source in item["_feedmerge"]["sources"].as_array()? {
                names.insert(source["name"].as_str()?.to_string());
            }
        }
        (names.len() == SOURCES.len() - 1).then_some(())
    });
    if all {
        entries_dated_by_their_stories(&daemon, started);
    }
    let paths = if all {
        documents(&daemon, &public)
    } else {
        ["feed.xml", "atom.xml", "feed.json"]
            .map(String::from)
            .to_vec()
    };
    let mut failures = Vec::new();
    for path in &paths {
        let (status, headers, body) = get(&daemon.url(path), &[]).expect("the daemon answers");
        assert_eq!(status, 200, "{path}");
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let url = format!("{public}{path}");
        if path.ends_with(".json") {
            let problems = json_feed::problems(&body, &url);
            if !problems.is_empty() {
                failures.push(format!("{url}:\n  {}", problems.join("\n  ")));
            }
            continue;
        }
        // The origin's router hands it the decoded path.
        let decoded = percent_encoding::percent_decode_str(&format!("{PREFIX}{path}"))
            .decode_utf8_lossy()
            .into_owned();
        origin.set(
            &decoded,
            Reply::Custom {
                status: 200,
                headers: vec![("content-type".into(), content_type)],
                body,
            },
        );
        if let Some(report) = validator_report(&url) {
            failures.push(report);
        }
    }
    (paths.len(), failures)
}

#[test]
fn the_json_feed_checks_catch_what_the_spec_forbids() {
    let bad = serde_json::json!({
        "version": "https://jsonfeed.org/version/1",
        "title": 7,
        "feed_url": "https://news.example/other.json",
        "hubs": [{"type": "WebSub"}],
        "colour": "red",
        "items": [
            {"id": "a", "content_text": "x", "date_published": "26 Nov 2025", "tags": "a,b"},
            {"id": "a", "attachments": [{"url": "/x.mp3"}], "_ok": {}},
        ],
    });
    let problems =
        json_feed::problems(bad.to_string().as_bytes(), "https://news.example/feed.json");
    let all = problems.join("\n");
    for expected in [
        "version is",
        "feed.title is not a valid string",
        "feed_url https://news.example/other.json is not",
        "feed.hubs[0]: required key url is missing",
        "feed: colour is not in the spec",
        "items[0].date_published is not a valid RFC 3339 date",
        "items[0].tags is not a valid array of strings",
        "items[1] has neither content_html nor content_text",
        "items[1]: id \"a\" is empty or not unique",
        "items[1].attachments[0]: required key mime_type is missing",
        "items[1].attachments[0].url is not a valid absolute http(s) URL",
    ] {
        assert!(all.contains(expected), "no {expected:?} in:\n{all}");
    }
    assert_eq!(problems.len(), 11, "{all}");
}

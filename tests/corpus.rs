//! Every document of the vendored conformance corpora (`tests/corpora/`) goes through parse +
//! normalize without a panic, and the well-formed ones that hold items yield entries.

use std::path::Path;

use feedmerge::normalize::normalize_feed;
use feedmerge::parse::parse;

use crate::support::corpora;

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("xml" | "rss" | "atom" | "rdf" | "json")
        ) && !path.to_string_lossy().ends_with(".serde.json")
            && !path.ends_with("expectations.jsonl")
        {
            out.push(path);
        }
    }
}

/// (files, parsed, with entries, failures of well-formed documents that hold items)
fn run(
    dir: &Path,
    must_parse: impl Fn(&Path, &[u8]) -> bool,
) -> (usize, usize, usize, Vec<String>) {
    let mut paths = Vec::new();
    files(dir, &mut paths);
    paths.sort();
    let source = crate::support::corpus_source();
    let now = chrono::Utc::now();
    let (mut parsed, mut with_entries, mut failures) = (0, 0, Vec::new());
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            parse(&bytes, None, &source.url)
                .map(|p| normalize_feed(&p.feed, &source, &source.url, now))
        });
        let result = match outcome {
            Ok(r) => r,
            Err(_) => panic!("parse + normalize panicked on {}", path.display()),
        };
        let expected = must_parse(path, &bytes);
        match result {
            Ok(entries) => {
                parsed += 1;
                if !entries.is_empty() {
                    with_entries += 1;
                    for e in &entries {
                        assert!(
                            !e.title.is_empty(),
                            "{}: an entry without title",
                            path.display()
                        );
                        assert!(
                            e.title.chars().all(|c| !c.is_control() || c == '\t'),
                            "{}",
                            path.display()
                        );
                    }
                } else if expected {
                    failures.push(format!("{}: parsed but no entries", path.display()));
                }
            }
            Err(e) if expected => failures.push(format!("{}: {e}", path.display())),
            Err(_) => {}
        }
    }
    (paths.len(), parsed, with_entries, failures)
}

/// Well-formed feedparser documents we do not read yet, each for a reason feed-rs gives us no
/// handle on. Listed exactly, so a fix (or a regression) shows up here.
const KNOWN_GAPS: &[&str] = &[
    // Atom content typed application/octet-stream (base64): feed-rs refuses the whole feed.
    "wellformed/atom10/entry_summary_base64.xml",
    "wellformed/atom10/entry_summary_base64_2.xml",
    "wellformed/atom10/entry_title_base64.xml",
    "wellformed/atom10/entry_title_base64_2.xml",
    // <item> directly under a <feed> or an <rss> without <channel>: not a real-world shape.
    "wellformed/base/http_entry_contributor_url_base_content_location.xml",
    "wellformed/base/http_entry_contributor_url_base_docuri.xml",
    "wellformed/namespace/unknown-namespace.xml",
    "wellformed/rss/item_description_not_a_doctype.xml",
    "wellformed/rss/item_description_not_a_doctype2.xml",
    // RSS 1.0 / 0.90 items without a <link>: feed-rs drops them.
    "wellformed/rdf/rdf_item_description.xml",
    "wellformed/rdf/rdf_item_rdf_about.xml",
    "wellformed/rdf/rdf_item_title.xml",
    "wellformed/rdf/rss090_channel_title.xml",
    "wellformed/rdf/rss090_item_title.xml",
];

fn holds_items(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.contains("<item") || text.contains("<entry") || text.contains("\"items\"")
}

#[test]
fn feedparser_wellformed_documents_with_items_yield_entries() {
    let root = corpora().join("feedparser-tests");
    let expectations =
        std::fs::read_to_string(root.join("expectations.jsonl")).expect("expectations.jsonl");
    let clean: std::collections::HashSet<String> = expectations
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["bozo"] == serde_json::Value::Bool(false))
        .filter_map(|v| v["file"].as_str().map(str::to_string))
        .collect();
    let (n, parsed, with_entries, failures) = run(&root, |path, bytes| {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        clean.contains(&rel) && holds_items(bytes)
    });
    eprintln!(
        "feedparser-tests: {n} files, {parsed} parsed, {with_entries} with entries, {} failures",
        failures.len()
    );
    assert!(n > 2000, "corpus incomplete: {n} files");
    let unexpected: Vec<&String> = failures
        .iter()
        .filter(|f| {
            !KNOWN_GAPS
                .iter()
                .any(|gap| f.contains(&format!("feedparser-tests/{gap}:")))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} well-formed documents failed:\n{unexpected:#?}",
        unexpected.len()
    );
    assert_eq!(
        failures.len(),
        KNOWN_GAPS.len(),
        "a known gap was fixed: update KNOWN_GAPS\n{failures:#?}"
    );
}

#[test]
fn feed_rs_fixtures_yield_entries() {
    let root = corpora().join("feed-rs-fixtures");
    let (n, parsed, with_entries, failures) = run(&root, |path, bytes| {
        // feed-rs's own expected output says whether the document has entries.
        let expected = path.with_extension("serde.json");
        holds_items(bytes)
            && std::fs::read_to_string(expected)
                .map(|json| json.contains("\"entries\": [\n") || json.contains("\"entries\":[{"))
                .unwrap_or(false)
    });
    eprintln!("feed-rs-fixtures: {n} files, {parsed} parsed, {with_entries} with entries");
    assert!(n > 60, "corpus incomplete: {n} files");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every vendored document Python feedparser reads with items (its readings are in each
/// corpus's `oracle.feedparser.jsonl`) yields entries here too, well-formed or not: none lost.
#[test]
fn files_feedparser_reads_with_items_yield_entries() {
    let source = crate::support::corpus_source();
    let (mut read, mut lost) = (0, Vec::new());
    for corpus in ["feed-rs-fixtures", "feedjira-sample-feeds"] {
        let root = corpora().join(corpus);
        let oracle = std::fs::read_to_string(root.join("oracle.feedparser.jsonl")).unwrap();
        for line in oracle.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["entry_count"].as_u64().unwrap_or(0) == 0 {
                continue;
            }
            let file = v["file"].as_str().unwrap();
            let bytes = std::fs::read(root.join(file)).unwrap();
            read += 1;
            let entries = parse(&bytes, None, &source.url)
                .map(|p| normalize_feed(&p.feed, &source, &source.url, chrono::Utc::now()).len());
            match entries {
                Ok(n) if n > 0 => {}
                other => lost.push(format!("{corpus}/{file}: {other:?}")),
            }
        }
    }
    eprintln!(
        "{read} documents feedparser reads with items, {} lost",
        lost.len()
    );
    assert!(read > 60, "oracles incomplete: {read}");
    assert!(lost.is_empty(), "lost:\n{}", lost.join("\n"));
}

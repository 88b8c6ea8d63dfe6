//! Test support: a fixture feed server on 127.0.0.1:0, temp dirs, the real binary, and bounded
//! polling for conditions (no sleeps).

#![allow(dead_code)]

pub mod live_markup;
pub mod origin;
pub mod process;
pub mod scenario;
pub mod tools;

use std::time::{Duration, Instant};

/// Polls `check` every 25 ms until it returns `Some`, or panics after `limit` naming `what`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A blocking HTTP GET with extra headers: (status, headers, body), the body as sent (never
/// decompressed here). Used against the daemon
/// under test from synchronous tests.
pub fn get(
    url: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, reqwest::header::HeaderMap, Vec<u8>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .timeout(Duration::from_secs(5))
            .build()
            .ok()?;
        let mut req = client.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.ok()?.to_vec();
        Some((status, headers, body))
    })
}

/// Item GUIDs of an RSS document, in order.
pub fn rss_guids(xml: &str) -> Vec<String> {
    let channel = rss::Channel::read_from(xml.as_bytes()).expect("our RSS output parses");
    channel
        .items()
        .iter()
        .map(|i| i.guid().map(|g| g.value().to_string()).unwrap_or_default())
        .collect()
}

/// Asserts that `text` contains each of `needles`.
#[track_caller]
pub fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

/// The titles of the daemon's merged feed (`/feed.xml`), sorted.
pub fn sorted_titles(daemon: &process::Daemon) -> Vec<String> {
    let (_, _, body) = get(&daemon.url("feed.xml"), &[]).expect("feed");
    let mut t = rss_titles(&String::from_utf8(body).expect("utf-8"));
    t.sort();
    t
}

/// Item titles of an RSS document, in order.
pub fn rss_titles(xml: &str) -> Vec<String> {
    let channel = rss::Channel::read_from(xml.as_bytes()).expect("our RSS output parses");
    channel
        .items()
        .iter()
        .map(|i| i.title().unwrap_or_default().to_string())
        .collect()
}

/// Path of the vendored conformance corpora (`tests/corpora/`, each set with its licence and a
/// `SOURCE.txt`): inside the repository, so a fresh clone runs every test with nothing beside it.
pub fn corpora() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpora")
}

/// The source the corpus tests read their documents as: any URL does, as nothing is fetched.
pub fn corpus_source() -> feedmerge::config::Source {
    feedmerge::config::Source {
        name: "Corpus".into(),
        url: url::Url::parse("http://example.org/feed.xml").unwrap(),
        interval: Duration::from_secs(900),
        tags: vec![],
        priority: 0,
        fetch: Default::default(),
    }
}

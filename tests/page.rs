//! The HTML page at `/`, loaded from the running daemon by a real headless chromium.

use std::time::Duration;

use crate::feeds::rss;
use crate::support::origin::Origin;
use crate::support::process::{write_config, Daemon};
use crate::support::tools::{require, run};
use crate::support::{get, wait_for};

/// The DOM chromium built from `url`, after parsing and layout.
fn dump_dom(url: &str, dir: &std::path::Path) -> String {
    let profile = dir.join("chromium-profile");
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let out = run(
        "chromium",
        &[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=390,844",
            &profile_arg,
            "--dump-dom",
            url,
        ],
        dir,
        Duration::from_secs(90),
    );
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_page_lists_stories_with_sources_and_links_every_feed_in_a_real_browser() {
    if !require("chromium", "apt-get install chromium") {
        return;
    }
    let origin = Origin::start();
    let ferry = "Ferry service resumes after the winter storm passes the coast";
    origin.feed(
        "a.xml",
        rss(
            "A",
            &[(
                "a1",
                ferry,
                "https://a.example/ferry",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    origin.feed(
        "b.xml",
        rss(
            "B",
            &[
                (
                    "b1",
                    ferry,
                    "https://a.example/ferry?utm_source=x",
                    "2025-11-26T08:30:00Z",
                ),
                (
                    "b2",
                    "Library extends weekend hours & adds study rooms for <students>",
                    "https://b.example/library",
                    "2025-11-26T09:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[],
        "15m",
        &format!(
            "[feed]\ntitle = \"Harbor News\"\n\
             [[source]]\nname = \"A\"\nurl = \"{}\"\ntags = [\"world\"]\n\
             [[source]]\nname = \"Bay Post\"\nurl = \"{}\"\ntags = [\"local\"]\n",
            origin.url("a.xml"),
            origin.url("b.xml")
        ),
    );
    let daemon = Daemon::start(&config);
    wait_for("2 stories on the page", Duration::from_secs(30), || {
        let (_, _, body) = get(&daemon.url(""), &[])?;
        let html = String::from_utf8(body).ok()?;
        // Both sources polled: the ferry story lists B as well.
        (html.matches("<article").count() == 2 && html.contains("also reported by")).then_some(())
    });
    let (_, headers, _) = get(&daemon.url(""), &[]).unwrap();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(headers.contains_key("etag"));

    let dom = dump_dom(&daemon.url(""), dir.path());
    assert!(dom.contains("<title>Harbor News</title>"), "{dom}");
    assert!(dom.contains("name=\"viewport\" content=\"width=device-width, initial-scale=1\""));
    assert!(!dom.contains("<script"), "the page needs no JavaScript");

    // Newest first, each story once, with its sources.
    let library = dom
        .find("Library extends weekend hours &amp; adds study rooms for")
        .unwrap_or_else(|| panic!("escaped headline rendered as text: {dom}"));
    let ferry_at = dom.find(ferry).expect("ferry story");
    assert!(library < ferry_at, "newest first");
    assert_eq!(dom.matches("<article").count(), 2);
    assert_eq!(dom.matches(&format!(">{ferry}</a></h2>")).count(), 1);
    let ferry_article = &dom[ferry_at..];
    let ferry_article = &ferry_article[..ferry_article.find("</article>").unwrap()];
    assert!(ferry_article.contains("From <a class=\"source\" href=\"https://a.example/ferry\">A</a>; also reported by <a class=\"source\" href=\"https://a.example/ferry\">Bay Post</a>"), "{ferry_article}");
    assert!(ferry_article.contains("<time datetime=\"2025-11-26T08:00:00Z\">"));

    // Autodiscovery and visible links for every feed and the OPML.
    for (mime, href) in [
        ("application/rss+xml", "feed.xml"),
        ("application/atom+xml", "atom.xml"),
        ("application/feed+json", "feed.json"),
        ("application/rss+xml", "tags/world.xml"),
        ("application/atom+xml", "tags/local.atom"),
        ("application/feed+json", "tags/local.json"),
        ("application/rss+xml", "sources/A.xml"),
        ("application/rss+xml", "sources/Bay%20Post.xml"),
        ("text/x-opml", "sources.opml"),
    ] {
        let link = format!("<link rel=\"alternate\" type=\"{mime}\"");
        assert!(
            dom.split(&link)
                .skip(1)
                .any(|rest| rest[..rest.find('>').unwrap()].contains(&format!("href=\"{href}\""))),
            "autodiscovery for {href}"
        );
        assert!(
            dom.contains(&format!("<a href=\"{href}\" type=\"{mime}\">")),
            "visible link to {href}"
        );
        // Every link answers.
        assert_eq!(get(&daemon.url(href), &[]).unwrap().0, 200, "{href}");
    }
}

//! Paged archives (RFC 5005): stories beyond `max_items` stay reachable through stable
//! `prev-archive` pages, one per UTC day.

use std::time::Duration;

use crate::feeds::rss as rss_doc;
use crate::support::origin::Origin;
use crate::support::process::{write_config, Daemon};
use crate::support::{get, wait_for};

const BASE: &str = "https://news.example/";

struct Page {
    ids: Vec<String>,
    links: Vec<(String, String)>,
    archive: bool,
}

fn rss_page(daemon: &Daemon, path: &str) -> Page {
    let (status, _, body) = get(&daemon.url(path), &[]).unwrap();
    assert_eq!(status, 200, "{path}");
    let channel = rss::Channel::read_from(body.as_slice()).unwrap();
    Page {
        ids: channel
            .items()
            .iter()
            .map(|i| i.guid().unwrap().value().to_string())
            .collect(),
        links: channel
            .atom_ext()
            .unwrap()
            .links()
            .iter()
            .map(|l| (l.rel().to_string(), l.href().to_string()))
            .collect(),
        archive: channel
            .extensions()
            .get("fh")
            .is_some_and(|e| e.contains_key("archive")),
    }
}

fn link<'a>(page: &'a Page, rel: &str) -> Option<&'a str> {
    page.links
        .iter()
        .find(|(r, _)| r == rel)
        .map(|(_, h)| h.strip_prefix(BASE).expect("links use the base URL"))
}

#[test]
fn stories_beyond_max_items_are_reachable_through_stable_day_archives() {
    let origin = Origin::start();
    let items = [
        (
            "n1",
            "Harbor council approves the new ferry terminal plan",
            "https://a.example/1",
            "2025-11-24T09:00:00Z",
        ),
        (
            "n2",
            "Storm closes the coastal road for the second time",
            "https://a.example/2",
            "2025-11-24T15:00:00Z",
        ),
        (
            "n3",
            "City library extends weekend opening hours again",
            "https://a.example/3",
            "2025-11-25T10:00:00Z",
        ),
        (
            "n4",
            "Chip maker unveils a low power laptop processor",
            "https://a.example/4",
            "2025-11-26T08:00:00Z",
        ),
        (
            "n5",
            "Local team wins the regional rowing championship",
            "https://a.example/5",
            "2025-11-26T12:00:00Z",
        ),
    ];
    origin.feed("a.xml", rss_doc("A", &items), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[("A", origin.url("a.xml"))],
        "15m",
        "[feed]\nmax_items = 2\n",
    );
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen(
            "[server]\n",
            &format!("[server]\nbase_url = \"{BASE}\"\n"),
            1,
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config);
    let main = wait_for("the current feed", Duration::from_secs(30), || {
        let page = rss_page(&daemon, "feed.xml");
        (page.ids.len() == 2).then_some(page)
    });
    assert!(!main.archive);
    assert_eq!(link(&main, "prev-archive"), Some("archive/2025-11-26.xml"));

    // Walk back from the current feed: every story, each day once, oldest page last.
    let mut seen = main.ids.clone();
    let mut pages = Vec::new();
    let mut next = link(&main, "prev-archive").map(str::to_string);
    while let Some(path) = next {
        assert!(pages.len() < 10, "prev-archive links loop");
        let page = rss_page(&daemon, &path);
        assert!(page.archive, "{path} is marked <fh:archive/>");
        assert_eq!(link(&page, "current"), Some("feed.xml"));
        assert_eq!(link(&page, "self"), Some(path.as_str()));
        seen.extend(page.ids.iter().cloned());
        next = link(&page, "prev-archive").map(str::to_string);
        pages.push((path, page));
    }
    let paths: Vec<&str> = pages.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "archive/2025-11-26.xml",
            "archive/2025-11-25.xml",
            "archive/2025-11-24.xml"
        ]
    );
    assert_eq!(pages[1].1.ids.len(), 1);
    assert_eq!(pages[2].1.ids.len(), 2);
    assert_eq!(
        link(&pages[2].1, "next-archive"),
        Some("archive/2025-11-25.xml")
    );
    assert_eq!(link(&pages[0].1, "next-archive"), None);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "every story is reachable");

    // Atom and JSON Feed pages hold the same stories and link the same way.
    let (_, _, atom) = get(&daemon.url("archive/2025-11-24.atom"), &[]).unwrap();
    let atom: atom_syndication::Feed = std::str::from_utf8(&atom).unwrap().parse().unwrap();
    let atom_ids: Vec<&str> = atom.entries().iter().map(|e| e.id()).collect();
    assert_eq!(atom_ids, pages[2].1.ids);
    assert!(
        atom.links()
            .iter()
            .any(|l| l.rel() == "next-archive"
                && l.href() == format!("{BASE}archive/2025-11-25.atom"))
    );
    let (_, _, json) = get(&daemon.url("archive/2025-11-25.json"), &[]).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["next_url"], format!("{BASE}archive/2025-11-24.json"));
    assert_eq!(json["items"][0]["id"], pages[1].1.ids[0].as_str());

    // Stable: the same bytes each time, so validators hold and conditional requests get 304.
    let (_, first, body1) = get(&daemon.url("archive/2025-11-24.xml"), &[]).unwrap();
    let (_, second, body2) = get(&daemon.url("archive/2025-11-24.xml"), &[]).unwrap();
    assert_eq!((body1, &first["etag"]), (body2, &second["etag"]));
    let etag = first["etag"].to_str().unwrap();
    let (status, _, _) = get(
        &daemon.url("archive/2025-11-24.xml"),
        &[("If-None-Match", etag)],
    )
    .unwrap();
    assert_eq!(status, 304);

    for path in [
        "archive/2025-11-23.xml",
        "archive/yesterday.xml",
        "archive/2025-11-24.html",
    ] {
        let (status, headers, _) = get(&daemon.url(path), &[]).unwrap();
        assert_eq!(status, 404, "{path}");
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    }
}

//! Lenient in: text, JSON Feeds and dates as real feeds write them, read through the real
//! binary (`preview` for what is read, the daemon for what is published).

use std::time::Duration;

use crate::support::origin::Origin;
use crate::support::process::run_cli;
use crate::support::scenario::Scenario;
use crate::support::{assert_contains, get, wait_for};

/// An RSS 2.0 document with `items` (raw XML of each `<item>`'s children).
fn rss_with(items: &[&str]) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Wire</title><link>https://wire.example/</link><description>news</description>\n",
    );
    for item in items {
        x.push_str(&format!("<item>{item}</item>\n"));
    }
    x.push_str("</channel></rss>\n");
    x
}

/// The daemon's document at `path` once it holds `needle`.
fn published_with(daemon: &crate::support::process::Daemon, path: &str, needle: &str) -> String {
    wait_for(
        &format!("{needle:?} in {path}"),
        Duration::from_secs(30),
        || {
            let (_, _, body) = get(&daemon.url(path), &[])?;
            let text = String::from_utf8(body).ok()?;
            text.contains(needle).then_some(text)
        },
    )
}

#[test]
fn paragraphs_keep_their_spaces_in_summaries_and_the_page() {
    let s = Scenario::new().feed(
        "Wire",
        "w.xml",
        rss_with(&[
            "<guid>w1</guid><title>Central bank holds rates again this month</title>\
             <link>https://wire.example/1</link><pubDate>Wed, 26 Nov 2025 08:00:00 GMT</pubDate>\
             <description><![CDATA[<p>The bank chose to keep rates on hold.</p><p>Markets had \
             priced in a cut.</p><ul><li>Bonds</li><li>fell</li></ul>Shares<br>rose]]></description>",
        ]),
    );
    let daemon = s.run();
    let json = published_with(&daemon, "feed.json", "keep rates");
    assert!(
        json.contains("keep rates on hold. Markets had priced in a cut. Bonds fell Shares rose"),
        "{json}"
    );
    let page = published_with(&daemon, "", "keep rates");
    assert!(page.contains("on hold. Markets had"), "{page}");
}

/// The `content_html` of each item of a JSON Feed document, by title.
fn json_items(doc: &str) -> Vec<(String, String)> {
    let feed: serde_json::Value = serde_json::from_str(doc).expect("our JSON Feed parses");
    feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["title"].as_str().unwrap_or_default().to_string(),
                i["content_html"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const ATOM_TEXT_SUMMARIES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Desk</title><id>urn:desk</id>
<updated>2025-11-26T09:00:00Z</updated>
<entry><id>urn:desk:1</id><title>Driscoll meets officials in the capital on trade</title>
<link href="https://desk.example/1"/><updated>2025-11-26T09:00:00Z</updated>
<summary>&lt;p&gt;Driscoll met officials.&lt;/p&gt;&lt;script&gt;alert('x')&lt;/script&gt;&lt;img src="x" onerror="steal()"&gt;</summary></entry>
<entry><id>urn:desk:2</id><title>A compiler note on generic types and comparisons</title>
<link href="https://desk.example/2"/><updated>2025-11-26T08:00:00Z</updated>
<summary>When a &lt; b the type x&lt;y&gt;z is chosen.</summary></entry>
</feed>
"#;

#[test]
fn markup_in_plain_text_fields_is_read_as_html_and_genuine_text_stays_text() {
    let json_feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Notes",
        "items": [
            {"id": "n1", "title": "Harbour board approves the dredging contract",
             "url": "https://notes.example/1", "date_published": "2025-11-26T07:00:00Z",
             "content_text": "<p>The board <b>approved</b> it.</p><p>Work starts soon.</p>"},
            {"id": "n2", "title": "Why Vec<String> beats a list of pointers here",
             "url": "https://notes.example/2", "date_published": "2025-11-26T06:00:00Z",
             "content_text": "Use Vec<String> when a < b."},
        ]
    });
    let s = Scenario::new().feed("Desk", "d.xml", ATOM_TEXT_SUMMARIES);
    s.origin()
        .feed("n.json", json_feed.to_string(), "application/feed+json");
    let s = s.source("Notes", "n.json");
    let daemon = s.run();
    published_with(&daemon, "feed.json", "Harbour");
    let doc = published_with(&daemon, "feed.json", "compiler");
    let items = json_items(&doc);
    let html = |title: &str| {
        items
            .iter()
            .find(|(t, _)| t.contains(title))
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| panic!("no {title:?} in {items:?}"))
    };
    let driscoll = html("Driscoll");
    assert!(
        driscoll.starts_with("<p>Driscoll met officials.</p>"),
        "{driscoll}"
    );
    assert!(
        !driscoll.contains("&lt;") && !driscoll.contains("script"),
        "{driscoll}"
    );
    assert!(!driscoll.contains("onerror"), "{driscoll}");
    let board = html("Harbour");
    assert!(
        board.starts_with("<p>The board <b>approved</b> it.</p>"),
        "{board}"
    );
    assert!(html("compiler").contains("When a &lt; b the type x&lt;y&gt;z is chosen."));
    assert!(html("Vec").contains("Use Vec&lt;String&gt; when a &lt; b."));
}

/// `feedmerge preview URL` and `preview --json URL` of `body` served as JSON: (exit code,
/// text output and stderr, the JSON lines).
fn preview_json(body: &str) -> (i32, String, Vec<serde_json::Value>) {
    let origin = Origin::start();
    origin.feed("f.json", body.as_bytes().to_vec(), "application/json");
    let (code, out, err) = run_cli(&["preview", &origin.url("f.json")]);
    let (_, lines, _) = run_cli(&["preview", "--json", &origin.url("f.json")]);
    let entries = lines
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (code, format!("{out}{err}"), entries)
}

#[test]
fn json_feeds_are_read_as_they_are_published() {
    // An early JSON Feed: the http version URL, tags as one string, a numeric id, author's name.
    let early = r#"{"version": "http://jsonfeed.org/version/1", "title": "Inbox Zero",
        "home_page_url": "https://inbox.example/",
        "items": [{"id": 1717, "url": "https://inbox.example/p/1717",
            "title": "A weekly review that fits in twenty minutes",
            "content_html": "<p>Review.</p>", "summary": "Review, briefly.",
            "date_published": "2018-01-06T08:00:00Z", "author": "Sam Ortiz",
            "tags": "workflow,omnifocus"}]}"#;
    let (code, out, entries) = preview_json(early);
    assert_eq!(code, 0, "{out}");
    assert_contains(
        &out,
        &[
            "entries: 1",
            "repaired: JSON Feed version read as 1.1",
            "repaired: JSON Feed tags given as a string split on commas",
        ],
    );
    assert_eq!(
        entries[0]["categories"],
        serde_json::json!(["workflow", "omnifocus"])
    );
    assert_eq!(entries[0]["guid"], "1717");
    assert_eq!(entries[0]["authors"], serde_json::json!(["Sam Ortiz"]));
    assert_eq!(entries[0]["date"], "2018-01-06T08:00:00+00:00");

    // RSS-in-JSON as scripting.com publishes it.
    let rss_in_json = r#"{"rss": {"version": "2.0", "channel": {
        "title": "Scripting News", "link": "http://scripting.com/",
        "description": "It's even worse than it appears.",
        "pubDate": "Sat, 06 Dec 2025 15:02:11 GMT",
        "item": [
            {"description": "<p>Blogs are still the open web.</p>",
             "pubDate": "Sat, 06 Dec 2025 14:35:12 GMT",
             "link": "http://scripting.com/2025/12/06.html#a143512",
             "guid": {"flPermaLink": true, "value": "http://scripting.com/2025/12/06.html#a143512"},
             "category": "blogging"},
            {"title": "Why RSS in JSON", "description": "Same model, other syntax.",
             "pubDate": "Fri, 05 Dec 2025 12:00:00 GMT",
             "link": "http://scripting.com/2025/12/05.html#a120000",
             "guid": "http://scripting.com/2025/12/05.html#a120000"}
        ]}}}"#;
    let (code, out, entries) = preview_json(rss_in_json);
    assert_eq!(code, 0, "{out}");
    assert_contains(
        &out,
        &["entries: 2", "repaired: RSS-in-JSON read as a JSON Feed"],
    );
    assert_eq!(entries[0]["title"], "Blogs are still the open web.");
    assert_eq!(
        entries[0]["guid"],
        "http://scripting.com/2025/12/06.html#a143512"
    );
    assert_eq!(entries[0]["date"], "2025-12-06T14:35:12+00:00");
    assert_eq!(entries[0]["categories"], serde_json::json!(["blogging"]));
    assert_eq!(entries[1]["title"], "Why RSS in JSON");

    // `authors` and only `content_text`, as a JSON Feed 1.1 may be: read as it is.
    let plain = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "Plain",
        "items": [{"id": "p1", "url": "https://plain.example/1", "title": "Text only entry",
            "content_text": "Words.", "authors": [{"name": "Kim"}],
            "date_published": "2025-11-26T07:00:00Z"}]}"#;
    let (code, out, entries) = preview_json(plain);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("repaired"), "{out}");
    assert_eq!(entries[0]["authors"], serde_json::json!(["Kim"]));

    // JSON that is no feed stays refused, saying so.
    let api = r#"{"status": "ok", "totalResults": 1, "articles": [{"title": "x", "url": "https://api.example/x"}]}"#;
    let (code, out, _) = preview_json(api);
    assert_ne!(code, 0, "{out}");
    assert_contains(&out, &["JSON, but no feed", "articles"]);
}

/// feedparser's reading of each of `dates`: seconds since the epoch, or `None`. Run with
/// `TZ=UTC`, since its ISO 8601 handler goes through the local time zone.
fn feedparser_dates(dates: &[&str]) -> Vec<Option<i64>> {
    use std::io::Write;
    let script = "import calendar, json, sys\n\
                  from feedparser.datetimes import _parse_date\n\
                  out = []\n\
                  for s in json.load(sys.stdin):\n\
                  \x20   t = _parse_date(s)\n\
                  \x20   out.append(calendar.timegm(t) if t else None)\n\
                  print(json.dumps(out))\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .env("TZ", "UTC")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = serde_json::to_vec(dates).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "feedparser failed");
    serde_json::from_slice(&out.stdout).expect("feedparser's answers")
}

/// Every date of `tests/fixtures/dates.txt` is read as Python feedparser reads it, except the
/// few lines that say what we read instead and why.
#[test]
fn dates_are_read_as_feedparser_reads_them() {
    if !crate::support::tools::require_python_module("feedparser") {
        return;
    }
    let table = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dates.txt"),
    )
    .unwrap();
    let rows: Vec<(&str, Option<&str>)> = table
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once("\t=> ") {
            Some((text, rest)) => (text, Some(rest.split('\t').next().unwrap_or(rest))),
            None => (l, None),
        })
        .collect();
    assert!(rows.len() >= 100, "the table has {} dates", rows.len());
    let texts: Vec<&str> = rows.iter().map(|(t, _)| *t).collect();
    let theirs = feedparser_dates(&texts);
    let mut wrong = Vec::new();
    for ((text, departure), theirs) in rows.iter().zip(theirs) {
        let ours = feedmerge::parse::parse_date(text);
        let want = match departure {
            Some("none") => None,
            Some(at) => Some(
                chrono::DateTime::parse_from_rfc3339(at)
                    .expect("the table's instants are RFC 3339")
                    .timestamp(),
            ),
            None => theirs,
        };
        if ours.map(|t| t.timestamp()) != want {
            wrong.push(format!(
                "{text:?}: ours {ours:?}, expected {want:?} (feedparser {theirs:?})"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}

#[test]
fn dates_as_feeds_write_them_order_the_merged_feed_and_undated_posts_do_not_top_it() {
    let old_blog = rss_with(&[
        "<guid>u1</guid><title>Undated essay on growing tomatoes in small gardens</title>\
         <link>https://blog.example/u1</link>",
        "<guid>f1</guid><title>Post dated years ahead by a broken plugin setting</title>\
         <link>https://blog.example/f1</link><pubDate>Sat, 06 Dec 2031 10:00:00 GMT</pubDate>",
        "<guid>d1</guid><title>Slash dated notes from the winter allotment meeting</title>\
         <link>https://blog.example/d1</link><pubDate>2020/1/10 14:33:00</pubDate>",
        "<guid>d2</guid><title>Seed catalogue arrives with twelve new bean varieties</title>\
         <link>https://blog.example/d2</link><pubDate>Fri, 10 Jan 2020 10:00:00 GMT</pubDate>",
    ]);
    let notes = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1", "title": "Notes",
        "items": [{"id": "j1", "title": "Minute-precision date from a static site generator",
                   "url": "https://notes.example/j1", "date_published": "2018-01-06T08:00",
                   "content_text": "Old."}]
    });
    let s = Scenario::new()
        .rss(
            "Wire",
            "wire.xml",
            &[(
                "w1",
                "Harbour council approves the new ferry terminal plan",
                "https://wire.example/1",
                "2025-11-26T08:00:00Z",
            )],
        )
        .feed("Old Blog", "blog.xml", old_blog);
    s.origin()
        .feed("notes.json", notes.to_string(), "application/feed+json");
    let s = s.source("Notes", "notes.json");

    let (code, out, err) = run_cli(&["preview", "--json", &s.origin().url("blog.xml")]);
    assert_eq!(code, 0, "{err}");
    let dates: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(dates[2]["date"], "2020-01-10T14:33:00+00:00");
    assert_eq!(dates[2]["date_from_feed"], true);
    for undated in [&dates[0], &dates[1]] {
        assert_eq!(undated["date_from_feed"], false);
        assert_eq!(undated["date"], "2020-01-10T09:59:59+00:00", "{undated}");
    }

    let daemon = s.run();
    let feed = wait_for("every source in feed.xml", Duration::from_secs(30), || {
        let (_, _, body) = get(&daemon.url("feed.xml"), &[])?;
        let text = String::from_utf8(body).ok()?;
        ["Minute-precision", "bean varieties", "ferry terminal"]
            .iter()
            .all(|n| text.contains(n))
            .then_some(text)
    });
    let titles = crate::support::rss_titles(&feed);
    let at = |needle: &str| {
        titles
            .iter()
            .position(|t| t.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {titles:?}"))
    };
    assert_eq!(at("ferry terminal"), 0, "{titles:?}");
    assert_eq!(at("Slash dated"), 1, "{titles:?}");
    assert_eq!(at("bean varieties"), 2, "{titles:?}");
    assert!(at("tomatoes") > 2 && at("years ahead") > 2, "{titles:?}");
    assert_eq!(at("Minute-precision"), 5, "{titles:?}");
}

/// Atom whose `type="html"` content carries unbalanced HTML unescaped (a `<p>` closed by
/// `</div>`), as real feeds do.
const ATOM_UNBALANCED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Council</title><id>urn:council</id>
<updated>2025-11-26T09:00:00Z</updated>
<entry><id>urn:council:1</id><title>Council backs the river crossing after a long session</title>
<link href="https://council.example/1"/><updated>2025-11-26T09:00:00Z</updated>
<content type="html"><div><p>The vote was 31 to 9.</div><p>Work starts in spring.</content></entry>
</feed>
"#;

#[test]
fn ill_formed_feeds_feedparser_reads_are_read_and_the_repair_is_reported() {
    let origin = Origin::start();
    origin.feed("c.xml", ATOM_UNBALANCED, "application/atom+xml");
    let (code, out, err) = run_cli(&["preview", &origin.url("c.xml")]);
    assert_eq!(code, 0, "{err}");
    assert_contains(
        &out,
        &[
            "entries: 1",
            "repaired: ill-formed XML re-read leniently and re-balanced",
            "Council backs the river crossing",
        ],
    );
    // The real feeds of the shared corpora that feedparser reads and feed-rs refuses.
    let feedjira = crate::support::corpora().join("feedjira-sample-feeds/current");
    for (file, entries) in [
        ("DuplicateContentAtomFeed.xml", "entries: 10"),
        ("ITunesWithSingleQuotedAttributes.xml", "entries: 3"),
    ] {
        let path = feedjira.join(file);
        let (code, out, err) = run_cli(&["preview", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{file}: {err}");
        assert_contains(
            &out,
            &[entries, "repaired: ill-formed XML re-read leniently"],
        );
    }

    // Through the daemon: published, and the repair in the poll log.
    let s = Scenario::new().feed("Council", "c.xml", ATOM_UNBALANCED);
    let daemon = s.run();
    let feed = published_with(&daemon, "feed.json", "river crossing");
    assert!(feed.contains("The vote was 31 to 9."), "{feed}");
    daemon.wait_log("repaired: ill-formed XML re-read leniently and re-balanced");
}

//! Lenient in: text, JSON Feeds and dates as real feeds write them, read through the real
//! binary (`preview` for what is read, the daemon for what is published).

use std::time::Duration;

use crate::support::scenario::Scenario;
use crate::support::{get, wait_for};

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

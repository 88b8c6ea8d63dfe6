//! Hostile markup in every feed format the daemon reads comes out inert from every document it
//! publishes: the main, tag, per-source and archive feeds in each format, the HTML page, the
//! story JSON documents and `feedmerge export`.
//!
//! The store keeps HTML as the feeds gave it and sanitizes it when publishing, so this is the
//! test that every output path goes through the sanitizer: each document is parsed (RSS, Atom,
//! JSON), its HTML fields tokenized with html5ever's tokenizer (what a browser's parser does
//! first), and every tag, attribute and URL checked. Escaped markup (text that reads
//! `<script>`) is text and fine; a live tag, an event handler or a script URL is not.

use std::time::Duration;

use html5ever::tokenizer::{TagKind, Token};

use crate::support::live_markup::{live_markup, tokens};
use crate::support::scenario::Scenario;
use crate::support::{get, wait_for};

/// The hostile set, as HTML (a feed's summary or content). Each part is a way to run script
/// or to take over the page; "Lava" and the escaped `<script>` text are what must remain.
const HOSTILE: &str = r#"<p onclick="steal()">Lava<script>alert(1)</script> reaches the coast.</p>
<a href="javascript:alert(2)">a</a> <a href="jav&#x09;ascript:alert(3)">b</a>
<a href=" JaVaScRiPt:alert(4)">c</a> <a href="&#106;avascript:alert(12)">e</a>
<img src=x onerror="alert(5)"> <body onload=alert(6)> <b onmouseover=alert(13)>hover</b>
<style>p{background:url(javascript:alert(7))}</style><p style="x:expression(alert(8))">styled</p>
<svg><script>alert(9)</script></svg><svg onload=alert(14)></svg>
<math><mi xlink:href="javascript:alert(10)">m</mi></math>
<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example/">
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxMSk8L3NjcmlwdD4=">d</a>
<img src="data:image/svg+xml,<svg onload=alert(15)>">
<iframe src="https://evil.example/"></iframe><iframe srcdoc="<script>alert(16)</script>"></iframe>
<object data="x.swf"></object><embed src="x.swf">
<form action="https://evil.example/"><input name=q><button formaction="javascript:alert(17)">go</button></form>
<p>Escaped text stays: &lt;script&gt;alert("text")&lt;/script&gt;</p> <a href="/relative/more">more</a>"#;

/// MathML carrying a script URL, as it stands in the hostile set.
const MATH: &str = r#"<math><mi xlink:href="javascript:alert(10)">m</mi></math>"#;

/// A headline with markup in it: its text is kept, its markup is not.
fn title(words: &str) -> String {
    format!(r#"{words} <script>alert("t")</script><img src=x onerror=alert("t")>"#)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rss2() -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Two</title><link>https://two.example/</link><description>d</description>
<item><guid>two-1</guid><title>{}</title><link>https://two.example/volcano</link>
<description>{}</description><content:encoded><![CDATA[{HOSTILE}]]></content:encoded>
<pubDate>Wed, 26 Nov 2025 08:00:00 GMT</pubDate></item></channel></rss>"#,
        xml_escape(&title("Volcano lava reaches the remote island coast")),
        xml_escape(HOSTILE),
    )
}

fn rss1() -> String {
    format!(
        r#"<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://one.example/"><title>One</title><link>https://one.example/</link><description>d</description></channel>
<item rdf:about="https://one.example/budget"><title>{}</title><link>https://one.example/budget</link>
<description>{}</description><dc:date>2025-11-26T07:00:00Z</dc:date></item></rdf:RDF>"#,
        xml_escape(&title(
            "Parliament approves the regional budget after long debate"
        )),
        // RSS 1.0's description is plain text unless it is evidently HTML, which markup with
        // elements HTML does not define (MathML's) is not: without them it is read as HTML.
        xml_escape(&HOSTILE.replace(MATH, "")),
    )
}

fn atom() -> String {
    format!(
        r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title><id>urn:atom</id>
<updated>2025-11-26T09:00:00Z</updated>
<entry><id>urn:atom:1</id><title type="html">{}</title><link href="https://atom.example/rail"/>
<updated>2025-11-26T09:00:00Z</updated><summary type="html">{}</summary>
<content type="html">{}</content></entry></feed>"#,
        xml_escape(&title(
            "Rail strike halts freight across the northern region"
        )),
        xml_escape(HOSTILE),
        xml_escape(HOSTILE),
    )
}

fn json_feed() -> String {
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Json",
        "items": [{
            "id": "json-1",
            "url": "https://json.example/chip",
            "title": title("Chip maker unveils a low power processor for laptops"),
            // Plain text by the spec, read as HTML when evidently HTML (see `rss1`).
            "summary": HOSTILE.replace(MATH, ""),
            "content_html": HOSTILE,
            "date_published": "2025-11-26T06:00:00Z"
        }, {
            "id": "json-2",
            "url": "https://json.example/library",
            "title": "City library extends weekend opening hours",
            // Declared plain text but evidently HTML: read as HTML, so sanitized as such.
            "content_text": r#"<p onclick="x()">Lava flows<script>alert(1)</script></p><a href="javascript:alert(2)">a</a><img src=x onerror=alert(3)><br>"#,
            "date_published": "2025-11-26T05:00:00Z"
        }]
    })
    .to_string()
}

/// How many stories the feeds above make: one per item, none alike.
const STORIES: usize = 5;

/// The text of `html` as a browser shows it (entities decoded).
fn text_of(html: &str) -> String {
    tokens(html)
        .into_iter()
        .filter_map(|t| match t {
            Token::CharacterTokens(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Checks one published HTML field: nothing live in it, and the hostile set's escaped markup
/// still there as text. Counts the fields that carried a story's text in `checked`.
#[track_caller]
fn check_html(place: &str, html: &str, checked: &mut usize) {
    let live = live_markup(html, &[]);
    assert!(live.is_empty(), "{place}: live markup {live:?} in\n{html}");
    let text = text_of(html);
    assert!(
        !text.contains("onclick"),
        "{place}: HTML published as text (its field was read as plain text)"
    );
    if text.contains("Escaped text stays") {
        assert!(
            text.contains("<script>alert(\"text\")</script>"),
            "{place}: escaped text lost in\n{html}"
        );
    }
    if text.contains("Lava") {
        *checked += 1;
    }
}

/// Every HTML field of an RSS document.
fn check_rss(place: &str, body: &[u8], checked: &mut usize) -> usize {
    let channel = rss::Channel::read_from(body).unwrap_or_else(|e| panic!("{place}: {e}"));
    for item in channel.items() {
        let at = format!("{place} item {:?}", item.title());
        check_html(&at, item.title().unwrap_or_default(), checked);
        check_html(&at, item.description().unwrap_or_default(), checked);
        check_html(&at, item.content().unwrap_or_default(), checked);
    }
    channel.items().len()
}

/// Every HTML field of an Atom document (plain-text fields are text whatever they hold).
fn check_atom(place: &str, body: &[u8], checked: &mut usize) -> usize {
    let feed = atom_syndication::Feed::read_from(body).unwrap_or_else(|e| panic!("{place}: {e}"));
    for entry in feed.entries() {
        let at = format!("{place} entry {:?}", entry.title().value);
        for text in [Some(entry.title()), entry.summary()].into_iter().flatten() {
            if text.r#type == atom_syndication::TextType::Html {
                check_html(&at, &text.value, checked);
            } else {
                assert_eq!(text.r#type, atom_syndication::TextType::Text, "{at}");
            }
        }
        if let Some(content) = entry.content() {
            assert_eq!(content.content_type(), Some("html"), "{at}");
            check_html(&at, content.value().unwrap_or_default(), checked);
        }
    }
    feed.entries().len()
}

/// Every HTML field of a JSON Feed (`title` and `summary` are plain text by the spec).
fn check_json_feed(place: &str, body: &[u8], checked: &mut usize) -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("{place}: {e}"));
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    for item in &items {
        let at = format!("{place} item {}", item["id"]);
        check_html(
            &at,
            item["content_html"].as_str().unwrap_or_default(),
            checked,
        );
    }
    items
        .iter()
        .filter_map(|i| i["id"].as_str())
        .map(|id| id.trim_start_matches("urn:feedmerge:story:").to_string())
        .collect()
}

/// A stored story as `/stories/{id}.json` and `export` give it.
fn check_story(place: &str, story: &serde_json::Value, checked: &mut usize) {
    for field in ["summary", "content"] {
        check_html(place, story[field].as_str().unwrap_or_default(), checked);
    }
    assert!(story.get("html_base").is_none(), "{place}: {story}");
}

#[test]
fn hostile_markup_is_inert_in_every_published_document_and_the_export() {
    let s = Scenario::new();
    let feeds = [
        ("Two", "two.xml", rss2(), "application/rss+xml"),
        ("One", "one.rdf", rss1(), "application/rdf+xml"),
        ("Atom", "atom.xml", atom(), "application/atom+xml"),
        ("Json", "feed.json", json_feed(), "application/feed+json"),
    ];
    let mut sources = String::new();
    for (name, path, body, content_type) in feeds {
        s.origin().feed(path, body, content_type);
        // Every source carries the tag `all`.
        sources.push_str(&format!(
            "[[source]]\nname = \"{name}\"\nurl = \"{}\"\ntags = [\"all\"]\n",
            s.origin().url(path)
        ));
    }
    let s = s.config(&sources);

    let daemon = s.run();
    let mut checked = 0;
    let ids = wait_for("every story published", Duration::from_secs(30), || {
        let (_, _, body) = get(&daemon.url("feed.json"), &[])?;
        let mut ignored = 0;
        let ids = check_json_feed("/feed.json", &body, &mut ignored);
        (ids.len() == STORIES).then_some(ids)
    });
    let fetch = |path: &str| -> Vec<u8> {
        let (status, _, body) = get(&daemon.url(path), &[]).expect(path);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        body
    };

    // The feeds: main, tag, per-source and archive, each format.
    for prefix in ["", "tags/all", "archive/2025-11-26"] {
        let (xml, atom, json) = if prefix.is_empty() {
            ("feed.xml".into(), "atom.xml".into(), "feed.json".into())
        } else {
            (
                format!("{prefix}.xml"),
                format!("{prefix}.atom"),
                format!("{prefix}.json"),
            )
        };
        assert_eq!(
            check_rss(&xml, &fetch(&xml), &mut checked),
            STORIES,
            "{xml}"
        );
        assert_eq!(
            check_atom(&atom, &fetch(&atom), &mut checked),
            STORIES,
            "{atom}"
        );
        let items = check_json_feed(&json, &fetch(&json), &mut checked);
        assert_eq!(items.len(), STORIES, "{json}");
    }
    for source in ["Two", "One", "Atom", "Json"] {
        let path = format!("sources/{source}.xml");
        assert!(check_rss(&path, &fetch(&path), &mut checked) > 0, "{path}");
    }

    // The page: only its own stylesheet and charset/viewport metas; the stories' text shown.
    let page = String::from_utf8(fetch("")).expect("utf-8 page");
    let live = live_markup(&page, &["style", "meta", "link", "html", "body"]);
    assert!(live.is_empty(), "/: live markup {live:?}");
    let styles = tokens(&page)
        .into_iter()
        .filter(|t| matches!(t, Token::TagToken(tag) if tag.kind == TagKind::StartTag && &*tag.name == "style"))
        .count();
    assert_eq!(styles, 1, "/ has only its own stylesheet");
    assert!(text_of(&page).contains("Lava reaches the coast."), "{page}");
    assert!(!page.to_ascii_lowercase().contains("javascript:"), "{page}");

    // The OPML lists the configured sources only: none of the feeds' text reaches it.
    let opml = String::from_utf8(fetch("sources.opml")).expect("utf-8 OPML");
    assert!(!opml.contains("alert") && !opml.contains("Lava"), "{opml}");

    // The story documents, by id and by link.
    for id in &ids {
        let path = format!("stories/{id}.json");
        let story: serde_json::Value = serde_json::from_slice(&fetch(&path)).expect("JSON");
        check_story(&path, &story, &mut checked);
    }
    let by_url: serde_json::Value = serde_json::from_slice(&fetch(
        "stories.json?url=https%3A%2F%2Ftwo.example%2Fvolcano",
    ))
    .expect("JSON");
    check_story("stories.json?url=", &by_url, &mut checked);
    // Relative URLs were made absolute against the feed's address.
    let summary = by_url["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains(&format!("href=\"{}\"", s.origin().url("relative/more"))),
        "{summary}"
    );

    // The export, once the daemon has let go of the store.
    drop(daemon);
    let (code, out, err) = s.cli(&["export"]);
    assert_eq!(code, 0, "{err}");
    let mut exported = 0;
    for line in out.lines() {
        let story: serde_json::Value = serde_json::from_str(line).expect("export line");
        check_story("export", &story, &mut checked);
        exported += 1;
    }
    assert_eq!(exported, STORIES);
    // Every document above carried the stories' text: none passed for lack of it.
    assert!(
        checked >= 60,
        "{checked} fields with a story's text checked"
    );
}

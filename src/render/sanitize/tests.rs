use super::cache::{Cache, Key, Sanitized};
use super::*;
use crate::model::{Entry, Story, StoryId};

fn stored(id: u64, summary: &str, base: Option<&str>) -> Story {
    let entry = Entry {
        summary: Some(summary.into()),
        html_base: base.map(String::from),
        ..Entry::new(
            "k",
            "Wire",
            "https://wire.example/feed",
            "t",
            chrono::Utc::now(),
        )
    };
    Story::founded_by(StoryId(id), &entry, chrono::Utc::now())
}

const HOSTILE: &str = r#"<p onclick="steal()">Hi<script>alert(1)</script>
<a href="javascript:alert(2)">a</a> <a href="jav&#x09;ascript:alert(3)">b</a>
<a href=" JaVaScRiPt:alert(4)">c</a> <img src=x onerror="alert(5)"> <body onload=alert(6)>
<style>p{background:url(javascript:alert(7))}</style><p style="x:expression(alert(8))">s</p>
<svg><script>alert(9)</script></svg><math><mi xlink:href="javascript:alert(10)">m</mi></math>
<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example/">
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxMSk8L3NjcmlwdD4=">d</a>
<iframe src="https://evil.example/"></iframe><object data="x.swf"></object><embed src="x.swf">
<form action="https://evil.example/"><input name=q></form> <a href="more">more</a></p>"#;

#[test]
fn the_hostile_set_comes_out_inert_and_relative_urls_absolute() {
    let out = html(HOSTILE, Some("https://wire.example/news/"));
    for live in [
        "<script",
        "onclick",
        "onerror",
        "onload",
        "javascript",
        "<style",
        "style=",
        "<svg",
        "<math",
        "xlink",
        "<base",
        "<meta",
        "data:",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "<input",
    ] {
        assert!(!out.to_ascii_lowercase().contains(live), "{live} in {out}");
    }
    assert!(
        out.contains(r#"href="https://wire.example/news/more""#),
        "{out}"
    );
    assert!(
        out.contains(r#"rel="noopener noreferrer nofollow""#),
        "{out}"
    );
}

#[test]
fn without_a_base_relative_urls_are_dropped_and_absolute_ones_kept() {
    let out = html(
        r#"<a href="more">a</a> <a href="https://wire.example/b">b</a>"#,
        None,
    );
    assert!(!out.contains("more\""), "{out}");
    assert!(out.contains(r#"href="https://wire.example/b""#), "{out}");
}

#[test]
fn sanitizing_twice_changes_nothing() {
    // Older versions stored sanitized HTML; it is sanitized again on output.
    for input in [
        HOSTILE,
        "<p>Rates &amp; <b>bonds</b> &lt;fall&gt; \"quoted\"</p><ul><li>one<li>two</ul>",
        "<table>stray<tr><td>cell</td></tr></table> <img src=\"i.png\" alt=\"<b>\">",
        "plain text with a 5 < 6 comparison & an ampersand",
    ] {
        let once = html(input, Some("https://wire.example/news/"));
        assert_eq!(html(&once, None), once, "{input}");
        assert_eq!(html(&once, Some("https://other.example/")), once, "{input}");
    }
}

#[test]
fn a_whole_story_is_published_sanitized_without_its_base() {
    let out = story(stored(1, HOSTILE, Some("https://wire.example/news/")));
    let summary = out.summary.unwrap_or_default();
    assert!(
        !summary.contains("script") && !summary.contains("onclick"),
        "{summary}"
    );
    assert!(
        summary.contains("https://wire.example/news/more"),
        "{summary}"
    );
    assert_eq!(out.html_base, None);
}

#[test]
fn a_story_is_sanitized_once_per_change() {
    let first = stored(2, "<p>one<script>x</script></p>", None);
    let a = of(&first);
    let b = of(&first);
    assert!(Arc::ptr_eq(&a, &b), "the second render reads the cache");
    let mut edited = first.clone();
    edited.summary = Some("<p>two</p>".into());
    let c = of(&edited);
    assert_eq!(c.summary.as_deref(), Some("<p>two</p>"));
    assert!(!Arc::ptr_eq(&a, &c), "an edit is sanitized afresh");
}

#[test]
fn the_cache_stays_within_its_budget_and_keeps_what_is_shown() {
    let budget = 64 << 10;
    let mut cache = Cache::new(budget);
    let shown = stored(0, "<p>shown every time</p>", None);
    let value = |s: &Story| {
        Arc::new(Sanitized {
            summary: s.summary.clone(),
            content: None,
        })
    };
    cache.insert(Key::of(&shown), value(&shown));
    for id in 1..2_000 {
        let s = stored(id, &"word ".repeat(50), None);
        cache.insert(Key::of(&s), value(&s));
        assert!(cache.held() <= budget, "{}", cache.held());
        if id % 50 == 0 {
            assert!(cache.get(&Key::of(&shown)).is_some(), "{id}");
        }
    }
    assert!(cache
        .get(&Key::of(&stored(1, &"word ".repeat(50), None)))
        .is_none());
}

use super::*;

fn source() -> Source {
    Source {
        name: "Wire".into(),
        url: Url::parse("https://wire.example/feed.xml").unwrap(),
        interval: std::time::Duration::from_secs(900),
        tags: vec![],
        priority: 0,
        fetch: Default::default(),
    }
}

fn entries(xml: &str) -> Vec<Entry> {
    let s = source();
    let parsed = crate::parse::parse(xml.as_bytes(), None, &s.url).unwrap();
    normalize_feed(&parsed.feed, &s, &s.url, Utc::now())
}

#[test]
fn an_entry_is_cleaned_and_keeps_its_html_and_base() {
    let e = &entries(
        "<rss version=\"2.0\"><channel><title>Wire</title><item><guid>g1</guid>\
         <title>It&amp;rsquo;s \u{c}here - Wire</title><link>/news/a?utm_source=x&amp;id=3#top</link>\
         <description>&lt;p onclick=\"x()\"&gt;Hi&lt;script&gt;bad()&lt;/script&gt; &lt;a href=\"/b\"&gt;b&lt;/a&gt;&lt;/p&gt;</description>\
         <pubDate>Wed, 26 Nov 2025 08:00:00 GMT</pubDate></item></channel></rss>",
    )[0];
    assert_eq!(e.title, "It\u{2019}s here");
    assert_eq!(e.link.as_deref(), Some("https://wire.example/news/a?id=3"));
    assert_eq!(e.url_key.as_deref(), Some("wire.example/news/a?id=3"));
    // As the feed gave it: sanitized (and its `/b` made absolute against the base) on output.
    assert_eq!(
        e.summary.as_deref(),
        Some("<p onclick=\"x()\">Hi<script>bad()</script> <a href=\"/b\">b</a></p>")
    );
    assert_eq!(
        e.html_base.as_deref(),
        Some("https://wire.example/feed.xml")
    );
    assert_eq!(e.published.to_rfc3339(), "2025-11-26T08:00:00+00:00");
    assert_eq!(e.guid.as_deref(), Some("g1"));
}

#[test]
fn keys_are_stable_across_parses_even_without_guid_or_link() {
    let xml = "<rss version=\"2.0\"><channel><item><title>Only a title here</title></item>\
               <item><title>Linked</title><link>https://wire.example/x</link></item></channel></rss>";
    let a = entries(xml);
    let b = entries(xml);
    assert_eq!(a[0].key, b[0].key);
    assert_eq!(a[1].key, b[1].key);
    assert_ne!(a[0].key, a[1].key);
}

#[test]
fn a_guid_repeated_for_different_items_does_not_hide_them() {
    let xml = "<rss version=\"2.0\"><channel>\
               <item><guid>same</guid><title>One story entirely</title><link>https://wire.example/1</link></item>\
               <item><guid>same</guid><title>Another story entirely</title><link>https://wire.example/2</link></item>\
               </channel></rss>";
    let e = entries(xml);
    assert_eq!(e.len(), 2);
    assert_ne!(e[0].key, e[1].key);
}

#[test]
fn untitled_entries_take_the_start_of_their_text_and_future_dates_are_clamped() {
    let e = &entries(
        "<rss version=\"2.0\"><channel><item><description>Just a short note about the weather</description>\
         <pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item></channel></rss>",
    )[0];
    assert_eq!(e.title, "Just a short note about the weather");
    assert!(e.published <= Utc::now());
}

#[test]
fn a_base_is_kept_only_for_html_with_urls() {
    let e = entries(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Wire</title>\
         <entry><id>a</id><title>With a link</title>\
         <content type=\"html\">&lt;a href=\"story.html\"&gt;read&lt;/a&gt;</content></entry>\
         <entry><id>b</id><title>Without links</title>\
         <content type=\"html\">&lt;p&gt;Just &lt;b&gt;text&lt;/b&gt;&lt;/p&gt;</content></entry></feed>",
    );
    assert_eq!(
        e[0].html_base.as_deref(),
        Some("https://wire.example/feed.xml")
    );
    assert_eq!(e[1].html_base, None);
    assert_eq!(e[1].content.as_deref(), Some("<p>Just <b>text</b></p>"));
}

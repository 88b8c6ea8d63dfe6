use super::*;

fn base() -> Url {
    Url::parse("https://example.org/feed").unwrap()
}

#[test]
fn a_clean_feed_needs_no_recovery() {
    let p = parse(b"<rss version=\"2.0\"><channel><title>t</title><item><title>x</title></item></channel></rss>", None, &base()).unwrap();
    assert_eq!(p.feed.entries.len(), 1);
    assert!(p.recoveries.is_empty());
}

#[test]
fn rss_without_version_and_bare_ampersands_are_recovered() {
    let p = parse(b"<rss><channel><title>Tom & Jerry</title><item><title>A & B</title></item></channel></rss>", None, &base()).unwrap();
    assert_eq!(
        p.recoveries,
        vec![Recovery::RssVersion, Recovery::BareAmpersand]
    );
    assert_eq!(p.feed.entries[0].title.as_ref().unwrap().content, "A & B");
}

#[test]
fn entries_without_guid_get_an_empty_id_not_a_random_one() {
    let xml = b"<rss version=\"2.0\"><channel><item><title>x</title></item></channel></rss>";
    let a = parse(xml, None, &base()).unwrap();
    assert_eq!(a.feed.entries[0].id, "");
}

#[test]
fn html_pages_and_empty_bodies_are_named_as_such() {
    assert_eq!(
        parse(b"  \n", None, &base()).unwrap_err(),
        ParseError::Empty
    );
    assert_eq!(
        parse(
            b"<!DOCTYPE html><html><body>hi</body></html>",
            None,
            &base()
        )
        .unwrap_err(),
        ParseError::Html
    );
    assert!(matches!(
        parse(b"<rss version=\"2.0\"><channel><item>", None, &base()),
        Err(ParseError::Invalid(_))
    ));
}

#[test]
fn atom_03_is_read() {
    let xml = br#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title><entry><title type="text/html" mode="escaped">A &amp;amp; B</title><issued>2004-01-01T00:00:00Z</issued></entry></feed>"#;
    let p = parse(xml, None, &base()).unwrap();
    assert_eq!(p.feed.entries.len(), 1);
    assert!(p.feed.entries[0].published.is_some());
    assert_eq!(p.recoveries[0], Recovery::Atom03);
}

#[test]
fn json_feed_is_read() {
    let p = parse(br#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","title":"x","url":"https://e.org/1"}]}"#, None, &base()).unwrap();
    assert_eq!(p.feed.entries[0].id, "1");
}

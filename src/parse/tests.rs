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
    assert_eq!(
        p.feed.entries[0]
            .published
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2004-01-01T00:00:00+00:00")
    );
    assert_eq!(
        p.feed.entries[0].title.as_ref().unwrap().content,
        "A &amp; B"
    );
    assert_eq!(p.recoveries[0], Recovery::Atom03);
}

#[test]
fn json_feed_is_read() {
    let p = parse(br#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","title":"x","url":"https://e.org/1","date_published":"2025-11-26T08:00:00Z","authors":[{"name":"Ann"}]},{"id":"2","title":"y","url":"https://e.org/2"}]}"#, None, &base()).unwrap();
    assert_eq!(p.feed.title.as_ref().unwrap().content, "t");
    let read: Vec<_> = p
        .feed
        .entries
        .iter()
        .map(|e| {
            (
                e.id.as_str(),
                e.title.as_ref().map(|t| t.content.as_str()),
                e.links.first().map(|l| l.href.as_str()),
                e.published.map(|t| t.to_rfc3339()),
                e.authors.first().and_then(|a| a.name.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        read,
        vec![
            (
                "1",
                Some("x"),
                Some("https://e.org/1"),
                Some("2025-11-26T08:00:00+00:00".to_string()),
                Some("Ann")
            ),
            ("2", Some("y"), Some("https://e.org/2"), None, None),
        ]
    );
    assert!(p.recoveries.is_empty());
}

/// `declaration_first` (when it changes anything), then feed-rs unguarded: `Err` if it
/// panicked, else whether it parsed.
fn declaration_first_then_parse(body: &[u8]) -> std::thread::Result<bool> {
    std::panic::catch_unwind(|| {
        let fixed = recover::declaration_first(body).unwrap_or_else(|| body.to_vec());
        parse_unguarded(&fixed, &base()).is_ok()
    })
}

/// Found by the fuzz target: quick-xml panics ("set_encoding() called after prefix buffer was
/// drained") when a declaration switches the encoding after the document's first 64 bytes.
/// feed-rs's panic was caught, but the feed was lost as "the feed parser crashed"; real feeds
/// with blank lines, a comment or a long declaration in front read fine now.
#[test]
fn a_declaration_after_the_first_64_bytes_is_read_not_a_crash() {
    let tail = "<rss version=\"2.0\"><channel><title>Caf\u{e9}</title><item><title>x</title></item></channel></rss>";
    let latin1 = |s: String| -> Vec<u8> { s.chars().map(|c| c as u32 as u8).collect() };
    let decl = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>";
    for (case, doc) in [
        (
            "blank lines first",
            format!("{}{decl}{tail}", "\n".repeat(100)),
        ),
        (
            "a comment first",
            format!("<!--{}-->{decl}{tail}", "x".repeat(80)),
        ),
        (
            "a long declaration",
            format!(
                "<?xml version=\"1.0\"{}encoding=\"iso-8859-1\" standalone=\"yes\"?>{tail}",
                " ".repeat(80)
            ),
        ),
    ] {
        let body = latin1(doc);
        let unguarded = declaration_first_then_parse(&body);
        assert!(
            matches!(unguarded, Ok(true)),
            "{case}: feed-rs must not panic"
        );
        let p = parse(&body, None, &base()).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(p.feed.title.unwrap().content, "Caf\u{e9}", "{case}");
        assert_eq!(p.feed.entries.len(), 1, "{case}");
    }
    // A declaration inside the document (not well-formed) is dropped; the items stay.
    let misplaced = format!(
        "<rss version=\"2.0\"><channel><title>t</title>{}{decl}<item><title>x</title></item></channel></rss>",
        " ".repeat(80)
    );
    let p = parse(misplaced.as_bytes(), None, &base()).unwrap();
    assert_eq!(p.feed.entries.len(), 1);
}

/// Found by the fuzz target: a first declaration quick-xml cannot read
/// (`<?xml v<?xml …?>`) leaves it decoding UTF-8, so a later declaration naming the encoding
/// the first one seemed to name still switched it, too late. Such later declarations are
/// disarmed too.
#[test]
fn a_later_declaration_after_an_unreadable_first_one_is_not_a_crash() {
    let decl = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>";
    let body = format!(
        "<?xml v{decl}<rss version=\"2.0\"><channel><title>t</title>{}{decl}<item><title>x</title></item></channel></rss>",
        " ".repeat(80)
    )
    .into_bytes();
    let unguarded = declaration_first_then_parse(&body);
    assert!(unguarded.is_ok(), "feed-rs must not panic");
    assert_read(&body, "t", "x");
    // The same with a readable first declaration: the later one names its encoding, which
    // switches nothing, and is left as it is.
    let readable = format!(
        "{decl}<rss version=\"2.0\"><channel><title>t</title>{}{decl}<item><title>x</title></item></channel></rss>",
        " ".repeat(80)
    );
    assert_eq!(recover::declaration_first(readable.as_bytes()), None);
}

/// Found by the fuzz target: feed-rs 3.0 cuts one byte beside the email of an RSS contact and
/// panicked inside a multi-byte character; the feed was lost as "the feed parser crashed".
#[test]
fn an_email_beside_a_multi_byte_character_is_read_not_a_crash() {
    let xml = "<rss version=\"2.0\"><channel><title>t</title><managingEditor>dave@example.com\u{a0}(Dave Winer)</managingEditor><item><title>x</title><author>Ann\u{a0}ann@example.org</author></item></channel></rss>";
    let unguarded = std::panic::catch_unwind(|| {
        let fixed = recover::space_contact_emails(xml.as_bytes()).unwrap();
        parse_unguarded(&fixed, &base()).is_ok()
    });
    assert!(matches!(unguarded, Ok(true)), "feed-rs must not panic");
    let p = parse(xml.as_bytes(), None, &base()).unwrap();
    assert_eq!(p.feed.entries.len(), 1);
    let author = &p.feed.entries[0].authors[0];
    assert_eq!(author.name.as_deref(), Some("Ann"));
    assert_eq!(author.email.as_deref(), Some("ann@example.org"));
}

/// Found by the fuzz target: a `<?xml` inside a start tag
/// (`<channel a<?xml … encoding="utf-8" …`) is no declaration to quick-xml, but its text ran to
/// the `?>` of a later, real one naming another encoding, which was then taken for part of it
/// and left armed: quick-xml switched encodings too late and panicked. Every `<?xml` is a
/// declaration of its own now, even inside another's text.
#[test]
fn a_declaration_inside_the_text_of_another_is_disarmed_too() {
    let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel a<?xml version=\"1.0\" encoding=\"utf-8\"b=\"c\"><title>t</title><item><title>x</title><description>y<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>z</description></item></channel></rss>".to_vec();
    let unguarded = declaration_first_then_parse(&body);
    assert!(unguarded.is_ok(), "feed-rs must not panic");
    assert_read(&body, "t", "x");
}

/// Found by CI's fuzz smoke: `encoding="ISO-8859-1 "` (a space inside the quotes)
/// is Latin-1 to quick-xml (encoding_rs trims a label), but was not read as a label here, so
/// the document was taken for UTF-8 and a later `encoding="utf-8"` declaration left armed.
#[test]
fn a_label_with_spaces_in_its_quotes_is_the_encoding_it_names() {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1 \"?>\n<rss version=\"0.91\"><channel><title>t</title>{}<copyright><?xml version=\"1.0\" encoding=\"utf-8\"?></copyright><item><title>x</title></item></channel></rss>",
        " ".repeat(80)
    )
    .into_bytes();
    let unguarded = declaration_first_then_parse(&body);
    assert!(unguarded.is_ok(), "feed-rs must not panic");
    assert_read(&body, "t", "x");
}

/// `body` is read, not only survived: its feed title and its one entry's title.
#[track_caller]
fn assert_read(body: &[u8], feed_title: &str, entry_title: &str) {
    let p = parse(body, None, &base()).unwrap_or_else(|e| panic!("not read: {e}"));
    assert_eq!(p.feed.title.map(|t| t.content).as_deref(), Some(feed_title));
    let titles: Vec<_> = p
        .feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().map(|t| t.content.clone()))
        .collect();
    assert_eq!(titles, vec![Some(entry_title.to_string())]);
}

#[test]
fn json_feeds_as_published_are_repaired_and_json_that_is_no_feed_is_refused() {
    let early = br#"{"version":"http://jsonfeed.org/version/1","title":"t","items":[{"id":7,"title":"x","url":"https://e.org/1","tags":"a, b","author":"Kim"}]}"#;
    let p = parse(early, None, &base()).unwrap();
    assert_eq!(
        p.recoveries,
        vec![
            Recovery::JsonVersion,
            Recovery::JsonTags,
            Recovery::JsonTypes
        ]
    );
    assert_eq!(p.feed.entries[0].id, "7");
    assert_eq!(p.feed.entries[0].categories.len(), 2);
    let bare_amp = br#"{"version":"https://jsonfeed.org/version/1.1","title":"Tom & Jerry","items":[{"id":"1","title":"a & b"}]}"#;
    assert!(parse(bare_amp, None, &base())
        .unwrap()
        .recoveries
        .is_empty());
    let api = br#"{"status":"ok","articles":[{"title":"x"}]}"#;
    match parse(api, None, &base()) {
        Err(ParseError::Invalid(why)) => assert!(why.contains("no feed"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// Found by the fuzz target: a repair (the forgiving pass re-serializes the document) left a
/// declaration quick-xml met too late to switch encodings, and the repaired bytes were parsed
/// without the guard the fetched ones get. Every repaired body goes through it now.
#[test]
fn a_repaired_body_with_a_late_declaration_is_not_a_crash() {
    let body = include_bytes!("../../fuzz/corpus/feed_pipeline/fp_declaration_after_rebalance.xml");
    let mut repaired = body.to_vec();
    let mut tried = 0;
    for recovery in Recovery::ALL {
        if let Some(fixed) = recovery.apply(&repaired, None) {
            repaired = fixed;
            tried += 1;
            assert!(
                declaration_first_then_parse(&repaired).is_ok(),
                "after {recovery:?}: feed-rs must not panic"
            );
        }
    }
    assert!(tried >= 2, "the repairs this input needs were not tried");
    assert!(parse(body, None, &base()).is_ok());
}

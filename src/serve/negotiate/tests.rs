use axum::http::{header, HeaderValue};

use super::*;

fn codings(lines: &[&str]) -> Option<Variant> {
    let mut c = Codings::default();
    for l in lines {
        c.line(l.as_bytes());
    }
    c.choose()
}

#[test]
fn encoding_negotiation() {
    use Variant::*;
    assert_eq!(codings(&[]), Some(Identity));
    assert_eq!(codings(&[""]), Some(Identity));
    assert_eq!(codings(&["br, gzip;q=0.8"]), Some(Brotli));
    assert_eq!(codings(&["gzip;q=0, br"]), Some(Brotli));
    assert_eq!(codings(&["gzip"]), Some(Gzip));
    assert_eq!(codings(&["gzip;q=0.0"]), Some(Identity));
    assert_eq!(codings(&["gzip;Q=0.000"]), Some(Identity));
    assert_eq!(codings(&["br;q=0, *"]), Some(Gzip));
    assert_eq!(codings(&["br;q=0.0, gzip"]), Some(Gzip));
    assert_eq!(codings(&["gzip;q=0.5, identity"]), Some(Identity));
    assert_eq!(codings(&["gzip", "br"]), Some(Brotli));
    assert_eq!(codings(&["*;q=0"]), None);
    assert_eq!(codings(&["identity;q=0"]), None);
    assert_eq!(codings(&["gzip;q=2"]), Some(Identity));
    assert_eq!(codings(&["x-gzip"]), Some(Gzip));
    assert_eq!(codings(&["gzip;q=0.001"]), Some(Gzip));
    assert_eq!(codings(&["gzip;q=0.5, *;q=0.6"]), Some(Brotli));
}

#[test]
fn qvalues() {
    for (text, q) in [
        ("0", Some(0)),
        ("0.", Some(0)),
        ("0.000", Some(0)),
        ("0.5", Some(500)),
        ("0.123", Some(123)),
        ("1", Some(1000)),
        ("1.000", Some(1000)),
        ("1.001", None),
        ("0.0001", None),
        ("2", None),
        ("", None),
        ("-0", None),
        ("0.a", None),
    ] {
        assert_eq!(qvalue(text.as_bytes()), q, "{text:?}");
    }
}

#[test]
fn entity_tags() {
    let ours = b"\"abc\"";
    for (line, hit) in [
        ("\"abc\"", true),
        ("W/\"abc\"", true),
        ("\"x\", \"abc\"", true),
        ("\"x\",,  W/\"abc\" ", true),
        ("*", true),
        ("\"abc", false),
        ("abc", false),
        ("\"x\" \"abc\"", false),
        ("\"a,b\", \"abc\"", true),
        ("", false),
    ] {
        assert_eq!(none_match_hits(line.as_bytes(), ours), hit, "{line:?}");
    }
}

/// A document with this ETag, last modified at `modified` (seconds since the epoch).
fn doc(etag: &str, modified: u64) -> Rendered {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(modified);
    Rendered {
        body: Default::default(),
        gzip: Default::default(),
        brotli: Default::default(),
        etag: etag.into(),
        last_modified: httpdate::fmt_http_date(at),
        content_type: "application/rss+xml",
        cache_control: String::new(),
        link: None,
        self_url: None,
        modified: Some(at),
    }
}

fn with(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.insert(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    h
}

/// RFC 9110 §13.1: `If-None-Match` (any of a list, weak or strong, or `*`) decides when
/// present; else `If-Modified-Since` at or after the document's time.
#[test]
fn conditional_requests_get_304_exactly_when_their_validators_match() {
    let d = doc("\"abc\"", 1_700_000_000);
    let inm = header::IF_NONE_MATCH;
    let ims = header::IF_MODIFIED_SINCE;
    let at =
        |s: u64| httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
    let cases: Vec<(HeaderMap, bool)> = vec![
        (with(&[]), false),
        (with(&[(inm.clone(), "\"abc\"")]), true),
        (with(&[(inm.clone(), "W/\"abc\"")]), true),
        (with(&[(inm.clone(), "\"x\", \"abc\"")]), true),
        (with(&[(inm.clone(), "*")]), true),
        (with(&[(inm.clone(), "\"abd\"")]), false),
        (with(&[(inm.clone(), "\"x\", \"y\"")]), false),
        (with(&[(ims.clone(), &at(1_700_000_000))]), true),
        (with(&[(ims.clone(), &at(1_700_000_001))]), true),
        (with(&[(ims.clone(), &at(1_699_999_999))]), false),
        (with(&[(ims.clone(), "not a date")]), false),
        // If-None-Match decides, whatever If-Modified-Since says.
        (
            with(&[(inm.clone(), "\"x\""), (ims.clone(), &at(1_800_000_000))]),
            false,
        ),
    ];
    for (headers, expected) in cases {
        let asked = Asked::of(&d, &headers);
        assert_eq!(asked.not_modified(&d), expected, "{headers:?}");
        let variant = asked.variant(&d);
        assert_eq!(
            variant == Some(Variant::NotModified),
            expected,
            "{headers:?}"
        );
    }
    // A 304 is chosen before any encoding; otherwise brotli, gzip, identity in turn.
    let all = with(&[
        (inm.clone(), "\"abc\""),
        (header::ACCEPT_ENCODING, "br, gzip"),
    ]);
    assert_eq!(Asked::of(&d, &all).variant(&d), Some(Variant::NotModified));
    let enc = |v: &str| {
        let headers = with(&[(header::ACCEPT_ENCODING, v)]);
        Asked::of(&d, &headers).variant(&d)
    };
    assert_eq!(enc("gzip, br"), Some(Variant::Brotli));
    assert_eq!(enc("gzip"), Some(Variant::Gzip));
    assert_eq!(enc("deflate"), Some(Variant::Identity));
}

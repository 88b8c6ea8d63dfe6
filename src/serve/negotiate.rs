//! Which of a document's prebuilt responses a request gets: `304` when its validators match
//! (RFC 9110 §13.1), else the brotli, gzip or plain body as `Accept-Encoding` allows.

use axum::http::{header, HeaderMap};

use crate::render::Rendered;

/// Which of a document's prebuilt responses a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variant {
    NotModified,
    Brotli,
    Gzip,
    Identity,
}

pub(super) fn choose(doc: &Rendered, headers: &HeaderMap) -> Variant {
    if not_modified(doc, headers) {
        Variant::NotModified
    } else if accepts(headers, "br") {
        // Brotli is smaller; every client that sends `br` also takes it over gzip.
        Variant::Brotli
    } else if accepts(headers, "gzip") {
        Variant::Gzip
    } else {
        Variant::Identity
    }
}

/// RFC 9110 §13.1: `If-None-Match` decides when present; otherwise `If-Modified-Since`.
fn not_modified(doc: &Rendered, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let ours = doc.etag.trim_start_matches("W/");
        return inm
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    matches!((since, doc.modified), (Some(since), Some(modified)) if modified <= since)
}

/// Whether `Accept-Encoding` allows `coding` (by name or `*`, not refused with `q=0`).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn encoding_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts(&h, "gzip"));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts(&h, "gzip"));
        assert!(accepts(&h, "br"));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts(&h, "gzip"));
        assert!(accepts(&h, "br"));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(!accepts(&h, "br"));
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
        let at = |s: u64| {
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s))
        };
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
            assert_eq!(not_modified(&d, &headers), expected, "{headers:?}");
            let variant = choose(&d, &headers);
            assert_eq!(variant == Variant::NotModified, expected, "{headers:?}");
        }
        // A 304 is chosen before any encoding; otherwise brotli, gzip, identity in turn.
        let all = with(&[
            (inm.clone(), "\"abc\""),
            (header::ACCEPT_ENCODING, "br, gzip"),
        ]);
        assert_eq!(choose(&d, &all), Variant::NotModified);
        let enc = |v: &str| choose(&d, &with(&[(header::ACCEPT_ENCODING, v)]));
        assert_eq!(enc("gzip, br"), Variant::Brotli);
        assert_eq!(enc("gzip"), Variant::Gzip);
        assert_eq!(enc("deflate"), Variant::Identity);
    }
}

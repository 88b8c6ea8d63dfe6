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
}

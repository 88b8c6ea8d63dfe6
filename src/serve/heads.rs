//! Response heads for rendered documents. The renderer knows nothing of HTTP's types: it gives
//! each document's ETag, dates, content type, `Link` value and bodies, and here they become
//! header maps. The live and tag documents get theirs once per snapshot ([`SnapshotHeads`]), so
//! a request clones one map of shared values instead of validating and copying strings.

use axum::http::{header, HeaderMap, HeaderValue};
use std::collections::BTreeMap;

use super::negotiate::Variant;
use super::{live_doc, LIVE_PATHS};
use crate::render::{Rendered, Snapshot};

/// The headers of each response a document gets.
#[derive(Debug, Clone)]
pub(super) struct Heads {
    /// `200` with the plain body: the caching headers (ETag, Last-Modified, Cache-Control,
    /// Vary, Link), Content-Type and Content-Length.
    identity: HeaderMap,
    /// `200` with the gzip body: the same with `Content-Encoding: gzip` and its length.
    gzip: HeaderMap,
    /// `200` with the brotli body.
    brotli: HeaderMap,
    /// `304`: the caching headers only.
    not_modified: HeaderMap,
}

impl Heads {
    pub(super) fn of(doc: &Rendered) -> Heads {
        Heads {
            identity: head(doc, Variant::Identity),
            gzip: head(doc, Variant::Gzip),
            brotli: head(doc, Variant::Brotli),
            not_modified: head(doc, Variant::NotModified),
        }
    }

    /// The headers of the `variant` response.
    pub(super) fn get(&self, variant: Variant) -> &HeaderMap {
        match variant {
            Variant::NotModified => &self.not_modified,
            Variant::Brotli => &self.brotli,
            Variant::Gzip => &self.gzip,
            Variant::Identity => &self.identity,
        }
    }
}

/// The headers of `doc`'s `variant` response: the caching headers, then for a `200` the
/// content type, the encoding and the length of the body it sends.
pub(super) fn head(doc: &Rendered, variant: Variant) -> HeaderMap {
    let mut h = HeaderMap::new();
    let set = |h: &mut HeaderMap, name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(&mut h, header::ETAG, &doc.etag);
    set(&mut h, header::LAST_MODIFIED, &doc.last_modified);
    set(&mut h, header::CACHE_CONTROL, &doc.cache_control);
    set(&mut h, header::VARY, "Accept-Encoding");
    if let Some(link) = &doc.link {
        set(&mut h, header::LINK, link);
    }
    let (encoding, body) = match variant {
        Variant::NotModified => return h,
        Variant::Identity => (None, &doc.body),
        Variant::Gzip => (Some("gzip"), &doc.gzip),
        Variant::Brotli => (Some("br"), &doc.brotli),
    };
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(doc.content_type),
    );
    if let Some(encoding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    h
}

/// The heads of one snapshot's live documents (in the order of [`LIVE_PATHS`]) and of its tag
/// feeds (RSS, Atom, JSON Feed), for the requests hyper answers.
pub(super) struct SnapshotHeads {
    live: Vec<Option<Heads>>,
    pub(super) tags: BTreeMap<String, [Heads; 3]>,
}

impl SnapshotHeads {
    pub(super) fn of(snapshot: &Snapshot) -> SnapshotHeads {
        SnapshotHeads {
            live: (0..LIVE_PATHS.len())
                .map(|i| live_doc(snapshot, i).map(Heads::of))
                .collect(),
            tags: snapshot
                .tags
                .iter()
                .map(|(tag, set)| {
                    let heads = [&set.rss, &set.atom, &set.json].map(Heads::of);
                    (tag.clone(), heads)
                })
                .collect(),
        }
    }

    /// The heads of the live document at `LIVE_PATHS[i]`.
    pub(super) fn live(&self, i: usize) -> Option<&Heads> {
        self.live.get(i)?.as_ref()
    }
}

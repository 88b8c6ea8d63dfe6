//! One rendered document ([`Rendered`]): its body, the same body gzip- and brotli-compressed
//! once, its ETag and the values HTTP caching needs. The server turns these into response
//! heads; nothing here knows HTTP's types.

use std::hash::Hasher;
use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use siphasher::sip128::{Hasher128, SipHasher13};

use super::Settings;

/// One rendered document with what HTTP caching needs.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Bytes,
    /// The same body, gzip-compressed once here rather than on every request.
    pub gzip: Bytes,
    /// The same body, brotli-compressed.
    pub brotli: Bytes,
    /// Strong validator: a hash of `body`, quoted.
    pub etag: String,
    /// When the newest change in the document happened, as an HTTP date.
    pub last_modified: String,
    pub content_type: &'static str,
    /// `Cache-Control` value: public, for the settings' `max_age`.
    pub cache_control: String,
    /// `Link` header naming the WebSub hub and the feed's own URL, when a hub is configured.
    pub link: Option<String>,
    /// The feed's public URL (its WebSub topic); `None` for the HTML page and the OPML.
    pub self_url: Option<String>,
    /// `last_modified` as a time, for `If-Modified-Since`; `None` only if it cannot be parsed.
    pub modified: Option<std::time::SystemTime>,
}

impl Rendered {
    /// About how much memory the document holds: its three bodies and its strings.
    pub(super) fn memory(&self) -> usize {
        self.body.len()
            + self.gzip.len()
            + self.brotli.len()
            + self.etag.len()
            + self.last_modified.len()
            + self.cache_control.len()
            + self.link.as_ref().map_or(0, String::len)
            + self.self_url.as_ref().map_or(0, String::len)
    }
}

pub(super) const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
pub(super) const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
pub(super) const JSON_TYPE: &str = "application/feed+json; charset=utf-8";

/// A document of `body`: its ETag (a hash of the bytes), its dates, and its gzip and brotli
/// copies, compressed once here rather than on every request.
pub(super) fn finish(
    body: String,
    updated: DateTime<Utc>,
    content_type: &'static str,
    settings: &Settings,
) -> Rendered {
    let mut hasher = SipHasher13::new();
    hasher.write(body.as_bytes());
    let h = hasher.finish128();
    let mut doc = Rendered {
        etag: format!("\"{:016x}{:016x}\"", h.h1, h.h2),
        last_modified: httpdate::fmt_http_date(updated.into()),
        gzip: gzip(body.as_bytes()),
        brotli: brotli(body.as_bytes()),
        body: Bytes::from(body),
        content_type,
        cache_control: format!("public, max-age={}", settings.max_age.as_secs()),
        link: None,
        self_url: None,
        modified: None,
    };
    doc.modified = httpdate::parse_http_date(&doc.last_modified).ok();
    doc
}

/// Sets a feed's public URL and, when a hub is configured, the WebSub `Link` value naming the
/// hub and that URL.
pub(super) fn with_hub(mut doc: Rendered, settings: &Settings, self_url: &str) -> Rendered {
    doc.self_url = Some(self_url.to_string());
    if let Some(hub) = &settings.websub_hub {
        doc.link = Some(format!("<{hub}>; rel=\"hub\", <{self_url}>; rel=\"self\""));
    }
    doc
}

/// Quality 7: it runs on every change of every feed. On farm feeds (125 KB) quality 9 took
/// 17 ms a document and zeroed a 32 MB hash table each time (the largest single allocation
/// of a busy daemon); quality 7 takes 2.9 ms with an 8 MB table, for a body 0.7% larger.
const BROTLI_QUALITY: u32 = 7;

fn brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, 22);
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(body);
    }
    Bytes::from(out)
}

fn gzip(body: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

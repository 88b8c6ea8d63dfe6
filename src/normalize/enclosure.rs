//! Attached media: RSS `<enclosure>` and Media RSS content (feed-rs puts both in `media`), Atom
//! and JSON Feed `rel="enclosure"` links. Images are left out: they illustrate the text rather
//! than being what a subscriber downloads, and the sanitized HTML already carries them.

use feed_rs::model::Entry as FeedEntry;
use url::Url;

use crate::model::Enclosure;

/// The entry's enclosures, resolved against `base`, http(s) only, each URL once, in feed order.
pub fn enclosures(raw: &FeedEntry, base: &Url) -> Vec<Enclosure> {
    let links = raw
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .map(|l| (l.href.as_str(), l.media_type.clone(), l.length));
    let media = raw.media.iter().flat_map(|m| &m.content).filter_map(|c| {
        let url = c.url.as_ref()?;
        Some((
            url.as_str(),
            c.content_type.as_ref().map(|t| t.to_string()),
            c.size,
        ))
    });
    let mut out: Vec<Enclosure> = Vec::new();
    for (href, mime_type, length) in links.chain(media) {
        let Ok(url) = base.join(super::text::strip_control(href.trim()).as_str()) else {
            continue;
        };
        let image = mime_type
            .as_deref()
            .is_some_and(|t| t.starts_with("image/"));
        if image || !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        let url = url.to_string();
        if out.iter().any(|e| e.url == url) {
            continue;
        }
        out.push(Enclosure {
            url,
            mime_type: mime_type.filter(|t| !t.is_empty()),
            length: length.filter(|&n| n > 0),
        });
    }
    out
}

//! Making a story's HTML safe to publish. Stories are stored with their HTML as the feed gave it;
//! every document that shows it (the feeds of every selection and format, the HTML page, the
//! archive pages, the per-source feeds, `/stories/{id}.json` and `feedmerge export`) takes it
//! from [`of`] (or [`story`], which is [`of`] applied to a whole story), the one place it is
//! sanitized.
//!
//! Sanitizing on output rather than on ingest: an entry is normalized on every poll that
//! changes its feed, and most entries are never published (copies of a story already led by
//! another, or stored and soon pushed out of the feeds); a story is published in a dozen
//! documents per snapshot, so [`of`] keeps what it made in a [`cache`] keyed by the story and
//! a hash of its HTML, and a story is sanitized once per change, not once per render.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use ammonia::{Builder, UrlRelative};
use url::Url;

use crate::model::Story;
use crate::normalize::text::strip_control;

mod cache;

pub use cache::Sanitized;
use cache::{Cache, Key, CACHE_BYTES};

/// One cache for the process, not one per snapshot: a snapshot is rendered after every batch
/// and replaced as a whole, and the stories in it are mostly those of the last one. Bounded by
/// [`CACHE_BYTES`].
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(|| Mutex::new(Cache::new(CACHE_BYTES)));

/// The story's summary and content as they may be published: see [`html`]. Cached (see the
/// module doc); the lock is held for the lookup and the insert, not while sanitizing, so a
/// story two threads render at once may be sanitized twice, to the same result.
pub fn of(story: &Story) -> Arc<Sanitized> {
    let key = Key::of(story);
    // A panic elsewhere while the lock was held leaves a cache that is still sound.
    let cache = || CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(hit) = cache().get(&key) {
        return hit;
    }
    let base = story.html_base.as_deref();
    let sanitized = Arc::new(Sanitized {
        summary: story.summary.as_deref().map(|h| html(h, base)),
        content: story.content.as_deref().map(|h| html(h, base)),
    });
    cache().insert(key, sanitized.clone());
    sanitized
}

/// `story` as it may be published whole (the JSON documents, `export`): its HTML sanitized by
/// [`of`], and no base, since every URL in it is now absolute.
pub fn story(mut story: Story) -> Story {
    let sanitized = of(&story);
    story.summary = sanitized.summary.clone();
    story.content = sanitized.content.clone();
    story.html_base = None;
    story
}

/// Safe HTML for republishing: ammonia's default policy (no scripts, styles, event handlers,
/// forms, frames, objects, `<base>` or `<meta>`; no SVG or MathML; only URLs of harmless
/// schemes, so no `javascript:` or `data:` however written), relative URLs made absolute
/// against `base`, and links marked `noopener noreferrer nofollow`. Without a base, relative
/// URLs are dropped: none can be resolved correctly, and HTML stored by older versions holds
/// only absolute ones.
///
/// Idempotent: HTML it wrote (what older versions stored) comes out the same.
pub fn html(html: &str, base: Option<&str>) -> String {
    let html = strip_control(html);
    let base = base.and_then(|b| Url::parse(b).ok());
    // Building an ammonia policy allocates its tag and attribute tables; a feed's stories share
    // one base URL, so keep the last policy per thread.
    thread_local! {
        static POLICY: std::cell::RefCell<Option<(Option<Url>, Builder<'static>)>> =
            const { std::cell::RefCell::new(None) };
    }
    POLICY.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.as_ref().is_none_or(|(b, _)| *b != base) {
            let mut builder = Builder::default();
            builder
                .url_relative(match &base {
                    Some(base) => UrlRelative::RewriteWithBase(base.clone()),
                    None => UrlRelative::Deny,
                })
                .link_rel(Some("noopener noreferrer nofollow"));
            *cached = Some((base, builder));
        }
        match cached.as_ref() {
            Some((_, builder)) => builder.clean(&html).to_string().trim().to_string(),
            None => String::new(),
        }
    })
}

#[cfg(test)]
mod tests;

//! Stage 6: render the newest stories as RSS 2.0 (rss crate), Atom 1.0 (atom_syndication) and
//! JSON Feed 1.1 ([`json_feed`], serde).
//!
//! Pure and deterministic: the same stories give the same bytes, so the ETag (a hash of the
//! bytes) only changes when the feed does. Rendered once per change; the server only copies the
//! bytes. Each story lists every source that carried it: RSS/Atom `<source>` names the leading
//! one, and an "Also reported by" paragraph with links ends the description.
//!
//! The module's parts, each in its own file:
//! - `settings`: what the feeds say about themselves ([`Settings`]).
//! - `select`: which stories go in a document ([`Wanted`] for the store's read, then each
//!   feed's own selection).
//! - [`sanitize`]: a story's HTML made safe to publish, cached; every document takes a
//!   story's summary and content from it (through `item`), never from the story.
//! - `item`: what every format says about one story (its sanitized HTML, description, sources
//!   paragraph, tags).
//! - `meta`: what tells one feed from another (title, addresses, paging and hub links).
//! - `document`: one rendered document ([`Rendered`]): body, gzip, brotli, ETag and the values
//!   HTTP caching needs.
//! - `snapshot`: everything published at once ([`Snapshot`], made by [`render`]) and the archive
//!   pages ([`archive`]).
//! - `source_feeds`: the per-source feeds, rendered on request within a memory budget.
//! - `rss`, `atom`, [`json_feed`], `html`, `opml`: one format each.

mod atom;
mod document;
mod html;
mod item;
pub mod json_feed;
mod meta;
mod opml;
mod rss;
pub mod sanitize;
mod select;
mod settings;
mod snapshot;
mod source_feeds;

pub use document::Rendered;
pub use select::Wanted;
pub use settings::Settings;
pub use snapshot::{archive, render, FeedSet, Snapshot};
pub use source_feeds::SourceFeeds;

#[cfg(test)]
mod tests;

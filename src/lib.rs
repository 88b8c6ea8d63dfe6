//! feedmerge: polls news feeds, deduplicates their stories, and republishes one merged feed.
//!
//! Data flows one way through these stages, one module each:
//!
//! ```text
//! config ─▶ poll ─▶ fetch ─▶ parse ─▶ normalize ─▶ ══Batch══▶ ingest ─▶ filter ─▶ dedup ─▶ store
//!                                                                  └─▶ render ─▶ ══Snapshot══▶ serve
//! ```
//!
//! * [`fetch`] does conditional HTTP GETs with size and time limits.
//! * [`parse`] turns bytes into a `feed_rs` model, recovering from known real-world defects.
//! * [`normalize`] turns a parsed entry into our [`model::Entry`]: clean text, sanitized HTML,
//!   absolute and canonical URLs, a stable [`model::EntryKey`].
//! * [`filter`] applies the person's keep/drop rules.
//! * [`dedup`] decides, without I/O, whether an entry is new, already seen, or another copy of
//!   a stored [`model::Story`].
//! * [`store`] keeps stories, entries, dedup keys and poll state in sled; only [`ingest`] writes.
//! * [`render`] turns the newest stories into RSS 2.0 and Atom bytes once per change.
//! * [`serve`] answers HTTP requests from the latest rendered snapshot.
//! * [`websub`] tells a WebSub hub which feeds changed.
//!
//! [`daemon`] wires the stages together under one shutdown signal; [`cli`] is the command line.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod exit;
pub mod fetch;
pub mod filter;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod poll;
pub mod render;
pub mod schedule;
pub mod serve;
pub mod status;
pub mod store;
pub mod systemd;
pub mod websub;

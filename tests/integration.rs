//! The one integration test crate (one link step on a 2-core CI): real HTTP servers on
//! 127.0.0.1, real sled stores in temp dirs, the real binary for the CLI and the daemon.

mod support;

mod archive;
mod cli;
mod clients;
mod corpus;
mod corpus_entries;
mod daemon;
mod dedup_fixtures;
mod demo;
mod feeds;
mod hostile;
mod http;
mod layers;
mod lenient;
mod manual;
mod markup;
mod opml;
mod ops;
mod order;
mod page;
mod pipeline;
mod polite;
mod publish;
mod redirects;
mod repeats;
mod rules;
mod valid;
mod websub;

//! Parse throughput over the shared feed farm (`../shared/bench/gen_farm.py`): the same bytes,
//! in memory, through three pipelines, interleaved round by round:
//!
//! * `feed-rs`: `feed_rs::parser::parse` alone, the crate feedmerge parses with (the floor);
//! * `parse+normalize`: what a poll does between fetch and ingest (`src/poll.rs`):
//!   `feedmerge::parse::parse`, the poll hints, `normalize_feed` (clean text, HTML kept as given,
//!   canonical URLs, entry keys, signatures);
//! * `+dedup`: that plus `distrust_shared_links` and `dedup::decide` for every entry against an
//!   in-memory index (`dedup::Memory` for the exact layers, plus the store's own in-memory
//!   `dedup::Postings` for the near layer; `Memory::candidates` scans every story and is meant
//!   for tests), with new stories and joined copies written back, as ingest does. No store, no
//!   fsync: the sled writer is measured by `benches/ingest.rs` and by `feedmerge once`.
//!
//! ```sh
//! cargo bench --bench parse                    # first 500 farm feeds, 5 rounds
//! FARM_DIR=/tmp/rssbench/farm PARSE_N=1000 PARSE_ROUNDS=3 cargo bench --bench parse
//! FILE_LIST=paths.txt cargo bench --bench parse   # exactly these files (one path a line)
//! PARSE_DIGEST=1 cargo bench --bench parse     # hash of every entry and decision, nothing timed
//! ```
//!
//! Prints MB/s (10^6 bytes), items/s and the ratios to feed-rs, medians with min-max. With
//! `PARSE_JSON=1` the last line is `{"items": N, "parse_s": S, ...}` for the `+dedup` pipeline
//! (median round), the shape the shared harness's `DAEMON_PARSE_CMD` hook reads, so the bench
//! binary can run interleaved with Python feedparser in `bench_parse.py`. Without the farm it
//! prints why and exits 0.

/// The daemon's allocator (`src/main.rs`), so the bench measures what the daemon does.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::collections::HashMap;
use std::convert::Infallible;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use feedmerge::config::Source;
use feedmerge::dedup::{
    self, postings, Brief, Candidate, Decision, Index, Memory, Postings, Sketch,
};
use feedmerge::model::{Copy, Entry, EntryKey, Story, StoryId};
use feedmerge::normalize::normalize_feed;

/// `Memory` for the exact layers; the store's in-memory postings for the near layer.
#[derive(Default)]
struct BenchIndex {
    memory: Memory,
    postings: Postings,
    next_id: u64,
}

impl Index for BenchIndex {
    type Error = Infallible;

    fn story_of_entry(&self, key: &EntryKey) -> Result<Option<StoryId>, Infallible> {
        self.memory.story_of_entry(key)
    }

    fn story_of_url(&self, url_key: &str) -> Result<Option<StoryId>, Infallible> {
        self.memory.story_of_url(url_key)
    }

    fn story_of_title(
        &self,
        title_key: &str,
        days: RangeInclusive<i64>,
    ) -> Result<Option<StoryId>, Infallible> {
        self.memory.story_of_title(title_key, days)
    }

    fn sketch(&self, id: StoryId) -> Result<Option<Sketch>, Infallible> {
        self.memory.sketch(id)
    }

    fn candidates(
        &self,
        words: &[String],
        days: RangeInclusive<i64>,
    ) -> Result<Vec<Candidate>, Infallible> {
        // As the store's `Txn::candidates` does, minus its sled reads.
        let mut counts = HashMap::default();
        let uncounted = self
            .postings
            .count(&postings::hashes(words), days.clone(), &mut counts);
        Ok(postings::best(counts)
            .into_iter()
            .map(|(id, shared)| Candidate {
                id,
                shared,
                uncounted,
                brief: self.postings.brief(id, days.clone()),
            })
            .collect())
    }
}

impl BenchIndex {
    /// What ingest does with a decision, minus the store: new stories get their keys and
    /// postings, joined copies are added to their story (so the source guards see them).
    fn apply(&mut self, entry: &Entry, decision: &Decision) {
        match decision {
            Decision::Seen(_) => {}
            Decision::Join { story, layer, .. } => {
                if let Some(s) = self.memory.story_mut(*story) {
                    s.copies.push(Copy::of(entry, *layer, None, String::new()));
                }
            }
            Decision::New => {
                self.next_id += 1;
                let id = StoryId(self.next_id);
                let day = dedup::day(entry.published);
                self.postings.add(
                    id,
                    &postings::hashes(&entry.signature.words),
                    Brief::of(&entry.signature),
                    day,
                );
                let story = Story::founded_by(id, entry, entry.published);
                self.memory
                    .insert(story, entry.url_key.as_deref(), entry.title_key.as_deref());
            }
        }
    }
}

struct Feed {
    bytes: Vec<u8>,
    source: Source,
}

fn farm_files() -> Result<Vec<PathBuf>, String> {
    if let Ok(list) = std::env::var("FILE_LIST") {
        let text = std::fs::read_to_string(&list).map_err(|e| format!("FILE_LIST {list}: {e}"))?;
        return Ok(text
            .split_whitespace()
            .map(PathBuf::from)
            .collect::<Vec<_>>());
    }
    let farm = std::env::var("FARM_DIR").unwrap_or_else(|_| "/tmp/rssbench/farm".into());
    let feeds = Path::new(&farm).join("feeds");
    let rd = std::fs::read_dir(&feeds).map_err(|e| {
        format!(
            "no feed farm at {} ({e}); generate one with ../shared/bench/gen_farm.py --n 1000, \
             or set FARM_DIR",
            feeds.display()
        )
    })?;
    let mut paths: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    // The farm names feeds by index (00000.rss, 00001.atom, ...): sorted, the first N are the
    // shared harness's first N.
    paths.sort();
    let n = std::env::var("PARSE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    paths.truncate(n);
    Ok(paths)
}

fn load(paths: &[PathBuf]) -> Vec<Feed> {
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let bytes = std::fs::read(p).expect("read feed file");
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("feed");
            let url =
                url::Url::parse(&format!("http://127.0.0.1:18080/feeds/{name}")).expect("farm url");
            Feed {
                bytes,
                source: Source {
                    name: format!("farm {i:05}"),
                    url,
                    interval: std::time::Duration::from_secs(900),
                    tags: Vec::new(),
                    priority: 0,
                    fetch: Default::default(),
                },
            }
        })
        .collect()
}

/// One pass over every feed; returns (items, seconds, stories).
fn pass(kind: usize, feeds: &[Feed]) -> (usize, f64, usize) {
    let now = Utc::now();
    let settings = dedup::Settings::default();
    let mut index = BenchIndex::default();
    let mut items = 0;
    let t = Instant::now();
    for f in feeds {
        match kind {
            0 => {
                let feed = feed_rs::parser::parse(f.bytes.as_slice()).expect("feed-rs parse");
                items += feed.entries.len();
                std::hint::black_box(feed);
            }
            _ => {
                let url = &f.source.url;
                let parsed = feedmerge::parse::parse(&f.bytes, None, url).expect("parse");
                let mut entries = normalize_feed(&parsed.feed, &f.source, url, now);
                std::hint::black_box(parsed.hints(&f.bytes));
                items += entries.len();
                if kind == 2 {
                    dedup::distrust_shared_links(&mut entries);
                    for e in &entries {
                        let d = dedup::decide(e, &index, &settings).expect("infallible");
                        index.apply(e, &d);
                    }
                }
                std::hint::black_box(entries);
            }
        }
    }
    (items, t.elapsed().as_secs_f64(), index.next_id as usize)
}

/// A hash of every normalized entry (its `Debug` form: keys, text, HTML, signature)
/// and every dedup decision, so a change meant only to make the pipeline faster can be checked
/// to change nothing: `PARSE_DIGEST=1 cargo bench --bench parse` before and after.
fn digest(feeds: &[Feed]) -> u64 {
    use std::hash::Hasher;
    // A fixed clock: entries without a date are dated `now`.
    let now = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let settings = dedup::Settings::default();
    let mut index = BenchIndex::default();
    let mut hasher = siphasher::sip::SipHasher13::new();
    for f in feeds {
        let url = &f.source.url;
        let parsed = match feedmerge::parse::parse(&f.bytes, None, url) {
            Ok(parsed) => parsed,
            Err(e) => {
                hasher.write(e.to_string().as_bytes());
                continue;
            }
        };
        let mut entries = normalize_feed(&parsed.feed, &f.source, url, now);
        dedup::distrust_shared_links(&mut entries);
        for e in &entries {
            let d = dedup::decide(e, &index, &settings).expect("infallible");
            index.apply(e, &d);
            hasher.write(format!("{e:?}{d:?}").as_bytes());
        }
    }
    hasher.finish()
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (med, s[0], s[n - 1])
}

fn main() {
    let paths = match farm_files() {
        Ok(p) if !p.is_empty() => p,
        Ok(_) => {
            println!("parse bench skipped: no feed files found");
            return;
        }
        Err(why) => {
            println!("parse bench skipped: {why}");
            return;
        }
    };
    let rounds: usize = std::env::var("PARSE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let json = std::env::var("PARSE_JSON").is_ok_and(|v| v == "1");
    let only_full = std::env::var("PARSE_ONLY_DEDUP").is_ok_and(|v| v == "1");
    let feeds = load(&paths);
    if std::env::var("PARSE_DIGEST").is_ok_and(|v| v == "1") {
        println!("normalize digest {:016x}", digest(&feeds));
        return;
    }
    let bytes: usize = feeds.iter().map(|f| f.bytes.len()).sum();
    let mb = bytes as f64 / 1e6;
    let names = ["feed-rs", "parse+normalize", "+dedup"];
    let kinds: Vec<usize> = if only_full { vec![2] } else { vec![0, 1, 2] };
    let mut secs: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut items = [0usize; 3];
    let mut stories = 0;
    eprintln!(
        "{} files, {:.1} MB, {rounds} rounds, pipelines interleaved",
        feeds.len(),
        mb
    );
    for r in 0..rounds {
        // Rotate the order each round so no pipeline always runs first (cache, clock).
        for k in 0..kinds.len() {
            let kind = kinds[(k + r) % kinds.len()];
            let (n, s, st) = pass(kind, &feeds);
            items[kind] = n;
            if kind == 2 {
                stories = st;
            }
            secs[kind].push(s);
            eprintln!(
                "round {}/{rounds} {:16} {:.3} s  {:.1} MB/s",
                r + 1,
                names[kind],
                s,
                mb / s
            );
        }
    }
    println!(
        "files {}  bytes {}  ({:.1} MB)  rounds {rounds}",
        feeds.len(),
        bytes,
        mb
    );
    println!(
        "{:16} {:>22} {:>26} {:>9} {:>14}",
        "pipeline", "MB/s med (min-max)", "items/s med (min-max)", "items", "vs feed-rs"
    );
    // Throughput ratio: feed-rs time / this time (1.0 = as fast as the bare parse).
    let base = (!secs[0].is_empty()).then(|| stats(&secs[0]).0);
    for &kind in &kinds {
        let (med, lo, hi) = stats(&secs[kind]);
        let ratio = base.map_or_else(|| "-".to_string(), |b| format!("{:.2}x", b / med));
        println!(
            "{:16} {:>8.1} ({:>5.1}-{:>5.1}) {:>10.0} ({:>6.0}-{:>6.0}) {:>9} {:>14}",
            names[kind],
            mb / med,
            mb / hi,
            mb / lo,
            items[kind] as f64 / med,
            items[kind] as f64 / hi,
            items[kind] as f64 / lo,
            items[kind],
            ratio
        );
    }
    println!("stories after dedup {stories} (of {} entries)", items[2]);
    if json {
        let (med, lo, hi) = stats(&secs[2]);
        println!(
            "{{\"items\": {}, \"parse_s\": {med:.4}, \"min_s\": {lo:.4}, \"max_s\": {hi:.4}, \"stories\": {stories}, \"bytes\": {bytes}}}",
            items[2]
        );
    }
}

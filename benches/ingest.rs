//! Ingest throughput: generated feeds through parse → normalize → dedup → store, the daemon's
//! path minus HTTP, with a flush after every batch as the daemon does.
//!
//! `cargo bench --bench ingest` (or `-- 200000` for the entry count). Reports entries/s, the
//! cost per entry of the last 10% against the first 10% (flat means ~1.0: the index does a
//! fixed amount of work per entry however large the store grows), peak memory, and feed-rs's
//! bare parse of the same bytes as the reference measured in the same run.
//!
//! The machines we measure on are shared: a neighbour busy for a minute makes that tenth of
//! the run look slow, in wall time and in CPU time alike (they share caches and cores), and
//! one run's last/first ratio then says more about the neighbours than about the store. So
//! every fourth batch the bench also times a fixed reference job (feed-rs parsing the same
//! feed document, memory-bound work like ours), and reports each tenth's cost *relative to
//! the reference measured in that tenth*: a slow neighbour slows both.
//!
//! Before the measured entries the bench ingests a warm-up (`WARMUP` entries, by default the
//! five simulated days a 48 h window's lookups reach): without it the first tenth runs against
//! an empty near-duplicate index and looks cheap for a reason that has nothing to do with the
//! store's size. `WARMUP=0` measures from an empty store.

/// The daemon's allocator (`src/main.rs`), so the bench measures what the daemon does.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use feedmerge::config::Source;
use feedmerge::ingest::apply;
use feedmerge::ingest::Settings;
use feedmerge::normalize::normalize_feed;
use feedmerge::store::{PollState, Store};

const BATCH: usize = 50;
const SOURCES: usize = 200;
/// How many times the reference job parses its document (about a tenth of a batch's time).
const REFERENCE_PARSES: usize = 8;
/// The stages of a batch's time, as the bench reports them.
const STAGES: [&str; 7] = [
    "upkeep (hourly, simulated)",
    "parse + normalize",
    "dedup (index, compare)",
    "store reads",
    "store commit",
    "rest of apply",
    "flush (fsync)",
];

/// A deterministic generator (xorshift): the same run every time.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ber", "dan", "fel", "gor", "hin", "jas",
    "kel", "lum", "mor", "nix", "pra", "quo", "ras", "sul", "tor", "ven", "wil", "zan",
];

fn vocabulary(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let len = 2 + rng.below(2);
            (0..len)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect()
        })
        .collect()
}

fn rss(source: usize, items: &[(String, String, DateTime<Utc>)]) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Source {source}</title>"
    );
    for (i, (title, link, date)) in items.iter().enumerate() {
        x.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{link}#{i}</guid><title>{title}</title><link>{link}</link><pubDate>{}</pubDate><description>{title}. More on this story as it develops.</description></item>",
            date.to_rfc2822()
        ));
    }
    x.push_str("</channel></rss>");
    x
}

/// CPU time of this process so far (user + system, all threads), from `/proc/self/stat`,
/// whose times are in USER_HZ ticks: 100 a second on every Linux ABI. Zero elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces, hence the last ')'): state is
    // the first, utime the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    // Five simulated days at one entry every 13 s.
    let warmup: usize = std::env::var("WARMUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5 * 86_400 / 13);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let words = vocabulary(&mut rng, 20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    // CACHE_MB sets sled's page cache, to see how much of the cost is cache misses.
    let cache = std::env::var("CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(feedmerge::store::DEFAULT_CACHE_BYTES, |mb| mb * 1024 * 1024);
    let store = Store::open_with_cache(dir.path(), cache).expect("store");
    let settings = Settings::default();
    let sources: Vec<Source> = (0..SOURCES)
        .map(|i| Source {
            name: format!("Source {i}"),
            url: url::Url::parse(&format!("http://source{i}.example/feed.xml")).expect("url"),
            interval: Duration::from_secs(900),
            tags: Vec::new(),
            priority: 0,
            fetch: Default::default(),
        })
        .collect();
    // One entry every 13 simulated seconds (about 6,600 a day): 200,000 entries span a month.
    // The warm-up fills the near-duplicate window (the five days a 48 h window reaches,
    // ~33,000 entries), so the measured run shows the cost as the store alone grows.
    let start = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    let mut recent: Vec<String> = Vec::new();
    let mut batches = Vec::new();
    let mut made = 0;
    let generated = warmup + total;
    while made < generated {
        let source = rng.below(SOURCES);
        let first = made;
        let mut items = Vec::with_capacity(BATCH);
        // Batches never straddle the end of the warm-up.
        let end = if made < warmup { warmup } else { generated };
        for _ in 0..BATCH.min(end - made) {
            let at = start + chrono::Duration::seconds((made as i64) * 13);
            // One entry in five is another outlet's reworded copy of a recent headline.
            let title = if !recent.is_empty() && rng.below(5) == 0 {
                let original = &recent[recent.len() - 1 - rng.below(recent.len().min(500))];
                let mut w: Vec<&str> = original.split(' ').collect();
                let k = 1 + rng.below(w.len() - 1);
                w.rotate_left(k);
                w.join(" ")
            } else {
                let len = 6 + rng.below(5);
                let t: Vec<&str> = (0..len)
                    .map(|_| words[rng.below(words.len())].as_str())
                    .collect();
                let t = t.join(" ");
                recent.push(t.clone());
                t
            };
            items.push((
                title,
                format!("http://source{source}.example/story/{made}"),
                at,
            ));
            made += 1;
        }
        batches.push((source, first, rss(source, &items)));
    }
    let warm_batches = batches
        .iter()
        .take_while(|(_, first, _)| *first < warmup)
        .count();

    // Reference: feed-rs alone on the same bytes as the measured run.
    let t = Instant::now();
    for (_, _, xml) in &batches[warm_batches..] {
        let feed = feed_rs::parser::parse(xml.as_bytes()).expect("parse");
        std::hint::black_box(feed);
    }
    let parse_only = t.elapsed();

    // FLUSH=0 leaves durability to sled's background flusher, to see what the fsyncs cost.
    let flush = std::env::var("FLUSH").map_or(true, |v| v != "0");
    let mut times = Vec::with_capacity(batches.len());
    // Each measured batch's time by stage (see STAGES).
    let mut stages: Vec<[Duration; 7]> = Vec::with_capacity(batches.len());
    let mut stories = 0;
    let mut joined = 0;
    let reference_xml = &batches[warm_batches.min(batches.len() - 1)].2;
    let mut run = Instant::now();
    let mut cpu_at_start = cpu_seconds();
    for (i, (source, first, xml)) in batches.iter().enumerate() {
        if i == warm_batches {
            run = Instant::now();
            cpu_at_start = cpu_seconds();
            stories = 0;
            joined = 0;
        }
        let t = Instant::now();
        let cpu = cpu_seconds();
        // The daemon's hourly upkeep, on the simulated clock: the window's index days are
        // pruned as they fall behind (this is what keeps the in-memory index bounded).
        if i % 6 == 0 {
            let at = start + chrono::Duration::seconds(*first as i64 * 13);
            feedmerge::ingest::maintain(&store, &settings, at).expect("upkeep");
        }
        let upkept = t.elapsed();
        let src = &sources[*source];
        let parsed = feedmerge::parse::parse(xml.as_bytes(), None, &src.url).expect("parse");
        let entries = normalize_feed(&parsed.feed, src, &src.url, Utc::now());
        let normalized = t.elapsed() - upkept;
        let n = entries.len();
        let done = apply(
            &store,
            src.url.as_str(),
            entries,
            &PollState::default(),
            &settings,
            Utc::now(),
        )
        .expect("ingest");
        let flushed = Instant::now();
        if flush {
            store.flush().expect("flush");
        }
        let flushed = flushed.elapsed();
        stories += done.new_stories;
        joined += done.joined;
        if i >= warm_batches {
            let wall = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            // The reference job, outside the batch's own time.
            let reference = if i % 4 == 0 {
                let r = Instant::now();
                for _ in 0..REFERENCE_PARSES {
                    let feed = feed_rs::parser::parse(reference_xml.as_bytes()).expect("parse");
                    std::hint::black_box(feed);
                }
                r.elapsed().as_secs_f64()
            } else {
                0.0
            };
            times.push((n, wall, cpu, reference));
            let timing = done.timing;
            let other = timing
                .total
                .saturating_sub(timing.deciding + timing.reading + timing.committing);
            stages.push([
                upkept,
                normalized,
                timing.deciding,
                timing.reading,
                timing.committing,
                other,
                flushed,
            ]);
        }
    }
    let elapsed = run.elapsed();
    let cpu_total = cpu_seconds() - cpu_at_start;
    let tenth = times.len() / 10;
    // Per entry over a slice of batches: wall µs, CPU µs, and wall time relative to the
    // reference job timed in the same slice.
    let per_entry = |slice: &[(usize, f64, f64, f64)]| {
        let n = slice.iter().map(|(n, _, _, _)| n).sum::<usize>() as f64 / 1e6;
        let wall: f64 = slice.iter().map(|(_, w, _, _)| w).sum();
        let cpu: f64 = slice.iter().map(|(_, _, c, _)| c).sum();
        let reference: f64 = slice.iter().map(|(_, _, _, r)| r).sum();
        (
            wall / n,
            cpu / n,
            wall / n / reference.max(f64::MIN_POSITIVE),
        )
    };
    let first = per_entry(&times[..tenth]);
    let last = per_entry(&times[times.len() - tenth..]);
    let deciles: Vec<(f64, f64, f64)> = (0..10)
        .map(|i| per_entry(&times[i * tenth..(i + 1) * tenth]))
        .collect();
    let show = |pick: fn(&(f64, f64, f64)) -> f64| {
        deciles
            .iter()
            .map(|d| format!("{:.0}", pick(d)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("entries                     {total} (after a warm-up of {warmup})");
    println!("stories / joined            {stories} / {joined}");
    println!(
        "feedmerge entries/s         {:.0}  ({:.0} per CPU second)",
        total as f64 / elapsed.as_secs_f64(),
        total as f64 / cpu_total
    );
    println!(
        "feed-rs parse entries/s     {:.0}  (reference, same bytes)",
        total as f64 / parse_only.as_secs_f64()
    );
    println!(
        "feedmerge vs parse alone    {:.2}x the time",
        elapsed.as_secs_f64() / parse_only.as_secs_f64()
    );
    println!(
        "first 10% µs/entry          {:.1} wall, {:.1} CPU",
        first.0, first.1
    );
    println!(
        "last 10% µs/entry           {:.1} wall, {:.1} CPU",
        last.0, last.1
    );
    println!(
        "last/first cost ratio       {:.2} against the reference job, {:.2} wall, {:.2} CPU",
        last.2 / first.2,
        last.0 / first.0,
        last.1 / first.1
    );
    let base = deciles[0].2;
    let relative: Vec<String> = deciles
        .iter()
        .map(|d| format!("{:.2}", d.2 / base))
        .collect();
    println!("by decile, vs reference     {}", relative.join(" "));
    println!("µs/entry by decile, wall    {}", show(|d| d.0));
    println!("µs/entry by decile, CPU     {}", show(|d| d.1));
    // By stage: which part of an entry's cost grows with the store.
    let stage_cost = |slice: &[[Duration; 7]], entries: &[(usize, f64, f64, f64)], k: usize| {
        let n = entries.iter().map(|(n, ..)| n).sum::<usize>() as f64;
        slice.iter().map(|s| s[k].as_secs_f64()).sum::<f64>() * 1e6 / n
    };
    println!("µs/entry by stage           first 10% -> last 10% (ratio)");
    for (k, name) in STAGES.iter().enumerate() {
        let a = stage_cost(&stages[..tenth], &times[..tenth], k);
        let b = stage_cost(
            &stages[stages.len() - tenth..],
            &times[times.len() - tenth..],
            k,
        );
        println!(
            "  {name:<25} {a:>6.1} -> {b:>6.1} ({:.2})",
            b / a.max(f64::MIN_POSITIVE)
        );
    }
    println!("peak RSS                    {} MiB", peak_rss_kib() / 1024);
    let (ids, bytes) = store.near_index_size();
    println!(
        "near-duplicate index        {ids} story ids in memory, ~{} KiB",
        bytes / 1024
    );
    let (keys, bytes) = store.entry_index_size();
    println!(
        "entry index                 {keys} fingerprints in memory, ~{} KiB",
        bytes / 1024
    );
    println!(
        "store size on disk          {} MiB",
        dir_size(dir.path()) / (1024 * 1024)
    );
    let live = store.live_bytes().expect("scan");
    let total_live: u64 = live.iter().map(|(_, _, b)| b).sum();
    println!(
        "live data                   {} MiB",
        total_live / (1024 * 1024)
    );
    for (prefix, n, bytes) in live {
        println!("  {prefix}  {n:>8} records {:>8} KiB", bytes / 1024);
    }
    // The store opened again (sled's recovery, and the entry index read from its segment lists).
    let reopen = Instant::now();
    drop(store);
    if feedmerge::store::wait_until_released(dir.path(), Duration::from_secs(60)) {
        let store = Store::open_with_cache(dir.path(), cache).expect("reopen");
        println!(
            "reopen                      {:.2} s",
            reopen.elapsed().as_secs_f64()
        );
        drop(store);
    }
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        dir_size(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

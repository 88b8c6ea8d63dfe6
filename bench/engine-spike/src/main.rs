//! Storage-engine spike: sled 0.34.7 vs redb vs fjall on a simulated feed-aggregator writer.
//! Usage: engine-spike --engine sled|redb|fjall [--n 200000] [--dir /tmp/engine-spike/data]
use redb::ReadableDatabase;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

const CACHE: usize = 32 << 20;
const TXN: usize = 30;
const GROUP: usize = 64;

// ---------------------------------------------------------------- PRNG
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------- engines
trait Engine {
    fn begin(&mut self) {}
    fn get(&mut self, k: &[u8]) -> Option<Vec<u8>>;
    fn commit(&mut self, w: &mut HashMap<Vec<u8>, Vec<u8>>, durable: bool);
    fn flush(&mut self);
    /// returns (count, value bytes)
    fn scan_prefix(&mut self, p: &[u8]) -> (u64, u64);
    /// returns (count, key+value bytes) over the whole store
    fn live(&mut self) -> (u64, u64);
}

struct Sled {
    db: sled::Db,
}
impl Engine for Sled {
    fn get(&mut self, k: &[u8]) -> Option<Vec<u8>> {
        self.db.get(k).unwrap().map(|v| v.to_vec())
    }
    fn commit(&mut self, w: &mut HashMap<Vec<u8>, Vec<u8>>, durable: bool) {
        let mut b = sled::Batch::default();
        for (k, v) in w.drain() {
            b.insert(k, v);
        }
        self.db.apply_batch(b).unwrap();
        if durable {
            self.db.flush().unwrap();
        }
    }
    fn flush(&mut self) {
        self.db.flush().unwrap();
    }
    fn live(&mut self) -> (u64, u64) {
        let (mut n, mut b) = (0, 0);
        for kv in self.db.iter() {
            let (k, v) = kv.unwrap();
            n += 1;
            b += (k.len() + v.len()) as u64;
        }
        (n, b)
    }
    fn scan_prefix(&mut self, p: &[u8]) -> (u64, u64) {
        let (mut n, mut b) = (0, 0);
        for kv in self.db.scan_prefix(p) {
            let (_k, v) = kv.unwrap();
            n += 1;
            b += v.len() as u64;
        }
        (n, b)
    }
}

const T: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");
struct Redb {
    db: redb::Database,
    rt: Option<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
}
impl Engine for Redb {
    fn begin(&mut self) {
        let tx = self.db.begin_read().unwrap();
        self.rt = match tx.open_table(T) {
            Ok(t) => Some(t),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => panic!("{e}"),
        };
    }
    fn get(&mut self, k: &[u8]) -> Option<Vec<u8>> {
        let t = self.rt.as_ref()?;
        t.get(k).unwrap().map(|g| g.value().to_vec())
    }
    fn commit(&mut self, w: &mut HashMap<Vec<u8>, Vec<u8>>, durable: bool) {
        self.rt = None;
        let mut tx = self.db.begin_write().unwrap();
        tx.set_durability(if durable { redb::Durability::Immediate } else { redb::Durability::None })
            .unwrap();
        {
            let mut t = tx.open_table(T).unwrap();
            for (k, v) in w.drain() {
                t.insert(k.as_slice(), v.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn flush(&mut self) {
        // an empty durable commit makes everything before it durable
        let mut tx = self.db.begin_write().unwrap();
        tx.set_durability(redb::Durability::Immediate).unwrap();
        tx.commit().unwrap();
    }
    fn live(&mut self) -> (u64, u64) {
        let tx = self.db.begin_read().unwrap();
        let t = tx.open_table(T).unwrap();
        let (mut n, mut b) = (0, 0);
        for kv in t.range::<&[u8]>(..).unwrap() {
            let (k, v) = kv.unwrap();
            n += 1;
            b += (k.value().len() + v.value().len()) as u64;
        }
        (n, b)
    }
    fn scan_prefix(&mut self, p: &[u8]) -> (u64, u64) {
        let tx = self.db.begin_read().unwrap();
        let t = tx.open_table(T).unwrap();
        let mut end = p.to_vec();
        *end.last_mut().unwrap() += 1;
        let (mut n, mut b) = (0, 0);
        for kv in t.range(p..end.as_slice()).unwrap() {
            let (_k, v) = kv.unwrap();
            n += 1;
            b += v.value().len() as u64;
        }
        (n, b)
    }
}

struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
}
impl Engine for Fjall {
    fn get(&mut self, k: &[u8]) -> Option<Vec<u8>> {
        self.ks.get(k).unwrap().map(|v| v.to_vec())
    }
    fn commit(&mut self, w: &mut HashMap<Vec<u8>, Vec<u8>>, durable: bool) {
        let mut b = self.db.batch();
        for (k, v) in w.drain() {
            b.insert(&self.ks, k, v);
        }
        b.commit().unwrap();
        if durable {
            self.db.persist(fjall::PersistMode::SyncAll).unwrap();
        }
    }
    fn flush(&mut self) {
        self.db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    fn live(&mut self) -> (u64, u64) {
        let (mut n, mut b) = (0, 0);
        for g in self.ks.iter() {
            let (k, v) = g.into_inner().unwrap();
            n += 1;
            b += (k.len() + v.len()) as u64;
        }
        (n, b)
    }
    fn scan_prefix(&mut self, p: &[u8]) -> (u64, u64) {
        let (mut n, mut b) = (0, 0);
        for g in self.ks.prefix(p) {
            let (_k, v) = g.into_inner().unwrap();
            n += 1;
            b += v.len() as u64;
        }
        (n, b)
    }
}

// ---------------------------------------------------------------- helpers
fn status(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    for l in s.lines() {
        if let Some(rest) = l.strip_prefix(field) {
            let kb: u64 = rest.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse().unwrap();
            return kb / 1024; // MiB
        }
    }
    0
}

/// (apparent bytes, allocated bytes)
fn dir_size(p: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut a, mut b) = (0, 0);
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                let (x, y) = dir_size(&e.path());
                a += x;
                b += y;
            } else {
                a += m.len();
                b += m.blocks() * 512;
            }
        }
    }
    (a, b)
}

unsafe extern "C" {
    fn malloc_trim(pad: usize) -> i32;
}

const LOREM: &[u8] = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ";

fn text_value(id: u64, len: usize, salt: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut off = ((id.wrapping_mul(31).wrapping_add(salt)) % LOREM.len() as u64) as usize;
    let tag = format!(" [{id:016x}/{salt}] ");
    while v.len() < len {
        if v.len() % 200 == 0 {
            v.extend_from_slice(tag.as_bytes());
        }
        let take = (LOREM.len() - off).min(len - v.len()).min(37);
        v.extend_from_slice(&LOREM[off..off + take]);
        off = (off + take + 7) % LOREM.len();
    }
    v.truncate(len);
    v
}

fn wkey(day: i64, word: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.push(b'w');
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(format!("w{word}").as_bytes());
    k
}
fn idkey(p: u8, id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(p);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).map(|i| args[i + 1].clone());
    let engine = arg("--engine").expect("--engine sled|redb|fjall");
    let n: usize = arg("--n").map(|s| s.parse().unwrap()).unwrap_or(200_000);
    let base: PathBuf = arg("--dir").unwrap_or("/tmp/engine-spike/data".into()).into();
    let dir = base.join(&engine);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let t_open = Instant::now();
    let mut eng: Box<dyn Engine> = match engine.as_str() {
        "sled" => Box::new(Sled {
            db: sled::Config::new().path(dir.join("db")).cache_capacity(CACHE as u64).open().unwrap(),
        }),
        "redb" => {
            let db = redb::Builder::new().set_cache_size(CACHE).create(dir.join("db.redb")).unwrap();
            Box::new(Redb { db, rt: None })
        }
        "fjall" => {
            let db = fjall::Database::builder(dir.join("db")).cache_size(CACHE as u64).open().unwrap();
            let ks = db.keyspace("kv", fjall::KeyspaceCreateOptions::default).unwrap();
            Box::new(Fjall { db, ks })
        }
        _ => panic!("unknown engine"),
    };
    let _ = t_open;

    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut story_ids: Vec<u64> = Vec::new(); // in creation order
    let mut story_entry: Vec<usize> = Vec::new(); // entry index that created it
    let mut next_id: u64 = 1;
    let mut overlay: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut decile_ns = [0u128; 10];
    let mut hits = [0u64; 3]; // w, g, m hits
    let dec_size = n.div_ceil(10);

    let t0 = Instant::now();
    let mut txn_no = 0usize;
    let mut i = 0usize;
    while i < n {
        let tstart = Instant::now();
        let first = i;
        eng.begin();
        let end = (i + TXN).min(n);
        for e in i..end {
            let day = (e / 7000) as i64;
            let words: Vec<u32> = (0..9).map(|_| { let r = rng.f64(); (r * r * 20000.0) as u32 }).collect();
            // 45 posting-list reads
            let mut today: Vec<Option<Vec<u8>>> = vec![None; 9];
            for d in day - 2..=day + 2 {
                for (wi, &w) in words.iter().enumerate() {
                    let k = wkey(d, w);
                    let v = match overlay.get(&k) { Some(v) => Some(v.clone()), None => eng.get(&k) };
                    if v.is_some() { hits[0] += 1; }
                    if d == day { today[wi] = v; }
                }
            }
            // recent story window: entries created in last 2 days
            let lo = story_entry.partition_point(|&x| x + 14_000 < e);
            let recent = story_ids.len() - lo;
            for _ in 0..8 {
                if recent == 0 { break; }
                let id = story_ids[lo + rng.below(recent as u64) as usize];
                let k = idkey(b'g', id);
                let v = match overlay.get(&k) { Some(v) => Some(v.clone()), None => eng.get(&k) };
                if v.is_some() { hits[1] += 1; }
            }
            for _ in 0..3 {
                let k = idkey(b'm', rng.next());
                if eng.get(&k).is_some() { hits[2] += 1; }
            }
            let mut hash = [0u8; 17];
            hash[0] = b'e';
            hash[1..9].copy_from_slice(&rng.next().to_be_bytes());
            hash[9..17].copy_from_slice(&rng.next().to_be_bytes());
            let new_story = recent == 0 || rng.below(100) < 85;
            if new_story {
                let id = next_id;
                next_id += 1;
                story_ids.push(id);
                story_entry.push(e);
                overlay.insert(idkey(b's', id), text_value(id, 2500, 0));
                overlay.insert(idkey(b'g', id), text_value(id, 300, 1));
                let ts = 1_700_000_000u64 + e as u64 * 10;
                let mut ok = vec![b'o'];
                ok.extend_from_slice(&ts.to_be_bytes());
                ok.extend_from_slice(&id.to_be_bytes());
                overlay.insert(ok, Vec::new());
                overlay.insert(hash.to_vec(), text_value(id, 40, 2));
                let mut uk = format!("uhttps://ex{:06x}.com/post/{:016x}", id % 5000, rng.next()).into_bytes();
                uk.resize(41, b'/');
                overlay.insert(uk, id.to_be_bytes().to_vec());
                for (wi, &w) in words.iter().enumerate() {
                    let k = wkey(day, w);
                    let mut v = match overlay.get(&k) { Some(v) => v.clone(), None => today[wi].take().unwrap_or_default() };
                    v.extend_from_slice(&id.to_be_bytes());
                    if v.len() > 512 { v.drain(..v.len() - 512); }
                    overlay.insert(k, v);
                }
            } else {
                let id = story_ids[lo + rng.below(recent as u64) as usize];
                overlay.insert(idkey(b's', id), text_value(id, 2500, e as u64));
                overlay.insert(idkey(b'g', id), text_value(id, 300, e as u64 + 1));
                overlay.insert(hash.to_vec(), text_value(id, 40, 2));
            }
        }
        i = end;
        txn_no += 1;
        eng.commit(&mut overlay, txn_no % GROUP == 0);
        decile_ns[(first / dec_size).min(9)] += tstart.elapsed().as_nanos();
    }
    eng.flush();
    let ingest_s = t0.elapsed().as_secs_f64();
    let hwm_ingest = status("VmHWM");
    let rss_ingest = status("VmRSS");
    let (disk_app, disk_alloc) = dir_size(&dir);

    let ts = Instant::now();
    let (scan_n, scan_bytes) = eng.scan_prefix(b"s");
    let scan_s = ts.elapsed().as_secs_f64();
    let rss_scan = status("VmRSS");
    let hwm_scan = status("VmHWM");
    unsafe { malloc_trim(0) };
    let rss_scan_trim = status("VmRSS");
    // logical live data (after all memory measurements, so it does not affect them)
    let (live_n, live_b) = eng.live();
    drop(eng);
    let (disk_closed, disk_closed_alloc) = dir_size(&dir);

    let us: Vec<String> = decile_ns.iter().map(|&ns| format!("{:.1}", ns as f64 / 1000.0 / dec_size as f64)).collect();
    let r_last_first = decile_ns[9] as f64 / decile_ns[0] as f64;
    let r_last_second = decile_ns[9] as f64 / decile_ns[1] as f64;
    println!(
        "{{\"engine\":\"{engine}\",\"n\":{n},\"ingest_s\":{ingest_s:.1},\"entries_per_s\":{:.0},\"us_per_entry_deciles\":[{}],\"last_first\":{r_last_first:.2},\"last_second\":{r_last_second:.2},\"vmhwm_mib_after_ingest\":{hwm_ingest},\"vmrss_mib_after_ingest\":{rss_ingest},\"disk_mib\":{:.0},\"disk_alloc_mib\":{:.0},\"disk_closed_mib\":{:.0},\"disk_closed_alloc_mib\":{:.0},\"scan_count\":{scan_n},\"scan_value_mib\":{:.0},\"scan_s\":{scan_s:.2},\"vmrss_mib_after_scan\":{rss_scan},\"vmrss_mib_after_scan_malloc_trim\":{rss_scan_trim},\"vmhwm_mib_after_scan\":{hwm_scan},\"hits_w_g_m\":[{},{},{}],\"live_keys\":{live_n},\"live_kv_mib\":{:.0}}}",
        n as f64 / ingest_s,
        us.join(","),
        disk_app as f64 / 1048576.0,
        disk_alloc as f64 / 1048576.0,
        disk_closed as f64 / 1048576.0,
        disk_closed_alloc as f64 / 1048576.0,
        scan_bytes as f64 / 1048576.0,
        hits[0], hits[1], hits[2],
        live_b as f64 / 1048576.0
    );
}

//! Opening the store: creating its directory, taking sled's lock (and waiting for it to be
//! let go), checking the layout version, moving records of older layouts, and loading the
//! in-memory indexes (merge forwards, entry segments) that every open store keeps.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use super::entries::{self, EntryIndex};
use super::prune::PRUNE_BATCH;
use super::{keys, Store};
use crate::config::DEFAULT_CACHE_BYTES;
use crate::model::StoryId;

/// On-disk layout version, stored under the `v` key. Version 2 writes some records compact
/// (see [`keys`]); version 3 keys entry records by segment ([`entries`]). Older stores are
/// marked 3 on opening, before their entry records are moved, so that an older feedmerge,
/// which could not find them, refuses the store with a clear message instead of taking every
/// entry for new.
pub(super) const SCHEMA_VERSION: &[u8] = b"3";
/// Layouts this version opens: their records read as they are, and entry records are moved
/// to segments on opening ([`move_old_entries`]).
const READS_VERSIONS: &[&[u8]] = &[b"1", b"2"];

/// Why the store could not be opened; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the store {0} is in use by another feedmerge process; stop it first, or give this one its own [store] path")]
    Locked(String),
    #[error("cannot open the store {path}: {reason}")]
    Unusable { path: String, reason: String },
    /// The blocking task opening it did not finish (it panicked or was cancelled).
    #[error("store task failed: {0}")]
    Task(String),
}

/// Waits (at most `patience`) until nothing holds the lock of the store in directory `path`;
/// whether it is free. sled lets go of it when its I/O threads drop their last handle, a
/// moment after the process's own last [`Store`] is dropped, so a caller that opens the store
/// again at once (a second `once` in one process, a test) would find it locked. Polls: sled
/// has no way to say when it is done.
pub fn wait_until_released(path: &Path, patience: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + patience;
    loop {
        // The lock sled takes, taken the way sled takes it (fs2: an exclusive `flock` on the
        // data file; std's `File::try_lock` is newer than our MSRV).
        let Ok(file) = std::fs::File::open(path.join("db")) else {
            return true;
        };
        match fs2::FileExt::try_lock_exclusive(&file) {
            Ok(()) => return true,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(_) => return false,
        }
    }
}

/// Opens the store where `settings` say, with their cache size, on a blocking thread (opening
/// reads every segment list and may move old records).
pub async fn open_store_with(settings: &crate::config::StoreSettings) -> Result<Store, OpenError> {
    let path = settings.path.clone();
    let cache = settings.cache_bytes;
    tokio::task::spawn_blocking(move || Store::open_with_cache(&path, cache))
        .await
        .map_err(|e| OpenError::Task(e.to_string()))?
}

impl Store {
    /// Opens (creating if needed) the store in directory `path`, with the default cache.
    pub fn open(path: &Path) -> Result<Store, OpenError> {
        Store::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens the store with a page cache of `cache_bytes` (sled treats it as a target, not a
    /// hard limit).
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, OpenError> {
        let shown = path.display().to_string();
        let unusable = |reason: String| OpenError::Unusable {
            path: shown.clone(),
            reason,
        };
        std::fs::create_dir_all(path).map_err(|e| {
            unusable(format!(
                "{e}; create the directory or make it writable by this user"
            ))
        })?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| match e {
                // sled wraps the failed flock in an io::Error of kind Other, naming it in the text.
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    OpenError::Locked(shown.clone())
                }
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                    unusable(format!("{io}; make the directory writable by this user"))
                }
                sled::Error::Corruption { .. } => unusable(format!(
                    "{e}; the store is damaged: move the directory aside, start again, and restore the last backup with `feedmerge import backup.jsonl`"
                )),
                other => unusable(other.to_string()),
            })?;
        let tree = db
            .open_tree("feedmerge")
            .map_err(|e| unusable(e.to_string()))?;
        match tree
            .get(keys::VERSION)
            .map_err(|e| unusable(e.to_string()))?
        {
            None => {
                tree.insert(keys::VERSION, SCHEMA_VERSION)
                    .map_err(|e| unusable(e.to_string()))?;
            }
            Some(v) if v.as_ref() == SCHEMA_VERSION => {}
            Some(v) if READS_VERSIONS.contains(&v.as_ref()) => {
                tree.insert(keys::VERSION, SCHEMA_VERSION)
                    .map_err(|e| unusable(e.to_string()))?;
            }
            Some(v) => {
                return Err(unusable(format!(
                "it has layout version {}, this feedmerge reads version {}; use a newer feedmerge",
                String::from_utf8_lossy(&v),
                String::from_utf8_lossy(SCHEMA_VERSION)
            )))
            }
        }
        let forwards = forwards_in(&tree).map_err(|e| unusable(e.to_string()))?;
        let mut entries = entries_in(&tree).map_err(|e| unusable(e.to_string()))?;
        move_old_entries(&tree, &mut entries).map_err(|e| {
            unusable(format!(
                "{e}; moving entry records to this version's layout failed (nothing is lost: the next start goes on from where it stopped)"
            ))
        })?;
        Ok(Store {
            db,
            tree,
            near: Arc::default(),
            forwards: Arc::new(RwLock::new(forwards)),
            entries: Arc::new(RwLock::new(entries)),
        })
    }
}

/// The merge forwards written in the store.
fn forwards_in(tree: &sled::Tree) -> Result<HashMap<StoryId, StoryId>, sled::Error> {
    let mut forwards = HashMap::new();
    for item in tree.scan_prefix(keys::MERGED_PREFIX) {
        let (key, value) = item?;
        // A damaged value forwards nowhere, as a lookup of it always did.
        if let (Some(from), Some(to)) = (
            keys::story_in_merged_key(&key),
            keys::story_id_from_value(&value),
        ) {
            forwards.insert(from, to);
        }
    }
    Ok(forwards)
}

/// The entry index of the records in the store, from the segments' key-hash lists. New
/// records go to a segment after the last one found.
fn entries_in(tree: &sled::Tree) -> Result<EntryIndex, sled::Error> {
    let mut index = EntryIndex::default();
    let mut last = None;
    for item in tree.scan_prefix(keys::SEGMENT_PREFIX) {
        let (key, list) = item?;
        if let Some(segment) = keys::segment_in_key(&key) {
            for hash in entries::key_hashes(&list) {
                index.add(hash, segment);
            }
            last = last.max(Some(segment));
        }
    }
    if let Some(last) = last {
        index.start_after(last);
    }
    Ok(index)
}

/// Moves entry records stored by versions before 3 (`e` + entry key) to segments, a batch
/// at a time: each batch moves its records atomically, so a crash or a full disk midway
/// loses none, and the next open goes on with the rest. A batch fills one segment: old
/// records are not the ones new entries' writes touch, so a large one costs nothing.
pub(super) fn move_old_entries(
    tree: &sled::Tree,
    index: &mut EntryIndex,
) -> Result<usize, sled::Error> {
    let mut moved = 0;
    loop {
        let mut batch = sled::Batch::default();
        let mut added = Vec::new();
        for item in tree.scan_prefix(keys::OLD_ENTRY_PREFIX).take(PRUNE_BATCH) {
            let (key, value) = item?;
            let entry_key = &key[keys::OLD_ENTRY_PREFIX.len()..];
            let hash = entries::key_hash(entry_key);
            let segment = index.segment_for_new(hash);
            batch.insert(keys::entry_of_bytes(segment, entry_key), value);
            batch.remove(key);
            added.push((hash, segment));
        }
        if added.is_empty() {
            return Ok(moved);
        }
        // The batch's records all went to one segment (a key hash already in another
        // joins that one's list).
        for (key, list) in entries::lists_with(&added, |key| tree.get(key))? {
            batch.insert(key, list);
        }
        tree.apply_batch(batch)?;
        moved += added.len();
        for (hash, segment) in &added {
            index.add(*hash, *segment);
        }
        index.filled(added.len());
    }
}

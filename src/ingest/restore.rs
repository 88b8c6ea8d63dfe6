//! Writing exported stories back into a store (`feedmerge import`). It lives with ingest so
//! that ingest stays the only code that writes stories and keys: a restored copy claims its
//! link and headline by the same rule ([`super::apply::claim`]) as a polled one, so a later
//! poll of the same feed finds the restored stories.

use crate::dedup::Signature;
use crate::model::Story;
use crate::normalize::{title, url_key};
use crate::store::{Store, StoreError, Txn};

use super::apply::{record, Keys};

/// How many restored stories one batch writes.
const BATCH: usize = 500;

/// The content hash a restored entry is recorded with. An export keeps each copy's title and
/// link but not its summary or text, so the hash the entry was stored with cannot be computed
/// again. No entry's real hash is 0 but by a 1-in-2^64 chance, so the first time the entry is
/// polled again it is compared with its story (an edit since the export is carried over) and
/// its real hash is recorded.
const UNKNOWN_CONTENT: u64 = 0;

/// Stories being restored into one store, committed every `BATCH` stories.
pub struct Restore<'a> {
    store: &'a Store,
    txn: Txn<'a>,
    /// Stories written.
    pub added: usize,
    /// Stories skipped because the store already had them.
    pub present: usize,
}

impl<'a> Restore<'a> {
    pub fn new(store: &'a Store) -> Restore<'a> {
        Restore {
            store,
            txn: store.begin(),
            added: 0,
            present: 0,
        }
    }

    /// Writes `story` unless the store (or this restore) already has a story with its id.
    pub fn add(&mut self, mut story: Story) -> Result<(), StoreError> {
        if self.txn.story(story.id)?.is_some() {
            self.present += 1;
            return Ok(());
        }
        restore(&mut self.txn, &mut story)?;
        self.added += 1;
        if self.added % BATCH == 0 {
            let full = std::mem::replace(&mut self.txn, self.store.begin());
            full.commit()?;
        }
        Ok(())
    }

    /// Writes what is pending and makes everything durable.
    pub fn finish(self) -> Result<(), StoreError> {
        self.txn.commit()?;
        self.store.flush()
    }
}

/// Writes an exported story back with every key that finds it. The signature is not exported;
/// the leading copy's text gives it back.
fn restore(txn: &mut Txn<'_>, story: &mut Story) -> Result<(), StoreError> {
    story.signature = Signature::of(&story.title, story.summary.as_deref());
    // The sketch written with the story is what the near-duplicate index is built from.
    txn.insert_story(story)?;
    for copy in &story.copies {
        let url_key = copy
            .link
            .as_deref()
            .and_then(|l| url::Url::parse(l).ok())
            .and_then(|u| url_key(&u));
        let title_key = title::title_key(&copy.title, &[copy.source.as_str()]);
        let keys = Keys {
            entry: &copy.entry,
            url_key: url_key.as_deref(),
            title_key: title_key.as_deref(),
            published: copy.published,
        };
        record(txn, &keys, story.id, story.updated, UNKNOWN_CONTENT)?;
    }
    Ok(())
}

//! A value made from the newest snapshot and shared by every connection ([`PerSnapshot`]): the
//! live path's memfd copies and the heads hyper's responses clone. It is made by the first
//! request that needs it after a change and replaced by the next, so only the newest
//! snapshot's is kept however many connections wait.

use std::sync::{Arc, RwLock};

use crate::render::Snapshot;

/// The value made for the newest snapshot a request asked about.
pub(super) struct PerSnapshot<T> {
    latest: RwLock<Option<(Arc<Snapshot>, Arc<T>)>>,
}

impl<T> Default for PerSnapshot<T> {
    fn default() -> Self {
        PerSnapshot {
            latest: RwLock::new(None),
        }
    }
}

impl<T> PerSnapshot<T> {
    /// The value for `snapshot`, made with `make` unless it was already.
    pub(super) fn of(
        &self,
        snapshot: &Arc<Snapshot>,
        make: impl FnOnce(&Arc<Snapshot>) -> T,
    ) -> Arc<T> {
        let current = |latest: &Option<(Arc<Snapshot>, Arc<T>)>| {
            latest
                .as_ref()
                .filter(|(made_for, _)| Arc::ptr_eq(made_for, snapshot))
                .map(|(_, value)| value.clone())
        };
        // A panic while making leaves nothing half-written behind the lock: take it anyway.
        if let Some(value) = current(&self.latest.read().unwrap_or_else(|e| e.into_inner())) {
            return value;
        }
        let mut latest = self.latest.write().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = current(&latest) {
            return value;
        }
        let value = Arc::new(make(snapshot));
        *latest = Some((snapshot.clone(), value.clone()));
        value
    }
}

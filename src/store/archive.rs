//! Reads for the paged archives (RFC 5005): the stories first reported on one UTC day, and the
//! nearest days before and after it that have any. Uses only the publication-order index, so
//! finding a neighbouring day reads one key, not the stories.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{keys, Store, StoreError};
use crate::model::{Story, StoryId};

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The publication time an order key holds (see [`keys::order`]).
fn day_of_order_key(key: &[u8]) -> Option<NaiveDate> {
    let bytes: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    let t = (u64::from_be_bytes(bytes) as i128 + i64::MIN as i128) as i64;
    DateTime::from_timestamp(t, 0).map(|t| t.date_naive())
}

impl Store {
    /// Stories first reported on `day` (UTC) with at least `min_sources` sources, newest first,
    /// at most `limit`.
    pub fn stories_on(
        &self,
        day: NaiveDate,
        min_sources: usize,
        limit: usize,
    ) -> Result<Vec<Story>, StoreError> {
        let Some(next) = day.checked_add_days(Days::new(1)) else {
            return Ok(Vec::new());
        };
        let from = keys::order(start_of(day), StoryId(0));
        let to = keys::order(start_of(next), StoryId(0));
        self.stories_in_order(self.tree.range(from..to).rev(), limit, min_sources)
    }

    /// The latest day before `day` with a story, if any.
    pub fn day_before(&self, day: NaiveDate) -> Result<Option<NaiveDate>, StoreError> {
        let from = keys::ORDER_PREFIX.to_vec();
        let to = keys::order(start_of(day), StoryId(0));
        match self.tree.range(from..to).next_back() {
            Some(item) => Ok(day_of_order_key(&item?.0)),
            None => Ok(None),
        }
    }

    /// The earliest day after `day` with a story, if any.
    pub fn day_after(&self, day: NaiveDate) -> Result<Option<NaiveDate>, StoreError> {
        let Some(next) = day.checked_add_days(Days::new(1)) else {
            return Ok(None);
        };
        let from = keys::order(start_of(next), StoryId(0));
        let mut to = keys::ORDER_PREFIX.to_vec();
        to.push(0xff);
        match self.tree.range(from..to).next() {
            Some(item) => Ok(day_of_order_key(&item?.0)),
            None => Ok(None),
        }
    }
}

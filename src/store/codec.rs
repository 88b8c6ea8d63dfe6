//! How records are encoded as sled values: JSON, or a tag byte and postcard for the records
//! the ingest writer reads for every entry. [`decode`] reads both, so a store written with
//! either keeps working.

use serde::{Deserialize, Serialize};

use super::StoreError;

/// First byte of a value in the compact encoding: postcard, version 1 of each record's field
/// list. JSON values (objects) start with `{`, so the two never mix up. postcard does not
/// describe its fields: a record that gains a field takes a new tag, and [`decode`] keeps
/// reading the old ones.
pub(super) const COMPACT_V1: u8 = 0x01;

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    key: &[u8],
    value: &[u8],
) -> Result<T, StoreError> {
    let decoded = match value.split_first() {
        Some((&COMPACT_V1, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        _ => serde_json::from_slice(value).map_err(|e| e.to_string()),
    };
    decoded.map_err(|reason| StoreError::Decode {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    })
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Our records are plain structs of strings, numbers and dates: serializing cannot fail.
    serde_json::to_vec(value).expect("records serialize to JSON")
}

/// The compact encoding, for records read on every entry and written with every field (no
/// `skip_serializing_if`: postcard reads fields by position). Falls back to JSON, which
/// [`decode`] reads as well, should postcard ever refuse a value.
pub(super) fn encode_compact<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_extend(value, vec![COMPACT_V1]).unwrap_or_else(|_| encode(value))
}

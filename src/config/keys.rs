//! The keys the loader accepts, table by table, read from the serde derives of [`super::raw`]
//! themselves: the man page's drift test and the "did you mean" hint compare against what the
//! loader really takes, not against a second list that could fall behind it.

use serde::de::{self, Deserialize, Visitor};

use super::raw::{
    RawConfig, RawDedup, RawFeed, RawFilter, RawPoll, RawPublish, RawServer, RawSource, RawStore,
};

/// Every table of the config file (`filter` and `source` are arrays of tables) with the keys it
/// accepts, in the order the raw types declare them. The first entry, named `""`, is the top
/// level.
pub fn known_keys() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("", fields_of::<RawConfig>()),
        ("server", fields_of::<RawServer>()),
        ("feed", fields_of::<RawFeed>()),
        ("store", fields_of::<RawStore>()),
        ("poll", fields_of::<RawPoll>()),
        ("dedup", fields_of::<RawDedup>()),
        ("publish", fields_of::<RawPublish>()),
        ("filter", fields_of::<RawFilter>()),
        ("source", fields_of::<RawSource>()),
    ]
}

/// The field names a derived `Deserialize` struct passes to `deserialize_struct` (renames
/// applied), caught by a deserializer that records them and gives up. serde has no reflection
/// API; this is the technique of `serde_aux::serde_introspection`, written out here (30 lines)
/// rather than adding a crate of unrelated deserialization helpers for it.
fn fields_of<T: Deserialize<'static>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The recorder always fails after recording: there is no value to build.
    let _ = T::deserialize(FieldRecorder(&mut fields));
    fields
}

struct FieldRecorder<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for FieldRecorder<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom(
            "only a struct's field names are recorded",
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The known key nearest to `unknown` among `candidates`, if one is close enough to be a
/// likely misspelling (at most a third of its letters differ).
pub fn nearest<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = unknown.chars().count().max(3) / 3;
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(unknown, c), c))
        .filter(|(distance, _)| *distance <= limit.max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_types_field_names_are_read_with_renames() {
        let keys = known_keys();
        let top = keys.iter().find(|(t, _)| t.is_empty()).map(|(_, k)| *k);
        assert_eq!(
            top,
            Some(&["server", "feed", "store", "poll", "dedup", "publish", "filter", "source"][..])
        );
        let feed = keys.iter().find(|(t, _)| *t == "feed").map(|(_, k)| *k);
        assert_eq!(
            feed,
            Some(
                &[
                    "title",
                    "description",
                    "max_items",
                    "author",
                    "author_email"
                ][..]
            )
        );
    }

    #[test]
    fn a_misspelling_finds_its_key_and_a_stranger_finds_none() {
        let feed = ["title", "description", "max_items"];
        assert_eq!(nearest("max_item", feed), Some("max_items"));
        assert_eq!(nearest("maxitems", feed), Some("max_items"));
        assert_eq!(nearest("titel", feed), Some("title"));
        assert_eq!(nearest("colour", feed), None);
    }
}

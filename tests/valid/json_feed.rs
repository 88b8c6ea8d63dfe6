//! The rules JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>) states, as checks: required keys,
//! the type of every key the spec defines, unique item ids, RFC 3339 dates, and no key outside
//! the spec except extensions (an `_` followed by a letter).

use std::collections::HashSet;

use serde_json::{Map, Value};

/// What the spec allows a key to hold.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    /// A string holding an absolute URL.
    Url,
    /// A string holding an RFC 3339 date.
    Date,
    Bool,
    Number,
    Authors,
    Strings,
    Hubs,
    Attachments,
    Items,
}

const FEED: &[(&str, Kind, bool)] = &[
    ("version", Kind::Str, true),
    ("title", Kind::Str, true),
    ("home_page_url", Kind::Url, false),
    ("feed_url", Kind::Url, false),
    ("description", Kind::Str, false),
    ("user_comment", Kind::Str, false),
    ("next_url", Kind::Url, false),
    ("icon", Kind::Url, false),
    ("favicon", Kind::Url, false),
    ("authors", Kind::Authors, false),
    ("language", Kind::Str, false),
    ("expired", Kind::Bool, false),
    ("hubs", Kind::Hubs, false),
    ("items", Kind::Items, true),
];

const ITEM: &[(&str, Kind, bool)] = &[
    ("id", Kind::Str, true),
    ("url", Kind::Url, false),
    ("external_url", Kind::Url, false),
    ("title", Kind::Str, false),
    ("content_html", Kind::Str, false),
    ("content_text", Kind::Str, false),
    ("summary", Kind::Str, false),
    ("image", Kind::Url, false),
    ("banner_image", Kind::Url, false),
    ("date_published", Kind::Date, false),
    ("date_modified", Kind::Date, false),
    ("authors", Kind::Authors, false),
    ("tags", Kind::Strings, false),
    ("language", Kind::Str, false),
    ("attachments", Kind::Attachments, false),
];

const AUTHOR: &[(&str, Kind, bool)] = &[
    ("name", Kind::Str, false),
    ("url", Kind::Url, false),
    ("avatar", Kind::Url, false),
];

const HUB: &[(&str, Kind, bool)] = &[("type", Kind::Str, true), ("url", Kind::Url, true)];

const ATTACHMENT: &[(&str, Kind, bool)] = &[
    ("url", Kind::Url, true),
    ("mime_type", Kind::Str, true),
    ("title", Kind::Str, false),
    ("size_in_bytes", Kind::Number, false),
    ("duration_in_seconds", Kind::Number, false),
];

/// Every way the JSON Feed `body`, fetched at `url`, breaks the spec's rules (empty: none).
pub fn problems(body: &[u8], url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let feed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let Some(top) = feed.as_object() else {
        return vec!["the feed is not an object".into()];
    };
    object(top, FEED, "feed", &mut out);
    if top.get("version").and_then(Value::as_str) != Some("https://jsonfeed.org/version/1.1") {
        out.push(format!("version is {}", top["version"]));
    }
    if let Some(own) = top.get("feed_url").and_then(Value::as_str) {
        if own != url {
            out.push(format!("feed_url {own} is not the feed's address {url}"));
        }
    }
    if top.get("next_url") == top.get("feed_url") && top.contains_key("next_url") {
        out.push("next_url is the feed itself".into());
    }
    let mut ids = HashSet::new();
    for (i, item) in top
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("items[{i}]");
        let Some(item) = item.as_object() else {
            out.push(format!("{at} is not an object"));
            continue;
        };
        object(item, ITEM, &at, &mut out);
        if !item.contains_key("content_html") && !item.contains_key("content_text") {
            out.push(format!("{at} has neither content_html nor content_text"));
        }
        if let Some(id) = item.get("id").and_then(Value::as_str) {
            if id.is_empty() || !ids.insert(id.to_string()) {
                out.push(format!("{at}: id {id:?} is empty or not unique"));
            }
        }
    }
    out
}

/// Checks `map` against `spec`: required keys present, every key of the spec of its kind, any
/// other key an extension.
fn object(map: &Map<String, Value>, spec: &[(&str, Kind, bool)], at: &str, out: &mut Vec<String>) {
    for (key, _, required) in spec {
        if *required && !map.contains_key(*key) {
            out.push(format!("{at}: required key {key} is missing"));
        }
    }
    for (key, value) in map {
        match spec.iter().find(|(k, ..)| k == key) {
            Some((_, kind, _)) => check(value, *kind, &format!("{at}.{key}"), out),
            None if extension(key) => {}
            None => out.push(format!(
                "{at}: {key} is not in the spec and not an extension"
            )),
        }
    }
}

/// An extension's name: `_` followed by a letter.
fn extension(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next() == Some('_') && chars.next().is_some_and(|c| c.is_alphabetic())
}

fn check(value: &Value, kind: Kind, at: &str, out: &mut Vec<String>) {
    let fine = match kind {
        Kind::Str => value.is_string(),
        Kind::Url => value
            .as_str()
            .and_then(|s| url::Url::parse(s).ok())
            .is_some_and(|u| matches!(u.scheme(), "http" | "https")),
        Kind::Date => value
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        Kind::Bool => value.is_boolean(),
        Kind::Number => value.is_number(),
        Kind::Strings => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        Kind::Authors | Kind::Hubs | Kind::Attachments | Kind::Items => {
            let Some(list) = value.as_array() else {
                out.push(format!("{at} is not an array"));
                return;
            };
            for (i, one) in list.iter().enumerate() {
                let here = format!("{at}[{i}]");
                let spec = match kind {
                    Kind::Authors => AUTHOR,
                    Kind::Hubs => HUB,
                    Kind::Attachments => ATTACHMENT,
                    // Items are checked by the caller.
                    _ => continue,
                };
                match one.as_object() {
                    Some(map) if matches!(kind, Kind::Authors) && map.is_empty() => {
                        out.push(format!("{here}: an author needs at least one key"))
                    }
                    Some(map) => object(map, spec, &here, out),
                    None => out.push(format!("{here} is not an object")),
                }
            }
            true
        }
    };
    if !fine {
        out.push(format!("{at} is not a valid {}: {value}", name(kind)));
    }
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "string",
        Kind::Url => "absolute http(s) URL",
        Kind::Date => "RFC 3339 date",
        Kind::Bool => "boolean",
        Kind::Number => "number",
        Kind::Strings => "array of strings",
        _ => "array of objects",
    }
}

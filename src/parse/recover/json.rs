//! JSON feeds as they are published, rewritten into the JSON Feed 1.1 that feed-rs reads:
//! the `http://` version URL of early feeds, `tags` as one comma-separated string, values of
//! other types than the spec's (numeric ids, an author given as a name), and Dave Winer's
//! RSS-in-JSON (`{"rss": {"channel": {…, "item": […]}}}`, as scripting.com publishes it).
//!
//! Each works on the parsed `serde_json::Value` and returns `None` when its defect is absent,
//! or when the document is no JSON object at all.

use serde_json::{Map, Value};

/// Whether `body` is JSON (its first non-space byte opens an object), not XML.
pub fn is_json(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn object(body: &[u8]) -> Option<Map<String, Value>> {
    if !is_json(body) {
        return None;
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match serde_json::from_slice(body).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn bytes(map: Map<String, Value>) -> Option<Vec<u8>> {
    serde_json::to_vec(&Value::Object(map)).ok()
}

/// Whether the object is a JSON Feed by shape (it has `items`), whatever its version says.
fn has_items(map: &Map<String, Value>) -> bool {
    map.get("items").is_some_and(Value::is_array)
}

const VERSION: &str = "https://jsonfeed.org/version/1.1";

/// A JSON Feed whose `version` feed-rs refuses (`http://jsonfeed.org/version/1`, none, or
/// another string) given 1.1's.
pub fn fix_version(body: &[u8]) -> Option<Vec<u8>> {
    let mut map = object(body)?;
    if !has_items(&map) {
        return None;
    }
    let known = map
        .get("version")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("https://jsonfeed.org/version/1"));
    if known {
        return None;
    }
    map.insert("version".into(), VERSION.into());
    bytes(map)
}

/// `"tags": "workflow,omnifocus"` split on commas into an array.
pub fn fix_tags(body: &[u8]) -> Option<Vec<u8>> {
    let mut map = object(body)?;
    let mut changed = false;
    for item in items_mut(&mut map) {
        if let Some(Value::String(tags)) = item.get("tags") {
            let split: Vec<Value> = tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(Value::from)
                .collect();
            item.insert("tags".into(), Value::Array(split));
            changed = true;
        }
    }
    changed.then(|| bytes(map)).flatten()
}

fn items_mut(map: &mut Map<String, Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    map.get_mut("items")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Values of another type than the spec's, which fail the whole feed in feed-rs: a numeric
/// `id`, an `author` given as a string, a missing or non-string `title`, a null where a string
/// belongs, an attachment without `mime_type`, a non-string tag.
pub fn fix_types(body: &[u8]) -> Option<Vec<u8>> {
    let mut map = object(body)?;
    if !has_items(&map) {
        return None;
    }
    let mut changed = false;
    if !map.get("title").is_some_and(Value::is_string) {
        let title = map.get("title").map(to_text).unwrap_or_default();
        map.insert("title".into(), title.into());
        changed = true;
    }
    changed |= fix_author(&mut map);
    for item in items_mut(&mut map) {
        changed |= fix_author(item);
        for key in [
            "id",
            "url",
            "external_url",
            "title",
            "content_html",
            "content_text",
            "summary",
            "date_published",
            "date_modified",
        ] {
            match item.get(key) {
                None | Some(Value::String(_)) => {}
                Some(Value::Null) => {
                    item.remove(key);
                    changed = true;
                }
                Some(other) => {
                    let text = to_text(other);
                    item.insert(key.into(), text.into());
                    changed = true;
                }
            }
        }
        if let Some(Value::Array(tags)) = item.get_mut("tags") {
            for tag in tags.iter_mut().filter(|t| !t.is_string()) {
                *tag = to_text(tag).into();
                changed = true;
            }
        }
        if let Some(Value::Array(attachments)) = item.get_mut("attachments") {
            let before = attachments.len();
            attachments.retain(|a| a.get("url").is_some_and(Value::is_string));
            changed |= attachments.len() != before;
            for a in attachments.iter_mut().filter_map(Value::as_object_mut) {
                if !a.get("mime_type").is_some_and(Value::is_string) {
                    a.insert("mime_type".into(), "application/octet-stream".into());
                    changed = true;
                }
            }
        }
    }
    changed.then(|| bytes(map)).flatten()
}

/// `author` or `authors` given as a name, or a list of names, made the spec's objects.
fn fix_author(map: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    if let Some(Value::String(name)) = map.get("author") {
        let author = serde_json::json!({ "name": name });
        map.insert("author".into(), author);
        changed = true;
    }
    match map.get_mut("authors") {
        Some(Value::Array(authors)) => {
            for a in authors.iter_mut().filter(|a| a.is_string()) {
                *a = serde_json::json!({ "name": to_text(a) });
                changed = true;
            }
        }
        Some(Value::String(name)) => {
            let authors = serde_json::json!([{ "name": name }]);
            map.insert("authors".into(), authors);
            changed = true;
        }
        _ => {}
    }
    changed
}

fn to_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// RSS-in-JSON (`{"rss": {"version": "2.0", "channel": {…, "item": […]}}}`) as a JSON Feed:
/// the channel's `title`, `link` and `description`, and each item's `title`, `link`,
/// `description` (HTML), `pubDate`, `guid` (a string or `{"value": …}`), `category` and
/// `enclosure`.
pub fn fix_rss_in_json(body: &[u8]) -> Option<Vec<u8>> {
    let map = object(body)?;
    let channel = map.get("rss")?.get("channel")?.as_object()?;
    let text = |v: Option<&Value>| v.map(to_text).filter(|t| !t.is_empty());
    let items: Vec<Value> = one_or_many(channel.get("item"))
        .iter()
        .filter_map(Value::as_object)
        .map(|item| {
            let mut out = Map::new();
            let guid = match item.get("guid") {
                Some(Value::Object(g)) => text(g.get("value")),
                other => text(other),
            };
            let fields = [
                ("id", guid),
                ("url", text(item.get("link"))),
                ("title", text(item.get("title"))),
                ("content_html", text(item.get("description"))),
                ("date_published", text(item.get("pubDate"))),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    out.insert(key.into(), value.into());
                }
            }
            let tags: Vec<Value> = one_or_many(item.get("category"))
                .iter()
                .filter_map(|c| match c {
                    Value::Object(c) => text(c.get("value").or(c.get("#value"))),
                    other => text(Some(other)),
                })
                .map(Value::from)
                .collect();
            if !tags.is_empty() {
                out.insert("tags".into(), Value::Array(tags));
            }
            let attachments: Vec<Value> = one_or_many(item.get("enclosure"))
                .iter()
                .filter_map(|e| {
                    let url = text(e.get("url"))?;
                    let mime =
                        text(e.get("type")).unwrap_or_else(|| "application/octet-stream".into());
                    let size = e.get("length").and_then(|l| match l {
                        Value::Number(n) => n.as_u64(),
                        Value::String(s) => s.trim().parse().ok(),
                        _ => None,
                    });
                    let mut a = serde_json::json!({ "url": url, "mime_type": mime });
                    if let (Some(size), Some(a)) = (size, a.as_object_mut()) {
                        a.insert("size_in_bytes".into(), size.into());
                    }
                    Some(a)
                })
                .collect();
            if !attachments.is_empty() {
                out.insert("attachments".into(), Value::Array(attachments));
            }
            Value::Object(out)
        })
        .collect();
    let mut feed = Map::new();
    feed.insert("version".into(), VERSION.into());
    feed.insert(
        "title".into(),
        text(channel.get("title")).unwrap_or_default().into(),
    );
    if let Some(link) = text(channel.get("link")) {
        feed.insert("home_page_url".into(), link.into());
    }
    if let Some(description) = text(channel.get("description")) {
        feed.insert("description".into(), description.into());
    }
    feed.insert("items".into(), Value::Array(items));
    bytes(feed)
}

/// A value that RSS-in-JSON writes as one object when there is one and an array otherwise.
fn one_or_many(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(all)) => all.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one.clone()],
    }
}

/// Why JSON that no repair makes a feed is refused, when it is not a feed at all (an API
/// response, say): `None` for a JSON Feed or RSS-in-JSON that failed for another reason.
pub fn not_a_feed(body: &[u8]) -> Option<String> {
    let map = object(body)?;
    if has_items(&map) || map.get("rss").is_some() {
        return None;
    }
    let keys: Vec<&str> = map.keys().map(String::as_str).take(5).collect();
    Some(format!(
        "JSON, but no feed: neither a JSON Feed (no \"items\" array) nor RSS-in-JSON (no \
         \"rss\"); its keys are {}",
        keys.join(", ")
    ))
}

//! `/sources.opml`: the configured sources as OPML 2.0, so a person can subscribe to them
//! directly in a reader (or move them into another feedmerge with `import-opml`). A source's
//! first tag is its folder, as readers show folders; every tag is also in `category`.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use html_escape::encode_double_quoted_attribute as attr;

use super::Settings;

pub(crate) fn render(settings: &Settings, updated: DateTime<Utc>) -> String {
    let mut x = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n<head>\n\
         <title>{} sources</title>\n<dateModified>{}</dateModified>\n\
         <ownerId>{}</ownerId>\n</head>\n<body>\n",
        html_escape::encode_text(&settings.title),
        updated.to_rfc2822(),
        attr(settings.base_url.as_str())
    );
    let mut folders: Vec<Option<&str>> = Vec::new();
    for (name, _) in &settings.sources {
        let folder = first_tag(settings, name);
        if !folders.contains(&folder) {
            folders.push(folder);
        }
    }
    for folder in folders {
        let indent = if let Some(f) = folder {
            // A folder carries `text` alone: OPML 2.0 wants a `type` on an outline with more.
            let _ = writeln!(x, "<outline text=\"{}\">", attr(f));
            "  "
        } else {
            ""
        };
        for (name, url) in &settings.sources {
            if first_tag(settings, name) != folder {
                continue;
            }
            let tags = settings.source_tags.get(name).cloned().unwrap_or_default();
            let category: Vec<String> = tags.iter().map(|t| format!("/{t}")).collect();
            let _ = write!(
                x,
                "{indent}<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"",
                attr(name),
                attr(url)
            );
            if !category.is_empty() {
                let _ = write!(x, " category=\"{}\"", attr(&category.join(",")));
            }
            x.push_str("/>\n");
        }
        if folder.is_some() {
            x.push_str("</outline>\n");
        }
    }
    x.push_str("</body>\n</opml>\n");
    x
}

fn first_tag<'a>(settings: &'a Settings, name: &str) -> Option<&'a str> {
    settings
        .source_tags
        .get(name)
        .and_then(|t| t.first())
        .map(String::as_str)
}

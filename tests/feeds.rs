//! Small real feed documents built for the tests, in each format the daemon reads.

#![allow(dead_code)]

/// One item: (guid, title, link, RFC 3339 date).
pub type Item<'a> = (&'a str, &'a str, &'a str, &'a str);

fn rfc2822(date: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(date)
        .expect("test dates are RFC 3339")
        .to_rfc2822()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// RSS 2.0; an empty guid writes no `<guid>`.
pub fn rss(title: &str, items: &[Item]) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>{}</title><link>https://example.org/</link><description>test</description>\n",
        esc(title)
    );
    for (guid, t, link, date) in items {
        x.push_str("<item>");
        if !guid.is_empty() {
            x.push_str(&format!("<guid isPermaLink=\"false\">{}</guid>", esc(guid)));
        }
        x.push_str(&format!(
            "<title>{}</title><link>{}</link><pubDate>{}</pubDate><description>About {}.</description></item>\n",
            esc(t),
            esc(link),
            rfc2822(date),
            esc(t)
        ));
    }
    x.push_str("</channel></rss>\n");
    x
}

/// Atom 1.0.
pub fn atom(title: &str, items: &[Item]) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title><id>urn:test:{}</id><updated>2025-11-26T00:00:00Z</updated>\n",
        esc(title),
        esc(title)
    );
    for (id, t, link, date) in items {
        x.push_str(&format!(
            "<entry><id>{}</id><title>{}</title><link rel=\"alternate\" href=\"{}\"/><published>{date}</published><updated>{date}</updated><summary>About {}.</summary></entry>\n",
            esc(id),
            esc(t),
            esc(link),
            esc(t)
        ));
    }
    x.push_str("</feed>\n");
    x
}

/// JSON Feed 1.1.
pub fn json(title: &str, items: &[Item]) -> String {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|(id, t, link, date)| {
            serde_json::json!({"id": id, "title": t, "url": link, "date_published": date, "content_text": format!("About {t}.")})
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": items,
    })
    .to_string()
}

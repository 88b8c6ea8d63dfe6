//! Lenient in: text, JSON Feeds and dates as real feeds write them, read through the real
//! binary (`preview` for what is read, the daemon for what is published).

use std::time::Duration;

use crate::support::scenario::Scenario;
use crate::support::{get, wait_for};

/// An RSS 2.0 document with `items` (raw XML of each `<item>`'s children).
fn rss_with(items: &[&str]) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Wire</title><link>https://wire.example/</link><description>news</description>\n",
    );
    for item in items {
        x.push_str(&format!("<item>{item}</item>\n"));
    }
    x.push_str("</channel></rss>\n");
    x
}

/// The daemon's document at `path` once it holds `needle`.
fn published_with(daemon: &crate::support::process::Daemon, path: &str, needle: &str) -> String {
    wait_for(
        &format!("{needle:?} in {path}"),
        Duration::from_secs(30),
        || {
            let (_, _, body) = get(&daemon.url(path), &[])?;
            let text = String::from_utf8(body).ok()?;
            text.contains(needle).then_some(text)
        },
    )
}

#[test]
fn paragraphs_keep_their_spaces_in_summaries_and_the_page() {
    let s = Scenario::new().feed(
        "Wire",
        "w.xml",
        rss_with(&[
            "<guid>w1</guid><title>Central bank holds rates again this month</title>\
             <link>https://wire.example/1</link><pubDate>Wed, 26 Nov 2025 08:00:00 GMT</pubDate>\
             <description><![CDATA[<p>The bank chose to keep rates on hold.</p><p>Markets had \
             priced in a cut.</p><ul><li>Bonds</li><li>fell</li></ul>Shares<br>rose]]></description>",
        ]),
    );
    let daemon = s.run();
    let json = published_with(&daemon, "feed.json", "keep rates");
    assert!(
        json.contains("keep rates on hold. Markets had priced in a cut. Bonds fell Shares rose"),
        "{json}"
    );
    let page = published_with(&daemon, "", "keep rates");
    assert!(page.contains("on hold. Markets had"), "{page}");
}

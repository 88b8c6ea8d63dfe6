//! `feedmerge demo` through the real binary: every demo story once, with its sources.

use std::collections::BTreeMap;

use crate::support::get;
use crate::support::process::Daemon;

#[test]
fn the_demo_publishes_each_story_once_with_all_its_sources() {
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("../src/cli/demo/feeds/expected.json")).unwrap();
    let daemon = Daemon::spawn(&["demo", "--listen", "127.0.0.1:0"]);
    daemon.wait_log_count("polled:", 5);
    let (status, _, body) = get(&daemon.url("feed.xml"), &[]).unwrap();
    assert_eq!(status, 200);
    let channel = rss::Channel::read_from(body.as_slice()).unwrap();

    // headline -> sources, as published: the leader in <source>, the rest in "Also reported by".
    let mut published: Vec<(String, Vec<String>)> = Vec::new();
    for item in channel.items() {
        let mut sources = vec![item
            .source()
            .and_then(|s| s.title())
            .unwrap_or_default()
            .to_string()];
        let description = item.description().unwrap_or_default();
        if let Some(also) = description.split("Also reported by: ").nth(1) {
            for part in also.split("</a>").filter(|p| p.contains("<a ")) {
                sources.push(part.rsplit('>').next().unwrap_or_default().to_string());
            }
        }
        published.push((item.title().unwrap_or_default().to_string(), sources));
    }
    let stories = expected["stories"].as_array().unwrap();
    assert_eq!(published.len(), stories.len(), "{published:#?}");
    let mut unmatched: BTreeMap<usize, &(String, Vec<String>)> =
        published.iter().enumerate().collect();
    for story in stories {
        let headline = story["headline"].as_str().unwrap();
        let outlets: Vec<String> = story["outlets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_string())
            .collect();
        let found = unmatched
            .iter()
            .find(|(_, (title, sources))| title == headline && *sources == outlets)
            .map(|(i, _)| *i);
        match found {
            Some(i) => {
                unmatched.remove(&i);
            }
            None => panic!("{headline:?} from {outlets:?} not published once as expected; published: {published:#?}"),
        }
    }
    // Sanitizing: the demo's script and onclick never reach the merged feed.
    let xml = String::from_utf8(body).unwrap();
    assert!(
        !xml.contains("<script") && !xml.contains("&lt;script") && !xml.contains("onclick"),
        "{xml}"
    );
}

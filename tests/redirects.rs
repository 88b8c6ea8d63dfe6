//! What a source's credentials reach when its feed redirects: a source's basic auth, API-key
//! header and custom headers are for the origin the person configured. A redirect to another
//! origin (another host, scheme or port) is followed without them; a redirect within the
//! origin keeps them.

use crate::feeds::rss;
use crate::rules::base64_like::encode;
use crate::support::origin::{Origin, Reply};
use crate::support::scenario::Scenario;

const PASSWORD: &str = "pa55-for-the-first-origin-only";
const API_KEY: &str = "k3y-for-the-first-origin-only";

fn moved_to(url: String) -> Reply {
    Reply::Custom {
        status: 302,
        headers: vec![("Location".into(), url)],
        body: vec![],
    }
}

/// The secrets a request carried, by header name.
fn secrets(seen: &crate::support::origin::Seen) -> Vec<(&'static str, Option<String>)> {
    ["authorization", "x-api-key", "x-custom"]
        .into_iter()
        .map(|name| {
            let value = seen
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            (name, value)
        })
        .collect()
}

#[test]
fn credentials_and_custom_headers_never_follow_a_redirect_to_another_origin() {
    let s = Scenario::new();
    let elsewhere = Origin::start();
    let feed = |name: &str, link: &str| {
        rss(
            name,
            &[(
                "x1",
                "Harbour ferry timetable changes for the winter season",
                link,
                "2025-11-26T08:00:00Z",
            )],
        )
    };
    // Another port of 127.0.0.1 is another origin.
    elsewhere.feed(
        "feed.xml",
        feed("Elsewhere", "https://e.example/ferry"),
        "application/rss+xml",
    );
    s.origin()
        .set("away.xml", moved_to(elsewhere.url("feed.xml")));
    s.origin()
        .set("home.xml", moved_to(s.origin().url("feed.xml")));
    s.origin().feed(
        "feed.xml",
        feed("Home", "https://h.example/ferry"),
        "application/rss+xml",
    );
    let source = |name: &str, path: &str| {
        format!(
            "[[source]]\nname = \"{name}\"\nurl = \"{}\"\nusername = \"reader\"\npassword = \"{PASSWORD}\"\nheaders = {{ \"X-Api-Key\" = \"{API_KEY}\", \"X-Custom\" = \"custom-value\" }}\n",
            s.origin().url(path)
        )
    };
    let config = format!(
        "{}{}",
        source("Away", "away.xml"),
        source("Home", "home.xml")
    );
    let s = s.config(&config);
    let (code, out, err) = s.once();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok        Away: 1 entries"), "{out}{err}");
    assert!(out.contains("ok        Home: 1 entries"), "{out}{err}");

    let authorization = format!("Basic {}", encode(&format!("reader:{PASSWORD}")));
    let with_all = vec![
        ("authorization", Some(authorization)),
        ("x-api-key", Some(API_KEY.to_string())),
        ("x-custom", Some("custom-value".to_string())),
    ];
    let with_none = vec![
        ("authorization", None),
        ("x-api-key", None),
        ("x-custom", None),
    ];
    // The configured URLs get everything.
    for path in ["away.xml", "home.xml"] {
        let seen = s.origin().requests(path);
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(secrets(&seen[0]), with_all, "{path}");
    }
    // The other origin gets nothing; the same origin's target gets everything.
    let away = elsewhere.requests("feed.xml");
    assert_eq!(away.len(), 1, "{away:?}");
    assert_eq!(secrets(&away[0]), with_none);
    let home = s.origin().requests("feed.xml");
    assert_eq!(home.len(), 1, "{home:?}");
    assert_eq!(secrets(&home[0]), with_all);
}

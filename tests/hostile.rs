//! Hostile and broken servers: each is contained (a clear reason in the log, bounded memory)
//! while a well-behaved source beside them keeps updating on time.

use std::time::Duration;

use crate::feeds::rss;
use crate::support::origin::{Hostile, Origin, Reply};
use crate::support::process::{write_config, Daemon};
use crate::support::{sorted_titles, wait_for};

#[test]
fn hostile_servers_are_contained_and_a_good_source_keeps_updating() {
    let origin = Origin::start();
    origin.feed(
        "good.xml",
        rss(
            "Good",
            &[(
                "g1",
                "Night buses return to the city centre routes",
                "https://good.example/buses",
                "2025-11-26T08:00:00Z",
            )],
        ),
        "application/rss+xml",
    );
    for (path, kind) in [
        ("endless.xml", Hostile::Endless),
        ("huge.xml", Hostile::Huge),
        ("bomb.xml", Hostile::GzipBomb),
        ("trickle.xml", Hostile::Trickle),
        ("loop.xml", Hostile::RedirectLoop),
        ("file.xml", Hostile::RedirectToFile),
    ] {
        origin.set(path, Reply::Hostile(kind));
    }
    origin.set("hang.xml", Reply::Hang);
    // Latin-1 bytes in a document that says UTF-8: read, not rejected.
    let mut latin = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>L</title><item><guid>l1</guid><title>Caf\xe9 owners welcome the new pedestrian zone</title><link>https://latin.example/cafe</link></item></channel></rss>".to_vec();
    latin.shrink_to_fit();
    origin.set(
        "latin.xml",
        Reply::Custom {
            status: 200,
            headers: vec![("Content-Type".into(), "application/rss+xml".into())],
            body: latin,
        },
    );
    let laughs = {
        let mut d = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            d.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!(
                    "&lol{};",
                    if i == 1 {
                        String::new()
                    } else {
                        (i - 1).to_string()
                    }
                )
                .repeat(10)
            ));
        }
        d.push_str("]><rss version=\"2.0\"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>");
        d
    };
    origin.set(
        "laughs.xml",
        Reply::Custom {
            status: 200,
            headers: vec![],
            body: laughs.into_bytes(),
        },
    );

    let dir = tempfile::tempdir().unwrap();
    let names = [
        "good", "endless", "huge", "bomb", "trickle", "loop", "file", "hang", "latin", "laughs",
    ];
    let sources: Vec<(&str, String)> = names
        .iter()
        .map(|n| (*n, origin.url(&format!("{n}.xml"))))
        .collect();
    let config = write_config(dir.path(), &sources, "1s", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "timeout = \"5s\"",
        "timeout = \"2s\"\nmax_body = 1048576\nper_host = 16\nconcurrency = 16",
    );
    std::fs::write(&config, text).unwrap();
    // Made before the daemon polls, so the origin answers at once.
    crate::support::origin::gzip_bomb();
    let daemon = Daemon::start(&config);
    for (name, reason) in [
        ("endless", "larger than the 1048576-byte limit"),
        ("huge", "larger than the 1048576-byte limit"),
        ("bomb", "larger than the 1048576-byte limit"),
        ("trickle", "timed out"),
        ("loop", "more than 5 redirects"),
        ("file", "redirect refused: a redirect to a file: URL"),
        ("hang", "timed out"),
    ] {
        wait_for(
            &format!("{name} to fail with {reason:?}"),
            Duration::from_secs(30),
            || {
                daemon
                    .stderr()
                    .lines()
                    .any(|l| l.contains(reason) && l.contains(&format!("source={name} ")))
                    .then_some(())
            },
        );
    }
    // The good source was polled again and again meanwhile.
    wait_for(
        "five polls of the good source",
        Duration::from_secs(30),
        || (origin.requests("good.xml").len() >= 5).then_some(()),
    );
    // The entity bomb is never expanded: its item keeps the literal reference.
    assert_eq!(
        sorted_titles(&daemon),
        vec![
            "&lol9;",
            "Café owners welcome the new pedestrian zone",
            "Night buses return to the city centre routes"
        ],
        "nothing else hostile became a story; the mislabelled feed was read"
    );
    let status = daemon.memory_kib();
    assert!(status < 200 * 1024, "daemon RSS {status} KiB");
}

//! Clustering does not depend on the order polls arrive in: 55 entries from 10 feeds, ingested
//! by the real binary under several poll orders and concurrencies, each into a fresh store, end
//! as the same stories every time, and as the ones the fixture says they are.
//!
//! The fixture's stories are what real outlets' copies of one story look like: every copy of a
//! story is a duplicate of every other (the same link with tracking junk, the same headline
//! with the outlet's name or a wire prefix, a rewording), and different stories are the hard
//! "apart" cases of `fixtures/dedup-pairs.tsv` (numbers, polarity, who did what to whom, places,
//! days, generic headlines). On such stories the clustering is order-independent. Where copies
//! chain (A ~ B and B ~ C but not A ~ C) it is not: a story is its founding copy and the copies
//! that match *it*, so which copy founds decides; joining every copy that matches any copy
//! instead (connected components) would chain different stories into one
//! (`bench/results-dedup.md`, "Single linkage").

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::feeds::rss;
use crate::support::origin::Origin;
use crate::support::process::run_cli;

const WITKOFF: &str =
    "Trump Defends Envoy Steve Witkoff After Leak Suggests Coaching Russian Official";

/// (story label, feed, headline, link). A label is one story; the order is the feeds'.
fn fixture() -> Vec<(&'static str, &'static str, String, &'static str)> {
    let s = |x: &str| x.to_string();
    vec![
        ("witkoff", "a", s(WITKOFF), "https://a.example/witkoff"),
        (
            "witkoff",
            "b",
            format!("{WITKOFF} - Northern Post"),
            "https://b.example/witkoff",
        ),
        (
            "witkoff",
            "c",
            WITKOFF.to_uppercase(),
            "https://c.example/witkoff",
        ),
        (
            "witkoff",
            "d",
            s("Trump defends envoy Witkoff after leak suggests he coached Russian official"),
            "https://d.example/witkoff",
        ),
        (
            "witkoff",
            "a",
            format!("UPDATE 2-{WITKOFF}"),
            "https://a.example/witkoff-2",
        ),
        (
            "volcano",
            "e",
            s("Volcano erupts on remote island forcing thousands to flee"),
            "https://e.example/volcano",
        ),
        (
            "volcano",
            "f",
            s("Thousands flee as volcano erupts on remote island"),
            "https://f.example/volcano",
        ),
        (
            "volcano",
            "g",
            s("Volcano forces thousands to flee remote island"),
            "https://e.example/volcano?utm_source=g",
        ),
        (
            "eleven",
            "h",
            s("Eleven killed in Chinese police station attack"),
            "https://h.example/attack",
        ),
        (
            "eleven",
            "i",
            s("11 killed in China police station attack"),
            "https://i.example/attack",
        ),
        (
            "aol",
            "j",
            s("AOL to sell 800 patents to Microsoft for $1.0 bn"),
            "https://j.example/aol",
        ),
        (
            "aol",
            "a",
            s("AOL says it will sell 800 patents to Microsoft for $1 bn"),
            "https://a.example/aol",
        ),
        (
            "putin",
            "b",
            s("Putin sworn in as Russian president for third term"),
            "https://b.example/putin",
        ),
        (
            "putin",
            "c",
            s("Putin is sworn in as Russia's president for a third term"),
            "https://c.example/putin",
        ),
        (
            "putin",
            "d",
            s("Putin Sworn In As Russian President For Third Term | Daily Ledger"),
            "https://d.example/putin",
        ),
        (
            "homs",
            "e",
            s("Syrian rebels leave besieged city of Homs after deal"),
            "https://e.example/homs",
        ),
        (
            "homs",
            "f",
            s("Syria rebels retreat from besieged city of Homs after deal"),
            "https://f.example/homs",
        ),
        (
            "bangla",
            "g",
            s("Bangladesh Islamists rally against atheist bloggers"),
            "https://g.example/bangla",
        ),
        (
            "bangla",
            "h",
            s("Bangladeshi Islamists rally against atheist bloggers in Dhaka"),
            "https://h.example/bangla",
        ),
        (
            "venezuela",
            "i",
            s("Venezuela expels three U.S. diplomats in widening row"),
            "https://i.example/ven",
        ),
        (
            "venezuela",
            "j",
            s("Venezuela Expels 3 US Diplomats in Widening Row"),
            "https://j.example/ven",
        ),
        (
            "venezuela",
            "b",
            s("Venezuela expels three US diplomats in widening row"),
            "https://b.example/ven",
        ),
        (
            "heist",
            "c",
            s("Police arrest five suspects after jewellery heist"),
            "https://c.example/heist",
        ),
        (
            "heist",
            "d",
            s("Police detain five suspects after jewellery heist"),
            "https://d.example/heist",
        ),
        (
            "lighthouse",
            "e",
            s("Lighthouse keeper retires after forty years on the rock"),
            "https://e.example/light",
        ),
        (
            "lighthouse",
            "f",
            s("Lighthouse keeper retired after 40 years on the rock"),
            "https://f.example/light",
        ),
        (
            "storm",
            "g",
            s("Winter storm strands travelers at O’Hare as flights & trains halt"),
            "https://g.example/storm",
        ),
        (
            "storm",
            "h",
            s("Winter storm strands travelers at O'Hare as flights and trains halt"),
            "https://h.example/storm",
        ),
        (
            "rates-raise",
            "i",
            s("Central bank raises interest rates by a quarter point"),
            "https://i.example/rates",
        ),
        (
            "rates-hold",
            "j",
            s("Central bank holds interest rates by a quarter point"),
            "https://j.example/rates",
        ),
        (
            "apple-rise",
            "a",
            s("Apple shares rise after quarterly earnings report"),
            "https://a.example/apple",
        ),
        (
            "apple-fall",
            "b",
            s("Apple shares fall after quarterly earnings report"),
            "https://b.example/apple",
        ),
        (
            "obama",
            "c",
            s("Obama widens lead over Romney in new national poll"),
            "https://c.example/poll",
        ),
        (
            "romney",
            "d",
            s("Romney widens lead over Obama in new national poll"),
            "https://d.example/poll",
        ),
        (
            "utd",
            "e",
            s("Man United beat Liverpool in a dramatic late derby"),
            "https://e.example/derby",
        ),
        (
            "lfc",
            "f",
            s("Liverpool beat Man United in a dramatic late derby"),
            "https://f.example/derby",
        ),
        (
            "quake-jp",
            "g",
            s("Powerful earthquake strikes off the coast of Japan"),
            "https://g.example/quake",
        ),
        (
            "quake-cl",
            "h",
            s("Powerful earthquake strikes off the coast of Chile"),
            "https://h.example/quake",
        ),
        (
            "mandela-in",
            "i",
            s("Mandela taken to hospital with lung infection"),
            "https://i.example/mandela",
        ),
        (
            "mandela-out",
            "j",
            s("Mandela released from hospital after lung infection"),
            "https://j.example/mandela",
        ),
        (
            "brief-a",
            "a",
            s("Morning briefing"),
            "https://a.example/briefing",
        ),
        (
            "brief-b",
            "b",
            s("Morning briefing"),
            "https://b.example/briefing",
        ),
        (
            "brief-c",
            "c",
            s("Morning briefing"),
            "https://c.example/briefing",
        ),
        (
            "dow-wed",
            "d",
            s("How the Dow Jones industrial average did Wednesday"),
            "https://d.example/dow",
        ),
        (
            "dow-mon",
            "e",
            s("How the Dow Jones industrial average fared Monday"),
            "https://e.example/dow",
        ),
        (
            "fed-55",
            "f",
            s("Fed raises rates to 5.5% in surprise move"),
            "https://f.example/fed",
        ),
        (
            "fed-525",
            "g",
            s("Fed raises rates to 5.25% in surprise move"),
            "https://g.example/fed",
        ),
        (
            "plan-28",
            "h",
            s("Council approves 28-point plan for city transit"),
            "https://h.example/plan",
        ),
        (
            "plan-20",
            "i",
            s("Council approves 20-point plan for city transit"),
            "https://i.example/plan",
        ),
        (
            "senate-yes",
            "j",
            s("Senate approves sweeping climate bill after long debate"),
            "https://j.example/senate",
        ),
        (
            "senate-no",
            "a",
            s("Senate rejects sweeping climate bill after long debate"),
            "https://a.example/senate",
        ),
        (
            "harbour",
            "b",
            s("Harbour authority approves dredging of the northern shipping lane"),
            "https://b.example/harbour",
        ),
        (
            "museum",
            "c",
            s("City museum reopens its Egyptian galleries after restoration"),
            "https://c.example/museum",
        ),
        (
            "orchestra",
            "d",
            s("Youth orchestra wins European competition in Vienna"),
            "https://d.example/orchestra",
        ),
        (
            "bridge",
            "e",
            s("Engineers close the old river bridge for urgent repairs"),
            "https://e.example/bridge",
        ),
    ]
}

const FEEDS: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];

/// Serves the fixture as ten RSS feeds. Each entry's GUID is `{label}-{n}` (n its place in
/// the fixture), and entries are dated a few minutes apart over one morning.
fn serve(origin: &Origin) {
    let entries = fixture();
    for feed in FEEDS {
        let items: Vec<(String, String, String, String)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.1 == feed)
            .map(|(n, (label, _, title, link))| {
                let minute = 5 * n;
                (
                    format!("{label}-{n}"),
                    title.clone(),
                    link.to_string(),
                    format!("2025-03-25T{:02}:{:02}:00Z", 6 + minute / 60, minute % 60),
                )
            })
            .collect();
        let items: Vec<(&str, &str, &str, &str)> = items
            .iter()
            .map(|(g, t, l, d)| (g.as_str(), t.as_str(), l.as_str(), d.as_str()))
            .collect();
        origin.feed(
            &format!("{feed}.xml"),
            rss(&format!("Outlet {feed}"), &items),
            "application/rss+xml",
        );
    }
}

/// The stories of one `once` run into a fresh store, each as its copies' GUIDs.
fn stories(
    origin: &Origin,
    dir: &Path,
    order: &[&str],
    concurrency: usize,
) -> BTreeSet<BTreeSet<String>> {
    let mut text = format!(
        "[store]\npath = \"{}\"\n[poll]\ninterval = \"1h\"\nconcurrency = {concurrency}\ntimeout = \"5s\"\nconnect_timeout = \"2s\"\n",
        dir.join("store").display()
    );
    for feed in order {
        let url = origin.url(&format!("{feed}.xml"));
        text.push_str(&format!(
            "[[source]]\nname = \"Outlet {feed}\"\nurl = \"{url}\"\n"
        ));
    }
    let config = dir.join("feedmerge.toml");
    std::fs::write(&config, text).unwrap();
    let c = config.to_str().unwrap();
    let (code, out, err) = run_cli(&["-c", c, "once"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run_cli(&["-c", c, "export"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|line| {
            let story: serde_json::Value = serde_json::from_str(line).unwrap();
            story["copies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["guid"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// A permutation of the feeds from a seed (a small LCG: the test needs no randomness crate,
/// only orders that differ).
fn shuffled(seed: u64) -> Vec<&'static str> {
    let mut order = FEEDS.to_vec();
    let mut state = seed;
    for i in (1..order.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
}

#[test]
fn the_same_entries_make_the_same_stories_in_every_poll_order() {
    let origin = Origin::start();
    serve(&origin);
    // The stories the fixture says there are: each label's GUIDs.
    let mut labelled: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (n, (label, ..)) in fixture().iter().enumerate() {
        labelled
            .entry(label)
            .or_default()
            .insert(format!("{label}-{n}"));
    }
    let want: BTreeSet<BTreeSet<String>> = labelled.into_values().collect();
    assert!(fixture().len() >= 50 && want.len() == 38);

    let sorted = FEEDS.to_vec();
    let reversed: Vec<&str> = FEEDS.iter().rev().copied().collect();
    let runs: Vec<(String, Vec<&str>, usize)> = vec![
        ("sorted, one at a time".into(), sorted.clone(), 1),
        ("reversed, one at a time".into(), reversed, 1),
        ("shuffled (1), one at a time".into(), shuffled(1), 1),
        ("shuffled (2), one at a time".into(), shuffled(2), 1),
        ("shuffled (3), one at a time".into(), shuffled(3), 1),
        ("sorted, all at once".into(), sorted, 10),
        ("shuffled (4), three at once".into(), shuffled(4), 3),
    ];
    for (name, order, concurrency) in runs {
        let dir = tempfile::tempdir().unwrap();
        let got = stories(&origin, dir.path(), &order, concurrency);
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name} ({order:?}): stories the fixture has but the run did not make: {missing:?}; \
             stories the run made instead: {extra:?}"
        );
    }
}

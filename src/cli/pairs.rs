//! `feedmerge pairs`: judge headline pairs read from stdin with the daemon's own decision.
//!
//! Each pair becomes two entries from two sources, published at the same moment, made by the
//! same [`normalize::headline`] and [`Signature::of`] the daemon uses (a summary kept as the
//! daemon keeps one); the second is decided by [`dedup::decide`] against an index
//! holding the first. So what this prints is what the daemon would do with the two items.

use std::io::{BufRead, Write};

use chrono::Utc;

use crate::dedup::{self, Decision, Memory, Signature, Verdict};
use crate::model::{Entry, Story, StoryId};
use crate::normalize;

/// Reads `title_a<TAB>title_b[<TAB>summary_a<TAB>summary_b]` lines and writes one
/// `duplicate|related|distinct<TAB>reason` line each. Returns how many pairs were judged.
pub fn run(
    input: impl BufRead,
    mut output: impl Write,
    settings: &dedup::Settings,
) -> std::io::Result<usize> {
    let mut n = 0;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let verdict = match fields.as_slice() {
            [a, b] => judge(a, b, None, None, settings),
            [a, b, sa, sb, ..] => judge(a, b, Some(sa), Some(sb), settings),
            _ => {
                writeln!(
                    output,
                    "error\tline {}: expected title_a<TAB>title_b",
                    i + 1
                )?;
                continue;
            }
        };
        writeln!(output, "{}\t{}", verdict.0, verdict.1)?;
        n += 1;
    }
    Ok(n)
}

fn entry(key: &str, source: &str, title: &str, summary: Option<&str>) -> Entry {
    // A summary is HTML, as an RSS description is: kept as the daemon keeps one, and signed
    // from its text.
    let summary = summary
        .map(|s| normalize::text::feed_html(s, false))
        .filter(|s| !s.trim().is_empty());
    let (title, title_key) = normalize::headline(Some(title), summary.as_deref(), &[source]);
    Entry {
        signature: Signature::of(&title, summary.as_deref()),
        title_key,
        summary,
        ..Entry::new(key, source, &format!("pairs:{source}"), &title, Utc::now())
    }
}

/// (label, reason) for one pair.
pub fn judge(
    a: &str,
    b: &str,
    summary_a: Option<&str>,
    summary_b: Option<&str>,
    settings: &dedup::Settings,
) -> (&'static str, String) {
    let first = entry("a", "a", a, summary_a);
    let second = entry("b", "b", b, summary_b);
    let mut index = Memory::default();
    index.insert(
        Story::founded_by(StoryId(1), &first, first.published),
        None,
        first.title_key.as_deref(),
    );
    let decision = dedup::decide(&second, &index, settings);
    match decision {
        Ok(Decision::Join { layer, reason, .. }) => ("duplicate", format!("{layer}: {reason}")),
        _ => match dedup::compare(&first.signature, &second.signature, &settings.thresholds) {
            Verdict::Related { reason, .. } => ("related", reason),
            // Only the exact layers could disagree here, and they did not merge either.
            Verdict::Distinct { reason, .. } | Verdict::Duplicate { reason, .. } => {
                ("distinct", reason)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_judged_line_by_line() {
        let input = "Fed raises interest rates by a quarter point\tFed holds interest rates by a quarter point\n\
                     Volcano erupts on remote island forcing thousands to flee\tThousands flee as volcano erupts on remote island\n\
                     Morning briefing\tMorning briefing\n\
                     no tab here\n";
        let mut out = Vec::new();
        let n = run(input.as_bytes(), &mut out, &dedup::Settings::default()).unwrap();
        assert_eq!(n, 3);
        let out = String::from_utf8(out).unwrap();
        let labels: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert_eq!(
            labels,
            vec!["related", "duplicate", "distinct", "error"],
            "{out}"
        );
        assert!(out.contains("opposite meanings"), "{out}");
    }

    #[test]
    fn a_summary_is_signed_from_its_visible_text() {
        let summary = r#"<p onclick="x()">Lava reaches the coast</p><script>var spoiler = "ignored words here";</script>"#;
        let e = entry("a", "a", "Volcano erupts on remote island", Some(summary));
        assert!(
            !e.signature.summary_words.iter().any(|w| w == "spoiler"),
            "{:?}",
            e.signature.summary_words
        );
        assert!(e.signature.summary_words.iter().any(|w| w == "lava"));
    }

    /// The [`dedup::Settings`] of a config whose `[dedup]` holds `keys` ("a = 1; b = 2").
    fn settings(keys: &[&str]) -> dedup::Settings {
        let text = format!("[dedup]\n{}\n", keys.join("\n").replace("; ", "\n"));
        crate::config::Config::parse(std::path::Path::new("pairs.toml"), &text)
            .unwrap()
            .dedup
    }

    /// Every threshold pinned by real headline pairs on both sides of it: each pair gets its
    /// verdict under the defaults (in both orders), and a different one once its boundary
    /// moves one step across it, so a threshold that drifts either way fails here.
    #[test]
    fn real_headline_pairs_sit_on_either_side_of_each_threshold() {
        let fixture = include_str!("../../tests/fixtures/sts-thresholds/pairs.tsv");
        let mut boundaries = std::collections::BTreeMap::new();
        for line in fixture.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            let (boundary, base, expected, moved) = (f[0], f[1], f[2], f[3]);
            let (a, b) = (f[5], f[6]);
            let (sa, sb) = (f.get(7).copied(), f.get(8).copied());
            let base: Vec<&str> = if base == "-" { vec![] } else { vec![base] };
            let mut shifted = base.clone();
            shifted.push(moved);
            for (x, y, sx, sy) in [(a, b, sa, sb), (b, a, sb, sa)] {
                let (got, why) = judge(x, y, sx, sy, &settings(&base));
                assert_eq!(got, expected, "{boundary}: {x} / {y}: {why}");
                let (got, why) = judge(x, y, sx, sy, &settings(&shifted));
                assert_ne!(got, expected, "{boundary} with {moved}: {x} / {y}: {why}");
            }
            *boundaries
                .entry((boundary, expected == "duplicate"))
                .or_insert(0) += 1;
        }
        // Each threshold has a pair that merges and one that does not.
        for boundary in [
            "threshold",
            "min_shared",
            "min_words",
            "related",
            "summary_threshold",
        ] {
            let merged = boundary != "related";
            assert!(boundaries.contains_key(&(boundary, false)), "{boundary}");
            assert_eq!(
                boundaries.contains_key(&(boundary, true)),
                merged,
                "{boundary}"
            );
        }
    }
}

//! The hand-written hard cases of `fixtures/dedup-pairs.tsv`, judged by the real binary's
//! `feedmerge pairs` (the daemon's own decision), in both orders.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::process::BIN;

fn judge(lines: &[String]) -> Vec<String> {
    let mut child = Command::new(BIN)
        .args(["-c", "/nonexistent/feedmerge.toml", "pairs"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run feedmerge pairs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines.join("\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn hard_positives_merge_and_hard_negatives_never_do() {
    let fixtures = include_str!("fixtures/dedup-pairs.tsv");
    let mut cases = Vec::new();
    for line in fixtures
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let (expected, a, b) = (fields[0], fields[1], fields[2]);
        let (sa, sb) = (fields.get(3).copied(), fields.get(4).copied());
        let forward = match (sa, sb) {
            (Some(sa), Some(sb)) => format!("{a}\t{b}\t{sa}\t{sb}"),
            _ => format!("{a}\t{b}"),
        };
        let backward = match (sa, sb) {
            (Some(sa), Some(sb)) => format!("{b}\t{a}\t{sb}\t{sa}"),
            _ => format!("{b}\t{a}"),
        };
        cases.push((expected, forward));
        cases.push((expected, backward));
    }
    assert!(cases.len() >= 60, "fixture file incomplete");
    let inputs: Vec<String> = cases.iter().map(|(_, l)| l.clone()).collect();
    let verdicts = judge(&inputs);
    assert_eq!(verdicts.len(), cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .zip(&verdicts)
        .filter(|((expected, _), verdict)| {
            let merged = verdict.starts_with("duplicate\t");
            merged != (*expected == "duplicate")
        })
        .map(|((expected, pair), verdict)| {
            format!("expected {expected}: {pair}\n    got {verdict}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

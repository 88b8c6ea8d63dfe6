//! What a person installing feedmerge reads, through the real binary: the help of every command
//! with its example, the short usage of `feedmerge` alone, the "did you mean" of an unknown key,
//! the man pages, and the bash completion run in bash.

use std::process::Command;

use crate::support::process::run_cli;
use crate::support::scenario::ConfigFile;

/// The commands `feedmerge --help` lists (without clap's `help`).
fn commands() -> Vec<String> {
    let (code, out, err) = run_cli(&["--help"]);
    assert_eq!(code, 0, "{out}{err}");
    let listed: Vec<String> = out
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(listed.len() >= 10, "too few commands in:\n{out}");
    listed
}

#[test]
fn every_command_s_help_ends_with_an_example_of_it() {
    for command in commands() {
        let (code, out, err) = run_cli(&[&command, "--help"]);
        assert_eq!(code, 0, "{command}: {out}{err}");
        let example = out
            .split("\nExample")
            .nth(1)
            .unwrap_or_else(|| panic!("`feedmerge {command} --help` has no example:\n{out}"));
        let uses_it = example.lines().skip(1).any(|l| {
            l.starts_with("  ")
                && l.contains("feedmerge")
                && l.split_whitespace().any(|w| w == command)
        });
        assert!(
            uses_it,
            "`feedmerge {command} --help`'s example does not run it:\n{out}"
        );
    }
    let (_, out, _) = run_cli(&["--help"]);
    assert!(
        !out.contains("generate-man"),
        "hidden commands are listed:\n{out}"
    );
}

#[test]
fn feedmerge_alone_prints_a_short_usage_that_names_demo() {
    let (code, out, err) = run_cli(&[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("Usage: feedmerge"), "{err}");
    assert!(err.contains("feedmerge demo"), "{err}");
    assert!(err.lines().count() <= 10, "not short:\n{err}");
}

#[test]
fn an_unknown_key_names_the_nearest_known_one() {
    let file = ConfigFile::new("near.toml");
    let source = "[[source]]\nname = \"A\"\nurl = \"https://a.example/f\"\n";
    file.write(&format!("[feed]\nmax_item = 5\n{source}"))
        .expect(
            &["check"],
            78,
            &[
                "{p}:2:1: unknown field `max_item`",
                "did you mean `max_items`?",
            ],
        );
    file.write(&format!("{source}intervall = \"5m\"\n")).expect(
        &["check"],
        78,
        &["did you mean `interval`?"],
    );
    // Not a misspelling: a key of another table.
    file.write(&format!("[feed]\nmax_body = 5\n{source}"))
        .expect(&["check"], 78, &["`max_body` belongs in [poll]"]);
    let (_, err) = file
        .write(&format!("[feed]\ncolour = \"red\"\n{source}"))
        .expect(&["check"], 78, &["unknown field `colour`"]);
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn the_man_pages_cover_every_command_and_render() {
    let dir = tempfile::tempdir().unwrap();
    let man_dir = dir.path().join("man");
    let (code, out, err) = run_cli(&["generate-man", man_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    // roff writes a hyphen as `\-`.
    let main = std::fs::read_to_string(man_dir.join("feedmerge.1"))
        .unwrap()
        .replace("\\-", "-");
    for command in commands() {
        assert!(
            main.contains(&format!("feedmerge {command}")),
            "feedmerge.1 lacks {command}"
        );
        assert!(
            man_dir.join(format!("feedmerge-{command}.1")).exists(),
            "no feedmerge-{command}.1"
        );
    }
    assert!(main.contains("EXAMPLES") && main.contains("feedmerge.toml(5)"));
    let config = std::fs::read_to_string(man_dir.join("feedmerge.toml.5")).unwrap();
    assert!(config.contains(".TH FEEDMERGE.TOML 5"), "{config}");
    // man(1) renders both without complaint, when it is installed (CI installs it for the
    // package test).
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("man not installed here; the pages' rendering is not checked");
        return;
    }
    for (page, expect) in [
        ("feedmerge.1", "EXAMPLES"),
        ("feedmerge.toml.5", "max_items = 100"),
    ] {
        let shown = Command::new("man")
            .args(["--warnings", "-P", "cat", "-l"])
            .arg(man_dir.join(page))
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&shown.stdout);
        let warnings = String::from_utf8_lossy(&shown.stderr);
        assert!(
            shown.status.success() && text.contains(expect),
            "{page}:\n{text}{warnings}"
        );
        assert!(warnings.trim().is_empty(), "{page}: {warnings}");
    }
}

/// Runs the generated bash completion function as bash's completion would, for each command
/// line (the word under the cursor last), and returns what it offers for each.
fn bash_completes(script: &std::path::Path, lines: &[&[&str]]) -> Vec<Vec<String>> {
    let mut program = format!("source '{}'\n", script.display());
    program.push_str(
        r#"offer() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _feedmerge feedmerge "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "${COMPREPLY[*]}"
}
"#,
    );
    for words in lines {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        program.push_str(&format!("offer {}\n", quoted.join(" ")));
    }
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offered: Vec<Vec<String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(offered.len(), lines.len(), "{offered:?}");
    offered
}

#[test]
fn the_bash_completion_completes_commands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_cli(&["generate-completions", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    for file in ["feedmerge.bash", "_feedmerge", "feedmerge.fish"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.contains("import-opml"), "{file} lacks import-opml");
        assert!(
            !text.contains("generate-man"),
            "{file} offers a hidden command"
        );
    }
    let offered = bash_completes(
        &dir.path().join("feedmerge.bash"),
        &[
            &["feedmerge", ""],
            &["feedmerge", "pre"],
            &["feedmerge", "check", "--"],
            &["feedmerge", "--log-format", ""],
            &["feedmerge", "demo", "--li"],
        ],
    );
    for command in commands() {
        assert!(
            offered[0].contains(&command),
            "{command} not offered: {:?}",
            offered[0]
        );
    }
    assert!(
        !offered[0].iter().any(|w| w.starts_with("generate-")),
        "{:?}",
        offered[0]
    );
    assert_eq!(offered[1], ["preview"]);
    assert!(
        offered[2].contains(&"--config".to_string()),
        "{:?}",
        offered[2]
    );
    assert_eq!(offered[3], ["text", "json"]);
    assert_eq!(offered[4], ["--listen"]);
}

//! The layer order of `src/`: every top-level module may use only modules below it, so data
//! and calls flow one way through the pipeline and no module reaches back into one that
//! builds on it (a back door makes two modules one, and an import cycle of them).
//!
//! [`LAYERS`] is the order, lowest first; this test reads every file under `src/`, collects
//! the top-level modules each one names as `crate::X` in code (comments and docs are not
//! imports), and fails on any that is not below the module the file belongs to.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules of `src/`, lowest first. Plain data at the bottom (`model`), then the
/// configuration every stage reads, then the pipeline in the order an entry goes through it
/// (fetch, parse, normalize, filter, dedup, store), the writer and poller that drive it, the
/// renderer and the HTTP side, and the commands on top.
const LAYERS: &[&str] = &[
    "model",     // plain data passed between stages: entries, stories, signatures, poll state
    "config",    // the validated configuration, and the settings it produces for each stage
    "schedule",  // when each source is due
    "fetch",     // conditional HTTP GETs
    "parse",     // bytes to a feed_rs model
    "normalize", // a parsed entry to an Entry, signed
    "opml",      // OPML reading and writing
    "filter",    // keep/drop rules
    "dedup",     // new, seen, or a copy of a stored story
    "store",     // the sled store
    "exit",      // failures and exit codes
    "metrics",   // counters
    "systemd",   // readiness and watchdog
    "render",    // feeds rendered from the store
    "ingest",    // the one writer: filter, dedup, store, publish
    "poll",      // polls one source into a batch for ingest
    "websub",    // tells hubs which feeds changed
    "status",    // what `status` and /status report
    "serve",     // the HTTP server
    "daemon",    // wires the stages together
    "cli",       // the command line
];

/// Top-level modules named by `crate::X` or `crate::{X, ...}` in `code` (comments removed).
fn referenced(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // Not part of a longer path such as `other_crate::`.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d}`: the first name of each item at the top of the group.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                        found.insert(ident_at(&group[i..]));
                        item_start = false;
                    }
                    c if c.is_whitespace() => {}
                    _ => item_start = false,
                }
            }
        } else {
            let name = ident_at(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// `code` without `//` comments (doc comments included); string literals are kept whole.
fn without_comments(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for line in code.lines() {
        let mut in_string = false;
        let mut prev = ' ';
        let mut end = line.len();
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            }
            if !in_string && c == '/' && prev == '/' {
                end = i - 1;
                break;
            }
            prev = if prev == '\\' && c == '\\' { ' ' } else { c };
        }
        out.push_str(&line[..end]);
        out.push('\n');
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_modules_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut problems = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative.components().next().expect("a file name");
        let module = first.as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = rank(module) else {
            problems.push(format!(
                "{}: module `{module}` is not in LAYERS; add it where it belongs",
                relative.display()
            ));
            continue;
        };
        let code = std::fs::read_to_string(file).expect("a readable source file");
        for used in referenced(&without_comments(&code)) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r < own => {}
                Some(_) => problems.push(format!(
                    "{}: `{module}` uses `crate::{used}`, which is not below it",
                    relative.display()
                )),
                None => problems.push(format!(
                    "{}: `crate::{used}` is not a module in LAYERS",
                    relative.display()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn references_are_read_from_code_only() {
    let code = "use crate::model::{Entry, Story};\n\
                use crate::{config, store::Store};\n\
                // crate::cli in a comment\n\
                /// [`crate::daemon`] in a doc\n\
                let s = \"http://x\"; crate::dedup::decide(); // crate::serve\n\
                other_crate::poll();";
    let found: Vec<String> = referenced(&without_comments(code)).into_iter().collect();
    assert_eq!(found, ["config", "dedup", "model", "store"]);
}

//! feedmerge.toml(5), written from the commented example config (`config/feedmerge.toml`, the
//! file the package installs as `/etc/feedmerge/feedmerge.toml`): each key with the value the
//! example gives it and the comment above it. One text, so the page and the file cannot say
//! different things; the test below fails when a key the loader accepts is missing from the
//! file, or the file shows a key the loader would refuse.

use roff::{bold, italic, roman, Roff};

/// The commented example config, as installed.
pub const EXAMPLE: &str = include_str!("../../config/feedmerge.toml");

/// One table of the file: `[poll]`, or every `[[source]]` taken together.
#[derive(Debug, Default)]
struct Table {
    name: String,
    array: bool,
    /// Paragraphs about the table, or about no key in particular.
    notes: Vec<Vec<String>>,
    entries: Vec<Entry>,
}

/// Keys written together under one comment.
#[derive(Debug, Default)]
struct Entry {
    comment: Vec<String>,
    /// (key, value as written, shown commented out in the file).
    keys: Vec<(String, String, bool)>,
}

/// The file's opening comment and its tables, each key once (the first place it is shown).
fn read(text: &str) -> (Vec<String>, Vec<Table>) {
    let mut preamble = Vec::new();
    let mut tables: Vec<Table> = Vec::new();
    // The table the lines belong to (`[[source]]` may come back after other lines).
    let mut current: Option<usize> = None;
    let mut pending: Vec<String> = Vec::new();
    // Whether the last line was a key, so that the next keys share its comment.
    let mut in_keys = false;
    for line in text.lines() {
        let line = line.trim_end();
        let (commented, body) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.strip_prefix(' ').unwrap_or(rest)),
            None => (false, line),
        };
        if line.is_empty() {
            flush(
                &mut pending,
                current.and_then(|i| tables.get_mut(i)),
                &mut preamble,
            );
            in_keys = false;
        } else if let Some((name, array)) = header(body) {
            let index = tables
                .iter()
                .position(|t| t.name == name)
                .unwrap_or_else(|| {
                    tables.push(Table {
                        name: name.to_string(),
                        array,
                        ..Table::default()
                    });
                    tables.len() - 1
                });
            // A comment right above a header introduces that table.
            flush(&mut pending, tables.get_mut(index), &mut preamble);
            current = Some(index);
            in_keys = false;
        } else if let (Some(table), Some((key, value))) =
            (current.and_then(|i| tables.get_mut(i)), key_line(body))
        {
            let known = table
                .entries
                .iter()
                .flat_map(|e| &e.keys)
                .any(|k| k.0 == key);
            if !known {
                if !in_keys || !pending.is_empty() || table.entries.is_empty() {
                    table.entries.push(Entry {
                        comment: std::mem::take(&mut pending),
                        keys: Vec::new(),
                    });
                }
                if let Some(entry) = table.entries.last_mut() {
                    entry
                        .keys
                        .push((key.to_string(), value.to_string(), commented));
                }
            }
            pending.clear();
            // Keys after a repeated one (a second [[source]]) start an entry of their own.
            in_keys = !known;
        } else {
            pending.push(body.to_string());
            in_keys = false;
        }
    }
    flush(
        &mut pending,
        current.and_then(|i| tables.get_mut(i)),
        &mut preamble,
    );
    (preamble, tables)
}

/// A comment not followed by a key: a note of the table (or the file's introduction).
fn flush(pending: &mut Vec<String>, table: Option<&mut Table>, preamble: &mut Vec<String>) {
    if pending.is_empty() {
        return;
    }
    let paragraph = std::mem::take(pending);
    match table {
        Some(t) => t.notes.push(paragraph),
        None => preamble.extend(paragraph),
    }
}

/// `[name]` or `[[name]]`: the table's name and whether it is an array of tables.
fn header(line: &str) -> Option<(&str, bool)> {
    let line = line.trim();
    if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
        return Some((name, true));
    }
    let name = line.strip_prefix('[')?.strip_suffix(']')?;
    name.chars()
        .all(|c| c.is_ascii_lowercase() || c == '_')
        .then_some((name, false))
}

/// `key = value`, with the key at the start of the line (an indented `key = …` inside a
/// comment is prose, as in the list of filter fields).
fn key_line(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(" = ")?;
    let is_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    is_key.then_some((key, value.trim()))
}

/// The page, in roff.
pub fn render() -> String {
    let (preamble, tables) = read(EXAMPLE);
    let mut roff = Roff::new();
    roff.control(
        "TH",
        ["FEEDMERGE.TOML", "5", "", "feedmerge", "File Formats"],
    );
    roff.control("SH", ["NAME"]);
    roff.text([roman("feedmerge.toml - feedmerge's configuration file")]);
    roff.control("SH", ["SYNOPSIS"]);
    roff.text([italic(crate::config::DEFAULT_PATH)]);
    roff.control("SH", ["DESCRIPTION"]);
    roff.text([roman(
        "feedmerge(1) reads a TOML file of tables below. Every key is optional except a \
         source's name and url; in [server], [feed], [store], [poll], [dedup] and [publish] \
         the value shown is the default, in [[filter]] and [[source]] an example. The \
         installed file is this page with its values: edit it, check it with \
         feedmerge -c FILE check, and the daemon reloads it by itself.",
    )]);
    paragraph(&mut roff, &preamble);
    for table in &tables {
        let title = if table.array {
            format!("[[{}]]", table.name)
        } else {
            format!("[{}]", table.name)
        };
        roff.control("SH", [title.as_str()]);
        for note in &table.notes {
            paragraph(&mut roff, note);
        }
        // Not `.TP`: its tag is one line, and an entry may show several keys.
        for entry in &table.entries {
            roff.control("PP", []);
            for (key, value, _) in &entry.keys {
                roff.text([bold(key.as_str()), roman(format!(" = {value}"))]);
                roff.control("br", []);
            }
            if !entry.comment.is_empty() {
                roff.control("RS", ["4"]);
                lines(&mut roff, &entry.comment);
                roff.control("RE", []);
            }
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("feedmerge(1), systemd.exec(5) (LoadCredential=)")]);
    roff.render()
}

/// A paragraph of comment lines, breaking before the indented ones (lists).
fn paragraph(roff: &mut Roff, text: &[String]) {
    if text.is_empty() {
        return;
    }
    roff.control("PP", []);
    lines(roff, text);
}

/// Comment lines as filled text, except indented ones (a list), which keep their lines.
fn lines(roff: &mut Roff, text: &[String]) {
    let mut filling = true;
    for line in text {
        let indented = line.starts_with(' ');
        if indented && filling {
            roff.control("nf", []);
        } else if !indented && !filling {
            roff.control("fi", []);
        }
        filling = !indented;
        roff.text([roman(line.as_str())]);
    }
    if !filling {
        roff.control("fi", []);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::known_keys;

    /// The drift test: the example file (and so the page) shows exactly the keys the loader
    /// accepts, table by table.
    #[test]
    fn the_example_and_the_page_show_exactly_the_keys_the_loader_accepts() {
        let (_, tables) = read(EXAMPLE);
        let mut missing = Vec::new();
        let mut unknown = Vec::new();
        for (table, accepted) in known_keys() {
            let shown: Vec<&str> = if table.is_empty() {
                tables.iter().map(|t| t.name.as_str()).collect()
            } else {
                tables
                    .iter()
                    .filter(|t| t.name == table)
                    .flat_map(|t| &t.entries)
                    .flat_map(|e| &e.keys)
                    .map(|k| k.0.as_str())
                    .collect()
            };
            missing.extend(
                accepted
                    .iter()
                    .filter(|k| !shown.contains(k))
                    .map(|k| format!("[{table}] {k}")),
            );
            unknown.extend(
                shown
                    .iter()
                    .filter(|k| !accepted.contains(k))
                    .map(|k| format!("[{table}] {k}")),
            );
        }
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "keys the loader accepts but config/feedmerge.toml does not show: {missing:?}; \
             keys it shows but the loader refuses: {unknown:?}"
        );
        let page = render();
        for (table, accepted) in known_keys() {
            for key in accepted {
                let shown = if table.is_empty() {
                    page.contains(&format!("[{key}]")) || page.contains(&format!("[[{key}]]"))
                } else {
                    page.contains(&format!("\\fB{key}\\fR = "))
                };
                assert!(shown, "feedmerge.toml(5) does not document [{table}] {key}");
            }
        }
    }

    #[test]
    fn keys_under_one_comment_share_it_and_commented_keys_count() {
        let (preamble, tables) = read(
            "# intro\n\n[poll]\n# A fetch must finish within this.\ntimeout = \"30s\"\n\
             connect_timeout = \"10s\"\n# A contact.\n# contact = \"mailto:x\"\n",
        );
        assert_eq!(preamble, ["intro"]);
        let poll = &tables[0];
        assert_eq!(poll.entries.len(), 2);
        assert_eq!(
            poll.entries[0].comment,
            ["A fetch must finish within this."]
        );
        let keys: Vec<&str> = poll.entries[0].keys.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(keys, ["timeout", "connect_timeout"]);
        assert_eq!(
            poll.entries[1].keys[0],
            ("contact".into(), "\"mailto:x\"".into(), true)
        );
    }
}

//! `feedmerge import-opml FILE`: adds the subscriptions of a feed reader's OPML export to the
//! TOML file as `[[source]]` tables.
//!
//! The file is edited with toml_edit, so the person's comments, order and layout stay as they
//! were; new sources are appended. Feeds already listed (same URL) are skipped, names are made
//! unique, a reader folder becomes the source's tag. The result must still pass `check` when
//! the file did before, and replaces the file atomically.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};
use url::Url;

use crate::config::Config;
use crate::exit::Failure;
use crate::opml::{self, Outline};

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    /// (name, url) of each source added.
    pub added: Vec<(String, String)>,
    /// Feeds whose URL the file already listed (or the export listed twice).
    pub already: usize,
    /// Outlines whose feed URL is not an http(s) URL: (title, url).
    pub unusable: Vec<(String, String)>,
}

/// Adds the feeds of `opml_text` to the TOML `config_text`: the new text and what changed.
pub fn merge(config_text: &str, opml_text: &str) -> anyhow::Result<(String, Report)> {
    let mut doc: DocumentMut = config_text
        .parse()
        .context("the config file is not valid TOML")?;
    let outlines = opml::read(opml_text)?;
    let mut names = HashSet::new();
    let mut urls = HashSet::new();
    if let Some(existing) = doc.get("source") {
        let Some(tables) = existing.as_array_of_tables() else {
            anyhow::bail!("`source` in the config is not a list of [[source]] tables");
        };
        for t in tables.iter() {
            if let Some(name) = t.get("name").and_then(Item::as_str) {
                names.insert(name.to_lowercase());
            }
            if let Some(url) = t.get("url").and_then(Item::as_str) {
                urls.insert(url_key(url));
            }
        }
    }
    let mut report = Report::default();
    let mut added = Vec::new();
    for o in outlines {
        let Some(url) = Url::parse(&o.xml_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            report.unusable.push((o.title, o.xml_url));
            continue;
        };
        if !urls.insert(url_key(url.as_str())) {
            report.already += 1;
            continue;
        }
        let name = unique_name(&o, &url, &mut names);
        added.push(table(&name, &url, &o));
        report.added.push((name, url.to_string()));
    }
    if !added.is_empty() {
        if doc.get("source").is_none() {
            doc.insert("source", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        if let Some(tables) = doc.get_mut("source").and_then(Item::as_array_of_tables_mut) {
            for t in added {
                tables.push(t);
            }
        }
    }
    Ok((doc.to_string(), report))
}

/// URLs compare without the trailing slash and scheme case a reader may have changed.
fn url_key(url: &str) -> String {
    let url = Url::parse(url.trim()).map_or_else(|_| url.trim().to_string(), |u| u.to_string());
    url.trim_end_matches('/').to_string()
}

fn unique_name(o: &Outline, url: &Url, taken: &mut HashSet<String>) -> String {
    let base = Some(o.title.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| {
            url.host_str()
                .map(|h| h.trim_start_matches("www.").to_string())
        })
        .unwrap_or_else(|| url.to_string());
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.to_lowercase()) {
        name = format!("{base} ({n})");
        n += 1;
    }
    name
}

fn table(name: &str, url: &Url, o: &Outline) -> Table {
    let mut t = Table::new();
    t.decor_mut().set_prefix("\n");
    t["name"] = value(name);
    t["url"] = value(url.as_str());
    if let Some(folder) = &o.folder {
        let mut tags = Array::new();
        tags.push(folder.as_str());
        t["tags"] = value(tags);
    }
    t
}

/// Runs the command: edits `config_path` in place and prints what it added.
pub fn run(config_path: &Path, opml_path: &Path) -> Result<(), Failure> {
    let config_text = std::fs::read_to_string(config_path).map_err(|e| {
        Failure::Other(anyhow::anyhow!(
            "cannot read the config file {}: {e}",
            config_path.display()
        ))
    })?;
    let opml_bytes = std::fs::read(opml_path)
        .map_err(|e| Failure::Other(anyhow::anyhow!("cannot read {}: {e}", opml_path.display())))?;
    let opml_text = String::from_utf8_lossy(&opml_bytes);
    let (new_text, report) = merge(&config_text, &opml_text)
        .map_err(|e| Failure::Other(e.context(format!("import {}", opml_path.display()))))?;
    if !report.added.is_empty() {
        // Never turn a working config into a broken one.
        if Config::parse(config_path, &config_text).is_ok() {
            Config::parse(config_path, &new_text)?;
        }
        write_atomically(config_path, &new_text).map_err(|e| {
            Failure::Other(anyhow::anyhow!(
                "cannot write {}: {e:#}",
                config_path.display()
            ))
        })?;
    }
    let mut out = std::io::stdout().lock();
    for (name, url) in &report.added {
        let _ = writeln!(out, "added {name}: {url}");
    }
    for (title, url) in &report.unusable {
        let _ = writeln!(out, "skipped {title}: {url:?} is not an http(s) URL");
    }
    let _ = writeln!(
        out,
        "{}: added {} feeds; {} already listed, {} not usable",
        config_path.display(),
        report.added.len(),
        report.already,
        report.unusable.len()
    );
    Ok(())
}

/// Writes beside the file and renames over it, keeping its permissions: a crash leaves the old
/// file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    let permissions = std::fs::metadata(path)?.permissions();
    std::fs::set_permissions(tmp.path(), permissions)?;
    tmp.persist(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_new_feeds_keeping_comments_and_skipping_known_ones() {
        let config = "# my feeds\n[feed]\ntitle = \"Mine\"  # shown to readers\n\n[[source]]\nname = \"Julia Evans\"\nurl = \"http://jvns.ca/atom.xml\"\n";
        let opml = r#"<opml><body><outline text="Blogs">
            <outline text="Julia" xmlUrl="http://jvns.ca/atom.xml/"/>
            <outline text="Julia Evans" xmlUrl="https://jvns.ca/other.xml"/>
            <outline text="Bad" xmlUrl="feed:foo"/></outline></body></opml>"#;
        let (text, report) = merge(config, opml).unwrap();
        assert!(text.starts_with(config), "{text}");
        assert_eq!(report.already, 1);
        assert_eq!(
            report.added,
            [(
                "Julia Evans (2)".to_string(),
                "https://jvns.ca/other.xml".to_string()
            )]
        );
        assert!(text.ends_with("\n[[source]]\nname = \"Julia Evans (2)\"\nurl = \"https://jvns.ca/other.xml\"\ntags = [\"Blogs\"]\n"), "{text}");
        assert_eq!(report.unusable.len(), 1);
        let (again, report) = merge(&text, opml).unwrap();
        assert_eq!((again, report.added.len()), (text, 0));
    }
}

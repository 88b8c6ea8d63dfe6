//! OPML: `/sources.opml` from the daemon, and `feedmerge import-opml` on real reader exports.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::process::{run_cli, write_config, Daemon};
use crate::support::{corpora, get, wait_for};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/feedmerge.toml");

fn opml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            opml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "opml") {
            out.push(path);
        }
    }
}

/// The distinct http(s) feed URLs of a document, found by a plain pattern rather than by the
/// code under test: every `xmlUrl` attribute, in any case, entities decoded.
fn expected_urls(text: &str) -> HashSet<String> {
    let re = regex::Regex::new(r#"(?i)\bxmlurl\s*=\s*("([^"]*)"|'([^']*)')"#).unwrap();
    re.captures_iter(text)
        .filter_map(|c| c.get(2).or(c.get(3)))
        .map(|m| html_escape::decode_html_entities(m.as_str().trim()).into_owned())
        .filter_map(|u| url::Url::parse(&u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.to_string().trim_end_matches('/').to_string())
        .collect()
}

#[test]
fn import_opml_adds_each_feed_of_real_exports_once_and_keeps_the_file_as_written() {
    let mut files = Vec::new();
    opml_files(&corpora().join("opml-corpus"), &mut files);
    files.sort();
    assert!(files.len() >= 50, "the OPML corpus is missing");
    let example = std::fs::read_to_string(EXAMPLE).unwrap();
    let listed: HashSet<String> = regex::Regex::new(r#"(?m)^url = "([^"]*)""#)
        .unwrap()
        .captures_iter(&example)
        .map(|c| c[1].trim_end_matches('/').to_string())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feedmerge.toml");
    let config_arg = config.to_str().unwrap();
    for file in &files {
        std::fs::write(&config, &example).unwrap();
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
        let expected: HashSet<String> = &expected_urls(&text) - &listed;
        let (code, out, err) = run_cli(&["-c", config_arg, "import-opml", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {err}", file.display());
        let added: HashSet<String> = out
            .lines()
            .filter_map(|l| l.strip_prefix("added "))
            .filter_map(|l| l.rsplit_once(": "))
            .map(|(_, url)| url.trim_end_matches('/').to_string())
            .collect();
        let added_lines = out.lines().filter(|l| l.starts_with("added ")).count();
        assert_eq!(
            added_lines,
            added.len(),
            "{}: a feed added twice",
            file.display()
        );
        assert_eq!(added, expected, "{}", file.display());

        let after = std::fs::read_to_string(&config).unwrap();
        assert!(
            after.starts_with(&example),
            "{}: the existing text, comments included, is kept",
            file.display()
        );
        let (code, _, err) = run_cli(&["-c", config_arg, "check"]);
        assert_eq!(
            code,
            0,
            "{}: the result passes check: {err}",
            file.display()
        );
    }

    // Importing the same export again adds nothing and leaves the file alone.
    let file = files
        .iter()
        .find(|f| f.ends_with("with_category/Japan.opml"))
        .unwrap();
    let before = std::fs::read_to_string(&config).unwrap();
    let last = files.last().unwrap();
    let (code, out, _) = run_cli(&["-c", config_arg, "import-opml", last.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(!out.lines().any(|l| l.starts_with("added ")), "{out}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // Nested folders become tags.
    std::fs::write(&config, &example).unwrap();
    let (code, _, _) = run_cli(&["-c", config_arg, "import-opml", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    let config_text = std::fs::read_to_string(&config).unwrap();
    assert!(config_text.contains("tags = [\"Japan\"]"), "{config_text}");
}

#[test]
fn import_opml_accepts_odd_case_raw_ampersands_and_names_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[("Existing", "https://a.example/feed".into())],
        "15m",
        "",
    );
    let export = dir.path().join("export.opml");
    std::fs::write(
        &export,
        "<?xml version=\"1.0\"?>\n<opml version=\"1.0\"><body>\n\
         <outline title=\"Tech & Science\"><outline TEXT=\"Q&A Weekly\" XMLURL=\"https://q.example/rss?x=1&y=2\"/></outline>\n\
         <outline text=\"Existing again\" xmlurl=\"https://a.example/feed/\"/>\n\
         <outline text=\"Mail\" xmlUrl=\"mailto:x@example.org\"/>\n\
         </body></opml>\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&[
        "-c",
        config.to_str().unwrap(),
        "import-opml",
        export.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("added Q&A Weekly: https://q.example/rss?x=1&y=2\n"),
        "{out}"
    );
    assert!(out.contains("skipped Mail"), "{out}");
    assert!(
        out.contains("added 1 feeds; 1 already listed, 1 not usable"),
        "{out}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("tags = [\"Tech & Science\"]"), "{text}");

    let missing = dir.path().join("nope.opml");
    let (code, _, err) = run_cli(&[
        "-c",
        config.to_str().unwrap(),
        "import-opml",
        missing.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("nope.opml"), "{err}");
}

#[test]
fn sources_opml_lists_every_source_and_imports_back_into_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[],
        "15m",
        "[[source]]\nname = \"Bay & Post\"\nurl = \"https://bay.example/rss\"\ntags = [\"local\", \"news\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"https://wire.example/atom.xml\"\n",
    );
    let daemon = Daemon::start(&config);
    let (status, headers, body) = wait_for("the OPML", Duration::from_secs(10), || {
        get(&daemon.url("sources.opml"), &[])
    });
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/x-opml; charset=utf-8");
    assert!(headers.contains_key("etag"));
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("xmlUrl=\"https://bay.example/rss\""),
        "{text}"
    );
    assert!(text.contains("category=\"/local,/news\""), "{text}");

    let other = tempfile::tempdir().unwrap();
    let target = write_config(other.path(), &[], "15m", "");
    let export = other.path().join("sources.opml");
    std::fs::write(&export, &text).unwrap();
    let (code, out, err) = run_cli(&[
        "-c",
        target.to_str().unwrap(),
        "import-opml",
        export.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("added Bay & Post: https://bay.example/rss\n"),
        "{out}"
    );
    assert!(
        out.contains("added Wire: https://wire.example/atom.xml\n"),
        "{out}"
    );
    let imported = std::fs::read_to_string(&target).unwrap();
    assert!(imported.contains("tags = [\"local\"]"), "{imported}");
}

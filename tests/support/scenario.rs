//! One test's world: a fixture origin, a temp dir holding the config and the store, and the real
//! binary run against that config (`once`, any command, or the daemon).
//!
//! ```ignore
//! let s = Scenario::new().rss("A", "a.xml", &[("a1", "Title", "https://a.example/x", DATE)]);
//! let (code, out, err) = s.once();
//! ```
//!
//! The config is [`write_config`]'s (store in the temp dir, port 0, `interval` 15m unless
//! set) with the sources in the order they were added and the extra TOML after them; it is
//! written on first use and never again, so a test may edit the file afterwards.

use std::cell::OnceCell;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

use super::origin::Origin;
use super::process::{run_cli, write_config, Daemon};
use crate::feeds::{rss, Item};

pub struct Scenario {
    origin: Option<Origin>,
    dir: tempfile::TempDir,
    /// (name, URL)
    sources: Vec<(String, String)>,
    interval: String,
    extra: String,
    listen: Option<u16>,
    config: OnceCell<PathBuf>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::new()
    }
}

impl Scenario {
    /// A started origin, an empty temp dir, no sources, polled every 15 minutes.
    pub fn new() -> Scenario {
        Scenario {
            origin: Some(Origin::start()),
            dir: tempfile::tempdir().expect("temp dir"),
            sources: Vec::new(),
            interval: "15m".into(),
            extra: String::new(),
            listen: None,
            config: OnceCell::new(),
        }
    }

    /// The origin serves `items` as an RSS 2.0 feed titled `name` at `path`, and the config
    /// lists it as source `name`.
    pub fn rss(self, name: &str, path: &str, items: &[Item]) -> Scenario {
        self.feed(name, path, rss(name, items))
    }

    /// The origin serves `body` (as `application/rss+xml`) at `path`, and the config lists it
    /// as source `name`.
    pub fn feed(self, name: &str, path: &str, body: impl Into<Vec<u8>>) -> Scenario {
        self.origin().feed(path, body, "application/rss+xml");
        self.source(name, path)
    }

    /// Lists `path` of the origin as source `name`, whatever the origin answers there.
    pub fn source(mut self, name: &str, path: &str) -> Scenario {
        let url = self.origin().url(path);
        self.sources.push((name.into(), url));
        self
    }

    /// The `[poll] interval`.
    pub fn interval(mut self, interval: &str) -> Scenario {
        self.interval = interval.into();
        self
    }

    /// TOML appended after the sources, verbatim (several calls append in order).
    pub fn config(mut self, extra: &str) -> Scenario {
        self.extra.push_str(extra);
        self
    }

    /// `[server] listen` on this fixed port instead of port 0 (the CLI reaches a running
    /// daemon at that address).
    pub fn listen(mut self, port: u16) -> Scenario {
        self.listen = Some(port);
        self
    }

    pub fn origin(&self) -> &Origin {
        self.origin.as_ref().expect("the origin was stopped")
    }

    /// Stops the origin: from now on nothing new can be fetched.
    pub fn stop_origin(&mut self) {
        self.origin = None;
    }

    /// The temp dir (the store is `store/` in it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The config file, written the first time it is asked for.
    pub fn config_path(&self) -> &Path {
        self.config.get_or_init(|| {
            let path = write_config(self.dir(), &self.source_list(), &self.interval, &self.extra);
            if let Some(port) = self.listen {
                let text = std::fs::read_to_string(&path)
                    .unwrap()
                    .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
                std::fs::write(&path, text).unwrap();
            }
            path
        })
    }

    /// The config path as the `-c` argument.
    pub fn c(&self) -> &str {
        self.config_path().to_str().expect("utf-8 path")
    }

    fn source_list(&self) -> Vec<(&str, String)> {
        self.sources
            .iter()
            .map(|(name, url)| (name.as_str(), url.clone()))
            .collect()
    }

    /// `feedmerge -c CONFIG ARGS…`: (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["-c", self.c()];
        all.extend_from_slice(args);
        run_cli(&all)
    }

    /// `feedmerge -c CONFIG once`.
    pub fn once(&self) -> (i32, String, String) {
        self.cli(&["once"])
    }

    /// `feedmerge -c CONFIG run`, once it serves. The daemon borrows the scenario, so the
    /// origin and the store outlive it (a `Scenario::new()….run()` temporary does not compile).
    pub fn run(&self) -> Running<'_> {
        Running {
            daemon: Daemon::start(self.config_path()),
            _scenario: PhantomData,
        }
    }
}

/// A [`Daemon`] started by [`Scenario::run`]; killed when dropped.
pub struct Running<'s> {
    daemon: Daemon,
    _scenario: PhantomData<&'s Scenario>,
}

impl Deref for Running<'_> {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl DerefMut for Running<'_> {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}

/// A port free at the time of asking, for a config that needs a fixed one.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A config file written by hand in a temp dir, for what `check` and `run` say about it.
pub struct ConfigFile {
    _dir: tempfile::TempDir,
    path: String,
}

impl ConfigFile {
    /// `name` in a new temp dir, not written yet.
    pub fn new(name: &str) -> ConfigFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name).display().to_string();
        ConfigFile { _dir: dir, path }
    }

    /// The path, as `check` prints it at the start of each problem.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Replaces the file's text.
    pub fn write(&self, text: &str) -> &ConfigFile {
        std::fs::write(&self.path, text).expect("write config");
        self
    }

    /// `feedmerge -c FILE ARGS…`: asserts the exit `code` and that stderr contains each of
    /// `expected`, where `{p}` stands for the file's path. Returns (stdout, stderr).
    pub fn expect(&self, args: &[&str], code: i32, expected: &[&str]) -> (String, String) {
        let mut all = vec!["-c", self.path()];
        all.extend_from_slice(args);
        let (got, out, err) = run_cli(&all);
        assert_eq!(got, code, "{out}{err}");
        for line in expected {
            let line = line.replace("{p}", self.path());
            assert!(err.contains(&line), "no {line:?} in:\n{err}");
        }
        (out, err)
    }
}

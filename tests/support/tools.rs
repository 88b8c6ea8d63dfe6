//! External programs the tests drive as real clients (chromium, feedparser, newsboat).
//!
//! CI installs them (`.ci/run`), so there (`CI` set) a missing one fails the test with a clear
//! message. On a developer's machine a missing one skips the test with a note, so that
//! `cargo test` works on a fresh machine; `.ci/run` installs them anywhere.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::wait_for;

/// Whether `program` can be run; `false` when it is missing outside CI (the test skips).
pub fn require(program: &str, install_hint: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    if found {
        return true;
    }
    if std::env::var_os("CI").is_none() {
        eprintln!("skipping: {program} is not installed ({install_hint}; .ci/run installs it)");
        return false;
    }
    panic!("{program} is not installed ({install_hint}); .ci/run installs it");
}

/// Whether Python 3 with `module` can be run, on the same terms as [`require`].
pub fn require_python_module(module: &str) -> bool {
    if !require("python3", "apt-get install python3") {
        return false;
    }
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    if std::env::var_os("CI").is_none() {
        eprintln!("skipping: Python module {module} is missing (pip install {module}; .ci/run installs it)");
        return false;
    }
    panic!("Python module {module} is not installed (pip install {module}); .ci/run installs it");
}

/// Runs `program args` in `cwd`, killing it after `limit`: its output.
pub fn run(program: &str, args: &[&str], cwd: &Path, limit: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut buf);
        buf
    });
    let mut guard = KillOnDrop(child);
    let status = wait_for(&format!("{program} to finish"), limit, || {
        guard.0.try_wait().ok().flatten()
    });
    Output {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    }
}

/// Kills the child if the test gives up on it (a timeout panics), so no process outlives it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

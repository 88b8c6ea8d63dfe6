//! The real `feedmerge` binary: configs in temp dirs, the daemon as a child process, signals.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::wait_for;

pub const BIN: &str = env!("CARGO_BIN_EXE_feedmerge");

/// Writes `feedmerge.toml` in `dir`: the store in `dir/store`, a server on port 0, and the
/// given `[[source]]` (name, url) list polled every `interval`. `extra` is appended verbatim.
pub fn write_config(
    dir: &Path,
    sources: &[(&str, String)],
    interval: &str,
    extra: &str,
) -> PathBuf {
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n[poll]\ninterval = \"{interval}\"\nmin_interval = \"1s\"\ntimeout = \"5s\"\nconnect_timeout = \"2s\"\n",
        dir.join("store").display()
    );
    for (name, url) in sources {
        text.push_str(&format!("[[source]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    text.push_str(extra);
    let path = dir.join("feedmerge.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs `feedmerge ARGS` to completion: (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("run feedmerge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `feedmerge run` (or `demo`); killed when dropped.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub base: String,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts `feedmerge -c CONFIG run` and waits until it serves.
    pub fn start(config: &Path) -> Daemon {
        Daemon::spawn(&["-c", config.to_str().expect("utf-8 path"), "run"])
    }

    /// Starts the binary with `args` and waits for its "serving http://…" line on stdout.
    pub fn spawn(args: &[&str]) -> Daemon {
        Daemon::spawn_with_env(args, &[])
    }

    /// The same, with extra environment variables.
    pub fn spawn_with_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Daemon {
        let mut child = Command::new(BIN)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn feedmerge");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().expect("stderr");
        let err_buf = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                let mut buf = err_buf.lock().unwrap();
                buf.push_str(&line);
                buf.push('\n');
            }
        });
        let out_pipe = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("http://").nth(1) {
                    if line.contains("feed.xml") {
                        let addr = rest.split('/').next().unwrap_or_default().to_string();
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "feedmerge did not start serving; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        Daemon {
            child,
            base: format!("http://{addr}/"),
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Resident memory of the daemon (VmRSS), in KiB.
    pub fn memory_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (bounded).
    pub fn wait_log(&self, needle: &str) {
        wait_for(
            &format!("log line {needle:?}"),
            Duration::from_secs(30),
            || self.stderr().contains(needle).then_some(()),
        );
    }

    /// Waits until the log contains `needle` `n` times (bounded).
    pub fn wait_log_count(&self, needle: &str, n: usize) {
        wait_for(
            &format!("{n}× log line {needle:?}"),
            Duration::from_secs(30),
            || (self.stderr().matches(needle).count() >= n).then_some(()),
        );
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let child = &mut self.child;
        wait_for("feedmerge to exit", Duration::from_secs(30), || {
            child.try_wait().ok().flatten()
        })
    }

    /// Waits at most `limit` for the process to exit: `None` if it is still running.
    pub fn wait_exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().ok().flatten() {
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The `127.0.0.1:PORT` the daemon serves on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("the daemon's address")
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        self.signal("KILL");
        self.wait_exit();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

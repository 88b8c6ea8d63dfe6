//! systemd integration: `READY=1` once serving, `STATUS=` lines, `WATCHDOG=1` only while the
//! daemon is actually working, and `STOPPING=1` on shutdown. Outside systemd (no
//! `NOTIFY_SOCKET`) every call is a no-op.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

/// Signs of life the watchdog checks before it pings.
#[derive(Debug, Default)]
pub struct Health {
    /// When the ingest task last proved it can read the store (unix seconds).
    store_ok_at: AtomicI64,
    /// Pollers running, and pollers configured.
    pub pollers_running: AtomicUsize,
    pub pollers_expected: AtomicUsize,
}

impl Health {
    pub fn store_ok(&self) {
        self.store_ok_at
            .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// Healthy when the store answered within `within` and every poller runs.
    pub fn healthy(&self, within: Duration) -> bool {
        let age = chrono::Utc::now().timestamp() - self.store_ok_at.load(Ordering::Relaxed);
        age <= within.as_secs() as i64
            && self.pollers_running.load(Ordering::Relaxed)
                >= self.pollers_expected.load(Ordering::Relaxed)
    }
}

fn send(state: NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(&[state]) {
        tracing::debug!("sd_notify failed: {e}");
    }
}

pub fn ready() {
    send(NotifyState::Ready);
}

pub fn stopping() {
    send(NotifyState::Stopping);
}

pub fn status(text: &str) {
    send(NotifyState::Status(text));
}

/// How often ingest proves the store healthy; the watchdog tolerates three missed beats.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Pings the systemd watchdog at half its interval while `health` holds, until `shutdown`.
/// A stuck store or dead pollers stop the pings, and systemd restarts the service.
pub async fn watchdog(health: Arc<Health>, shutdown: CancellationToken) {
    let Some(interval) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut tick = tokio::time::interval(interval / 2);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if health.healthy(HEARTBEAT * 3) {
            send(NotifyState::Watchdog);
        } else {
            tracing::warn!("not pinging the watchdog: the store or the pollers are not healthy");
        }
    }
}

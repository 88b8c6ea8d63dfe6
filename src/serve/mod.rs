//! Stage 7: serve the merged feeds over HTTP (hyper's HTTP/1, axum's router).
//!
//! Feed handlers never touch the store or build XML: they copy bytes out of the latest
//! [`Snapshot`] (a `watch` channel the ingest task updates). Conditional requests
//! (`If-None-Match`, `If-Modified-Since`) get `304`; clients that accept brotli or gzip get a
//! pre-compressed body. `HEAD` answers the same headers without the body. Only `/stories/…`,
//! `/dropped.json`, `/status` and the archive pages read the store, off the async threads.
//!
//! [`serve`] runs the accept loop itself: the live feeds are answered straight from the
//! connection's snapshot, before the router, since they are most of the traffic.
//!
//! The parts: `live` (the live feeds from prebuilt heads and memfds), `routes` (everything
//! else, through axum's [`router`]), `negotiate` (which response a request gets), `heads`
//! (response heads from a rendered document's values) and `per_snapshot` (what is made once
//! per snapshot and shared by every connection).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service as _;

use crate::render::{Rendered, Snapshot};
use crate::store::Store;

mod heads;
mod live;
mod negotiate;
mod per_snapshot;
mod request;
mod routes;

use request::{before_routing, valid_host, ALLOW};
pub use routes::router;

/// What the handlers read.
#[derive(Clone)]
pub struct Shared {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub store: Store,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The configured sources, replaced on reload.
    pub sources: watch::Receiver<Arc<Vec<crate::config::Source>>>,
    /// The server's time limits, replaced on reload (a connection keeps those it was
    /// accepted with).
    pub limits: watch::Receiver<ConnectionLimits>,
}

/// How long a client has to send a request's head (see [`serve`]); the same in [`live`],
/// which hands hyper only complete heads (or too large ones), so the time a head took there
/// is not given again.
const HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The largest request head, request line included, either path takes: past it, `431`
/// (hyper answers it; the live path hands such a head over with what it read, from which
/// hyper answers at once).
const MAX_HEAD: usize = 32 * 1024;

/// The server's time limits, from `[server]` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A response the client takes no byte of for this long is abandoned and its connection
    /// closed, on both paths.
    pub write_timeout: std::time::Duration,
    /// How long connections may go on sending once the server stops; then they are dropped.
    pub shutdown_grace: std::time::Duration,
}

impl From<&crate::config::Server> for ConnectionLimits {
    fn from(server: &crate::config::Server) -> ConnectionLimits {
        ConnectionLimits {
            write_timeout: server.write_timeout,
            shutdown_grace: server.shutdown_grace,
        }
    }
}

/// The paths of the live feeds, served from the snapshot before the router.
const LIVE_PATHS: [&str; 5] = ["/feed.xml", "/atom.xml", "/feed.json", "/sources.opml", "/"];

/// Where `path` is in [`LIVE_PATHS`].
fn live_index(path: &str) -> Option<usize> {
    LIVE_PATHS.iter().position(|p| *p == path)
}

/// The live document at `LIVE_PATHS[i]`.
fn live_doc(snapshot: &Snapshot, i: usize) -> Option<&Rendered> {
    match i {
        0 => Some(&snapshot.rss),
        1 => Some(&snapshot.atom),
        2 => Some(&snapshot.json),
        3 => Some(&snapshot.opml),
        4 => Some(&snapshot.html),
        _ => None,
    }
}

/// A response body: the rendered bytes (or none, for `304` and `HEAD`), or whatever a routed
/// handler answered. Rendered bytes go out as one frame that shares the snapshot's buffer.
pub enum FeedBody {
    Bytes(Option<Bytes>),
    Routed(axum::body::Body),
}

impl http_body::Body for FeedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        match self.get_mut() {
            FeedBody::Bytes(bytes) => {
                Poll::Ready(bytes.take().map(|b| Ok(http_body::Frame::data(b))))
            }
            FeedBody::Routed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            FeedBody::Bytes(bytes) => bytes.is_none(),
            FeedBody::Routed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            FeedBody::Bytes(Some(bytes)) => http_body::SizeHint::with_exact(bytes.len() as u64),
            // No body (`304`, `HEAD`): not an exact 0, or axum would add `Content-Length: 0`,
            // which a `304` must not carry (RFC 9110 §8.6) and which for a `HEAD` would not
            // be the length of the `200`. The heads carry the right one.
            FeedBody::Bytes(None) => http_body::SizeHint::default(),
            FeedBody::Routed(body) => body.size_hint(),
        }
    }
}

/// Serves HTTP/1.1 on `listener` until `stop` is cancelled, then stops accepting, lets every
/// connection finish the response it is sending, and returns once all are closed, or once
/// the shutdown grace ([`ConnectionLimits`]) is over, dropping those still open: a client that does not
/// read cannot hold the daemon's shutdown.
///
/// A connection starts in [`live`], which answers the live feeds ([`LIVE_PATHS`]) from
/// prebuilt heads and sends bodies with `sendfile`; it keeps the snapshot it last used and
/// only looks at the channel again when it changed, so a request touches no shared counter.
/// At the first request `live` does not answer, the connection moves to hyper and [`router`].
pub async fn serve(
    listener: TcpListener,
    shared: Shared,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let routed = router(shared.clone());
    let connections = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // A client gets HEAD_TIMEOUT to send each request's head, counted from when the server
    // starts waiting for it (so an idle keep-alive connection is closed after it too):
    // otherwise a client that connects and sends nothing, or one byte a minute, holds a
    // connection and its descriptor for ever. A head larger than MAX_HEAD gets 431, as on
    // the live path (hyper's default is ~400 KB).
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_header_size(MAX_HEAD);
    let spools = Arc::new(live::Spools::default());
    loop {
        let stream = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::error!("cannot accept a connection: {e}");
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        // Responses are written whole; waiting for an ACK before the last segment only adds
        // latency.
        let _ = stream.set_nodelay(true);
        let snapshot = ConnectionSnapshot::new(shared.snapshots.clone());
        let routed = routed.clone();
        let spools = spools.clone();
        let http = http.clone();
        let limits = *shared.limits.borrow();
        // Each connection waits on its own child token: polling it on every request then
        // touches only this connection's waiter, not one shared by all of them.
        let stop = stop.child_token();
        connections.spawn(async move {
            let served = connection(stream, snapshot, &spools, routed, http, &stop, limits);
            // Once the daemon stops, the response being sent has the grace to finish; then the
            // connection is dropped (closed) wherever it is.
            let grace_over = async {
                stop.cancelled().await;
                tokio::time::sleep(limits.shutdown_grace).await;
            };
            tokio::select! {
                biased;
                () = served => {}
                () = grace_over => {
                    tracing::debug!("closing a connection still sending at the end of the shutdown grace");
                }
            }
        });
    }
    drop(listener);
    connections.close();
    // Each connection drops itself at the end of the grace it was accepted with; the margin
    // covers the scheduling in between. One still running after it (a reload shortened the
    // grace meanwhile) ends on its own, at the end of its grace.
    let grace = shared.limits.borrow().shutdown_grace;
    if tokio::time::timeout(
        grace + std::time::Duration::from_secs(1),
        connections.wait(),
    )
    .await
    .is_err()
    {
        tracing::warn!(
            "connections still open after the shutdown grace are left to end on their own"
        );
    }
    Ok(())
}

/// One connection: the live path first, then hyper for the rest of its life.
async fn connection(
    mut stream: tokio::net::TcpStream,
    mut snapshot: ConnectionSnapshot,
    spools: &live::Spools,
    routed: Router,
    http: hyper::server::conn::http1::Builder,
    stop: &CancellationToken,
    limits: ConnectionLimits,
) {
    let live = live::answer(
        &mut stream,
        &mut snapshot,
        spools,
        stop,
        limits.write_timeout,
    );
    let read = match live.await {
        live::Outcome::Closed => return,
        live::Outcome::HandOver(read) => read,
    };
    let service = Connection { routed };
    let io = TokioIo::new(live::Prefixed::new(read, stream, limits.write_timeout));
    let conn = http.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        biased;
        _ = conn.as_mut() => return,
        () = stop.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// Errors that concern one connection only (the peer gave up before we accepted it).
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// The latest snapshot as one connection last saw it.
struct ConnectionSnapshot {
    channel: watch::Receiver<Arc<Snapshot>>,
    current: Arc<Snapshot>,
}

impl ConnectionSnapshot {
    fn new(mut channel: watch::Receiver<Arc<Snapshot>>) -> ConnectionSnapshot {
        let current = channel.borrow_and_update().clone();
        ConnectionSnapshot { channel, current }
    }

    /// The newest snapshot: a version check, and a borrow only after a change.
    fn latest(&mut self) -> &Snapshot {
        // An error means the daemon is shutting down: the last snapshot stays valid.
        if self.channel.has_changed().unwrap_or(false) {
            self.current = self.channel.borrow_and_update().clone();
        }
        &self.current
    }
}

/// One connection's service once [`live`] has handed it over: everything through the router
/// (the live feeds too, for the clients `live` leaves to hyper: HTTP/1.0, `Connection: close`).
struct Connection {
    routed: Router,
}

impl hyper::service::Service<axum::http::Request<hyper::body::Incoming>> for Connection {
    type Response = axum::http::Response<FeedBody>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<axum::http::Response<FeedBody>, Infallible>> + Send>>;

    fn call(&self, req: axum::http::Request<hyper::body::Incoming>) -> Self::Future {
        if let Some(refused) = before_routing(&req) {
            return Box::pin(std::future::ready(Ok(refused)));
        }
        // The router is always ready (`poll_ready` only exists for tower's contract).
        let answer = self.routed.clone().call(req.map(axum::body::Body::new));
        Box::pin(async move {
            let Ok(response) = answer.await;
            Ok(response.map(FeedBody::Routed))
        })
    }
}

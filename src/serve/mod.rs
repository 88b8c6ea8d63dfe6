//! Stage 7: serve the merged feeds over HTTP (hyper's HTTP/1, axum's router).
//!
//! Feed handlers never touch the store or build XML: they copy bytes out of the latest
//! [`Snapshot`] (a `watch` channel the ingest task updates). Conditional requests
//! (`If-None-Match`, `If-Modified-Since`) get `304`; clients that accept brotli or gzip get a
//! pre-compressed body. `HEAD` answers the same headers without the body. Only `/stories/…`
//! reads the store, one story at a time, to explain it.
//!
//! [`serve`] runs the accept loop itself: the live feeds are answered straight from the
//! connection's snapshot, before the router, since they are most of the traffic.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
use heads::{Heads, SnapshotHeads};
use per_snapshot::PerSnapshot;

mod heads;
mod live;
mod per_snapshot;

// Feed handlers take the whole `Request` rather than `HeaderMap`, which axum clones per request.

/// What the handlers read.
#[derive(Clone)]
pub struct Shared {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub store: Store,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The configured sources, replaced on reload.
    pub sources: watch::Receiver<Arc<Vec<crate::config::Source>>>,
}

/// The router's state: what the handlers read, and the response heads of the newest
/// snapshot's live and tag documents.
#[derive(Clone)]
struct Routes {
    shared: Shared,
    heads: Arc<PerSnapshot<SnapshotHeads>>,
}

impl axum::extract::FromRef<Routes> for Shared {
    fn from_ref(routes: &Routes) -> Shared {
        routes.shared.clone()
    }
}

impl Routes {
    /// The newest snapshot and its documents' heads.
    fn latest(&self) -> (Arc<Snapshot>, Arc<SnapshotHeads>) {
        let snapshot = self.shared.snapshots.borrow().clone();
        let heads = self.heads.of(&snapshot, |s| SnapshotHeads::of(s));
        (snapshot, heads)
    }
}

/// The routes: `/feed.xml` (RSS 2.0), `/atom.xml` (Atom 1.0), `/feed.json` (JSON Feed 1.1),
/// `/stories/{id}.json` and
/// `/stories.json?url=` (a story with every copy and why it joined), `/healthz`, and `/`.
pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(live_feed))
        .route("/feed.xml", get(live_feed))
        .route("/atom.xml", get(live_feed))
        .route("/feed.json", get(live_feed))
        .route("/sources.opml", get(live_feed))
        .route("/archive/{file}", get(archive))
        .route("/tags/{file}", get(tag_feed))
        .route("/sources/{file}", get(source_feed))
        .route("/stories/{id}", get(story_by_id))
        .route("/stories.json", get(story_by_url))
        .route("/dropped.json", get(dropped_by_url))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(Routes {
            shared,
            heads: Arc::default(),
        })
}

/// Most stories one archive page carries: bounded work per request.
const ARCHIVE_LIMIT: usize = 1000;

/// `/archive/{YYYY-MM-DD}.xml|.atom|.json`: the stories first reported that UTC day (RFC 5005).
/// Unlike the feeds these are read from the store and rendered per request: every past day
/// cannot be re-rendered on each change. Their bytes, and so their ETag, are stable while the
/// day's stories are.
async fn archive(
    State(s): State<Shared>,
    Path(file): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let parsed = file.rsplit_once('.').and_then(|(day, ext)| {
        let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
        matches!(ext, "xml" | "atom" | "json").then(|| (day, ext.to_string()))
    });
    let Some((day, ext)) = parsed else {
        return not_found("archive pages are at /archive/{YYYY-MM-DD}.xml, .atom or .json\n");
    };
    let settings = s.snapshots.borrow().settings.clone();
    let store = s.store;
    let found = tokio::task::spawn_blocking(move || {
        let stories = store.stories_on(day, settings.min_sources, ARCHIVE_LIMIT)?;
        if stories.is_empty() {
            return Ok(None);
        }
        let older = store.day_before(day)?;
        let newer = store.day_after(day)?;
        Ok::<_, crate::store::StoreError>(crate::render::archive(
            &stories, &settings, day, older, newer, &ext,
        ))
    })
    .await;
    match found {
        Ok(Ok(Some(doc))) => respond(&doc, None, &method, &headers).into_response(),
        Ok(Ok(None)) => not_found("no stories were first reported that day\n"),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// `/tags/{tag}.xml` (RSS), `.atom` or `.json`: the stories of sources with that tag.
async fn tag_feed(State(s): State<Routes>, Path(file): Path<String>, req: Request) -> Response {
    let (snapshot, heads) = s.latest();
    let found = file.rsplit_once('.').and_then(|(tag, ext)| {
        let (set, [rss, atom, json]) = (snapshot.tags.get(tag)?, heads.tags.get(tag)?);
        match ext {
            "xml" => Some((&set.rss, rss)),
            "atom" => Some((&set.atom, atom)),
            "json" => Some((&set.json, json)),
            _ => None,
        }
    });
    match found {
        Some((doc, heads)) => respond(doc, Some(heads), req.method(), req.headers()).into_response(),
        None => not_found("no such tag feed: tags are those of the config's sources, at /tags/{tag}.xml, .atom or .json\n"),
    }
}

/// `/sources/{name}.xml`: the merged stories one source carried.
async fn source_feed(State(s): State<Shared>, Path(file): Path<String>, req: Request) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    match file
        .strip_suffix(".xml")
        .and_then(|name| snapshot.sources.get(name, &snapshot.settings))
    {
        Some(doc) => respond(&doc, None, req.method(), req.headers()).into_response(),
        None => not_found("no such source feed: sources are at /sources/{name}.xml, by their name in the config\n"),
    }
}

async fn story_by_id(State(s): State<Shared>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".json") else {
        return not_found("stories are at /stories/{id}.json\n");
    };
    lookup(s.store, id.to_string()).await
}

#[derive(serde::Deserialize)]
struct ByUrl {
    url: String,
}

async fn story_by_url(State(s): State<Shared>, Query(q): Query<ByUrl>) -> Response {
    lookup(s.store, q.url).await
}

async fn status(State(s): State<Shared>) -> Response {
    let sources = s.sources.borrow().clone();
    let store = s.store;
    from_store(move || crate::status::of(&store, &sources).map(Some), "").await
}

async fn metrics(State(s): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn dropped_by_url(State(s): State<Shared>, Query(q): Query<ByUrl>) -> Response {
    let Ok(url) = url::Url::parse(&q.url) else {
        return not_found("not a URL\n");
    };
    let store = s.store;
    from_store(
        move || store.dropped(&url),
        "no filter dropped an entry with that link\n",
    )
    .await
}

async fn lookup(store: Store, query: String) -> Response {
    from_store(
        move || crate::cli::find_story(&store, &query),
        "no stored story has that id or link\n",
    )
    .await
}

/// Runs a store read off the async threads and answers with its result as JSON, `missing` as
/// a 404 when it found nothing, or the error as a 500.
async fn from_store<T, F>(read: F, missing: &'static str) -> Response
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce() -> Result<Option<T>, crate::store::StoreError> + Send + 'static,
{
    let failed = |e: &dyn std::fmt::Display| {
        (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
    };
    match tokio::task::spawn_blocking(read).await {
        Ok(Ok(Some(value))) => match serde_json::to_vec_pretty(&value) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => failed(&e),
        },
        Ok(Ok(None)) => not_found(missing),
        Ok(Err(e)) => failed(&e),
        Err(e) => failed(&e),
    }
}

fn not_found(text: &'static str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The live feeds through the router, for the requests [`live`] leaves to hyper.
async fn live_feed(State(s): State<Routes>, req: Request) -> Response {
    let (snapshot, heads) = s.latest();
    let found =
        live_index(req.uri().path()).and_then(|i| Some((live_doc(&snapshot, i)?, heads.live(i)?)));
    match found {
        Some((doc, heads)) => {
            respond(doc, Some(heads), req.method(), req.headers()).into_response()
        }
        None => not_found("no such feed\n"),
    }
}

/// The response to a GET or HEAD of `doc`: headers cloned from `heads` (built once per
/// snapshot for the documents every snapshot carries), or built for this response for the
/// documents rendered on request (per-source feeds, archive pages), and a body that shares the
/// rendered bytes.
fn respond(
    doc: &Rendered,
    heads: Option<&Heads>,
    method: &Method,
    headers: &HeaderMap,
) -> Response<FeedBody> {
    let variant = choose(doc, headers);
    let (status, body) = match variant {
        Variant::NotModified => (StatusCode::NOT_MODIFIED, None),
        Variant::Brotli => (StatusCode::OK, Some(&doc.brotli)),
        Variant::Gzip => (StatusCode::OK, Some(&doc.gzip)),
        Variant::Identity => (StatusCode::OK, Some(&doc.body)),
    };
    let head = match heads {
        Some(heads) => heads.get(variant).clone(),
        None => heads::head(doc, variant),
    };
    let body = if method == Method::HEAD {
        None
    } else {
        body.cloned()
    };
    let mut response = axum::http::Response::new(FeedBody::Bytes(body));
    *response.status_mut() = status;
    *response.headers_mut() = head;
    response
}

/// Which of a document's prebuilt responses a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    NotModified,
    Brotli,
    Gzip,
    Identity,
}

fn choose(doc: &Rendered, headers: &HeaderMap) -> Variant {
    if not_modified(doc, headers) {
        Variant::NotModified
    } else if accepts(headers, "br") {
        // Brotli is smaller; every client that sends `br` also takes it over gzip.
        Variant::Brotli
    } else if accepts(headers, "gzip") {
        Variant::Gzip
    } else {
        Variant::Identity
    }
}

/// How long a client has to send a request's head (see [`serve`]); the same in [`live`].
const HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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
            FeedBody::Bytes(bytes) => {
                http_body::SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            FeedBody::Routed(body) => body.size_hint(),
        }
    }
}

/// Serves HTTP/1.1 on `listener` until `stop` is cancelled, then stops accepting, lets every
/// connection finish the request it is answering, and returns once all are closed.
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
    // connection and its descriptor for ever.
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
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
        // Each connection waits on its own child token: polling it on every request then
        // touches only this connection's waiter, not one shared by all of them.
        let stop = stop.child_token();
        connections.spawn(async move {
            let (mut stream, mut snapshot) = (stream, snapshot);
            let read = match live::answer(&mut stream, &mut snapshot, &spools, &stop).await {
                live::Outcome::Closed => return,
                live::Outcome::HandOver(read) => read,
            };
            let service = Connection { routed };
            let io = TokioIo::new(live::Prefixed { read, stream });
            let conn = http.serve_connection(io, service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                biased;
                _ = conn.as_mut() => return,
                () = stop.cancelled() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
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
        // The router is always ready (`poll_ready` only exists for tower's contract).
        let answer = self.routed.clone().call(req.map(axum::body::Body::new));
        Box::pin(async move {
            let Ok(response) = answer.await;
            Ok(response.map(FeedBody::Routed))
        })
    }
}

/// RFC 9110 §13.1: `If-None-Match` decides when present; otherwise `If-Modified-Since`.
fn not_modified(doc: &Rendered, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let ours = doc.etag.trim_start_matches("W/");
        return inm
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    matches!((since, doc.modified), (Some(since), Some(modified)) if modified <= since)
}

/// Whether `Accept-Encoding` allows `coding` (by name or `*`, not refused with `q=0`).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn encoding_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts(&h, "gzip"));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts(&h, "gzip"));
        assert!(accepts(&h, "br"));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts(&h, "gzip"));
        assert!(accepts(&h, "br"));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(!accepts(&h, "br"));
    }
}

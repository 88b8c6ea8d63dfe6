//! Stage 7: serve the merged feeds over HTTP with axum.
//!
//! Feed handlers never touch the store or build XML: they copy bytes out of the latest
//! [`Snapshot`] (a `watch` channel the ingest task updates). Conditional requests
//! (`If-None-Match`, `If-Modified-Since`) get `304`; clients that accept brotli or gzip get a
//! pre-compressed body. `HEAD` answers the same headers without the body. Only `/stories/…` reads the store, one story at a time, to explain it.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::render::{Rendered, Snapshot};
use crate::store::Store;

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

/// The routes: `/feed.xml` (RSS 2.0), `/atom.xml` (Atom 1.0), `/feed.json` (JSON Feed 1.1),
/// `/stories/{id}.json` and
/// `/stories.json?url=` (a story with every copy and why it joined), `/healthz`, and `/`.
pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/feed.xml", get(rss))
        .route("/atom.xml", get(atom))
        .route("/feed.json", get(json_feed))
        .route("/sources.opml", get(opml))
        .route("/archive/{file}", get(archive))
        .route("/tags/{file}", get(tag_feed))
        .route("/sources/{file}", get(source_feed))
        .route("/stories/{id}", get(story_by_id))
        .route("/stories.json", get(story_by_url))
        .route("/dropped.json", get(dropped_by_url))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(shared)
}

async fn rss(State(s): State<Shared>, req: Request) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    respond(&snapshot.rss, req.method(), req.headers())
}

async fn atom(State(s): State<Shared>, req: Request) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    respond(&snapshot.atom, req.method(), req.headers())
}

async fn json_feed(State(s): State<Shared>, req: Request) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    respond(&snapshot.json, req.method(), req.headers())
}

async fn opml(State(s): State<Shared>, req: Request) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    respond(&snapshot.opml, req.method(), req.headers())
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
        Ok(Ok(Some(doc))) => respond(&doc, &method, &headers),
        Ok(Ok(None)) => not_found("no stories were first reported that day\n"),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// `/tags/{tag}.xml` (RSS), `.atom` or `.json`: the stories of sources with that tag.
async fn tag_feed(State(s): State<Shared>, Path(file): Path<String>, req: Request) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    let found = file.rsplit_once('.').and_then(|(tag, ext)| {
        let feeds = snapshot.tags.get(tag)?;
        match ext {
            "xml" => Some(&feeds.rss),
            "atom" => Some(&feeds.atom),
            "json" => Some(&feeds.json),
            _ => None,
        }
    });
    match found {
        Some(doc) => respond(doc, req.method(), req.headers()),
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
        Some(doc) => respond(&doc, req.method(), req.headers()),
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

async fn index(State(s): State<Shared>, req: Request) -> Response {
    let snapshot = s.snapshots.borrow().clone();
    respond(&snapshot.html, req.method(), req.headers())
}

fn respond(doc: &Rendered, method: &Method, headers: &HeaderMap) -> Response {
    // Built once per render: cloning shares the values.
    let mut response_headers = doc.headers.clone();
    if not_modified(doc, headers) {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(doc.content_type),
    );
    // Brotli is smaller; every client that sends `br` also takes it over gzip.
    let body = if accepts(headers, "br") {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        doc.brotli.clone()
    } else if accepts(headers, "gzip") {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        doc.gzip.clone()
    } else {
        doc.body.clone()
    };
    if method == Method::HEAD {
        response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        return (StatusCode::OK, response_headers).into_response();
    }
    (StatusCode::OK, response_headers, body).into_response()
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
    let modified = httpdate::parse_http_date(&doc.last_modified).ok();
    matches!((since, modified), (Some(since), Some(modified)) if modified <= since)
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

//! The router hyper serves once the live path has handed a connection over: the live and tag
//! feeds from the snapshot with heads built once per snapshot, the per-source feeds and archive
//! pages rendered on request, and the store's answers about single stories.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;

use super::heads::{self, Heads, SnapshotHeads};
use super::negotiate::{Asked, Variant};
use super::per_snapshot::PerSnapshot;
use super::{live_doc, live_index, FeedBody, Shared};
use crate::render::{Rendered, Snapshot};
use crate::store::Store;

// Feed handlers take the whole `Request` rather than `HeaderMap`, which axum clones per request.

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
///
/// Every route answers GET, HEAD and OPTIONS; other methods RFC 9110 defines get `405`
/// (those it does not, `501`: see [`super::before_routing`]).
pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", page(live_feed))
        .route("/feed.xml", page(live_feed))
        .route("/atom.xml", page(live_feed))
        .route("/feed.json", page(live_feed))
        .route("/sources.opml", page(live_feed))
        .route("/archive/{file}", page(archive))
        .route("/tags/{file}", page(tag_feed))
        .route("/sources/{file}", page(source_feed))
        .route("/stories/{id}", page(story_by_id))
        .route("/stories.json", page(story_by_url))
        .route("/dropped.json", page(dropped_by_url))
        .route("/metrics", page(metrics))
        .route("/status", page(status))
        .route("/healthz", page(|| async { "ok\n" }))
        .with_state(Routes {
            shared,
            heads: Arc::default(),
        })
}

/// A resource read with GET (and so HEAD), that also answers OPTIONS.
fn page<H, T>(handler: H) -> MethodRouter<Routes>
where
    H: axum::handler::Handler<T, Routes>,
    T: 'static,
{
    get(handler).options(|| async { ([(header::ALLOW, super::ALLOW)], ()) })
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

/// `/stories/{id}.json` and `/stories.json?url=`: the story as stored, its HTML sanitized as
/// in the feeds.
async fn lookup(store: Store, query: String) -> Response {
    from_store(
        move || {
            crate::store::find_story(&store, &query)
                .map(|found| found.map(crate::render::sanitize::story))
        },
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

/// The live feeds through the router, for the requests [`live`](super::live) leaves to hyper.
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
/// rendered bytes; `406` when the client refused every coding we have.
fn respond(
    doc: &Rendered,
    heads: Option<&Heads>,
    method: &Method,
    headers: &HeaderMap,
) -> Response<FeedBody> {
    let Some(variant) = Asked::of(doc, headers).variant(doc) else {
        return not_acceptable(method);
    };
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

/// `406`: the request's `Accept-Encoding` refuses brotli, gzip and identity alike (RFC 9110
/// §12.5.3, §15.5.7).
fn not_acceptable(method: &Method) -> Response<FeedBody> {
    const TEXT: &str =
        "this resource is sent as br, gzip or identity; Accept-Encoding refused all three\n";
    let body = (method != Method::HEAD).then(|| bytes::Bytes::from_static(TEXT.as_bytes()));
    let mut response = axum::http::Response::new(FeedBody::Bytes(body));
    *response.status_mut() = StatusCode::NOT_ACCEPTABLE;
    let h = response.headers_mut();
    h.insert(
        header::VARY,
        header::HeaderValue::from_static("Accept-Encoding"),
    );
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, TEXT.len().into());
    response
}

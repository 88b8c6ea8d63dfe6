//! `feedmerge demo`: the whole pipeline on built-in feeds, with no network and no config.
//!
//! Five made-up outlets (RSS 2.0, RSS without a version, RSS 1.0, Atom, JSON Feed) carry the
//! same stories in different shapes: a headline repeated three times, links with tracking
//! parameters, a site-name suffix, HTML entities. An origin server inside the process serves
//! them on 127.0.0.1; the daemon polls it like any other site and merges them.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use url::Url;

use crate::config::{Config, Feed, Poll, Server, Source, StoreSettings};
use crate::exit::Failure;

/// The demo outlets: name, file name, bytes, content type.
pub const FEEDS: &[(&str, &str, &[u8], &str)] = &[
    (
        "Capital Wire",
        "capital-wire.xml",
        include_bytes!("demo/feeds/capital-wire.xml"),
        "application/rss+xml",
    ),
    (
        "Northern Post",
        "northern-post.atom",
        include_bytes!("demo/feeds/northern-post.atom"),
        "application/atom+xml",
    ),
    (
        "Daily Ledger",
        "daily-ledger.json",
        include_bytes!("demo/feeds/daily-ledger.json"),
        "application/feed+json",
    ),
    (
        "Harbor Times",
        "harbor-times.rdf",
        include_bytes!("demo/feeds/harbor-times.rdf"),
        "application/rdf+xml",
    ),
    (
        "Metro Bulletin",
        "metro-bulletin.xml",
        include_bytes!("demo/feeds/metro-bulletin.xml"),
        "application/rss+xml",
    ),
];

/// Serves [`FEEDS`] on 127.0.0.1 (an ephemeral port), with ETags so conditional GET works.
/// Returns the base URL.
pub async fn start_origin() -> std::io::Result<Url> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route(
        "/{file}",
        get(|axum::extract::Path(file): axum::extract::Path<String>, headers: HeaderMap| async move {
            serve_feed(&file, &headers)
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("demo origin server stopped: {e}");
        }
    });
    Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)
}

fn serve_feed(file: &str, headers: &HeaderMap) -> Response {
    let Some((_, _, body, content_type)) = FEEDS.iter().find(|f| f.1 == file) else {
        return (StatusCode::NOT_FOUND, "no such demo feed\n").into_response();
    };
    let etag = format!("\"demo-{}\"", body.len());
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::ETAG, etag),
        ],
        *body,
    )
        .into_response()
}

/// The demo's configuration: the built-in outlets at `origin`, served on `listen`.
pub fn config(origin: &Url, listen: SocketAddr, store: PathBuf) -> Result<Config, Failure> {
    let base_url = Url::parse(&format!("http://{listen}/"))
        .map_err(|e| Failure::Listen(format!("{listen} is not a usable address: {e}")))?;
    let mut sources = Vec::new();
    for (name, file, _, _) in FEEDS {
        let url = origin
            .join(file)
            .map_err(|e| Failure::Other(anyhow::anyhow!("demo feed URL: {e}")))?;
        sources.push(Source {
            name: name.to_string(),
            url,
            interval: Duration::from_secs(300),
            tags: vec!["demo".to_string()],
            priority: 0,
            fetch: Default::default(),
        });
    }
    Ok(Config {
        server: Server {
            listen,
            base_url,
            write_timeout: crate::config::DEFAULT_WRITE_TIMEOUT,
            shutdown_grace: crate::config::DEFAULT_SHUTDOWN_GRACE,
        },
        feed: Feed {
            title: "feedmerge demo".into(),
            description: "Five demo outlets, each story once.".into(),
            max_items: 100,
            author: "feedmerge demo".into(),
            author_email: None,
        },
        store: StoreSettings {
            path: store,
            cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
            retention: Default::default(),
        },
        poll: Poll::default(),
        dedup: crate::dedup::Settings::default(),
        publish: Default::default(),
        filters: Default::default(),
        sources,
    })
}

/// Runs the demo until `shutdown`. With no `store` the stories live in a temporary directory.
pub async fn run(
    listen: SocketAddr,
    store: Option<PathBuf>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let temp;
    let store = match store {
        Some(path) => path,
        None => {
            temp = tempfile::Builder::new()
                .prefix("feedmerge-demo-")
                .tempdir()
                .map_err(|e| Failure::Store(format!("cannot create a temporary store: {e}")))?;
            temp.path().to_path_buf()
        }
    };
    let origin = start_origin()
        .await
        .map_err(|e| Failure::Listen(format!("cannot start the demo feed server: {e}")))?;
    let config = config(&origin, listen, store)?;
    let (_keep, reloads) = tokio::sync::mpsc::channel(1);
    let control = crate::daemon::Control {
        shutdown,
        reloads,
        config_path: None,
    };
    crate::daemon::run(config, control, |addr| {
        println!(
            "feedmerge demo: polling {} built-in feeds served at {origin}",
            FEEDS.len()
        );
        println!("merged RSS 2.0:  http://{addr}/feed.xml");
        println!("merged Atom 1.0: http://{addr}/atom.xml");
        println!("press Ctrl-C to stop");
    })
    .await
}

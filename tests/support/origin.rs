//! A real HTTP server on 127.0.0.1:0 that serves feed bytes the test sets, honours ETag /
//! If-None-Match like a well-behaved publisher, can be told to fail, and records every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// What one path answers.
#[derive(Clone)]
pub enum Reply {
    Feed {
        body: Vec<u8>,
        content_type: String,
    },
    Status(u16),
    /// Accepts and never answers (until the server is dropped).
    Hang,
    /// A hostile body: see [`Hostile`].
    Hostile(Hostile),
    /// Any status, headers and body.
    Custom {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// Servers that misbehave on purpose.
#[derive(Clone, Copy, Debug)]
pub enum Hostile {
    /// 200 with a body that never ends.
    Endless,
    /// Claims a 1 GB body (and starts sending it).
    Huge,
    /// A small gzip body that inflates to 64 MiB.
    GzipBomb,
    /// One byte every 200 ms, forever.
    Trickle,
    /// Redirects to itself.
    RedirectLoop,
    /// Redirects to a `file:` URL.
    RedirectToFile,
}

/// 64 MiB of spaces gzipped (~64 KB), made once: compressing it is seconds of work in a
/// debug build, and a server that made it per request would answer slower than the daemon's
/// timeout on a loaded machine, so the poll would time out instead of hitting the size limit.
pub fn gzip_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        gz.write_all(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>bomb</title>")
            .unwrap();
        for _ in 0..64 {
            gz.write_all(&zeros).unwrap();
        }
        gz.finish().unwrap()
    })
}

fn hostile(kind: Hostile, path: &str) -> Response {
    use axum::body::Body;
    let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
    match kind {
        Hostile::Endless => {
            let stream =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Hostile::Huge => {
            let stream =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            let mut r = (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                Body::from_stream(stream),
            )
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_LENGTH,
                header::HeaderValue::from_static("1000000000"),
            );
            r
        }
        Hostile::GzipBomb => (
            [
                (header::CONTENT_TYPE, "application/rss+xml"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            gzip_bomb(),
        )
            .into_response(),
        Hostile::Trickle => {
            let stream = futures_util::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"<")), ()))
            });
            (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Hostile::RedirectLoop => {
            (StatusCode::FOUND, [(header::LOCATION, format!("/{path}"))]).into_response()
        }
        Hostile::RedirectToFile => (
            StatusCode::FOUND,
            [(header::LOCATION, "file:///etc/passwd".to_string())],
        )
            .into_response(),
    }
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
    pub from: Option<String>,
    pub status: u16,
    /// Every request header, as sent.
    pub headers: HeaderMap,
    /// When the request arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Inner {
    replies: HashMap<String, Reply>,
    /// Headers a path requires (name, value): without them it answers 401.
    required: HashMap<String, Vec<(String, String)>>,
    seen: Vec<Seen>,
}

/// The server; it stops when dropped (its runtime thread ends).
pub struct Origin {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Origin {
    pub fn start() -> Origin {
        Origin::start_on("127.0.0.1:0")
    }

    /// A server listening on `addr` (`base` names the address bound).
    pub fn start_on(addr: &str) -> Origin {
        let addr = addr.to_string();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = inner.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                let app = Router::new()
                    .route("/{*path}", get(handle))
                    .with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("origin server");
            });
            // Dropping the runtime cancels hanging handlers.
            runtime.shutdown_timeout(Duration::from_millis(100));
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("origin started");
        Origin {
            base: format!("http://{addr}/"),
            inner,
            _stop: stop_tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.inner
            .lock()
            .unwrap()
            .replies
            .insert(path.to_string(), reply);
    }

    pub fn feed(&self, path: &str, body: impl Into<Vec<u8>>, content_type: &str) {
        self.set(
            path,
            Reply::Feed {
                body: body.into(),
                content_type: content_type.to_string(),
            },
        );
    }

    /// Makes `path` answer 401 unless the request carries `header: value`.
    pub fn require(&self, path: &str, header: &str, value: &str) {
        self.inner
            .lock()
            .unwrap()
            .required
            .entry(path.to_string())
            .or_default()
            .push((header.to_string(), value.to_string()));
    }

    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.inner
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn etag_of(body: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:x}\"", h.finish())
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let (reply, required) = {
        let inner = inner.lock().unwrap();
        (
            inner.replies.get(&path).cloned(),
            inner.required.get(&path).cloned().unwrap_or_default(),
        )
    };
    let authorized = required.iter().all(|(name, value)| {
        headers.get(name.as_str()).and_then(|v| v.to_str().ok()) == Some(value.as_str())
    });
    let reply = if authorized {
        reply
    } else {
        Some(Reply::Status(401))
    };
    let (status, response) = match reply {
        None => (404, (StatusCode::NOT_FOUND, "no such feed").into_response()),
        Some(Reply::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, (status, "failure on purpose").into_response())
        }
        Some(Reply::Hang) => {
            inner.lock().unwrap().seen.push(Seen {
                path: path.clone(),
                if_none_match: header(header::IF_NONE_MATCH),
                if_modified_since: header(header::IF_MODIFIED_SINCE),
                user_agent: header(header::USER_AGENT),
                from: header(header::FROM),
                status: 0,
                headers: headers.clone(),
                at: std::time::Instant::now(),
            });
            std::future::pending::<()>().await;
            unreachable!()
        }
        Some(Reply::Hostile(kind)) => (299, hostile(kind, &path)),
        Some(Reply::Custom {
            status,
            headers,
            body,
        }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (code, body).into_response();
            for (name, value) in headers {
                if let (Ok(n), Ok(v)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    header::HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(n, v);
                }
            }
            (status, response)
        }
        Some(Reply::Feed { body, content_type }) => {
            let etag = etag_of(&body);
            if header(header::IF_NONE_MATCH).as_deref() == Some(etag.as_str()) {
                (
                    304,
                    (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response(),
                )
            } else {
                (
                    200,
                    (
                        [(header::CONTENT_TYPE, content_type), (header::ETAG, etag)],
                        body,
                    )
                        .into_response(),
                )
            }
        }
    };
    inner.lock().unwrap().seen.push(Seen {
        path,
        if_none_match: header(header::IF_NONE_MATCH),
        if_modified_since: header(header::IF_MODIFIED_SINCE),
        user_agent: header(header::USER_AGENT),
        from: header(header::FROM),
        status,
        headers,
        at: std::time::Instant::now(),
    });
    response
}

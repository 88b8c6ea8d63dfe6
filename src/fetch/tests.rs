//! The fetcher against a raw HTTP/1.1 server on 127.0.0.1, written byte by byte so that a test
//! chooses exactly what the origin says: a `Content-Length` or none (a chunked body, whose
//! size only reading it tells), a redirect or none. What the integration tests cannot pin
//! through a well-behaved origin: the body limit at its exact boundary, on both paths, and
//! that a feed that never moved is not recorded as moved.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use super::*;

/// Serves `replies` (request path -> whole raw response) to at most `connections`
/// connections, one request each, then stops. Returns the base URL.
fn origin(replies: Vec<(&'static str, Vec<u8>)>, connections: usize) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let reply = replies
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec());
            let _ = stream.write_all(&reply);
        }
    });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

fn with_length(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A chunked body in one chunk: no length declared, so only reading it finds its size.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r.extend_from_slice(b"\r\n0\r\n\r\n");
    r
}

fn fetcher(max_body: u64) -> Fetcher {
    let poll = crate::config::Poll {
        max_body,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    Fetcher::new(Limits::from(&poll)).unwrap()
}

async fn get(fetcher: &Fetcher, url: &Url) -> Result<Fetched, FetchError> {
    fetcher
        .fetch(url, &FetchOptions::default(), &Validators::default())
        .await
}

const LIMIT: u64 = 100;

#[tokio::test]
async fn a_body_of_exactly_max_body_is_read_and_one_byte_more_is_refused_declared_or_not() {
    let at = vec![b'a'; LIMIT as usize];
    let over = vec![b'a'; LIMIT as usize + 1];
    let base = origin(
        vec![
            ("/declared-at", with_length(&at)),
            ("/declared-over", with_length(&over)),
            ("/chunked-at", chunked(&at)),
            ("/chunked-over", chunked(&over)),
        ],
        4,
    );
    let fetcher = fetcher(LIMIT);
    for path in ["declared-at", "chunked-at"] {
        match get(&fetcher, &base.join(path).unwrap()).await {
            Ok(Fetched::Fresh { body, .. }) => assert_eq!(body.len() as u64, LIMIT, "{path}"),
            other => panic!("{path}: a body of exactly max_body is read, got {other:?}"),
        }
    }
    for path in ["declared-over", "chunked-over"] {
        match get(&fetcher, &base.join(path).unwrap()).await {
            Err(FetchError::TooLarge(LIMIT)) => {}
            other => panic!("{path}: one byte over max_body is refused, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_feed_that_never_moved_has_no_new_address_and_one_moved_for_good_has() {
    let base = origin(
        vec![
            ("/feed", with_length(b"<rss/>")),
            (
                "/old",
                b"HTTP/1.1 301 Moved Permanently\r\nlocation: /feed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
            ),
        ],
        3,
    );
    let fetcher = fetcher(LIMIT);
    match get(&fetcher, &base.join("feed").unwrap()).await {
        Ok(Fetched::Fresh { moved_to, .. }) => assert_eq!(moved_to, None),
        other => panic!("{other:?}"),
    }
    match get(&fetcher, &base.join("old").unwrap()).await {
        Ok(Fetched::Fresh {
            moved_to,
            final_url,
            ..
        }) => {
            assert_eq!(moved_to, Some(base.join("feed").unwrap()));
            assert_eq!(final_url, base.join("feed").unwrap());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_says_why_with_the_cause_the_os_gave() {
    // A port nothing listens on: bind one, learn its number, close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}/feed.xml")).unwrap();
    // The same over https: the TLS client is built (its crypto provider installed) and fails
    // only at the connection.
    let tls = Url::parse(&format!("https://127.0.0.1:{port}/feed.xml")).unwrap();
    assert!(
        matches!(
            get(&fetcher(LIMIT), &tls).await,
            Err(FetchError::Connect(_))
        ),
        "https to a closed port is a connection error"
    );
    match get(&fetcher(LIMIT), &url).await {
        Err(e @ FetchError::Connect(_)) => {
            let text = e.to_string();
            // reqwest's own message says only that the request failed; the reason is in its
            // causes, which the message must carry, each once.
            assert!(text.to_lowercase().contains("refused"), "{text}");
            let parts: Vec<&str> = text.split(": ").collect();
            let mut unique = parts.clone();
            unique.dedup();
            assert_eq!(parts, unique, "no cause repeated: {text}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_error_chain_appends_each_cause_not_already_said() {
    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }
    let e = E(
        "request failed: tcp connect error",
        Some(Box::new(E(
            "tcp connect error",
            Some(Box::new(E("Connection refused (os error 111)", None))),
        ))),
    );
    assert_eq!(
        error_chain(&e),
        "request failed: tcp connect error: Connection refused (os error 111)"
    );
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(*name, value.parse().unwrap());
    }
    h
}

#[test]
fn fresh_for_reads_max_age_before_expires_and_never_a_negative_time() {
    let in_an_hour =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let an_hour_ago =
        httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(3600));
    let secs = |h: &HeaderMap| fresh_for(h).map(|d| d.num_seconds());
    assert_eq!(
        secs(&headers(&[("cache-control", "public, max-age=900")])),
        Some(900)
    );
    assert_eq!(
        secs(&headers(&[
            ("cache-control", "no-transform"),
            ("cache-control", "max-age=\"60\"")
        ])),
        Some(60)
    );
    assert_eq!(secs(&headers(&[("cache-control", "max-age=-5")])), Some(0));
    assert_eq!(
        secs(&headers(&[
            ("cache-control", "max-age=120"),
            ("expires", &in_an_hour)
        ])),
        Some(120),
        "max-age wins over Expires"
    );
    let from_expires = secs(&headers(&[("expires", &in_an_hour)])).unwrap();
    assert!((3590..=3600).contains(&from_expires), "{from_expires}");
    assert_eq!(secs(&headers(&[("expires", &an_hour_ago)])), Some(0));
    assert_eq!(secs(&headers(&[("expires", "not a date")])), None);
    assert_eq!(secs(&headers(&[])), None);
}

#[test]
fn retry_after_reads_seconds_capped_at_a_week_or_an_http_date() {
    let now = chrono::Utc::now();
    let after = |value: &str| {
        retry_after(&headers(&[("retry-after", value)])).map(|t| (t - now).num_seconds())
    };
    let near =
        |got: Option<i64>, want: i64| got.is_some_and(|s| (want - 5..=want + 5).contains(&s));
    assert!(near(after("120"), 120), "{:?}", after("120"));
    assert!(near(after(" 3600 "), 3600), "{:?}", after(" 3600 "));
    assert!(near(after("-30"), 0), "{:?}", after("-30"));
    assert!(
        near(after("99999999"), 7 * 86_400),
        "{:?}",
        after("99999999")
    );
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(7200));
    assert!(near(after(&date), 7200), "{:?}", after(&date));
    assert_eq!(after("soon"), None);
    assert_eq!(retry_after(&headers(&[])), None);
}

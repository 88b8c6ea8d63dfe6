//! Stage 1: fetch a source's bytes over HTTP.
//!
//! One shared `reqwest::Client` with a User-Agent naming feedmerge, connect and total timeouts,
//! at most 5 redirects, and transparent gzip/brotli/deflate. A second one, alike but for its
//! resolver, fetches the hops after a public origin's redirects: it connects to public
//! addresses only (see [`redirect`]). Every fetch is a conditional GET
//! when we hold validators; a `304` is [`Fetched::NotModified`], not an error. The body is read
//! chunk by chunk so the size cap applies after decompression (a gzip bomb stops at the cap).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use url::Url;

pub use crate::config::FetchOptions;

mod redirect;

/// The User-Agent sent with every request.
pub const USER_AGENT: &str = concat!(
    "feedmerge/",
    env!("CARGO_PKG_VERSION"),
    " (feed aggregator; polls politely with conditional GET)"
);

pub use crate::model::Validators;

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    /// `304 Not Modified`: nothing new since the validators were issued.
    NotModified {
        validators: Validators,
        /// How long the server says the document stays fresh.
        fresh_for: Option<chrono::Duration>,
        /// Every redirect on the way was permanent (301/308): the feed lives here now.
        moved_to: Option<Url>,
    },
    /// `200` with a body.
    Fresh {
        body: Bytes,
        /// The `Content-Type` header, for the charset it may carry.
        content_type: Option<String>,
        validators: Validators,
        /// Where the body came from after redirects; relative links resolve against it.
        final_url: Url,
        fresh_for: Option<chrono::Duration>,
        moved_to: Option<Url>,
    },
}

/// Why a fetch failed. `Display` is the reason logged next to the source's name.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("HTTP status {code}")]
    Status {
        code: u16,
        /// `Retry-After` (seconds or an HTTP date), as a time.
        retry_after: Option<chrono::DateTime<chrono::Utc>>,
    },
    #[error("response larger than the {0}-byte limit ([poll] max_body)")]
    TooLarge(u64),
    #[error("{0}")]
    Other(String),
}

/// Limits applied to every fetch, and the scheduling limits pollers apply after it.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body: u64,
    pub min_interval: Duration,
    pub backoff_cap: Duration,
    pub allow_private_redirects: bool,
    /// Sent as `From`, so a publisher can reach whoever runs this aggregator.
    pub contact: Option<String>,
    pub per_host: usize,
}

impl From<&crate::config::Poll> for Limits {
    fn from(p: &crate::config::Poll) -> Self {
        Limits {
            timeout: p.timeout,
            connect_timeout: p.connect_timeout,
            max_body: p.max_body,
            min_interval: p.min_interval,
            backoff_cap: p.backoff_cap,
            allow_private_redirects: p.allow_private_redirects,
            contact: p.contact.clone(),
            per_host: p.per_host,
        }
    }
}

/// The HTTP client shared by every poller.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For redirect hops that must not reach a private address: its resolver drops them.
    guarded: reqwest::Client,
    limits: Limits,
    /// One semaphore per host, so one site is never asked for more than `per_host` feeds at
    /// once however many of its feeds are configured.
    hosts: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>,
    >,
}

impl Fetcher {
    pub fn new(limits: Limits) -> anyhow::Result<Fetcher> {
        install_tls_provider();
        let client = build_client(&limits, None)?;
        let public_only = redirect::PublicOnly::new(std::sync::Arc::new(redirect::SystemResolver));
        let guarded = build_client(&limits, Some(public_only))?;
        Ok(Fetcher {
            client,
            guarded,
            limits,
            hosts: Default::default(),
        })
    }

    /// Waits for a turn at `url`'s host.
    pub async fn host_turn(&self, url: &Url) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let host = url.host_str()?.to_ascii_lowercase();
        let semaphore = {
            let mut hosts = self.hosts.lock().ok()?;
            hosts
                .entry(host)
                .or_insert_with(|| {
                    std::sync::Arc::new(tokio::sync::Semaphore::new(self.limits.per_host))
                })
                .clone()
        };
        semaphore.acquire_owned().await.ok()
    }

    /// `[poll] min_interval` and `backoff_cap`, for the scheduler.
    pub fn wait_bounds(&self) -> crate::schedule::WaitBounds {
        let d = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        crate::schedule::WaitBounds {
            min_interval: d(self.limits.min_interval),
            backoff_cap: d(self.limits.backoff_cap),
        }
    }

    /// GETs `url` with the source's `options`, conditionally when `validators` hold anything.
    pub async fn fetch(
        &self,
        url: &Url,
        options: &FetchOptions,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let timeout = options.timeout.unwrap_or(self.limits.timeout);
        // Redirects are followed here, not by reqwest, to check each hop (scheme, count, no
        // public-to-private jump), to know whether the move was permanent, and to keep the
        // source's credentials from going to another host.
        let mut current = url.clone();
        let mut hops = 0;
        let mut permanent = true;
        // Known after the first response: whether the configured URL is on a private address
        // (literally, or by the address its name reached), which lets its redirects go anywhere.
        let mut origin_private = false;
        let response = loop {
            let same_origin = current.origin() == url.origin();
            let guarded = hops > 0
                && redirect::guard_hops(origin_private, self.limits.allow_private_redirects);
            let client = if guarded { &self.guarded } else { &self.client };
            let request = self.request(client, &current, options, validators, same_origin, timeout);
            let response =
                request.send().await.map_err(|e| {
                    match redirect::refused_by_resolver(&current, &e).filter(|_| guarded) {
                        Some(why) => FetchError::Other(format!("redirect refused: {why}")),
                        None => self.classify(e, timeout),
                    }
                })?;
            if hops == 0 {
                origin_private = redirect::origin_is_private(url, response.remote_addr());
            }
            let status = response.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break response;
            }
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FetchError::Other(format!(
                        "HTTP status {} without a Location",
                        status.as_u16()
                    ))
                })?;
            let next = current.join(location).map_err(|e| {
                FetchError::Other(format!("redirect to an unusable address {location:?}: {e}"))
            })?;
            if let Some(why) = redirect::refuse(
                origin_private,
                hops,
                &next,
                self.limits.allow_private_redirects,
            ) {
                return Err(FetchError::Other(format!("redirect refused: {why}")));
            }
            permanent &= matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            hops += 1;
            current = next;
        };
        let status = response.status();
        let fresh_for = fresh_for(response.headers());
        let moved_to = (hops > 0 && permanent).then(|| current.clone());
        if status == StatusCode::NOT_MODIFIED {
            let new_validators = validators_from(response.headers(), Some(validators));
            return Ok(Fetched::NotModified {
                validators: new_validators,
                fresh_for,
                moved_to,
            });
        }
        let new_validators = validators_from(response.headers(), None);
        if !status.is_success() {
            return Err(FetchError::Status {
                code: status.as_u16(),
                retry_after: retry_after(response.headers()),
            });
        }
        let limit = self.limits.max_body;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge(limit));
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = self.read_body(response, timeout).await?;
        Ok(Fetched::Fresh {
            body,
            content_type,
            validators: new_validators,
            final_url: current,
            fresh_for,
            moved_to,
        })
    }

    /// One GET. Credentials and custom headers only go to the source's own origin.
    fn request(
        &self,
        client: &reqwest::Client,
        url: &Url,
        options: &FetchOptions,
        validators: &Validators,
        same_origin: bool,
        timeout: Duration,
    ) -> reqwest::RequestBuilder {
        let mut request = client.get(url.clone()).timeout(timeout);
        if let Some(contact) = &self.limits.contact {
            request = request.header(header::FROM, contact.trim_start_matches("mailto:"));
        }
        if let Some(ua) = &options.user_agent {
            request = request.header(header::USER_AGENT, ua.as_str());
        }
        if same_origin {
            for (name, value) in &options.headers {
                request = request.header(name.as_str(), value.expose());
            }
            if let Some((user, password)) = &options.basic_auth {
                request = request.basic_auth(user.expose(), Some(password.expose()));
            }
        }
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        request
    }

    async fn read_body(
        &self,
        mut response: reqwest::Response,
        timeout: Duration,
    ) -> Result<Bytes, FetchError> {
        let limit = self.limits.max_body;
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.classify(e, timeout))?
        {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn classify(&self, e: reqwest::Error, timeout: Duration) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(timeout)
        } else if e.is_connect() {
            FetchError::Connect(error_chain(&e))
        } else if e.is_redirect() {
            FetchError::Other(format!("redirect refused: {}", error_chain(&e)))
        } else {
            FetchError::Other(error_chain(&e))
        }
    }
}

/// A client with the settings every fetch shares.
fn build_client(
    limits: &Limits,
    resolver: Option<redirect::PublicOnly>,
) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(resolver) = resolver {
        builder = builder.dns_resolver(resolver);
    }
    builder
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
}

/// reqwest's top-level message is often just "error sending request"; the cause says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Validators from a response. A 304 may omit them, in which case the `old` ones stay valid; a
/// 200 without them means the server no longer offers conditional GET.
fn validators_from(headers: &HeaderMap, old: Option<&Validators>) -> Validators {
    let get = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = get(header::ETAG);
    let last_modified = get(header::LAST_MODIFIED);
    if let (None, None, Some(old)) = (&etag, &last_modified, old) {
        return old.clone();
    }
    Validators {
        etag,
        last_modified,
    }
}

/// `Cache-Control: max-age`, else `Expires`, as a duration from now.
fn fresh_for(headers: &HeaderMap) -> Option<chrono::Duration> {
    let max_age = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|d| {
            d.trim()
                .strip_prefix("max-age=")?
                .trim_matches('"')
                .parse::<i64>()
                .ok()
        });
    if let Some(seconds) = max_age {
        return Some(chrono::Duration::seconds(seconds.max(0)));
    }
    let expires = headers.get(header::EXPIRES)?.to_str().ok()?;
    let at: chrono::DateTime<chrono::Utc> = httpdate::parse_http_date(expires).ok()?.into();
    Some((at - chrono::Utc::now()).max(chrono::Duration::zero()))
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(chrono::Utc::now() + chrono::Duration::seconds(seconds.clamp(0, 7 * 86_400)));
    }
    httpdate::parse_http_date(value).ok().map(Into::into)
}

/// rustls needs a process-wide crypto provider; we build with ring (see Cargo.toml).
fn install_tls_provider() {
    // Err means one is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests;

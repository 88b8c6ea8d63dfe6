//! The live feeds answered from prebuilt response heads, bodies sent with `sendfile(2)` from
//! memfd copies of the rendered bytes.
//!
//! Why by hand: hyper writes a body from user memory, so each 160 KB `/feed.xml` costs one
//! more copy into the socket than a static file server's `sendfile` from the page cache, and
//! that copy is about a third of the server's CPU under load (`bench/results-serve.md`). No
//! crate serves a body from a file descriptor through hyper.
//! Having the heads anyway, `304`s and compressed bodies go out the same way, without hyper's
//! per-response header map.
//!
//! Requests are still parsed by `httparse` (hyper's own parser). Only a keep-alive HTTP/1.1
//! `GET` or `HEAD` of a live feed, with one valid `Host`, that gets a `200` or a `304`, is
//! answered here; the first request that is anything else (another path, a body,
//! `Connection: close`, HTTP/1.0, a bad `Host`, a `406`, a malformed or too large head) hands
//! the connection, with every byte already read, to hyper for the rest of its life. So this
//! path never has to get an edge of HTTP right that it does not need.
//!
//! Hyper is handed a head only once it is whole, malformed, or larger than
//! [`super::MAX_HEAD`] (then hyper answers `431` from the bytes handed over): it never waits
//! for the rest of a head this path started reading, so the time a head took here counts
//! against the one [`super::HEAD_TIMEOUT`].

use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::heads::head;
use super::negotiate::{Asked, Variant};
use super::per_snapshot::PerSnapshot;
use super::{live_doc, ConnectionSnapshot};
use crate::render::{Rendered, Snapshot};

/// How a connection left this path.
pub(super) enum Outcome {
    /// The peer closed, an I/O error ended it, or the daemon is stopping.
    Closed,
    /// Hyper takes over, reading `read` (the bytes not answered yet) before the socket.
    HandOver(BytesMut),
}

/// Memfd copies of the newest snapshot's live documents, shared by every connection and
/// made by the first request that needs them after a change (at most once a second).
/// Connections take them per request and never keep them while idle, so the open memfds are
/// those of the newest snapshot and of responses being sent, however many connections wait.
pub(super) type Spools = PerSnapshot<Spooled>;

/// One snapshot's spooled documents, in the order of [`super::LIVE_PATHS`], each made on its
/// first request (a 10,000-source daemon's page and OPML are megabytes nobody may ask for).
pub(super) struct Spooled {
    snapshot: Arc<Snapshot>,
    docs: [OnceLock<Option<Spool>>; super::LIVE_PATHS.len()],
}

impl Spooled {
    fn of(snapshot: Arc<Snapshot>) -> Spooled {
        Spooled {
            snapshot,
            docs: Default::default(),
        }
    }

    fn doc(&self, i: usize) -> Option<&Spool> {
        self.docs
            .get(i)?
            .get_or_init(|| live_doc(&self.snapshot, i).and_then(Spool::of))
            .as_ref()
    }
}

/// A document's responses: the `304` head, and per body (plain, gzip, brotli) its `200` head
/// and a memfd holding it. Heads carry every header but `Date`.
struct Spool {
    not_modified: Vec<u8>,
    identity: Body,
    gzip: Body,
    brotli: Body,
}

struct Body {
    file: OwnedFd,
    len: u64,
    head: Vec<u8>,
}

impl Spool {
    /// `None` when the kernel will not make a memfd (then hyper serves the document).
    fn of(doc: &Rendered) -> Option<Spool> {
        Some(Spool {
            not_modified: wire_head("304 Not Modified", &head(doc, Variant::NotModified)),
            identity: Body::of(&doc.body, &head(doc, Variant::Identity))?,
            gzip: Body::of(&doc.gzip, &head(doc, Variant::Gzip))?,
            brotli: Body::of(&doc.brotli, &head(doc, Variant::Brotli))?,
        })
    }

    /// The head to send for `variant`, and the body after it unless `HEAD` or `304`.
    fn response(&self, variant: Variant) -> (&[u8], Option<&Body>) {
        let body = match variant {
            Variant::NotModified => return (&self.not_modified, None),
            Variant::Identity => &self.identity,
            Variant::Gzip => &self.gzip,
            Variant::Brotli => &self.brotli,
        };
        (&body.head, Some(body))
    }
}

impl Body {
    fn of(bytes: &[u8], headers: &HeaderMap) -> Option<Body> {
        let file = rustix::fs::memfd_create("feedmerge-feed", rustix::fs::MemfdFlags::CLOEXEC)
            .map_err(|e| tracing::debug!("no memfd for sendfile, serving through hyper: {e}"))
            .ok()?;
        let mut written = 0;
        while written < bytes.len() {
            match rustix::io::write(&file, &bytes[written..]) {
                Ok(0) | Err(_) => return None,
                Ok(n) => written += n,
            }
        }
        Some(Body {
            file,
            len: bytes.len() as u64,
            head: wire_head("200 OK", headers),
        })
    }
}

/// A status line and `headers`, each line ended by CRLF; the `Date` line and the blank line
/// that ends the head are added per response.
fn wire_head(status: &str, headers: &HeaderMap) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head
}

/// What one parsed request asks of this path.
struct LiveRequest {
    /// Index into [`super::LIVE_PATHS`].
    doc: usize,
    variant: Variant,
    head_only: bool,
}

/// Answers live-feed requests on `stream` until one is not, the peer leaves, or `stop`. A
/// response the peer takes no byte of for `write_timeout` ends the connection.
pub(super) async fn answer(
    stream: &mut TcpStream,
    snapshot: &mut ConnectionSnapshot,
    spools: &Spools,
    stop: &CancellationToken,
    write_timeout: Duration,
) -> Outcome {
    let mut read = BytesMut::with_capacity(4096);
    // When the current request's head must be complete: set when waiting for it begins.
    let mut deadline = tokio::time::Instant::now() + super::HEAD_TIMEOUT;
    loop {
        let parsed = {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&read) {
                // Hyper answers 431 to a whole head larger than MAX_HEAD too.
                Ok(httparse::Status::Complete(len)) if len > super::MAX_HEAD => {
                    return Outcome::HandOver(read)
                }
                Ok(httparse::Status::Complete(len)) => {
                    Some((len, live_request(&request, snapshot)))
                }
                Ok(httparse::Status::Partial) => None,
                Err(httparse::Error::TooManyHeaders) if !whole_or_malformed(&read) => None,
                Err(_) => return Outcome::HandOver(read),
            }
        };
        let Some((len, asked)) = parsed else {
            if read.len() >= super::MAX_HEAD {
                return Outcome::HandOver(read);
            }
            let got = tokio::select! {
                biased;
                () = stop.cancelled() => return Outcome::Closed,
                got = tokio::time::timeout_at(deadline, stream.read_buf(&mut read)) => got,
            };
            match got {
                Ok(Ok(0) | Err(_)) => return Outcome::Closed,
                Ok(Ok(_)) => continue,
                Err(_) => {
                    tracing::debug!(
                        "closing a connection that sent no complete request head in time"
                    );
                    return Outcome::Closed;
                }
            }
        };
        let Some(asked) = asked else {
            return Outcome::HandOver(read);
        };
        let spooled = spools.of(&snapshot.current, |s| Spooled::of(s.clone()));
        let Some(spool) = spooled.doc(asked.doc) else {
            return Outcome::HandOver(read);
        };
        read.advance(len);
        let (head, body) = spool.response(asked.variant);
        let body = body.filter(|_| !asked.head_only);
        if send(stream, head, body, write_timeout).await.is_err() || stop.is_cancelled() {
            return Outcome::Closed;
        }
        deadline = tokio::time::Instant::now() + super::HEAD_TIMEOUT;
    }
}

/// Whether a head with more headers than this path parses is whole or malformed for hyper,
/// which allows up to 100 (then `431`), rather than still arriving: only then is it handed
/// over. (Rare: the larger array is made only here.)
fn whole_or_malformed(read: &[u8]) -> bool {
    let mut headers = vec![httparse::EMPTY_HEADER; 100];
    !matches!(
        httparse::Request::new(&mut headers).parse(read),
        Ok(httparse::Status::Partial)
    )
}

/// Whether `request` is one this path answers, and which document it wants.
fn live_request(
    request: &httparse::Request,
    snapshot: &mut ConnectionSnapshot,
) -> Option<LiveRequest> {
    if request.version != Some(1) {
        return None;
    }
    let head_only = match request.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return None,
    };
    let path = request.path?.split('?').next()?;
    let index = super::live_index(path)?;
    let doc = live_doc(snapshot.latest(), index)?;
    // The headers that decide the variant; a missing, repeated or invalid Host (hyper's side
    // answers 400), or any header that changes how the connection or the request body works,
    // sends the request to hyper.
    let mut asked = Asked::new();
    let mut hosts = 0;
    for h in request.headers.iter() {
        let name = h.name;
        if asked.field(doc, name, h.value) {
            continue;
        }
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
            if !super::valid_host(h.value) {
                return None;
            }
        } else if name.eq_ignore_ascii_case("connection")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("expect")
            || name.eq_ignore_ascii_case("upgrade")
            || (name.eq_ignore_ascii_case("content-length") && h.value != b"0")
        {
            return None;
        }
    }
    if hosts != 1 {
        return None;
    }
    // `None`: a 406, left to hyper's side.
    let variant = asked.variant(doc)?;
    Some(LiveRequest {
        doc: index,
        variant,
        head_only,
    })
}

/// Writes `head` with today's `Date`, then `body` (if any) by `sendfile`; fails when the
/// peer takes no byte for `timeout`.
async fn send(
    stream: &TcpStream,
    head: &[u8],
    body: Option<&Body>,
    timeout: Duration,
) -> std::io::Result<()> {
    let mut whole = Vec::with_capacity(head.len() + 48);
    whole.extend_from_slice(head);
    whole.extend_from_slice(b"date: ");
    whole.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    whole.extend_from_slice(b"\r\n\r\n");
    // MSG_MORE: the head waits for the body's first segment instead of going out alone.
    let flags = match body {
        Some(_) => rustix::net::SendFlags::MORE,
        None => rustix::net::SendFlags::empty(),
    };
    let mut sent = 0;
    while sent < whole.len() {
        sent += write_with(stream, timeout, || {
            Ok(rustix::net::send(stream, &whole[sent..], flags)?)
        })
        .await?;
    }
    let Some(body) = body else {
        return Ok(());
    };
    let mut offset = 0u64;
    while offset < body.len {
        let left = (body.len - offset) as usize;
        write_with(stream, timeout, || {
            Ok(rustix::fs::sendfile(
                stream,
                &body.file,
                Some(&mut offset),
                left,
            )?)
        })
        .await?;
    }
    Ok(())
}

/// Runs a non-blocking write `op`, again each time the socket becomes writable after a
/// `WouldBlock`; fails when it does not within `timeout`. Zero bytes written means the peer
/// is gone. A write that goes through at once (the usual case) starts no timer.
async fn write_with(
    stream: &TcpStream,
    timeout: Duration,
    mut op: impl FnMut() -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    loop {
        // `try_io` returns `WouldBlock` without calling `op` when the socket is not known to
        // be writable.
        match stream.try_io(Interest::WRITABLE, &mut op) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                match tokio::time::timeout(timeout, stream.writable()).await {
                    Ok(ready) => ready?,
                    Err(_) => return Err(stalled()),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The error that ends a connection whose peer took no byte for the write timeout.
fn stalled() -> std::io::Error {
    tracing::debug!("closing a connection whose client took no byte for the write timeout");
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the client took no byte for the write timeout",
    )
}

/// A socket whose first reads return the bytes this path read but did not answer, so hyper
/// sees the connection from where this path left it; and whose writes fail once the peer has
/// taken no byte for the write timeout (hyper has no such limit of its own).
pub(super) struct Prefixed {
    read: BytesMut,
    stream: TcpStream,
    write_timeout: Duration,
    /// Runs from the first write that could not proceed; made at the first such write and
    /// reset at each later stall.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    /// A write is waiting and `stall` runs for it.
    stalled: bool,
}

impl Prefixed {
    pub(super) fn new(read: BytesMut, stream: TcpStream, write_timeout: Duration) -> Prefixed {
        Prefixed {
            read,
            stream,
            write_timeout,
            stall: None,
            stalled: false,
        }
    }

    /// `written` unless it is still waiting and has been for the write timeout.
    fn progress(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<std::io::Result<usize>>,
    ) -> Poll<std::io::Result<usize>> {
        if written.is_ready() {
            self.stalled = false;
            return written;
        }
        let stall = match (&mut self.stall, self.stalled) {
            (Some(stall), true) => stall,
            (stall, _) => {
                let deadline = tokio::time::Instant::now() + self.write_timeout;
                self.stalled = true;
                match stall {
                    Some(stall) => {
                        stall.as_mut().reset(deadline);
                        stall
                    }
                    None => stall.insert(Box::pin(tokio::time::sleep_until(deadline))),
                }
            }
        };
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(stalled())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.read.is_empty() {
            let n = this.read.len().min(buf.remaining());
            buf.put_slice(&this.read[..n]);
            this.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.progress(cx, written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.progress(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
